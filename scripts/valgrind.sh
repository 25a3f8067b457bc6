#!/usr/bin/env bash
# scripts/valgrind.sh: valgrind memcheck (leaks, invalid reads and writes, uses of
# uninitialised memory) over the host-side test binaries of the normal build
# folder: safetensors, corpus, spm, config, search, score. Installs valgrind when
# missing and builds those tests when needed. Exits non-zero on any error.
#   scripts/valgrind.sh [TEST...]     (default: the six above)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test_safetensors test_corpus test_spm test_config test_search
                                  test_score)
sf_install_build_deps
sf_install valgrind

dir=build
supp="$PWD/tests/valgrind.supp"
[ -f "$dir/CMakeCache.txt" ] || cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)" --target "${tests[@]}"

# One thread: the OpenMP and OpenBLAS pools keep their memory until exit
# (reported as "still reachable", which is not an error) and make runs slow.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 CK_FORK=no
failed=()
for t in "${tests[@]}"; do
    log="$dir/valgrind-$t.log"
    start=$(date +%s)
    if (cd "$dir" && valgrind --tool=memcheck --suppressions="$supp" --leak-check=full --errors-for-leak-kinds=definite,possible \
            --error-exitcode=1 --track-origins=yes --num-callers=30 "./$t") >"$log" 2>&1; then
        echo "valgrind $t: clean ($(( $(date +%s) - start )) s)"
    else
        echo "valgrind $t: FAILED ($(( $(date +%s) - start )) s); see $log" >&2
        grep -E "^==[0-9]+== (Invalid|Conditional|Use of|Syscall|.*definitely|.*possibly)" "$log" |
            head -n 20 >&2 || true
        failed+=("$t")
    fi
done
[ ${#failed[@]} -eq 0 ] || { echo "valgrind: ${failed[*]} failed" >&2; exit 1; }
