#!/usr/bin/env bash
# tools/cross-arm64.sh — the ARM64 (aarch64) build, tested on this x86-64 machine: cross-
# compile with Debian's gcc-aarch64-linux-gnu against an arm64 Debian 12 root (the sysroot),
# then run the unit tests, and with --parity a few PyTorch parity cases, under qemu-user.
#
#   sudo tools/cross-arm64.sh               # unit tests
#   sudo tools/cross-arm64.sh --parity      # and parity_resnet20, parity_mobilenet_v3_small
#   sudo tools/cross-arm64.sh --parity "resnet20 mnasnet0_5"    # other parity cases
#
# Why a root and not Debian's multiarch -dev packages: Debian 12's libhdf5-dev has no
# Multi-Arch field, so libhdf5-dev:arm64 cannot be installed beside the amd64 one. The root
# is made once with debootstrap (arm64, minbase), its second stage and its apt-get run
# through qemu-user-static (binfmt_misc), and kept in $DUALCNN_ARM64_CACHE (default
# ~/.cache/dualcnn-arm64): reruns only rebuild and test. Compiling is done by the host's
# cross compiler: the build takes about 20 s so, against about 10 min with the root's own
# gcc under qemu (measured: 49 of its 184 steps in 2 min 40 s).
#
# Needs: root (debootstrap, chroot, binfmt_misc), Debian 12 amd64, a Debian mirror through
# apt (deb.debian.org, or $DUALCNN_ARM64_MIRROR). Installs on the host: debootstrap
# qemu-user-static binfmt-support gcc-aarch64-linux-gnu (and meson ninja-build pkg-config).
# The build goes to build-arm64/ (ignored by git); the engine's x86 intrinsics are not
# compiled for aarch64 (kernels/meson.build), its NEON kernels are, and every test of the
# vector kernels runs the NEON and the portable path (tests/test_kernels.c).
#
# Environment: DUALCNN_ARM64_CACHE (the root's home), DUALCNN_ARM64_MIRROR (the Debian
# mirror for debootstrap and the root's apt), DUALCNN_ARM64_BUILD (build directory,
# default build-arm64), DUALCNN_SKIP_APT=1 (do not apt-get install on the host).
# Ends with meson's summary, "arm64: N unit tests passed, N failed" and the time taken;
# exit status 0 only when every test that ran passed.
set -uo pipefail
cd "$(dirname "$0")/.."

t_start=$(date +%s)
CACHE=${DUALCNN_ARM64_CACHE:-$HOME/.cache/dualcnn-arm64}
ROOT=$CACHE/root
MIRROR=${DUALCNN_ARM64_MIRROR:-http://deb.debian.org/debian}
BUILD=${DUALCNN_ARM64_BUILD:-build-arm64}
SUITE=bookworm
HOST_PACKAGES="debootstrap qemu-user-static binfmt-support gcc-aarch64-linux-gnu
  libc6-dev-arm64-cross meson ninja-build pkg-config"
# the engine's build dependencies (README, "Building"), arm64, inside the root
ROOT_PACKAGES="libc6-dev libgomp1 libopenblas-openmp-dev libhdf5-dev check libpng-dev
  libjpeg-dev zlib1g-dev libdeflate-dev libyaml-dev libzip-dev libcurl4-openssl-dev libssl-dev"
PARITY=""
DEFAULT_PARITY="resnet20 mobilenet_v3_small"

usage() {
  sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --parity)
      PARITY=$DEFAULT_PARITY
      if [ $# -gt 1 ] && [ "${2#-}" = "$2" ]; then PARITY=$2; shift; fi
      ;;
    -h|--help) usage; exit 0 ;;
    *) echo "cross-arm64: unknown argument '$1' (--parity [\"ARCH ...\"], --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "== cross-arm64: $*"; }
