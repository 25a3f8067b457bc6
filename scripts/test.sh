#!/usr/bin/env bash
# scripts/test.sh: install what is missing, configure, build and run every test
# through CTest. Exits non-zero on any failure.
#   scripts/test.sh              normal build (CUDA compiled when nvcc exists), all tests
#   scripts/test.sh --sanitize   ASan+UBSan build (CPU only), the `cpu`-labelled tests
# Extra CMake arguments may be passed in SEQFUSE_CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

mode=normal
for arg in "$@"; do
    case "$arg" in
        --sanitize) mode=sanitize ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

sf_install_build_deps

jobs=$(nproc 2>/dev/null || echo 2)
if [ "$mode" = sanitize ]; then
    dir=build-asan
    # shellcheck disable=SC2086
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSEQFUSE_SANITIZE=ON -DSEQFUSE_CUDA=OFF \
        ${SEQFUSE_CMAKE_ARGS:-} >/dev/null
    cmake --build "$dir" -j"$jobs"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
    (cd "$dir" && ctest --output-on-failure -L cpu -j"$jobs")
else
    dir=build
    # shellcheck disable=SC2086
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${SEQFUSE_CMAKE_ARGS:-} >/dev/null
    cmake --build "$dir" -j"$jobs"
    (cd "$dir" && ctest --output-on-failure -j"$jobs")
fi
