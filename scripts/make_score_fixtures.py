#!/usr/bin/env python3
"""make_score_fixtures.py: writes the BLEU/chrF fixtures under tests/data/score/
and the values sacreBLEU gives for them (expected.json), so that
tests/test_score.c can check src/text/{bleu,chrf,tok13a}.c against numbers we
did not compute. Deterministic: the same files on every run.

Sets:
  handmade.*  hand-written lines: punctuation, quotes, &amp; entities, numbers
              with commas/periods, hyphens, <skipped>, empty and blank lines,
              Unicode whitespace, accented, Cyrillic, CJK and astral text.
  expected.json also holds "tok13a": [line, sacreBLEU's 13a tokens of
  line.rstrip()] for every handmade line and for TOK_EXTRA (strings with
  line breaks that a file cannot carry, entity chains, separators).
  synth.*     300 synthetic "translations": word shuffles, drops and swaps
              of a generated reference, with 1 and 2 references.
  short.*     three short lines with no 3- or 4-gram match (exercises the
              'exp' smoothing).
  zero.*      no n-gram in common (BLEU 0).
  empty.*     only empty and blank lines (no tokens, no characters at all).

Needs sacreBLEU 2.6.0 (the version the C code matches):
  python3 -m venv /tmp/sb && /tmp/sb/bin/pip install sacrebleu==2.6.0
  /tmp/sb/bin/python scripts/make_score_fixtures.py [OUT_DIR]
"""
import json
import os
import random
import sys

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

VERSION = "2.6.0"

HANDMADE_REF = [
    'He said &quot;hello&quot; &amp; left.',
    'Prices rose 1,234.56 dollars, i.e. 3.5% in 2019-2020.',
    'A well-known co-operative; e.g., "quoted" text!',
    '&amp;lt; double escaped &amp;amp; and &lt;b&gt;bold&lt;/b&gt;',
    '',
    '   ',
    'Über die Brücke — café crème à la mode.',
    'Съешь же ещё этих мягких французских булок.',
    '日本語のテキスト、句読点。東京',
    'Nested (parens) [brackets] {braces} <tags> a/b a\\b x@y.com #hash $5 ~t `b` ^c _u |p',
    "It's John's 'quote' here.",
    'Text with <skipped> marker<skipped>here.',
    'Numbers: 3-4, 5.-6, .5 and 5. end, 7,a a,7 8.b b.8',
    'Multiple...dots,,commas and trailing.',
    'tab\tseparated\u00a0nbsp\u3000ideographic\u2009thin\u2028sep',
    'Trailing spaces   ',
    'Emoji \U0001F600 and \U0001D518\U0001D52B\U0001D526 astral chars.',
    'Mixed 1.000.000,50 € and 10-20-30 -5 x-1.',
    '"Quoted at start" and end"',
    'One last line-\u00a0with a dash.',
]

HANDMADE_HYP = [
    'He said "hello" &amp; left .',
    'Prices rose 1,234.56 dollars , i.e. 3.5 % in 2019 - 2020.',
    'A well known cooperative; e.g. "quoted" text!',
    '&lt; double escaped &amp;amp; and <b>bold</b>',
    'not empty',
    '',
    'Uber die Brücke - café crème à la mode.',
    'Съешь ещё этих мягких французских булок!',
    '日本語のテキスト、句読点。京都',
    'Nested (parens) [brackets] {braces} <tags> a/b a\\b x@y.com #hash $5 ~t `b` ^c _u |p',
    "It's Johns 'quote' here .",
    'Text with marker here.',
    'Numbers: 3 - 4, 5.-6, 0.5 and 5. end, 7,a a,7 8.b b.8',
    'Multiple... dots, , commas and trailing',
    'tab separated nbsp\u3000ideographic thin\u2028sep',
    'Trailing spaces',
    'Emoji \U0001F600 and \U0001D518\U0001D52B\U0001D526 astral characters.',
    'Mixed 1.000.000,50 € and 10-20-30 - 5 x-1.',
    '“Quoted at start” and end"',
    'One last line- with a dash.',
]

HANDMADE_REF2 = [
    'He said: "hello", and left.',
    'Prices went up by 1,234.56 dollars, that is 3.5% in 2019-2020.',
    'A well-known cooperative; for example "quoted" text!',
    '< double escaped &amp; and <b>bold</b>',
    'nothing',
    '',
    'Über die Brücke, café crème à la mode.',
    'Съешь же ещё этих мягких французских булок, да выпей чаю.',
    '日本語のテキスト、句読点。京都',
    'Nested (parens) and [brackets]',
    "It is John's 'quote' here.",
    'Text with a marker here.',
    'Numbers: 3-4, 5-6, 0.5 and 5.',
    'Many dots, commas and trailing.',
    'tab separated nbsp ideographic thin sep',
    'Trailing spaces.',
    'Emoji \U0001F600 and astral chars.',
    'Mixed 1.000.000,50 € and 10-20-30 -5.',
    '"Quoted at start" and end.',
    'One last line with a dash.',
]

WORDS = ("the a of and to in is was for on that with as by at from it his her "
         "house river king people city land water road night day word law "
         "said went came made gave took saw found told asked "
         "über café niño año señor corazón mañana être déjà naïve façade "
         "can't don't it's o'clock well-known state-of-the-art "
         "1,000 3.14 2020 10-20 5% $30 #1").split()
PUNCT = [",", ".", ";", ":", "!", "?", "\"", "(", ")", "&amp;", "&quot;", "-"]


