#!/usr/bin/env bash
# scripts/baseline-apertium.sh IN OUT: translate English IN to Spanish OUT with
# the rule-based Apertium (apertium-eng-spa), one verse per paragraph so the
# output stays line-aligned; fails if the line counts differ.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
in=$1 out=$2
sf_install apertium apertium-eng-spa
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# blank line between verses: apertium keeps paragraphs apart
sed 's/$/\n/' "$in" > "$tmp/in.txt"
apertium -u eng-spa "$tmp/in.txt" "$tmp/out.txt"
# paragraphs back to lines: join the lines of each paragraph with a space
awk 'BEGIN { RS = ""; ORS = "\n" } { gsub(/\n/, " "); print }' "$tmp/out.txt" > "$tmp/lines.txt"
want=$(wc -l < "$in") got=$(wc -l < "$tmp/lines.txt")
if [ "$want" != "$got" ]; then
    echo "baseline-apertium.sh: $in has $want lines but the output has $got" >&2
    exit 1
fi
mv "$tmp/lines.txt" "$out"
