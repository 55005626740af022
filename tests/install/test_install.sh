#!/usr/bin/env bash
# tests/install/test_install.sh BUILD_DIR SOURCE_ROOT WORKDIR — the installed library:
# `meson install` into a temporary root (DESTDIR), then the three examples compiled with
# nothing but `pkg-config --cflags --libs dualcnn` from that root and run:
#  - examples/classify.c on the shipped FashionMNIST resnet20 and a PNG: its top-5 must be
#    `dualcnn classify`'s;
#  - examples/shared_model.c, four threads on one model, each with a dc_ctx: bit for bit the
#    single-thread outputs;
#  - examples/cascade_folder.c, resnet20 -> vgg11_bn with maxp and the dHash memory, on a
#    folder of PNGs written here (FashionMNIST test images when the Debian package
#    dataset-fashion-mnist is installed, else pictures drawn here; some of them twice):
#    for every image the class and the exit (memory, first, second) of `dualcnn run` on the
#    same files, in the same order.
# Also: the shared library has a soname and exports only dc_* symbols.
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
# grep reads all of ldd's output (no -q): under pipefail, grep -q leaving at the first match
# could kill ldd with SIGPIPE while it still wrote, and fail the check (seen once in CI)
check "the program uses the shared library" \
  'LD_LIBRARY_PATH="$libdir" ldd "$work/classify" | grep "libdualcnn.so.0 => $libdir" >/dev/null'
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
# the cascade over a folder: the same answers and exits as `dualcnn run` on the same files.
# The example reads one folder in strcmp order; `run` reads a class-per-folder tree (class
# folders in order, then their files): names starting with the class keep both orders equal.
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror "$src/examples/cascade_folder.c" $flags \
     -o "$work/cascade_folder" 2>"$work/cc3.log"; then
  echo "PASS examples/cascade_folder.c builds against the installed library"
else
  echo "FAIL examples/cascade_folder.c builds against the installed library"; cat "$work/cc3.log"; fail=1
fi
/usr/bin/python3 - "$work/folder" "$work/tree" <<'PY'
import gzip, os, random, shutil, struct, sys, zlib
flat, tree = sys.argv[1], sys.argv[2]
def png(path, rows):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    raw = b"".join(b"\0" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 0, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
fm = "/usr/share/datasets/fashion-mnist"
if os.path.exists(fm + "/t10k-images-idx3-ubyte.gz"):
    pix = gzip.open(fm + "/t10k-images-idx3-ubyte.gz").read()[16:16 + 24 * 784]
    labels = gzip.open(fm + "/t10k-labels-idx1-ubyte.gz").read()[8:8 + 24]
    print("the folder: 24 FashionMNIST test images, 5 of them twice")
else:
    rng = random.Random(7)
    labels, pix = [i % 10 for i in range(24)], b""
    for i in range(24):
        x0, y0 = rng.randrange(10), rng.randrange(10)
        pix += bytes(rng.randrange(90, 250) if x0 <= x < x0 + 12 and y0 <= y < y0 + 14
                     else rng.randrange(30) for y in range(28) for x in range(28))
    print("the folder: 24 pictures drawn here (no FashionMNIST), 5 of them twice")
os.makedirs(flat)
for c in range(10):
    os.makedirs(os.path.join(tree, str(c)))
for i in range(24):
    rows = [pix[784 * i + 28 * y: 784 * i + 28 * y + 28] for y in range(28)]
    names = ["c%d_%03d.png" % (labels[i], i)] + (["c%d_%03d_again.png" % (labels[i], i)]
                                                  if i % 5 == 0 else [])
    for name in names:
        png(os.path.join(flat, name), rows)
        shutil.copy(os.path.join(flat, name), os.path.join(tree, str(labels[i]), name))
PY
second="$src/weights/fashionmnist/vgg11_bn.h5"
out="$(LD_LIBRARY_PATH="$libdir" DUALCNN_H5_HELPER="$(find "$dest" -name dualcnn-h5read | head -n 1)" \
       "$work/cascade_folder" "$weights" "$second" maxp 0.99 "$work/folder" dhash 2>&1)"
echo "$out" | sed 's/^/    /'
"$build/cli/dualcnn" run -m1 resnet20 -w1 "$weights" -m2 vgg11_bn -w2 "$second" \
  -i "$work/tree" -D tree -s maxp -t 0.99 -m dhash --no-shuffle -q \
  --per-sample "$work/run.csv" >"$work/run.log" 2>&1
# "FILE CLASS NAME... EXIT" there; "position,sample,...,prediction,exit,..." here
mine="$(echo "$out" | grep '\.png ' | awk '{print $2, $NF}')"
theirs="$(tail -n +2 "$work/run.csv" | awk -F, '{print $6, $7}')"
check "cascade_folder: $(echo "$mine" | wc -l) images, classes and exits those of dualcnn run" \
  '[ -n "$mine" ] && [ "$mine" = "$theirs" ]'
[ "$mine" = "$theirs" ] || diff <(echo "$mine") <(echo "$theirs") | head -10
check "cascade_folder: the memory answered the repeated images" \
  '[ "$(echo "$mine" | grep -c " memory$")" -eq 5 ]'
if [ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  check "cascade_folder: both models answered some images" \
    'echo "$mine" | grep -q " first$" && echo "$mine" | grep -q " second$"'
fi
[ $fail -eq 0 ] && echo "all passed"
exit $fail
