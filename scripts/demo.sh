#!/usr/bin/env bash
# scripts/demo.sh: the main job on real data. Installs what is missing, builds,
# builds the Bible corpus from Debian packages, translates the held-out test
# books (English -> Spanish) with the shipped model, prints BLEU and chrF2 next
# to the rule-based Apertium baseline, and writes attention pictures.
#   scripts/demo.sh            translate with models/en-es-bible.safetensors
#   scripts/demo.sh --train    also train a small model for a few minutes on the
#                              CPU, showing training progress, and translate with it
# Output goes to demo-out/ (set DEMO_OUT to change). Takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
train=0
for arg in "$@"; do
    case "$arg" in
        --train) train=1 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "demo.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
out=${DEMO_OUT:-demo-out}
model=models/en-es-bible.safetensors
threads=$(nproc 2>/dev/null || echo 2)

echo "== installing and building"
sf_install_build_deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$threads" --target seqfuse >/dev/null
bin=build/seqfuse

echo "== corpus (Bible, WEB English -> Reina-Valera 1909 Spanish; test = 6 held-out books)"
bash scripts/get-corpus.sh data/bible
mkdir -p "$out"
data=data/bible

echo "== baseline: Apertium (rule-based, apertium -u eng-spa)"
bash scripts/baseline-apertium.sh "$data/test.en" "$out/test.apertium.es"

score() { # name hyp
    $bin score --hyp "$2" --ref "$data/test.es" --json |
        sed -E 's/.*"bleu": ([0-9.]+), "chrf2": ([0-9.]+).*/\1 \2/' |
        awk -v n="$1" '{ printf "  %-28s BLEU %6.2f   chrF2 %6.2f\n", n, $1, $2 }'
}

translate() { # model out [extra args]
    local m=$1 o=$2
    shift 2
    $bin translate -m "$m" -i "$data/test.en" -o "$o" --beam 5 --threads "$threads" "$@"
}

if [ -f "$model" ]; then
    echo "== translating $(wc -l < "$data/test.en") test verses with $model (beam 5)"
    $bin info "$model" | sed -n '1,3p'
    translate "$model" "$out/test.seqfuse.es"
    echo "== attention pictures for the first 5 test verses"
    head -5 "$data/test.en" > "$out/first5.en"
    mkdir -p "$out/attention"
    $bin -q translate -m "$model" -i "$out/first5.en" --attention-svg "$out/attention" \
        --beam 5 > "$out/first5.es"
    paste -d '\n' "$out/first5.en" "$out/first5.es" | head -6 | sed 's/^/  /'
    echo "  SVG heatmaps: $out/attention/1.svg .. 5.svg (open in a browser)"
else
    echo "== $model is missing: skipping the shipped model (see models/README.md)"
fi

if [ "$train" = 1 ]; then
    echo "== training a small model for 5 minutes on the CPU (--train)"
    $bin train --config models/bible.yaml --src "$data/train.en" --tgt "$data/train.es" \
        --valid-src "$data/dev.en" --valid-tgt "$data/dev.es" --out "$out/small-run" \
        --max-time 300 --valid-every 100 --valid-bleu-max 100 --threads "$threads"
    translate "$out/small-run/model.safetensors" "$out/test.small-run.es"
fi

echo "== test set scores (sacreBLEU-compatible: $($bin score --hyp "$out/test.apertium.es" \
    --ref "$data/test.es" | sed -n 2p))"
score "Apertium (rule-based)" "$out/test.apertium.es"
[ -f "$out/test.seqfuse.es" ] && score "seqfuse (shipped model)" "$out/test.seqfuse.es"
[ -f "$out/test.small-run.es" ] && score "seqfuse 5-minute model" "$out/test.small-run.es"
echo "outputs in $out/"