die() { echo "cross-arm64: FAILED: $*" >&2; exit 1; }
elapsed() { local s=$(( $(date +%s) - t_start )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

[ "$(uname -m)" = x86_64 ] || die "this script cross-builds from an x86-64 host (this is $(uname -m))"
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and binfmt_misc): run it with sudo"

# ---- host packages ----------------------------------------------------------------------
missing=""
for p in $HOST_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  [ "${DUALCNN_SKIP_APT:-0}" = 1 ] && die "host packages missing:$missing (DUALCNN_SKIP_APT=1)"
  say "installing host packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || die "apt-get update failed: is a Debian mirror reachable?"
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null ||
    die "apt-get install$missing failed"
fi

# ---- qemu-user through binfmt_misc ---------------------------------------------------------
# debootstrap's second stage and apt-get inside the root run arm64 programs, and so do the
# tests that start other programs (the quarantined HDF5 reader, dualcnn from Python)
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  say "mounting binfmt_misc"
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
    die "cannot mount binfmt_misc on /proc/sys/fs/binfmt_misc (a container without the privilege?)"
fi
if ! grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
  say "registering qemu-aarch64 with binfmt_misc"
  update-binfmts --enable qemu-aarch64 ||
    die "update-binfmts --enable qemu-aarch64 failed (is qemu-user-static installed?)"
fi
grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
  die "qemu-aarch64 is not enabled in /proc/sys/fs/binfmt_misc"

# ---- the arm64 root -----------------------------------------------------------------------
# a stamp per stage, so that an interrupted run starts that stage again; the package
# stamp holds the package list, so that a changed list is installed on the next run
if [ ! -e "$ROOT/.dualcnn-debootstrap-done" ]; then
  [ -e "$ROOT" ] && { say "removing the unfinished root $ROOT"; rm -rf --one-file-system "$ROOT"; }
  mkdir -p "$CACHE" || die "cannot create $CACHE"
  say "debootstrap --arch=arm64 --variant=minbase $SUITE $ROOT $MIRROR (about 2 min)"
  debootstrap --arch=arm64 --variant=minbase "$SUITE" "$ROOT" "$MIRROR" \
    >"$CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed (is $MIRROR reachable?); the last lines of $CACHE/debootstrap.log:
$(tail -5 "$CACHE/debootstrap.log")"
  touch "$ROOT/.dualcnn-debootstrap-done"
fi
want_stamp="$MIRROR $SUITE $(echo $ROOT_PACKAGES)"
if [ "$(cat "$ROOT/.dualcnn-packages" 2>/dev/null)" != "$want_stamp" ]; then
  say "installing the arm64 -dev packages in the root (through qemu, about 2 min)"
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" \
    >"$ROOT/etc/apt/sources.list"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null
  # shellcheck disable=SC2086
  chroot "$ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $(echo $ROOT_PACKAGES)" \
    >"$CACHE/apt.log" 2>&1 ||
    die "apt-get in the arm64 root failed; the last lines of $CACHE/apt.log:
$(tail -5 "$CACHE/apt.log")"
  # The root's absolute symlinks (libopenblas.so -> /etc/alternatives/..., hdf5.pc, ...)
  # would resolve on the host, to the amd64 files or nowhere: make them relative, which
  # points them at the same files inside and outside the root.
  say "making the root's absolute symlinks relative (for use as a sysroot)"
  /usr/bin/python3 - "$ROOT" <<'PY' || die "could not rewrite the root's symlinks"
import os, posixpath, sys
root = sys.argv[1]
for top in ("usr", "etc/alternatives"):
    for d, dirs, files in os.walk(os.path.join(root, top)):
        for name in dirs + files:
            link = os.path.join(d, name)
            if not os.path.islink(link):
                continue
            t = os.readlink(link)
            # the target as the root itself sees it (".." stops at the root's /)
            inner_dir = "/" + os.path.relpath(d, root)
            inner = posixpath.normpath(posixpath.join(inner_dir, t))
            new = os.path.relpath(root + inner, d)
            if new != t and (t.startswith("/") or not os.path.exists(link)):
                os.remove(link)
                os.symlink(new, link)
PY
  echo "$want_stamp" >"$ROOT/.dualcnn-packages"
fi
[ -e "$ROOT/usr/lib/aarch64-linux-gnu/pkgconfig/hdf5.pc" ] ||
  die "the root lacks hdf5.pc: remove $ROOT/.dualcnn-packages and run again"
say "arm64 root ready: $ROOT ($(du -sh --one-file-system "$ROOT" 2>/dev/null | cut -f1)) at $(elapsed)"

# qemu-user's -L PREFIX looks every path up under PREFIX first: the root's own /dev (device
# nodes made by debootstrap; its ptmx fails with ENODEV outside the root) must not shadow
# the host's, so qemu gets a prefix with only the root's lib, usr and etc
QEMU_PREFIX=$CACHE/qemu-prefix
mkdir -p "$QEMU_PREFIX" || die "cannot create $QEMU_PREFIX"
for d in lib usr etc; do ln -sfn "../root/$d" "$QEMU_PREFIX/$d"; done

# ---- cross build --------------------------------------------------------------------------
CROSS_FILE=$CACHE/aarch64-linux-gnu.ini
cat >"$CROSS_FILE.new" <<EOF
# written by tools/cross-arm64.sh: gcc-aarch64-linux-gnu against the arm64 root $ROOT
[binaries]
c = ['aarch64-linux-gnu-gcc', '--sysroot=$ROOT']
ar = 'aarch64-linux-gnu-ar'
strip = 'aarch64-linux-gnu-strip'
pkgconfig = 'pkg-config'
exe_wrapper = ['qemu-aarch64-static', '-L', '$QEMU_PREFIX']

[properties]
sys_root = '$ROOT'
pkg_config_libdir = ['$ROOT/usr/lib/aarch64-linux-gnu/pkgconfig', '$ROOT/usr/share/pkgconfig']

[host_machine]
system = 'linux'
cpu_family = 'aarch64'
cpu = 'aarch64'
endian = 'little'
EOF
mv "$CROSS_FILE.new" "$CROSS_FILE"
# a build directory configured with another cross file (an older version of this script,
# another checkout sharing the cache) is made again
if ! cmp -s "$CROSS_FILE" "$BUILD/cross-arm64.ini"; then
  rm -rf "$BUILD"
fi
parity_opt=false
[ -n "$PARITY" ] && parity_opt=true
if [ ! -e "$BUILD/build.ninja" ]; then
  rm -rf "$BUILD"
  say "meson setup $BUILD --cross-file $CROSS_FILE -Dnative_arch=false -Dparity_tests=$parity_opt"
  meson setup "$BUILD" --cross-file "$CROSS_FILE" --buildtype=release -Dnative_arch=false \
    -Dparity_tests=$parity_opt >"$CACHE/setup.log" 2>&1 ||
    die "meson setup failed; the last lines of $CACHE/setup.log:
$(tail -15 "$CACHE/setup.log")"
  cp "$CROSS_FILE" "$BUILD/cross-arm64.ini"
else
  meson configure "$BUILD" -Dparity_tests=$parity_opt >/dev/null ||
    die "meson configure $BUILD -Dparity_tests=$parity_opt failed"
fi
say "ninja -C $BUILD"
ninja -C "$BUILD" >"$CACHE/ninja.log" 2>&1 || { tail -30 "$CACHE/ninja.log"; die "the arm64 build failed (log: $CACHE/ninja.log)"; }
file "$BUILD/cli/dualcnn" | grep -q "ARM aarch64" ||
  die "$BUILD/cli/dualcnn is not an aarch64 program: $(file -b "$BUILD/cli/dualcnn")"
say "built at $(elapsed)"

# ---- tests under qemu-user ----------------------------------------------------------------
# meson runs each test through the exe_wrapper (qemu-aarch64-static -L QEMU_PREFIX);
# programs the tests start go through binfmt_misc, and QEMU_LD_PREFIX points qemu at the
# root's libraries for them too
export QEMU_LD_PREFIX=$QEMU_PREFIX
export OMP_WAIT_POLICY=passive   # as .ci/run: two tests at a time on shared cores
# qemu-user runs the engine's floating-point code 10 to 100 times slower than the host
# (test_cascade: 3 s on amd64, 130 s of CPU under qemu): meson's and Check's timeouts x 10
MULT=${DUALCNN_ARM64_TIMEOUT_MULT:-10}
export CK_TIMEOUT_MULTIPLIER=$MULT
t_tests=$(date +%s)
say "meson test -C $BUILD --suite unit (under qemu-user)"
meson test -C "$BUILD" --suite unit --num-processes 2 --timeout-multiplier "$MULT" --print-errorlogs
unit_rc=$?
unit_s=$(( $(date +%s) - t_tests ))
summary=$(/usr/bin/python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["result"] in ("OK", "EXPECTEDFAIL"):
        ok += 1
    else:
        bad += 1
print(f"{ok} unit tests passed, {bad} failed")
PY
)
parity_rc=0
parity_summary=""
if [ -n "$PARITY" ]; then
  # the PyTorch side runs in the host's Python (amd64 torch); it starts the arm64 dualcnn
  # of this build, which binfmt_misc hands to qemu-aarch64
  names=""
  for a in $PARITY; do names="$names parity_$a"; done
  say "meson test -C $BUILD$names (PyTorch on the host, dualcnn arm64 under qemu-user)"
  t_par=$(date +%s)
  # shellcheck disable=SC2086
  meson test -C "$BUILD" --logbase parity --num-processes 2 --timeout-multiplier "$MULT" \
    --print-errorlogs $names
  parity_rc=$?
  parity_summary="; parity:$names $([ $parity_rc -eq 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - t_par ))s"
fi
echo "arm64: $summary (unit tests ${unit_s}s$parity_summary); total $(elapsed)"
[ $unit_rc -eq 0 ] && [ $parity_rc -eq 0 ]
