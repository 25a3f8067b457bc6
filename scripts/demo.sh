#!/usr/bin/env bash
# scripts/demo.sh: the main job, end to end on a fresh machine: install what is
# missing, build, make a small parallel corpus, train SentencePiece models and
# a tiny model on it (about a minute on 2 cores), then show the model file.
#   scripts/demo.sh [WORKDIR]     (default: ./demo-work)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
work=${1:-demo-work}

sf_install_build_deps
sf_install python3
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target seqfuse
bin=build/seqfuse
mkdir -p "$work"

echo "== corpus: $work/train.{src,tgt} (source -> reversed source, a task attention learns)"
python3 scripts/make_toy_corpus.py "$work"

echo "== seqfuse vocab"
$bin vocab --src "$work/train.src" --tgt "$work/train.tgt" -o "$work/vocab" --vocab-size 64

echo "== seqfuse train (tiny preset, 600 steps)"
$bin train --config tiny --src "$work/train.src" --tgt "$work/train.tgt" \
    --valid-src "$work/valid.src" --valid-tgt "$work/valid.tgt" \
    --src-spm "$work/vocab.src.model" --tgt-spm "$work/vocab.tgt.model" \
    --out "$work/model" --max-steps 600 --valid-every 200 --log-every 100 --threads 2

echo "== seqfuse info"
$bin info "$work/model/model.safetensors"
