#!/usr/bin/env bash
# tools/quickstart.sh — the README's first command: install what dualcnn needs (Debian),
# build it, and run the paper's pipeline on the shipped FashionMNIST models (tools/demo.py:
# complementarity and the lambda search on the validation split, then the cascade with
# memory on the test split with duplicates, beside the most accurate single model).
# Without shipped models (weights/fashionmnist/ holds fewer than two files) it shows the
# engine instead: two CIFAR-10 architectures with random weights, checked against PyTorch,
# then timed side by side with PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${DUALCNN_SKIP_APT:-0}" != 1 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends build-essential meson ninja-build \
    pkg-config libopenblas-openmp-dev libhdf5-dev check libpng-dev libjpeg-dev zlib1g-dev libdeflate-dev \
    libyaml-dev libzip-dev libcurl4-openssl-dev libssl-dev libarchive-dev python3 python3-numpy \
    python3-h5py python3-torch python3-torchvision \
    dataset-fashion-mnist >/dev/null
fi
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
DUALCNN=build/cli/dualcnn
PY=/usr/bin/python3

shipped=$(ls weights/fashionmnist/*.h5 2>/dev/null | wc -l)
if [ "$shipped" -ge 2 ]; then
  # the most accurate single model beside the cascade; --singles all adds every other one
  # (each single model streams all 20,000 inputs one at a time: several more minutes)
  exec $PY tools/demo.py --dualcnn $DUALCNN --singles best "$@"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== the zoo (first rows)"
$DUALCNN models | head -8

for arch in resnet20 mobilenetv2_x0_5; do
  echo "== $arch: random weights, PyTorch vs dualcnn on 8 random images"
  $PY tools/export_weights.py --arch $arch --dataset cifar10 --random --seed 1 \
    --out "$WORK/$arch.h5" >/dev/null
  $PY -c "import numpy as np; np.save('$WORK/x.npy', np.random.RandomState(0).randn(8, 3, 32, 32).astype('float32'))"
  $PY tools/reference.py --weights "$WORK/$arch.h5" --in "$WORK/x.npy" --out "$WORK/ref.npy"
  $DUALCNN infer --weights "$WORK/$arch.h5" --in "$WORK/x.npy" --out "$WORK/out.npy"
  $PY -c "
import numpy as np
r, o = np.load('$WORK/ref.npy'), np.load('$WORK/out.npy')
print(f'  max |dualcnn - pytorch| = {abs(r - o).max():.2e} (max |logit| {abs(r).max():.2f}), '
      f'same top-1 for {int((r.argmax(1) == o.argmax(1)).sum())}/8 images')"
done

echo "== speed at batch 1, 1 thread (median of 2 rounds x 30 runs; ratio = PyTorch / dualcnn)"
# --force: the steps above leave the load average high for a minute; the numbers are a
# demonstration, docs/benchmarks.md says how to measure on an idle machine
$PY bench/compare_pytorch.py --dualcnn $DUALCNN --models resnet20,mobilenetv2_x0_5,shufflenetv2_x0_5 \
  --batch 1 --threads 1 --rounds 2 --repeats 30 --force
