#!/usr/bin/env bash
# scripts/bench_compare.sh: seqfuse against the PyTorch peer on the same shapes,
# alternating A B A B in one run (the fair way on a noisy CPU), then the ratios.
#   THREADS=N ROUNDS=N PRECISION=f32|bf16|tf32 scripts/bench_compare.sh [--device cuda]
# PRECISION (default f32) sets seqfuse's --matmul-precision and the peer's
# matching mode (bf16: torch.autocast(bfloat16); tf32: --tf32).
# Needs Debian's python3-torch (+ libopenblas0-openmp) for the CPU peer.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2} rounds=${ROUNDS:-2} device=cpu precision=${PRECISION:-f32}
[ "${1:-}" = "--device" ] && device=$2
bin=build/seqfuse
sf_prec=(--matmul-precision "$precision") pt_prec=()
case "$precision" in
    f32) ;;
    bf16) pt_prec=(--bf16) ;;
    tf32) pt_prec=(--tf32) ;;
    *) echo "bench_compare.sh: PRECISION=$precision: expected f32, bf16 or tf32" >&2; exit 2 ;;
esac
out=$(mktemp -d)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
field() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])[sys.argv[2]])" "$@"; }

for r in $(seq 1 "$rounds"); do
    $bin bench train --config base --batch 64 --src-len 30 --tgt-len 30 --steps 3 --warmup 1 \
        --threads "$threads" --device "$device" "${sf_prec[@]}" --json > "$out/sf_train.$r"
    THREADS=$threads scripts/bench_torch.sh train --config base --batch 64 --src-len 30 \
        --tgt-len 30 --steps 3 --warmup 1 --device "$device" ${pt_prec[@]+"${pt_prec[@]}"} \
        --json > "$out/pt_train.$r"
    for beam in 1 5; do
        $bin bench decode --config base --batch 64 --beam $beam --src-len 30 --tgt-len 30 \
            --repeat 1 --threads "$threads" --device "$device" "${sf_prec[@]}" --json \
            > "$out/sf_dec$beam.$r"
        THREADS=$threads scripts/bench_torch.sh decode --config base --batch 64 --src-len 30 \
            --beam $beam --fixed-len 30 --steps 1 --device "$device" \
            ${pt_prec[@]+"${pt_prec[@]}"} --json > "$out/pt_dec$beam.$r"
    done
done
sf_train=$(for r in $(seq 1 "$rounds"); do field "$out/sf_train.$r" tgt_tokens_per_s; done | median)
pt_train=$(for r in $(seq 1 "$rounds"); do field "$out/pt_train.$r" tgt_tokens_per_s; done | median)
printf "products: %s (seqfuse: %s)\n" "$precision" \
    "$(field "$out/sf_train.1" products)"
printf "train base, batch 64 x (30 -> 30), %s threads, %s\n" "$threads" "$device"
printf "  seqfuse %8.0f target tokens/s   PyTorch %8.0f   ratio %.2f\n" "$sf_train" "$pt_train" \
    "$(echo "$sf_train / $pt_train" | bc -l)"
for beam in 1 5; do
    sf=$(for r in $(seq 1 "$rounds"); do python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['points'][0]['sentences_per_s'])" "$out/sf_dec$beam.$r"; done | median)
    pt=$(for r in $(seq 1 "$rounds"); do field "$out/pt_dec$beam.$r" sentences_per_s; done | median)
    printf "decode base, beam %d, batch 64, source 30, 30 steps\n" "$beam"
    printf "  seqfuse %8.1f sentences/s   PyTorch %8.1f   ratio %.2f\n" "$sf" "$pt" \
        "$(echo "$sf / $pt" | bc -l)"
done
echo "raw JSON in $out"
