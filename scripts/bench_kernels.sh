#!/usr/bin/env bash
# bench_kernels.sh: build and run every kernels/bench/*.cu micro-benchmark on a
# machine with a GPU; each validates its variants on the CPU, then prints GB/s.
# Usage: scripts/bench_kernels.sh [out_dir]   env: ARCH (default sm_90), NVCC,
#   BUILD_ONLY=1 (compile every bench, run none: the check on a machine without a GPU)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/bench}
arch=${ARCH:-sm_90}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}

if [ ! -x "$nvcc" ]; then
    echo "bench_kernels.sh: nvcc not found (set NVCC=/path/to/nvcc)" >&2
    exit 2
fi
build_only=${BUILD_ONLY:-0}
if [ "$build_only" = 1 ]; then
    :
elif command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
    echo "bench_kernels.sh: warning: nvidia-smi not found; is there a GPU?" >&2
fi

mkdir -p "$out"
status=0
for src in "$root"/kernels/bench/*.cu; do
    name=$(basename "$src" .cu)
    echo "== $name ($arch)"
    if ! "$nvcc" -arch="$arch" -O3 -o "$out/$name" "$src" -lcublas; then
        echo "== $name does not build" >&2
        status=1
        continue
    fi
    [ "$build_only" = 1 ] && continue
    if ! "$out/$name"; then
        echo "== $name FAILED" >&2
        status=1
    fi
done
exit $status
