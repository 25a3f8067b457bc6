#!/usr/bin/env python3
"""bible_align.py: builds a verse-aligned English-Spanish corpus from mod2imp dumps of
the SWORD modules KJV (engKJV2006eb), WEB (engWEB2015eb) and Reina-Valera 1909
(spaRV1909eb): strips the OSIS markup, aligns RV1909 to the KJV verse structure book by
book with their Strong's numbers, and writes train/dev/test splits by whole books.
Standard library only (runs with the system python3 of Debian 12).

  bible_align.py --kjv K.imp --web W.imp --rv R.imp --out DIR
  bible_align.py --selftest
"""
import argparse
import html
import math
import os
import re
import sys

# The 66 books in the order of the KJV versification, as OSIS ids.
BOOKS = (
    "Gen Exod Lev Num Deut Josh Judg Ruth 1Sam 2Sam 1Kgs 2Kgs 1Chr 2Chr Ezra Neh Esth "
    "Job Ps Prov Eccl Song Isa Jer Lam Ezek Dan Hos Joel Amos Obad Jonah Mic Nah Hab "
    "Zeph Hag Zech Mal Matt Mark Luke John Acts Rom 1Cor 2Cor Gal Eph Phil Col 1Thess "
    "2Thess 1Tim 2Tim Titus Phlm Heb Jas 1Pet 2Pet 1John 2John 3John Jude Rev").split()
DEV_BOOKS = ("Josh", "Eccl", "2Cor", "Phil", "1Pet")
TEST_BOOKS = ("Judg", "Lam", "Zeph", "Acts", "Jas", "1John")
SPLITS = ("train", "dev", "test")

# Elements dropped with their content: notes (footnotes, cross references), speaker
# labels, and titles other than the canonical psalm superscriptions.
DROP_ELEMENTS = {"note", "speaker", "catchWord", "rdg", "title"}
# Elements whose tags vanish without a space (they wrap words inside a sentence).
INLINE_ELEMENTS = {"w", "transChange", "q", "seg", "divineName", "foreign", "hi", "name",
                   "reference"}
TAG_RE = re.compile(r"<(/?)([A-Za-z][\w:.-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>")
ATTR_RE = re.compile(r"([\w:.-]+)=\"([^\"]*)\"")
STRONG_RE = re.compile(r"^([HG])0*(\d+)[a-z]?$")
# Leftovers of USFM character markers inside the KJV text, e.g. "\nd LORD\+nd*".
USFM_RE = re.compile(r"\\\+?[a-z]+\d*\*?")
# Psalm 119 stanza letters that RV1909 prints at the start of every eighth verse.
PS119_LETTERS = {"ALEPH", "BETH", "GIMEL", "DALETH", "HE", "VAU", "ZAIN", "CHETH", "TETH",
                 "JOD", "CAPH", "LAMED", "MEM", "NUN", "SAMECH", "AIN", "PE", "TZADDI",
                 "COPH", "RESH", "SIN", "TAU"}
WORD_RE = re.compile(r"[^\W\d_]+")


# ---------------------------------------------------------------------------------
# Reading mod2imp dumps

def parse_imp(path):
    """The entries of a mod2imp dump ("$$$Genesis 1:1" then the markup) as a list of
    [key, raw] in file order."""
    entries, cur = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("$$$"):
                cur = [line[3:], ""]
                entries.append(cur)
            elif cur is not None:
                cur[1] = cur[1] + "\n" + line if cur[1] else line
    return entries


def group_verses(entries):
    """{book name: [(ch, vs, raw), ...]} of the real verses (ch >= 1, vs >= 1) of a
    dump, books in order of appearance."""
    out = {}
    for key, raw in entries:
        m = re.match(r"^(.+) (\d+):(\d+)$", key)
        if m and int(m.group(2)) >= 1 and int(m.group(3)) >= 1:
            out.setdefault(m.group(1), []).append((int(m.group(2)), int(m.group(3)), raw))
    return out


