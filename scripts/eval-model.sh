#!/usr/bin/env bash
# scripts/eval-model.sh MODEL [DIR]: translate the Bible dev and test splits with
# MODEL (beam 5) and print BLEU and chrF2 (sacreBLEU defaults) for each.
# DIR defaults to data/bible (made by scripts/get-corpus.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1 data=${2:-data/bible}
bin=${SEQFUSE:-build/seqfuse}
out=$(mktemp -d)
for split in dev test; do
    start=$(date +%s)
    $bin -q translate -m "$model" -i "$data/$split.en" -o "$out/$split.es" --beam 5 \
        --threads "${THREADS:-2}"
    secs=$(( $(date +%s) - start ))
    scores=$($bin score --hyp "$out/$split.es" --ref "$data/$split.es" --json)
    echo "$split: $(echo "$scores" | sed -E 's/.*"bleu": ([0-9.]+), "chrf2": ([0-9.]+).*/BLEU \1 chrF2 \2/')" \
         "($(wc -l < "$data/$split.en") verses in ${secs}s)"
done
echo "signature: $($bin score --hyp "$out/test.es" --ref "$data/test.es" | sed -n 2p)"
echo "translations in $out"
