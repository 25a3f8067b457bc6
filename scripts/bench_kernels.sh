#!/usr/bin/env bash
# bench_kernels.sh: build and run every kernels/bench/*.cu micro-benchmark on a
# machine with a GPU; each validates its variants on the CPU, then prints GB/s.
# Usage: scripts/bench_kernels.sh [out_dir]   env: ARCH (default sm_90), NVCC,
#   JOBS (benches compiled at once, default nproc; they then run one at a time),
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
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# build_one NAME: compiles kernels/bench/NAME.cu into $out/NAME (log in $out/NAME.build.log).
build_one() {
    "$nvcc" -arch="$arch" -O3 -o "$out/$1" "$root/kernels/bench/$1.cu" -lcublas \
        >"$out/$1.build.log" 2>&1
}

names=()
for src in "$root"/kernels/bench/*.cu; do names+=("$(basename "$src" .cu)"); done
running=0
for name in "${names[@]}"; do
    rm -f "$out/$name"
    build_one "$name" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

status=0
for name in "${names[@]}"; do
    echo "== $name ($arch)"
    if [ ! -x "$out/$name" ]; then
        cat "$out/$name.build.log" >&2
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