# ---------------------------------------------------------------------------------
# Markup stripping

def _drop_stanza_letter(elem, out, strongs):
    """A kept psalm title without lowercase letters is a Psalm 119 stanza letter
    ("ALEPH", "SIN AND SHIN" in WEB): remove what it added to out and strongs."""
    name, dropped, out_len, strongs_len = elem
    if name != "title" or dropped:
        return
    text = "".join(out[out_len:])
    if not any(c.islower() for c in text):
        del out[out_len:]
        del strongs[strongs_len:]


def strip_markup(raw):
    """OSIS verse markup -> (clean text, list of Strong's numbers like 'H430').
    Drops notes, headings, speaker labels and everything after the end of the book
    (WEB appends its glossary to Rev 22:21); keeps the words of <w>, <transChange>,
    <q>, <divineName> and canonical psalm titles; removes pilcrows and USFM leftovers;
    collapses whitespace."""
    out, strongs = [], []
    stack = []   # open elements: (name, dropped, len(out), len(strongs)) at their start
    pos, last_close_end = 0, -1
    for m in TAG_RE.finditer(raw):
        dropped = bool(stack) and stack[-1][1]
        if not dropped:
            out.append(raw[pos:m.start()])
        pos = m.end()
        closing, name, attr_text, selfclose = m.groups()
        attrs = dict(ATTR_RE.findall(attr_text))
        if name == "div" and attrs.get("type") == "book" and "eID" in attrs:
            pos = len(raw)   # the book is over: what follows is not scripture
            break
        # A space where a tag is not inline, and between two adjacent word elements
        # ("<w>hay allí</w><transChange>también</transChange>" in RV1909).
        if not (name in INLINE_ELEMENTS and not selfclose) or \
                (not closing and last_close_end == m.start()):
            out.append(" ")
        if closing:
            last_close_end = m.end()
            while stack:       # tolerate unbalanced markup: pop to the matching name
                top = stack.pop()
                if top[0] == name:
                    _drop_stanza_letter(top, out, strongs)
                    break
        elif not selfclose:
            psalm_title = name == "title" and attrs.get("type") == "psalm" and \
                attrs.get("canonical") == "true"
            drop = dropped or (name in DROP_ELEMENTS and not psalm_title)
            stack.append((name, drop, len(out), len(strongs)))
            if not drop and "lemma" in attrs:
                strongs.extend(parse_strongs(attrs["lemma"]))
    if not (stack and stack[-1][1]):
        out.append(raw[pos:])
    return normalize_text("".join(out)), strongs


def parse_strongs(lemma):
    """'strong:G2424 G5547' -> ['G2424', 'G5547'] (leading zeros and suffixes dropped)."""
    found = []
    for tok in lemma.split():
        tok = tok.split(":", 1)[1] if tok.startswith("strong:") else tok
        m = STRONG_RE.match(tok)
        if m:
            found.append(m.group(1) + m.group(2))
    return found


def normalize_text(text):
    """Unescapes entities, drops pilcrows and USFM markers, one space between words,
    no space before closing punctuation."""
    text = html.unescape(text)
    text = USFM_RE.sub(" ", text).replace("\u00b6", " ")
    text = " ".join(text.split())
    return re.sub(r" ([,.;:!?)\]])", r"\1", text)


def strip_ps119_letter(text, book, ch, vs):
    """RV1909 prints the Hebrew letter of each Psalm 119 stanza ("ALEPH.") at the start
    of every eighth verse; the English texts do not: drop it."""
    if book == "Ps" and ch == 119 and vs % 8 == 1:
        first = text.split(" ", 1)
        if len(first) == 2 and first[0].rstrip(".") in PS119_LETTERS:
            return first[1]
    return text


