#!/usr/bin/env bash
# bench_torch.sh: run scripts/bench_torch.py (the PyTorch peer) the fair way.
# CPU: Debian's python3-torch with OpenBLAS's OpenMP build and OMP_NUM_THREADS=$THREADS
# (default 2; see BENCHMARKING.md). With --device cuda: plain python3 (PyTorch 2.x).
# Usage: scripts/bench_torch.sh train|decode [bench_torch.py options]   env: THREADS, PYTHON
# (set threads with THREADS=N, not --threads, so that OMP_NUM_THREADS agrees)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
threads=${THREADS:-2}

for arg in "$@"; do
    case "$arg" in
        --device=cuda*|cuda*) # the first python3 on PATH that has torch (PyTorch 2.x)
            py=${PYTHON:-python3}
            "$py" -c "import torch" 2>/dev/null || py=/usr/bin/python3
            exec "$py" "$here/bench_torch.py" "$@" ;;
    esac
done

blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ ! -e "$blas/libblas.so.3" ]; then
    echo "bench_torch.sh: $blas/libblas.so.3 is missing: apt-get install libopenblas0-openmp" \
         "(without it PyTorch runs the reference BLAS, ~27x slower)" >&2
    exit 2
fi
export LD_LIBRARY_PATH=$blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OMP_NUM_THREADS=$threads
exec "${PYTHON:-/usr/bin/python3}" "$here/bench_torch.py" --threads "$threads" "$@"
