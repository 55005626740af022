#!/usr/bin/env bash
# tests/fuzz/run.sh — runs every libFuzzer harness of tests/fuzz/ for a bounded time.
#
#   tests/fuzz/run.sh [BUILD_DIR] [SECONDS]    (defaults: build-fuzz, 20; or $FUZZ_SECONDS)
#
# BUILD_DIR is a build made with -Dfuzz=true (see tests/fuzz/meson.build). For each harness:
# first every seed of tests/fuzz/corpus/<name>/ is run once with DC_FUZZ_EXPECT_OK=1 (a seed
# the parser refuses is a failure: the corpus must stay valid), then libFuzzer mutates a
# copy of the corpus for SECONDS (-max_total_time) with -rss_limit_mb=2048 -timeout=10 and
# leak detection on. Any crash, sanitizer report, leak, timeout or out-of-memory fails the
# harness; its reproducer is kept in $FUZZ_ARTIFACTS (default: fuzz-artifacts/ in the
# current directory). One line per harness:
#   PASS fuzz:<name> (<s>s): <execs> execs, <n> exec/s, cov <c>, ft <f>, corpus <n>
#   FAIL fuzz:<name> (<s>s): <why>   followed by the end of libFuzzer's log
# and the exit status is 1 when any harness failed. The harnesses run $FUZZ_JOBS at a time
# (default: the CPUs this process may use; CI: two), their lines printed in a fixed order.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build-fuzz}"
seconds="${2:-${FUZZ_SECONDS:-20}}"
artifacts="${FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}"
harnesses="npy pickle idx cifar image run_config weights predictions h5snapshot h5file torch"

work="$(mktemp -d "${TMPDIR:-/tmp}/dcfuzz-run-XXXXXX")" || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
export TMPDIR="$work"   # the harnesses' own temporary directories land here too
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# one harness: its PASS/FAIL line (and on failure the end of its log) on stdout, status 1
# when it failed
fuzz_one() {
  local name=$1 exe log start rc took execs rate last cov ft corp why
  local -a seeds
  exe="$build/tests/fuzz/fuzz_$name"
  log="$work/$name.log"
  start=$SECONDS
  if [ ! -x "$exe" ]; then
    echo "FAIL fuzz:$name (0s): $exe is not built (meson setup with -Dfuzz=true)"
    return 1
  fi
  seeds=("$here/corpus/$name"/*)
  if [ ! -e "${seeds[0]}" ]; then
    echo "FAIL fuzz:$name (0s): no seeds in tests/fuzz/corpus/$name (tests/fuzz/make_corpus.py)"
    return 1
  fi
  if ! DC_FUZZ_EXPECT_OK=1 "$exe" -artifact_prefix="$artifacts/$name-seed-" "${seeds[@]}" \
       >"$log" 2>&1; then
    echo "FAIL fuzz:$name ($((SECONDS - start))s): a seed fails to parse or crashes"
    tail -n 20 "$log"
    return 1
  fi
  mkdir -p "$work/corpus-$name"
  cp "${seeds[@]}" "$work/corpus-$name/"
  "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" "$work/corpus-$name" >"$log" 2>&1
  rc=$?
  took=$((SECONDS - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  if [ $rc -eq 0 ] && [ -n "$execs" ]; then
    echo "PASS fuzz:$name (${took}s): ${execs} execs, ${rate} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
  else
    why="libFuzzer exited with status $rc"
    grep -q 'ERROR: libFuzzer: timeout' "$log" && why="timeout (> 10 s on one input)"
    grep -q 'ERROR: libFuzzer: out-of-memory' "$log" && why="out of memory (> 2048 MB)"
    grep -q 'ERROR: LeakSanitizer' "$log" && why="memory leak"
    grep -qE 'ERROR: AddressSanitizer|runtime error:|deadly signal' "$log" && why="crash or sanitizer report"
    echo "FAIL fuzz:$name (${took}s): $why; reproducer under $artifacts/$name-*"
    grep -E 'ERROR|SUMMARY|runtime error|^    #[0-9]' "$log" | head -n 30
    return 1
  fi
  return 0
}

# the harnesses run $FUZZ_JOBS at a time (default: the CPUs this process may use), each
# into its own file; the lines are printed in the order of $harnesses
jobs_max="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
running=0
for name in $harnesses; do
  if [ "$running" -ge "$jobs_max" ]; then
    wait -n
    running=$((running - 1))
  fi
  { fuzz_one "$name" >"$work/$name.out" 2>&1; echo $? >"$work/$name.rc"; } &
  running=$((running + 1))
done
wait
failed=0
for name in $harnesses; do
  cat "$work/$name.out"
  [ "$(cat "$work/$name.rc" 2>/dev/null)" = 0 ] || failed=1
done
exit $failed