def strip_subscription(text):
    """RV1909 ends the epistles' last verse with the subscription ("Amén. Fué escrita de
    Corinto á los Romanos..."), which the KJV keeps in a title and the WEB lacks."""
    cut = text.rfind("Amén.")
    tail = text[cut + 5:].lower() if cut >= 0 else ""
    if "escrita" in tail or "enviada" in tail:
        return text[:cut + 5]
    return text


def casing_table(texts):
    """{lowercase word: its most frequent spelling} over words that are neither in
    capitals nor at the start of a sentence (ties go to the lowercase spelling)."""
    counts = {}
    for text in texts:
        for m in WORD_RE.finditer(text):
            w = m.group(0)
            if (len(w) > 1 and w.isupper()) or _sentence_start(text, m.start()):
                continue
            forms = counts.setdefault(w.lower(), {})
            forms[w] = forms.get(w, 0) + 1
    return {low: max(sorted(forms), key=lambda f: (forms[f], f == low))
            for low, forms in counts.items()}


def _sentence_start(text, pos):
    before = text[:pos].rstrip(" \u00a1\u00bf\"'(\u201c\u2018")
    return before == "" or before[-1] in ".!?"


def fix_drop_capital(text, table):
    """RV1909 sets the first words of each chapter in capitals ("EN el principio",
    "DE SIETE años", "Y FUÉ que", after a psalm title "... ¡OH Jehová"): re-case the
    first run of one to three words in capitals with the casing table; a longer run is
    an inscription and stays."""
    words = [m for m in WORD_RE.finditer(text)]
    k = next((i for i, m in enumerate(words)
              if len(m.group(0)) > 1 and m.group(0).isupper()), None)
    if k is None:
        return text
    run = [words[k]]
    for m in words[k + 1:]:
        if not (m.group(0).isupper() and text[run[-1].end():m.start()] == " "):
            break
        run.append(m)
    if len(run) > 3:
        return text
    out, pos = [], 0
    for m in run:
        w = m.group(0)
        new = table.get(w.lower(), w.lower())
        if _sentence_start(text, m.start()):
            new = new[0].upper() + new[1:]
        out.append(text[pos:m.start()] + new)
        pos = m.end()
    return "".join(out) + text[pos:]


# ---------------------------------------------------------------------------------
# Alignment of RV1909 verses to the KJV verse structure

SKIP_PENALTY = 0.4        # a verse left without partner
MERGE_PENALTY = 0.15      # per verse beyond the first on either side of a bead
SAME_REF_BONUS = 0.05     # breaks ties (repeated verses) towards the reference pairing
TYPICAL_LEN_RATIO = 0.92  # median length of an RV1909 verse / its KJV verse (characters)
LENGTH_WEIGHT = 0.3       # cost of a bead's log length ratio away from the typical one
MAX_FAN = 12              # most KJV verses one RV1909 verse may absorb
SUSPECT_DICE = 0.3        # a reference pair with less overlap is re-aligned,
SUSPECT_LEN = (0.6, 1.6)  # and so is one whose length ratio (RV1909 / KJV) is outside
WINDOW_MARGIN = 6         # verses around a suspect verse that are re-aligned with it


def bag(items):
    counts = {}
    for x in items:
        counts[x] = counts.get(x, 0) + 1
    return counts


def dice(a, b):
    """Dice overlap of two multisets given as {item: count}; 0 when either is empty."""
    na, nb = sum(a.values()), sum(b.values())
    if not na or not nb:
        return 0.0
    common = sum(min(c, b.get(x, 0)) for x, c in a.items())
    return 2.0 * common / (na + nb)


def merge_bags(bags):
    out = {}
    for b in bags:
        for x, c in b.items():
            out[x] = out.get(x, 0) + c
    return out


def _bead_moves(n_left):
    """(a, b) bead shapes: a verses of A with b verses of B."""
    moves = [(1, 1), (1, 0), (0, 1), (2, 1), (1, 2), (2, 2)]
    return moves + [(k, 1) for k in range(3, min(MAX_FAN, n_left) + 1)]


