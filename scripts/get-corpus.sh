#!/usr/bin/env bash
# scripts/get-corpus.sh: builds the verse-aligned English-Spanish Bible corpus (WEB /
# Reina-Valera 1909, aligned through the KJV's Strong's numbers) from Debian's SWORD
# packages; no download besides apt. Deterministic; skips work when DIR is complete.
#   scripts/get-corpus.sh [--force] [DIR]     (default DIR: data/bible in the repository)
# See docs/corpus.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

force=0
dir=""
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        -*) echo "get-corpus.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
        *) [ -z "$dir" ] || { echo "get-corpus.sh: one DIR only" >&2; exit 2; }
           dir=$arg ;;
    esac
done
dir=${dir:-$here/../data/bible}
python=${PYTHON:-python3}
packages=(diatheke libsword-utils sword-text-web sword-text-kjv sword-text-sparv)
modules=(engKJV2006eb engWEB2015eb spaRV1909eb)
outputs=(train.en train.es train.ref dev.en dev.es dev.ref test.en test.es test.ref
         test.kjv.en alignment.log)

die() { echo "get-corpus.sh: $*" >&2; exit 1; }

print_counts() {
    local s
    for s in train dev test; do
        printf '%-5s %6d pairs  (%s.en %s.es %s.ref)\n' "$s" \
            "$(wc -l < "$dir/$s.en")" "$s" "$s" "$s"
    done
    printf 'test.kjv.en %d lines; %s\n' "$(wc -l < "$dir/test.kjv.en")" \
        "$(cut -f1 "$dir/alignment.log" | sort | uniq -c | awk '{printf "%s%s=%d", (NR > 1 ? " " : ""), $2, $1}')"
}

command -v "$python" >/dev/null || die "python3 is missing: apt-get install -y python3"
"$python" "$here/bible_align.py" --selftest

if ! sf_install "${packages[@]}"; then
    die "could not install ${packages[*]}; as root run: apt-get update && apt-get install -y ${packages[*]}"
fi
command -v mod2imp >/dev/null || die "mod2imp not found: apt-get install -y libsword-utils"
have=$(diatheke -b system -k modulelist 2>/dev/null || true)
for m in "${modules[@]}"; do
    grep -q "^$m :" <<< "$have" ||
        die "SWORD module $m not found (diatheke -b system -k modulelist); reinstall ${packages[*]:2}"
done

# What the output depends on: the package versions and the aligner itself.
stamp=$( { dpkg-query -W "${packages[@]}"; sha256sum < "$here/bible_align.py"; } )

mkdir -p "$dir"
if [ "$force" = 0 ] && [ -f "$dir/SHA256SUMS" ] && [ -f "$dir/.stamp" ] &&
        [ "$(cat "$dir/.stamp")" = "$stamp" ] &&
        (cd "$dir" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1); then
    echo "corpus in $dir is complete and up to date (--force rebuilds)"
    print_counts
    exit 0
fi

start=$(date +%s)
work=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -f "$dir/SHA256SUMS" "$dir/.stamp"
for m in "${modules[@]}"; do
    mod2imp "$m" > "$work/$m.imp" || die "mod2imp $m failed"
    [ -s "$work/$m.imp" ] || die "mod2imp $m wrote nothing"
done
"$python" "$here/bible_align.py" --kjv "$work/engKJV2006eb.imp" \
    --web "$work/engWEB2015eb.imp" --rv "$work/spaRV1909eb.imp" --out "$work/out"
for f in "${outputs[@]}"; do
    mv -f "$work/out/$f" "$dir/$f"
done
(cd "$dir" && sha256sum "${outputs[@]}" > SHA256SUMS.tmp && mv -f SHA256SUMS.tmp SHA256SUMS)
printf '%s\n' "$stamp" > "$dir/.stamp"
echo "built $dir in $(( $(date +%s) - start )) s"
print_counts
