#!/usr/bin/env bash
# tests/install/test_install.sh BUILD_DIR SOURCE_ROOT WORKDIR — the installed library:
# `meson install` into a temporary root (DESTDIR), then examples/classify.c compiled with
# nothing but `pkg-config --cflags --libs dualcnn` from that root and run against the shipped
# FashionMNIST resnet20 on a PNG; its top-5 must be `dualcnn classify`'s; and
# examples/shared_model.c, four threads on one model, each with a dc_ctx. Also: the shared
# library has a soname and exports only dc_* symbols.
set -uo pipefail
build="$1" src="$2" work="$3"
fail=0
check() { if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fail=1; fi; }
rm -rf "$work" && mkdir -p "$work"
dest="$work/root"
if ! meson install -C "$build" --destdir "$dest" --no-rebuild >"$work/install.log" 2>&1; then
  echo "FAIL meson install"; tail -20 "$work/install.log"; exit 1
fi
pc="$(find "$dest" -name dualcnn.pc | head -n 1)"
check "dualcnn.pc is installed" '[ -n "$pc" ]'
so="$(find "$dest" -name 'libdualcnn.so.*.*' | head -n 1)"
check "libdualcnn.so is installed" '[ -n "$so" ]'
check "the header is installed" '[ -n "$(find "$dest" -name dualcnn.h)" ]'
check "the soname is libdualcnn.so.0" \
  '[ "$(objdump -p "$so" | awk "/SONAME/ {print \$2}")" = libdualcnn.so.0 ]'
others="$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^dc_' | head -5)"
check "only dc_* symbols are exported${others:+ (not: $others)}" '[ -z "$others" ]'
export PKG_CONFIG_PATH="$(dirname "$pc")"
# the .pc names the configured prefix; point it into the temporary root
prefix="$(pkg-config --variable=prefix dualcnn)"
flags="$(pkg-config --define-variable=prefix="$dest$prefix" --cflags --libs dualcnn)"
check "pkg-config --cflags --libs dualcnn" '[ -n "$flags" ]'
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror "$src/examples/classify.c" $flags -o "$work/classify" \
     2>"$work/cc.log"; then
  echo "PASS examples/classify.c builds against the installed library"
else
  echo "FAIL examples/classify.c builds against the installed library"; cat "$work/cc.log"; fail=1
fi
# a FashionMNIST-like image: a bright rectangle (a bag, say) on black, 28 x 28 gray
/usr/bin/python3 - "$work/item.png" <<'PY'
import sys, zlib, struct
w = h = 28
rows = b"".join(b"\0" + bytes(200 if 6 <= x < 22 and 9 <= y < 24 else 0 for x in range(w))
                for y in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
open(sys.argv[1], "wb").write(png)
PY
libdir="$(dirname "$so")"
weights="$src/weights/fashionmnist/resnet20.h5"
# the quarantined HDF5 reader is installed in libexec: the program finds it there
out="$(LD_LIBRARY_PATH="$libdir" DUALCNN_H5_HELPER="$(find "$dest" -name dualcnn-h5read | head -n 1)" \
       "$work/classify" "$weights" "$work/item.png" 2>&1)"
echo "$out" | sed 's/^/    /'
check "classify runs against the installed shared library" \
  'echo "$out" | grep -q "^dualcnn 0\."'
check "the program uses the shared library" \
  'LD_LIBRARY_PATH="$libdir" ldd "$work/classify" | grep -q "libdualcnn.so.0 => $libdir"'
ref="$("$build/cli/dualcnn" classify -w1 "$weights" "$work/item.png" 2>&1)"
# the five classes in order: "8 Bag ..." lines here, "  1.  97.123%  class 8    Bag" there
mine="$(echo "$out" | head -n 5 | awk '{print $1}' | paste -sd,)"
theirs="$(echo "$ref" | sed -n 's/^ *[0-9]\. .*% *class \([0-9]*\) .*/\1/p' | paste -sd,)"
check "its top-5 classes ($mine) are dualcnn classify's ($theirs)" \
  '[ -n "$mine" ] && [ "$mine" = "$theirs" ]'
# one model, four threads, one context each: every output the single-thread one, bit for bit
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror "$src/examples/shared_model.c" $flags -pthread \
     -o "$work/shared_model" 2>"$work/cc2.log"; then
  echo "PASS examples/shared_model.c builds against the installed library"
else
  echo "FAIL examples/shared_model.c builds against the installed library"; cat "$work/cc2.log"; fail=1
fi
out="$(LD_LIBRARY_PATH="$libdir" DUALCNN_H5_HELPER="$(find "$dest" -name dualcnn-h5read | head -n 1)" \
       "$work/shared_model" "$weights" 4 2>&1)"
echo "$out" | sed 's/^/    /'
check "4 threads sharing one model give the single-thread outputs bit for bit" \
  'echo "$out" | grep -q "on 4 threads sharing one resnet20: bit for bit"'
[ $fail -eq 0 ] && echo "all passed"
exit $fail
