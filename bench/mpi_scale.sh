#!/usr/bin/env bash
# bench/mpi_scale.sh — the prediction sweep of the six shipped FashionMNIST models on the
# validation split (the last 10,000 training images), one process with 2 threads against
# 2 MPI ranks with 1 thread each (docs/scale.md). Alternates the two for ROUNDS rounds on
# fresh caches and prints each run's wall time and, for the ranks, each rank's busy time.
#
#   bench/mpi_scale.sh [BUILD_DIR] [ROUNDS]     (defaults: build, 3)
#
# Needs an idle machine (two cores: anything else running skews both), Debian's
# dataset-fashion-mnist, and a build with MPI (-Dmpi=auto finds libopenmpi-dev).
set -euo pipefail
build="${1:-build}"
rounds="${2:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$build/cli/dualcnn"
models="$(ls "$root"/weights/fashionmnist/*.h5 | xargs -n1 basename | sed 's/\.h5$//' | paste -sd,)"
data=/usr/share/datasets/fashion-mnist
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mpirun=(mpirun -n 2)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
common=(predict -M "$models" -v "$data" -D fashionmnist -t --skip 50000
        --weights-dir "$root/weights" --batch 64)
echo "models: $models; samples: train split, 50000..59999; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  rm -rf "$work"/*
  t0=$(date +%s.%N)
  "$bin" "${common[@]}" --threads 2 --cache "$work/one" -q >/dev/null
  t1=$(date +%s.%N)
  echo "round $r: 1 process x 2 threads: $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
  t0=$(date +%s.%N)
  OMPI_MCA_btl=self,vader "${mpirun[@]}" "$bin" "${common[@]}" --threads 1 \
    --cache "$work/two" 2>&1 >/dev/null | grep 'rank [0-9]*:' | sed 's/^/    /'
  t1=$(date +%s.%N)
  echo "round $r: 2 ranks x 1 thread:    $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
done
