#!/usr/bin/env bash
# Runs the cargo-fuzz targets (signature header parser, event parser) for FUZZ_SECS each
# (default 600). The committed corpus in fuzz/corpus/<target> seeds the run read-only; new
# inputs go to a scratch directory, so the committed corpus stays small. A crash fails the script
# and leaves its input in fuzz/artifacts/<target>/.
#   scripts/fuzz.sh                 # both targets, 10 minutes each
#   FUZZ_SECS=30 scripts/fuzz.sh event_parser
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECS:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz needs unstable compiler flags; this machine has only a stable toolchain.
rustc --version | grep -q nightly || export RUSTC_BOOTSTRAP=1
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(signature_header event_parser)
for t in "${targets[@]}"; do
  scratch=$(mktemp -d)
  echo "fuzzing $t for ${secs}s"
  status=0
  cargo fuzz run "$t" "$scratch" "fuzz/corpus/$t" -- -max_total_time="$secs" -max_len=8192 \
    -print_final_stats=1 > "$scratch.log" 2>&1 || status=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)|panicked" "$scratch.log" || true
  if [ "$status" -ne 0 ]; then tail -40 "$scratch.log"; exit "$status"; fi
  echo "$t: no crash in ${secs}s ($(ls "$scratch" | wc -l) corpus entries found)"
  rm -rf "$scratch" "$scratch.log"
done