def synth_sentence(rng):
    n = rng.randint(3, 25)
    toks = []
    for _ in range(n):
        toks.append(rng.choice(WORDS))
        if rng.random() < 0.12:
            toks.append(rng.choice(PUNCT))
    line = " ".join(toks)
    line = line.replace(" ,", ",").replace(" .", ".").replace(" ;", ";")
    line = line[0].upper() + line[1:]
    return line + rng.choice([".", ".", ".", "!", "?", ""])


def perturb(rng, line):
    toks = line.split()
    out = []
    for t in toks:
        r = rng.random()
        if r < 0.10:
            continue                      # drop
        if r < 0.18:
            out.append(rng.choice(WORDS))  # substitute
            continue
        out.append(t)
        if r > 0.95:
            out.append(rng.choice(WORDS))  # insert
    for _ in range(rng.randint(0, 2)):    # local swaps
        if len(out) > 1:
            i = rng.randrange(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
    if rng.random() < 0.03:
        return ""
    return " ".join(out)


def synth_sets(n=300, seed=20240611):
    rng = random.Random(seed)
    ref1, ref2, hyp = [], [], []
    for _ in range(n):
        r = synth_sentence(rng)
        ref1.append(r)
        ref2.append(perturb(rng, r) if rng.random() < 0.7 else synth_sentence(rng))
        hyp.append(perturb(rng, r))
    return hyp, ref1, ref2


SHORT = (["the cat sat on a mat today", "a dog barked", "yes"],
         ["the cat on the mat sat today", "the dog barked", "no"])
TOK_EXTRA = [
    "a-\nb", "a-\n", "x\ny", "foo <skipped>-\nbar", "<skip<skipped>ped>",
    "&amp;quot;", "&quot;&amp;&lt;&gt;&apos;", "&AMP; &amp &", "trailing\u00a0\u3000 \t",
    "1-2-3", "a.b.c", ".,.,", "1.,2", "a,.b", "\x1c\x1dcontrol seps\x1f\x85x",
    "", "   ", "-", "1-", "-1", "$1,000.00-", "naïve café.", "x.\u00e9 \u00e9.",
]
EMPTY = (["", "   "], ["", "\t"])
ZERO = (["alpha beta gamma", "delta"], ["one two three", "four five"])


def write_lines(path, lines):
    for ln in lines:
        assert "\n" not in ln and "\r" not in ln and "\x00" not in ln, repr(ln)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(ln + "\n" for ln in lines))


def score(hyp, refs):
    bleu = BLEU()
    b = bleu.corpus_score(hyp, refs)
    chrf = CHRF()
    c = chrf.corpus_score(hyp, refs)
    return {
        "bleu": {
            "score": b.score, "precisions": b.precisions, "bp": b.bp,
            "ratio": b.ratio, "sys_len": b.sys_len, "ref_len": b.ref_len,
            "counts": list(b.counts), "totals": list(b.totals),
            "signature": str(bleu.get_signature()),
            "text": f"BLEU = {b.score:.2f} {b._verbose}",
        },
        "chrf": {
            "score": c.score, "signature": str(chrf.get_signature()),
            "text": f"{c.name} = {c.score:.2f}",
        },
    }


def main():
    if sacrebleu.__version__ != VERSION:
        sys.exit(f"need sacrebleu {VERSION}, found {sacrebleu.__version__}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "score")
    os.makedirs(out, exist_ok=True)
    s_hyp, s_ref1, s_ref2 = synth_sets()
    files = {
        "handmade.hyp": HANDMADE_HYP, "handmade.ref1": HANDMADE_REF,
        "handmade.ref2": HANDMADE_REF2,
        "synth.hyp": s_hyp, "synth.ref1": s_ref1, "synth.ref2": s_ref2,
        "short.hyp": SHORT[0], "short.ref1": SHORT[1],
        "zero.hyp": ZERO[0], "zero.ref1": ZERO[1],
        "empty.hyp": EMPTY[0], "empty.ref1": EMPTY[1],
    }
    for name, lines in files.items():
        write_lines(os.path.join(out, name), lines)
    tok = Tokenizer13a()  # BLEU tokenizes sent.rstrip()
    tok_in = HANDMADE_HYP + HANDMADE_REF + HANDMADE_REF2 + TOK_EXTRA
    cases = [
        ("handmade_1ref", "handmade.hyp", ["handmade.ref1"]),
        ("handmade_2ref", "handmade.hyp", ["handmade.ref1", "handmade.ref2"]),
        ("synth_1ref", "synth.hyp", ["synth.ref1"]),
        ("synth_2ref", "synth.hyp", ["synth.ref1", "synth.ref2"]),
        ("short", "short.hyp", ["short.ref1"]),
        ("zero", "zero.hyp", ["zero.ref1"]),
        ("empty", "empty.hyp", ["empty.ref1"]),
    ]
    expected = {"sacrebleu_version": sacrebleu.__version__,
                "tok13a": [[x, tok(x.rstrip())] for x in tok_in], "cases": []}
    for name, h, rs in cases:
        d = {"name": name, "hyp": h, "refs": rs}
        d.update(score(files[h], [files[r] for r in rs]))
        expected["cases"].append(d)
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for c in expected["cases"]:
        print(f'{c["name"]:14s} {c["bleu"]["text"]}  {c["chrf"]["text"]}')


if __name__ == "__main__":
    main()