def align_window(a, b):
    """Monotone alignment of verse lists a and b, items (ref, bag of Strong's numbers,
    length), maximizing the sum over beads of (dice - LENGTH_WEIGHT * |log length
    ratio|) * verses / 2, minus skip and merge penalties (dynamic programming).
    Returns beads [(a_start, a_end, b_start, b_end)] covering both lists."""
    n, m = len(a), len(b)
    neg = float("-inf")
    best = [[neg] * (m + 1) for _ in range(n + 1)]
    back = [[None] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if best[i][j] == neg:
                continue
            for da, db in _bead_moves(n - i):
                if i + da > n or j + db > m:
                    continue
                s = best[i][j] + _bead_score(a[i:i + da], b[j:j + db])
                if s > best[i + da][j + db]:
                    best[i + da][j + db] = s
                    back[i + da][j + db] = (i, j)
    beads, i, j = [], n, m
    while (i, j) != (0, 0):
        pi, pj = back[i][j]
        beads.append((pi, i, pj, j))
        i, j = pi, pj
    return beads[::-1]


def _bead_score(ga, gb):
    if not ga or not gb:
        return -SKIP_PENALTY * (len(ga) + len(gb))
    d = dice(merge_bags(x[1] for x in ga), merge_bags(x[1] for x in gb))
    size = len(ga) + len(gb)
    ratio = sum(x[2] for x in gb) / max(1, sum(x[2] for x in ga)) / TYPICAL_LEN_RATIO
    off = abs(math.log(max(ratio, 1e-3)))
    score = (d - LENGTH_WEIGHT * off) * size / 2.0 - MERGE_PENALTY * (size - 2)
    if size == 2 and ga[0][0] == gb[0][0]:
        score += SAME_REF_BONUS
    return score


def suspect_windows(a, b_by_ref):
    """Slot ranges [lo, hi) of a book to re-align: around each KJV verse whose RV1909
    verse of the same reference is empty, overlaps little, overlaps a neighbour's
    better, or has an unusual length. a: [(ref, bag, length)] in order; b_by_ref:
    {ref: (ref, bag, length)} (empty verses absent)."""
    flagged = []
    for i, (ref, sa, la) in enumerate(a):
        if ref not in b_by_ref:
            flagged.append(i)
            continue
        _, sb, lb = b_by_ref[ref]
        d = dice(sa, sb)
        near = [dice(a[k][1], sb) for k in (i - 1, i + 1) if 0 <= k < len(a)]
        if d < SUSPECT_DICE or any(x > d for x in near) or \
                not SUSPECT_LEN[0] <= lb / max(1, la) <= SUSPECT_LEN[1]:
            flagged.append(i)
    windows = []
    for i in flagged:
        lo, hi = max(0, i - WINDOW_MARGIN), min(len(a), i + WINDOW_MARGIN + 1)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    return windows


def align_book(a, b):
    """Aligns one book. a: KJV [(ref, bag, length)], b: RV1909 [(ref, bag, length)]
    without its empty verses, both in order; the refs of b are a subset of those of a
    (same versification). Returns beads [(a_start, a_end, b_start, b_end)]."""
    # A verse without Strong's numbers (three in the KJV) borrows those of the other
    # side's verse with the same reference, so that it pairs by reference.
    a_bags, b_bags = {x[0]: x[1] for x in a}, {x[0]: x[1] for x in b}
    a = [(r, s or b_bags.get(r, s), n) for r, s, n in a]
    b = [(r, s or a_bags.get(r, s), n) for r, s, n in b]
    slot = {x[0]: i for i, x in enumerate(a)}
    b_slots = [slot[x[0]] for x in b]
    beads, ia, ib = [], 0, 0
    for lo, hi in suspect_windows(a, {x[0]: x for x in b}) + [[len(a), len(a)]]:
        while ia < lo:                 # reference pairs up to the window
            if ib < len(b) and b_slots[ib] == ia:
                beads.append((ia, ia + 1, ib, ib + 1))
                ib += 1
            else:
                beads.append((ia, ia + 1, ib, ib))
            ia += 1
        jb = ib
        while jb < len(b) and b_slots[jb] < hi:
            jb += 1
        for sa, ea, sb, eb in align_window(a[lo:hi], b[ib:jb]):
            beads.append((lo + sa, lo + ea, ib + sb, ib + eb))
        ia, ib = hi, jb
    return beads


# ---------------------------------------------------------------------------------
# The English side: WEB text under the KJV verse structure

ENGLISH_STOP = set("the and of to that in he shall unto for his they be is him not them "
                   "it with all thou thy was which my me said but ye have are you your "
                   "will from this on as by were who when there at so then their we her "
                   "had what if up an or out into one no".split())
SWAP_MARGIN = 0.5     # two neighbouring WEB verses swap when that gains this much overlap
MIN_LEN_RATIO, MAX_LEN_RATIO = 0.5, 2.0   # WEB / KJV length outside: not the same text


def english_bag(text):
    return bag(w for w in re.findall(r"[a-z]+", text.lower())
               if len(w) > 2 and w not in ENGLISH_STOP)


def fix_web_order(kjv, web):
    """Swaps neighbouring WEB verses whose contents sit under each other's numbers
    (WEB puts KJV Matt 23:13 at 23:14 and back). kjv, web: lists of verse texts under
    the same references (web may hold empty strings). Returns (texts, swapped indices)."""
    web, swapped = list(web), []
    kb, wb = [english_bag(t) for t in kjv], [english_bag(t) for t in web]
    for i in range(len(web) - 1):
        if not web[i] or not web[i + 1]:
            continue
        same = dice(kb[i], wb[i]) + dice(kb[i + 1], wb[i + 1])
        crossed = dice(kb[i], wb[i + 1]) + dice(kb[i + 1], wb[i])
        if crossed > same + SWAP_MARGIN:
            web[i], web[i + 1] = web[i + 1], web[i]
            wb[i], wb[i + 1] = wb[i + 1], wb[i]
            swapped.append(i)
    return web, swapped


# ---------------------------------------------------------------------------------
# Building the corpus

def format_refs(book, refs):
    """[(ch, vs), ...] -> 'Gen.1.1', 'Num.13.32-33' or 'Job.39.27-40.5'."""
    (c0, v0), (c1, v1) = refs[0], refs[-1]
    first = "%s.%d.%d" % (book, c0, v0)
    if (c0, v0) == (c1, v1):
        return first
    return first + ("-%d" % v1 if c0 == c1 else "-%d.%d" % (c1, v1))


def split_of(book):
    return "dev" if book in DEV_BOOKS else "test" if book in TEST_BOOKS else "train"


def load_modules(kjv_path, web_path, rv_path):
    """Reads the three dumps; checks that KJV and RV1909 hold the same 66 books and
    verse references and that WEB holds them too. Returns (names, kjv, web, rv) with
    {name: [(ch, vs, raw)]} per module."""
    kjv, web, rv = (group_verses(parse_imp(p)) for p in (kjv_path, web_path, rv_path))
    names = list(kjv)
    if len(names) != len(BOOKS) or list(rv) != names:
        raise ValueError("expected the same %d books in the KJV and RV1909 dumps, got %d "
                         "and %d" % (len(BOOKS), len(names), len(rv)))
    missing = [n for n in names if n not in web]
    if missing:
        raise ValueError("WEB dump lacks books %s" % ", ".join(missing))
    for n in names:
        if [v[:2] for v in kjv[n]] != [v[:2] for v in rv[n]]:
            raise ValueError("%s: KJV and RV1909 verse references differ" % n)
    return names, kjv, web, rv


def build_book(book, kjv_v, web_v, rv_v, table, log):
    """Aligned pairs of one book: [(en, es, kjv_en, en_ref, es_ref)]. kjv_v, web_v:
    [(ch, vs, raw)]; rv_v: [(ch, vs, text, strongs)]; table: Spanish casing table; log
    gets a line per re-aligned, reordered or dropped bead."""
    refs = [(c, v) for c, v, _ in kjv_v]
    kjv = [strip_markup(raw) for _, _, raw in kjv_v]
    web_raw = {(c, v): raw for c, v, raw in web_v}
    web_txt = [strip_markup(web_raw[r])[0] if r in web_raw else "" for r in refs]
    web_txt, swapped = fix_web_order([t for t, _ in kjv], web_txt)
    for i in swapped:
        log.append("web-swap\t%s\t%s" % (format_refs(book, refs[i:i + 1]),
                                          format_refs(book, refs[i + 1:i + 2])))
    rv = []
    for c, v, text, strongs in rv_v:
        text = strip_ps119_letter(text, book, c, v)
        if v == 1:
            text = fix_drop_capital(text, table)
        if text:
            rv.append(((c, v), text, bag(strongs)))
    if rv:
        rv[-1] = (rv[-1][0], strip_subscription(rv[-1][1]), rv[-1][2])
    beads = align_book([(r, bag(s), len(t)) for r, (t, s) in zip(refs, kjv)],
                       [(r, b, len(t)) for r, t, b in rv])
    pairs = []
    for sa, ea, sb, eb in beads:
        en_refs, es_refs = refs[sa:ea], [x[0] for x in rv[sb:eb]]
        en_ref = format_refs(book, en_refs) if en_refs else "-"
        es_ref = format_refs(book, es_refs) if es_refs else "-"
        web_parts = web_txt[sa:ea]
        en, es = " ".join(web_parts), " ".join(x[1] for x in rv[sb:eb])
        kjv_en = " ".join(t for t, _ in kjv[sa:ea])
        why = None
        if not en_refs or not es_refs:
            why = "unpaired"
        elif not all(web_parts):
            why = "drop-web-empty"
        elif not MIN_LEN_RATIO <= len(en) / max(1, len(kjv_en)) <= MAX_LEN_RATIO:
            why = "drop-web-length"
        elif en_refs != es_refs or len(en_refs) > 1:
            log.append("realign\t%s\t%s" % (en_ref, es_ref))
        if why:
            log.append("%s\t%s\t%s" % (why, en_ref, es_ref))
        else:
            pairs.append((en, es, kjv_en, en_ref, es_ref))
    return pairs


def write_atomic(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)


def build_corpus(kjv_path, web_path, rv_path, out_dir):
    """Writes {train,dev,test}.{en,es,ref}, test.kjv.en and alignment.log into out_dir.
    Returns {split: pair count} and the log lines."""
    names, kjv, web, rv = load_modules(kjv_path, web_path, rv_path)
    rv = {n: [(c, v) + strip_markup(raw) for c, v, raw in rv[n]] for n in names}
    table = casing_table(x[2] for n in names for x in rv[n])
    splits = {s: [] for s in SPLITS}
    log = []
    for name, book in zip(names, BOOKS):
        splits[split_of(book)].extend(build_book(book, kjv[name], web[name], rv[name],
                                                 table, log))
    os.makedirs(out_dir, exist_ok=True)
    for s, pairs in splits.items():
        for ext, col in (("en", 0), ("es", 1)):
            write_atomic(os.path.join(out_dir, "%s.%s" % (s, ext)), [p[col] for p in pairs])
        write_atomic(os.path.join(out_dir, s + ".ref"), ["%s\t%s" % p[3:] for p in pairs])
    write_atomic(os.path.join(out_dir, "test.kjv.en"), [p[2] for p in splits["test"]])
    write_atomic(os.path.join(out_dir, "alignment.log"), log)
    return {s: len(p) for s, p in splits.items()}, log


# ---------------------------------------------------------------------------------
# Self-test and command line

def _check(name, got, want, failures):
    if got != want:
        failures.append("%s: got %r, want %r" % (name, got, want))


def selftest():
    """Checks markup stripping, Spanish fixes and alignment on built-in examples.
    Returns the number of failures (each printed)."""
    f = []
    for name, raw, want in MARKUP_CASES:
        _check("strip_markup/" + name, strip_markup(raw), want, f)
    _check("parse_strongs", parse_strongs("strong:G2424 G5547 strong:H0430a x"),
           ["G2424", "G5547", "H430"], f)
    table = casing_table(["y Jehová dijo á ti que fué", "dijo Jehová: fué así."])
    for raw, want in DROP_CAP_CASES:
        _check("fix_drop_capital/" + raw, fix_drop_capital(raw, table), want, f)
    _check("ps119", strip_ps119_letter("ALEPH. Bienaventurados", "Ps", 119, 1),
           "Bienaventurados", f)
    _check("ps119/not-stanza", strip_ps119_letter("SIN. x", "Ps", 119, 2), "SIN. x", f)
    _check("subscription", [strip_subscription("sea con vosotros. Amén. Escrita de Roma."),
                            strip_subscription("Hijitos, guardaos de los ídolos. Amén.")],
           ["sea con vosotros. Amén.", "Hijitos, guardaos de los ídolos. Amén."], f)
    _check("format_refs", [format_refs("Job", [(39, 27), (40, 5)]),
                           format_refs("Num", [(13, 32), (13, 33)]),
                           format_refs("Gen", [(1, 1)])],
           ["Job.39.27-40.5", "Num.13.32-33", "Gen.1.1"], f)
    _check("dice", [dice({"a": 2, "b": 1}, {"a": 1, "c": 1}), dice({}, {"a": 1})],
           [0.4, 0.0], f)
    for name, a, b, want in ALIGN_CASES:
        a = [(r, bag(s.split()), len(s)) for r, s in a]
        b = [(r, bag(s.split()), len(s)) for r, s in b]
        _check("align_book/" + name, align_book(a, b), want, f)
    kjv = ["woe ye shut up the kingdom heaven", "woe ye devour widows houses prayer"]
    web = ["woe you devour widows houses prayers", "woe you shut up the kingdom heaven"]
    _check("fix_web_order/swap", fix_web_order(kjv, web), (web[::-1], [0]), f)
    _check("fix_web_order/keep", fix_web_order(kjv, web[::-1]), (web[::-1], []), f)
    for line in f:
        print("selftest FAILED " + line, file=sys.stderr)
    print("bible_align selftest: %d checks failed" % len(f) if f else
          "bible_align selftest: ok", file=sys.stderr)
    return len(f)


MARKUP_CASES = (
    ("words", '<w lemma="strong:H7225">In the beginning</w> <w lemma="strong:H0430">God'
     '</w> created.', ("In the beginning God created.", ["H7225", "H430"])),
    ("note dropped", 'light<note placement="foot"><reference type="annotateRef">1.4 '
     '</reference>Heb. <w lemma="strong:H1">between</w></note> and', ("light and", [])),
    ("heading dropped, psalm title kept",
     '<title>BOOK 1</title> <title canonical="true" type="psalm">A <w lemma="strong:H4210">'
     'Psalm</w>.</title> <lg sID="g1"/><l level="1" sID="g2"/>LORD, hear<l eID="g2"/>',
     ("A Psalm. LORD, hear", ["H4210"])),
    ("psalm 119 stanza letter", '<title canonical="true" type="psalm">SIN AND SHIN</title>'
     ' <w lemma="strong:H8269">Princes</w> have', ("Princes have", ["H8269"])),
    ("adjacent word elements", '<w lemma="strong:H8033">hay allí</w><transChange type='
     '"added">también</transChange><w lemma="strong:H916">bdelio</w>, preguntándo'
     '<transChange type="added">le</transChange>,',
     ("hay allí también bdelio, preguntándole,", ["H8033", "H916"])),
    ("pilcrow, usfm, entity, speaker", '\u00b6 the \\nd LORD\\+nd* &amp; <speaker>Beloved'
     '</speaker><q marker="" who="Jesus">“Come”</q> .', ("the LORD & “Come”.", [])),
    ("glossary cut", 'Amen. <chapter eID="Rev.22"/> <div canonical="true" eID="g9" '
     'osisID="Rev" type="book"/> <div sID="g10" type="glossary"/> Abba means father.',
     ("Amen.", [])),
)
DROP_CAP_CASES = (
    ("EN el principio", "En el principio"),
    ("DE SIETE años era Joas", "De siete años era Joas"),
    ("Y FUÉ que", "Y fué que"),
    ("Salmo de David. ¡OH Jehová", "Salmo de David. ¡Oh Jehová"),
    ("Cántico gradual. A JEHOVÁ llamé", "Cántico gradual. A Jehová llamé"),
    ("SANTIDAD Á JEHOVÁ Y MAS", "SANTIDAD Á JEHOVÁ Y MAS"),
    ("Sin mayúsculas", "Sin mayúsculas"),
)
ALIGN_CASES = (
    ("identity", [((1, 1), "a b"), ((1, 2), "c d"), ((1, 3), "e f")],
     [((1, 1), "a b"), ((1, 2), "c d"), ((1, 3), "e f")],
     [(0, 1, 0, 1), (1, 2, 1, 2), (2, 3, 2, 3)]),
    # RV-style: 1:3 moved to 2:1 (1:3 left empty), 2:1-2:2 shift and 2:3 merged in 2:3
    ("shift and merge",
     [((1, 1), "a b"), ((1, 2), "c d"), ((1, 3), "e f"), ((2, 1), "g h"), ((2, 2), "i j"),
      ((2, 3), "k l")],
     [((1, 1), "a b"), ((1, 2), "c d"), ((2, 1), "e f"), ((2, 2), "g h"),
      ((2, 3), "i j k l")],
     [(0, 1, 0, 1), (1, 2, 1, 2), (2, 3, 2, 3), (3, 4, 3, 4), (4, 6, 4, 5)]),
    ("verse without Strong's numbers pairs by reference",
     [((1, 1), "a b c"), ((1, 2), ""), ((1, 3), "a b d")],
     [((1, 1), "a b c"), ((1, 2), "e f"), ((1, 3), "a b d")],
     [(0, 1, 0, 1), (1, 2, 1, 2), (2, 3, 2, 3)]),
    ("repeated verses stay", [((1, k), "x y z") for k in range(1, 5)],
     [((1, k), "x y z") for k in range(1, 5)],
     [(k, k + 1, k, k + 1) for k in range(4)]),
)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--selftest", action="store_true", help="check built-in examples")
    ap.add_argument("--kjv", help="mod2imp dump of engKJV2006eb")
    ap.add_argument("--web", help="mod2imp dump of engWEB2015eb")
    ap.add_argument("--rv", help="mod2imp dump of spaRV1909eb")
    ap.add_argument("--out", help="output directory")
    args = ap.parse_args(argv)
    if args.selftest:
        return 1 if selftest() else 0
    if not (args.kjv and args.web and args.rv and args.out):
        ap.error("--kjv, --web, --rv and --out are required (or --selftest)")
    try:
        counts, log = build_corpus(args.kjv, args.web, args.rv, args.out)
    except (OSError, ValueError) as e:
        print("bible_align: %s" % e, file=sys.stderr)
        return 1
    print("bible_align: %s; %d lines in alignment.log" % (
        " ".join("%s=%d" % kv for kv in counts.items()), len(log)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
