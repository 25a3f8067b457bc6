#!/usr/bin/env bash
# scripts/fuzz.sh TARGET SECONDS: run the libFuzzer target tests/fuzz/fuzz_TARGET.c
# for SECONDS on a copy of its seed corpus (tests/fuzz/seeds/TARGET). Installs clang,
# its runtime libraries and OpenMP when missing, configures build-fuzz (clang,
# -DSEQFUSE_FUZZ=ON, no CUDA, no tests) and builds only that target.
# Exits 0 when nothing was found; otherwise 1 and the path of the crash file
# (add it to the seeds once the bug is fixed). Extra libFuzzer flags: FUZZ_FLAGS.
#   scripts/fuzz.sh safetensors 60      targets: safetensors, config, translate
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ $# -ne 2 ] || [ ! -f "tests/fuzz/fuzz_$1.c" ] || ! [ "$2" -ge 1 ] 2>/dev/null; then
    echo "usage: scripts/fuzz.sh TARGET SECONDS  (TARGET: $(ls tests/fuzz/fuzz_*.c |
        sed 's|.*/fuzz_||; s|\.c$||' | paste -sd ' '))" >&2
    exit 2
fi
target=$1 seconds=$2

sf_install_build_deps
sf_install clang libclang-rt-14-dev libomp-14-dev

dir=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSEQFUSE_FUZZ=ON -DSEQFUSE_CUDA=OFF -DSEQFUSE_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)" --target "fuzz_$target"

# libFuzzer adds what it finds to the first corpus folder: fuzz a copy so the
# committed seeds stay a small hand-made set.
work="$dir/fuzz-$target"
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
cp -r "tests/fuzz/seeds/$target/." "$work/corpus/" 2>/dev/null || true
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
set +e
# shellcheck disable=SC2086
"$dir/fuzz_$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    ${FUZZ_FLAGS:-} "$work/corpus" > "$work/log.txt" 2>&1
rc=$?
set -e
tail -n 25 "$work/log.txt"
crash=$(ls "$work"/artifacts/* 2>/dev/null | head -n 1 || true)
if [ $rc -ne 0 ] || [ -n "$crash" ]; then
    echo "fuzz_$target FAILED (exit $rc): crash file ${crash:-none}; full log $work/log.txt" >&2
    echo "reproduce: $dir/fuzz_$target ${crash:-}" >&2
    exit 1
fi
echo "fuzz_$target: no crash in $seconds s ($(ls "$work/corpus" | wc -l) corpus files)"
