#!/bin/sh
# demo_time.sh — the time the README's demo cascade saves against vgg11_bn alone, measured
# the way docs/benchmarks.md reports it: ROUNDS alternating pairs of runs on the same
# stream (the cascade first, then vgg11_bn alone), each in its own process; per pair the
# mean time per input of both and the saving, then the medians and the spread.
#
#   bench/demo_time.sh [ROUNDS] [DUALCNN] [FASHION_MNIST_DIR]
#
# ROUNDS defaults to 5, DUALCNN to build/cli/dualcnn, the data to Debian's
# dataset-fashion-mnist. Run it on an otherwise idle machine: a pair takes about 40 s.
# The cascade is `run -m1 shufflenetv2_x0_5 -m2 vgg11_bn -s maxp -t 0.656279 -m invariants`
# on the test split with every sample twice (-d 1), half the copies rotated or flipped
# (-r 0.5), seed 42: the README's "Against the paper's claim".
set -eu
rounds=${1:-5}
bin=${2:-build/cli/dualcnn}
data=${3:-/usr/share/datasets/fashion-mnist}
[ -x "$bin" ] || { echo "demo_time.sh: $bin: no dualcnn binary there (build first)" >&2; exit 2; }
[ -d "$data" ] || { echo "demo_time.sh: $data: no FashionMNIST directory there" >&2; exit 2; }
case $rounds in '' | *[!0-9]* | 0) echo "demo_time.sh: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2 ;; esac

stream="-D fashionmnist -i $data -d 1 -r 0.5 --seed 42 -q"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# "Time per input" and the model stages of one run's report, as "total model1 model2"
# (a stage the run does not have is 0).
stage_times() {
    awk '/^Time per input/ { t = $NF }
         /^  model 1 / { m1 = $3 }
         /^  model 2 / { m2 = $3 }
         END { if (t == "") exit 1; printf "%s %s %s\n", t, m1 == "" ? 0 : m1, m2 == "" ? 0 : m2 }'
}

i=1
while [ "$i" -le "$rounds" ]; do
    # shellcheck disable=SC2086 # $stream holds several flags
    c=$("$bin" run -m1 shufflenetv2_x0_5 -m2 vgg11_bn -s maxp -t 0.656279 -m invariants \
        $stream 2>&1 | stage_times) || { echo "demo_time.sh: the cascade run failed" >&2; exit 1; }
    # shellcheck disable=SC2086
    s=$("$bin" run -m1 vgg11_bn $stream 2>&1 | stage_times) ||
        { echo "demo_time.sh: the vgg11_bn run failed" >&2; exit 1; }
    echo "$c $s" | awk -v i="$i" '{
        printf "pair %d: cascade %.3f ms (model 1 %.3f, model 2 %.3f), vgg11_bn alone %.3f ms: saving %.1f%%\n",
               i, $1, $2, $3, $4, 100 * (1 - $1 / $4) }'
    echo "$c $s" >>"$out"
    i=$((i + 1))
done

# "median min max" of the numbers on stdin, one a line (the median: the middle value, or
# the mean of the two middle ones)
spread() {
    sort -n | awk '{ v[NR] = $1 }
        END { n = NR; print (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2), v[1], v[n] }'
}

read -r cm clo chi <<EOF
$(awk '{ print $1 }' "$out" | spread)
EOF
read -r sm slo shi <<EOF
$(awk '{ print $4 }' "$out" | spread)
EOF
read -r vm vlo vhi <<EOF
$(awk '{ printf "%.4f\n", 100 * (1 - $1 / $4) }' "$out" | spread)
EOF
awk -v r="$rounds" -v cm="$cm" -v clo="$clo" -v chi="$chi" -v sm="$sm" -v slo="$slo" \
    -v shi="$shi" -v vm="$vm" -v vlo="$vlo" -v vhi="$vhi" 'BEGIN {
    printf "%d pairs: cascade median %.3f ms (%.3f-%.3f), vgg11_bn alone median %.3f ms (%.3f-%.3f)\n",
           r, cm, clo, chi, sm, slo, shi
    printf "saving: median of the pairs %.1f%% (%.1f-%.1f%%); of the medians %.1f%%\n",
           vm, vlo, vhi, 100 * (1 - cm / sm) }'
