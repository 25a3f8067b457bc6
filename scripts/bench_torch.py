#!/usr/bin/python3
"""bench_torch.py: the PyTorch peer that seqfuse's benchmarks compare against.

Runs the seqfuse network (scripts/sf_torch_model.py: the modules make_golden.py checks)
at benchmark sizes on random ids, on the CPU or a CUDA GPU, and times it:
  train   forward + backward + clip_grad_norm_(5) + Adam step per step
  decode  encoder once, then an OpenNMT-py-style loop over all B*K rows: stacked cells
          with input feeding, attention (memory tiled per beam), generator, log_softmax;
          beam > 1: top-k over K*V per sentence, backpointers, index_select reordering.
On the CPU run it through scripts/bench_torch.sh (OpenBLAS's OpenMP build, see
/work/shared/BENCHMARKING.md). Examples:
  scripts/bench_torch.sh train --config base --batch 64 --src-len 30 --tgt-len 30 --steps 5
  scripts/bench_torch.sh decode --config small --beam 5 --fixed-len 30 --steps 3 --json
  python3 scripts/bench_torch.py train --config base --device cuda --steps 50 --warmup 10
Counting: a train step has B*T target tokens (T = --tgt-len decoder steps: <s> y in,
y </s> out; all full length unless --ragged); decode counts the tokens of the best
hypotheses (</s> included), or B*T with --fixed-len T (</s> ignored, exactly T steps).
Decode without --fixed-len follows OpenNMT-py's beam rules: GNMT length penalty (alpha
0.6), finished beams become hypotheses, a sentence ends when its top beam has finished,
and finished sentences leave the batch. Differences from OpenNMT-py's RNN model, taken
from seqfuse: no dropout on embeddings, and the input feed is h~ before dropout.
"""

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sf_torch_model import BOS, EOS, PAD, init_model, losses, src_mask  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# The model when neither --config nor a flag says otherwise (= models/base.yaml).
DEFAULTS = dict(cell="lstm", attention="general", emb_size=512, hidden_size=512,
                enc_layers=2, dec_layers=2, bidirectional=True, input_feed=True,
                bridge="copy", tie_output=False, dropout=0.3, label_smoothing=0.1,
                src_vocab_size=16000, tgt_vocab_size=16000, src_append_eos=False)

# command-line flag -> config keys it sets
FLAG_KEYS = dict(cell=("cell",), attention=("attention",), emb=("emb_size",),
                 hidden=("hidden_size",), layers=("enc_layers", "dec_layers"),
                 vocab=("src_vocab_size", "tgt_vocab_size"), dropout=("dropout",),
                 label_smoothing=("label_smoothing",))


# ----------------------------------------------------------------------------
# Configuration

def parse_value(text):
    """A flat YAML scalar: true/false, int, float, or a string (quotes removed)."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text.strip("\"'")


def read_preset(name):
    """models/<name>.yaml (or a path): flat `key: value` lines, # comments."""
    path = name if os.path.exists(name) else os.path.join(ROOT, "models", name + ".yaml")
    if not os.path.exists(path):
        sys.exit(f"bench_torch: no preset {name!r} (looked for {path}); "
                 f"try base, small or tiny")
    cfg = {}
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if ":" not in line:
                sys.exit(f"bench_torch: {path}:{n}: expected `key: value`, got {line!r}")
            key, val = line.split(":", 1)
            cfg[key.strip()] = parse_value(val.strip())
    return cfg


def model_config(args):
    """DEFAULTS, then the preset's model keys, then the flags given."""
    cfg = dict(DEFAULTS)
    if args.config:
        preset = read_preset(args.config)
        cfg.update((k, v) for k, v in preset.items() if k in DEFAULTS)
    for flag, keys in FLAG_KEYS.items():
        val = getattr(args, flag)
        if val is not None:
            cfg.update((k, val) for k in keys)
    if not cfg["input_feed"]:
        sys.exit("bench_torch: input_feed false is not modelled (seqfuse's default is true)")
    if cfg["bridge"] == "copy" and cfg["enc_layers"] != cfg["dec_layers"]:
        sys.exit("bench_torch: bridge copy needs enc_layers == dec_layers")
    return cfg


# ----------------------------------------------------------------------------
# Environment and timing

def blas_libraries():
    """BLAS/LAPACK/OpenMP shared objects mapped into this process (Linux)."""
    try:
        with open("/proc/self/maps") as fh:
            paths = {ln.split()[-1] for ln in fh if "/" in ln}
    except OSError:
        return []
    keys = ("blas", "lapack", "mkl", "gomp", "libomp", "iomp")
    return sorted(p for p in paths if any(k in os.path.basename(p).lower() for k in keys))


def config_excerpt():
    """BLAS_INFO / LAPACK_INFO / USE_* items and MKL/OpenMP lines of torch.__config__."""
    keep = []
    for line in torch.__config__.show().splitlines():
        line = line.strip(" -")
        if line.startswith("Build settings"):
            keep += [kv.strip() for kv in line.split(":", 1)[1].split(",")
                     if kv.strip().startswith(("BLAS_INFO", "LAPACK_INFO", "USE_CUDA",
                                               "USE_CUDNN", "USE_MKLDNN", "USE_OPENMP"))]
        elif "MKL" in line or "OpenMP" in line or "LAPACK" in line:
            keep.append(line)
    return keep


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as fh:
            for ln in fh:
                if ln.startswith("model name"):
                    return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def header(args, device):
    """Printed and stored in the JSON: what ran where, with which libraries."""
    h = dict(torch=torch.__version__, python=platform.python_version(),
             device=str(device), device_name=device_name(device),
             threads=torch.get_num_threads(),
             omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
             blas_libs=blas_libraries(), torch_config=config_excerpt())
    if device.type == "cuda":
        h.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                 cudnn_enabled=torch.backends.cudnn.enabled,
                 cudnn_benchmark=torch.backends.cudnn.benchmark, tf32=args.tf32)
    print(f"# torch {h['torch']} (python {h['python']}), device {device} ({h['device_name']})")
    print(f"# threads {h['threads']} (OMP_NUM_THREADS={h['omp_num_threads']})")
    print(f"# torch config: {'; '.join(h['torch_config'])}")
    print(f"# BLAS/OpenMP loaded: {', '.join(h['blas_libs']) or '(none found)'}")
    if device.type == "cuda":
        print(f"# CUDA {h['cuda']}, cuDNN {h['cudnn']} (enabled {h['cudnn_enabled']}, "
              f"benchmark {h['cudnn_benchmark']}), TF32 {'on' if args.tf32 else 'off'}")
    return h


class Clock:
    """Time marks: CUDA events on a GPU (read after synchronizing), else perf_counter."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def mark(self):
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            return ev
        return time.perf_counter()

    def ms(self, a, b):
        if self.cuda:
            b.synchronize()
            return a.elapsed_time(b)
        return (b - a) * 1000.0


def peak_memory_mb(device):
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ----------------------------------------------------------------------------
# FLOP counts (matrix products only; the figures to read the timings against)

def decoder_step_flops(cfg, R, S):
    """One decoder step over R rows with S source positions: cells, attention, generator."""
    H, E, V = cfg["hidden_size"], cfg["emb_size"], cfg["tgt_vocab_size"]
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cfg["cell"]]
    f = sum(2 * R * ((E + H if l == 0 else H) + H) * G * H for l in range(cfg["dec_layers"]))
    f += 2 * R * S * H * 2 + 2 * R * 2 * H * H                # scores, context, linear_out
    f += {"dot": 0, "general": 2 * R * H * H, "mlp": 2 * R * H * H + 2 * R * S * H}[
        cfg["attention"]]
    return f + 2 * R * H * V                                   # generator


def encoder_flops(cfg, B, S):
    H, E = cfg["hidden_size"], cfg["emb_size"]
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cfg["cell"]]
    D = 2 if cfg["bidirectional"] else 1
    h = H // D
    f = sum(D * 2 * B * S * ((E if k == 0 else H) + h) * G * h for k in range(cfg["enc_layers"]))
    return f + (2 * B * S * H * H if cfg["attention"] == "mlp" else 0)


# ----------------------------------------------------------------------------
# Batches

def random_lengths(B, n, ragged, g):
    """[B] lengths: all n, or (ragged) uniform in [max(1, n/2), n] with one of n."""
    if not ragged:
        return torch.full((B,), n, dtype=torch.long)
    lens = torch.randint(max(1, n // 2), n + 1, (B,), generator=g)
    lens[0] = n
    return lens


def make_train_batch(cfg, B, S, T, ragged, g):
    """src [B, S] (no </s>), src_len [B], tgt_in = <s> y, tgt_out = y </s>: [B, T]."""
    src_len = random_lengths(B, S, ragged, g)
    tgt_len = random_lengths(B, T, ragged, g)     # decoder steps = |y| + 1
    src = torch.randint(4, cfg["src_vocab_size"], (B, S), generator=g)
    src.masked_fill_(torch.arange(S).unsqueeze(0) >= src_len.unsqueeze(1), PAD)
    y = torch.randint(4, cfg["tgt_vocab_size"], (B, T), generator=g)
    tgt_in = torch.cat([torch.full((B, 1), BOS, dtype=torch.long), y[:, :T - 1]], 1)
    tgt_out = y.clone()
    pos = torch.arange(T).unsqueeze(0)
    tgt_out[pos == (tgt_len - 1).unsqueeze(1)] = EOS
    tgt_in.masked_fill_(pos >= tgt_len.unsqueeze(1), PAD)
    tgt_out.masked_fill_(pos >= tgt_len.unsqueeze(1), PAD)
    return src, src_len, tgt_in, tgt_out


# ----------------------------------------------------------------------------
# Training

def run_train(args, cfg, device, clock):
    model = init_model(cfg, args.seed).to(device)
    model.train()
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    g = torch.Generator().manual_seed(args.seed + 1)
    batches = [tuple(x.to(device) if i != 1 else x for i, x in enumerate(
        make_train_batch(cfg, args.batch, args.src_len, args.tgt_len, args.ragged, g)))
        for _ in range(min(args.steps + args.warmup, 4))]
    eps = cfg["label_smoothing"]
    times, marks, loss = [], [], None
    for step in range(args.warmup + args.steps):
        src, src_len, tgt_in, tgt_out = batches[step % len(batches)]
        t0 = clock.mark()
        opt.zero_grad(set_to_none=True)
        with autocast(args, device):
            out = model(src, src_len, tgt_in)
            loss, _ = losses(out["logits"], tgt_out, eps)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        t1 = clock.mark()
        if step >= args.warmup:
            marks.append((t0, t1))
        elif not clock.cuda:
            print(f"warm-up step {step + 1}: {clock.ms(t0, t1):.1f} ms", flush=True)
    times = [clock.ms(a, b) for a, b in marks]
    tgt_tok = sum(int((batches[i % len(batches)][3] != PAD).sum())
                  for i in range(args.warmup, args.warmup + args.steps)) / args.steps
    src_tok = sum(int(batches[i % len(batches)][1].sum())
                  for i in range(args.warmup, args.warmup + args.steps)) / args.steps
    ms = statistics.median(times)
    flops = 3 * (encoder_flops(cfg, args.batch, args.src_len)
                 + args.tgt_len * decoder_step_flops(cfg, args.batch, args.src_len))
    res = dict(mode="train", ms_per_step=ms, ms_steps=times, ms_mean=statistics.mean(times),
               ms_min=min(times), tgt_tokens_per_step=tgt_tok, src_tokens_per_step=src_tok,
               tgt_tokens_per_s=tgt_tok / ms * 1e3,
               src_tgt_tokens_per_s=(src_tok + tgt_tok) / ms * 1e3,
               gflop_per_step=flops / 1e9, gflop_per_s=flops / ms / 1e6,
               last_loss=float(loss), peak_mem_mb=peak_memory_mb(device),
               params=sum(p.numel() for p in params))
    print(f"train: {ms:.1f} ms/step (median of {len(times)}; min {min(times):.1f}, "
          f"mean {res['ms_mean']:.1f}), {res['tgt_tokens_per_s']:.0f} target tokens/s, "
          f"{res['src_tgt_tokens_per_s']:.0f} src+tgt tokens/s")
    print(f"train: ~{res['gflop_per_step']:.3g} GFLOP/step in matrix products (3x forward) "
          f"-> {res['gflop_per_s']:.1f} GFLOP/s; loss {res['last_loss']:.3f}; "
          f"peak memory {res['peak_mem_mb']:.0f} MiB; {res['params'] / 1e6:.1f}M parameters")
    return res


# ----------------------------------------------------------------------------
# Decoding

def map_states(states, fn):
    """Apply fn to every tensor of a per-layer state list (h or (h, c))."""
    return [tuple(fn(x) for x in s) if isinstance(s, tuple) else fn(s) for s in states]


def select_step(logp, scores, step, K, alpha):
    """One search step. logp: [n*K, V]; scores: [n, K] cumulative log-probs.
    -> (tokens [n*K], backpointer rows [n*K] or None, scores [n, K], normalized [n, K])."""
    n, V = scores.shape[0], logp.shape[1]
    lp = ((5.0 + step + 1) / 6.0) ** alpha
    if K == 1:
        best, tok = logp.max(1)                                # greedy: argmax
        scores = scores + best.view(n, 1)
        return tok, None, scores, scores / lp
    cand = (scores.view(n * K, 1) + logp).view(n, K * V) / lp  # GNMT length penalty
    top, idx = cand.topk(K, dim=1)                             # [n, K]
    back = torch.div(idx, V, rounding_mode="floor")
    rows = (back + torch.arange(n, device=idx.device).unsqueeze(1) * K).view(-1)
    return (idx % V).view(-1), rows, top * lp, top


class Search:
    """The decode state over n live sentences x K beams (rows sentence-major)."""

    def __init__(self, model, src, src_len, K):
        B, S = src.shape
        self.model, self.K = model, K
        att = model.decoder.attn
        memory, final = model.encoder(src, src_len)
        tile = (lambda x: x.repeat_interleave(K, dim=0)) if K > 1 else (lambda x: x)
        self.states = map_states(model.bridge(final, B), tile)
        self.keys = tile(att.linear_context(memory)) if att.kind == "mlp" else None
        self.memory, self.mask = tile(memory), tile(src_mask(src_len, S, src.device))
        self.feed = memory.new_zeros(B * K, model.cfg["hidden_size"])
        self.tokens = torch.full((B * K,), BOS, dtype=torch.long, device=src.device)
        self.scores = memory.new_zeros(B, K)
        self.scores[:, 1:] = float("-inf")                     # one live beam at first
        self.seq = self.tokens.new_zeros(B * K, 0)              # [n*K, steps so far]
        self.ids = torch.arange(B, device=src.device)           # original sentence ids

    def step(self, t, alpha):
        """Decoder step t over all rows; returns normalized scores [n, K]."""
        dec = self.model.decoder
        top, self.states = dec.rnn(torch.cat([dec.embeddings(self.tokens), self.feed], 1),
                                   self.states)
        self.feed, _ = dec.attn(top, self.memory, self.keys, self.mask)
        logp = torch.log_softmax(self.model.logits(self.feed), dim=-1)   # [n*K, V]
        tok, rows, self.scores, norm = select_step(logp, self.scores, t, self.K, alpha)
        if rows is not None:                                    # reorder by backpointers
            self.states = map_states(self.states, lambda x: x.index_select(0, rows))
            self.feed = self.feed.index_select(0, rows)
            self.seq = self.seq.index_select(0, rows)
        self.tokens = tok
        self.seq = torch.cat([self.seq, tok.unsqueeze(1)], 1)
        return norm

    def keep(self, alive):
        """Drop finished sentences. alive: [n] bool."""
        rows = alive.repeat_interleave(self.K).nonzero().squeeze(1)
        pick = lambda x: x.index_select(0, rows)  # noqa: E731
        self.states = map_states(self.states, pick)
        for name in ("memory", "mask", "keys", "feed", "tokens", "seq"):
            if getattr(self, name) is not None:
                setattr(self, name, pick(getattr(self, name)))
        self.scores, self.ids = self.scores[alive], self.ids[alive]


def finish_step(search, norm, t, max_len, best):
    """OpenNMT-py's rule: beams ending in </s> become hypotheses and stop growing; a
    sentence is done when its top beam has finished. best: {id: (normalized score,
    length, tokens)}; returns whether any sentence is still live."""
    fin = search.tokens.view(-1, search.K).eq(EOS)
    if t + 1 == max_len:
        fin.fill_(True)
    if not bool(fin.any()):
        return True
    for i, k in fin.nonzero().tolist():
        sid, s = int(search.ids[i]), float(norm[i, k])
        if sid not in best or s > best[sid][0]:
            best[sid] = (s, t + 1, search.seq[i * search.K + k])
    search.scores.masked_fill_(fin, float("-inf"))
    alive = ~fin[:, 0]
    if not bool(alive.all()):
        search.keep(alive)
    return bool(alive.any())


@torch.no_grad()
def decode_batch(model, src, src_len, K, max_len, fixed, alpha, clock, best=None):
    """-> (target tokens produced, steps run, encoder ms, loop ms); the best
    hypotheses land in best (see finish_step) unless fixed."""
    t0 = clock.mark()
    search = Search(model, src, src_len, K)
    t1 = clock.mark()
    best, steps = {} if best is None else best, fixed or max_len
    for t in range(steps):
        norm = search.step(t, alpha)
        if not fixed and not finish_step(search, norm, t, max_len, best):
            steps = t + 1
            break
    t2 = clock.mark()
    ntok = src.shape[0] * fixed if fixed else sum(n for _, n, _ in best.values())
    return ntok, steps, clock.ms(t0, t1), clock.ms(t1, t2)


def run_decode(args, cfg, device, clock):
    model = init_model(cfg, args.seed).to(device)
    model.eval()
    g = torch.Generator().manual_seed(args.seed + 2)
    B, S, K = args.batch, args.src_len, args.beam
    max_len = args.max_len or 3 * S + 10
    batches = []
    for _ in range(min(args.steps + args.warmup, 4)):
        src, src_len, _, _ = make_train_batch(cfg, B, S, 2, args.ragged, g)
        batches.append((src.to(device), src_len))
    runs = []
    for i in range(args.warmup + args.steps):
        src, src_len = batches[i % len(batches)]
        with autocast(args, device):
            r = decode_batch(model, src, src_len, K, max_len, args.fixed_len, args.alpha, clock)
        if i >= args.warmup:
            runs.append(r)
        print(f"{'warm-up' if i < args.warmup else 'batch'} {i + 1}: {r[0]} tokens, "
              f"{r[1]} steps, encoder {r[2]:.1f} ms, loop {r[3]:.1f} ms", flush=True)
    total = [enc + loop for _, _, enc, loop in runs]
    tok = sum(r[0] for r in runs)
    sec = sum(total) / 1e3
    step_ms = statistics.median(loop / steps for _, steps, _, loop in runs)
    T = args.fixed_len or statistics.mean(r[1] for r in runs)
    flops = encoder_flops(cfg, B, S) + T * decoder_step_flops(cfg, B * K, S)
    res = dict(mode="decode", beam=K, max_len=max_len, fixed_len=args.fixed_len,
               sentences_per_s=B * len(runs) / sec, tgt_tokens_per_s=tok / sec,
               ms_per_batch=statistics.median(total), ms_per_decode_step=step_ms,
               ms_encoder=statistics.median(r[2] for r in runs),
               steps_per_batch=[r[1] for r in runs], tokens_per_batch=[r[0] for r in runs],
               gflop_per_batch=flops / 1e9,
               gflop_per_s=flops / statistics.median(total) / 1e6,
               peak_mem_mb=peak_memory_mb(device))
    print(f"decode (beam {K}): {res['sentences_per_s']:.1f} sentences/s, "
          f"{res['tgt_tokens_per_s']:.0f} target tokens/s, {step_ms:.2f} ms per decode step "
          f"({B * K} rows), encoder {res['ms_encoder']:.1f} ms, "
          f"{res['ms_per_batch']:.0f} ms per batch (median of {len(runs)})")
    print(f"decode: ~{res['gflop_per_batch']:.3g} GFLOP/batch in matrix products -> "
          f"{res['gflop_per_s']:.1f} GFLOP/s; peak memory {res['peak_mem_mb']:.0f} MiB")
    return res


# ----------------------------------------------------------------------------
# Command line

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[1:]))
    ap.add_argument("mode", choices=("train", "decode"))
    ap.add_argument("--config", help="models/NAME.yaml preset (base, small, tiny) or a path")
    ap.add_argument("--cell", choices=("lstm", "gru", "rnn"))
    ap.add_argument("--attention", choices=("dot", "general", "mlp"))
    ap.add_argument("--emb", type=int, help="embedding size E")
    ap.add_argument("--hidden", type=int, help="hidden size H (H/2 per encoder direction)")
    ap.add_argument("--layers", type=int, help="encoder and decoder layers")
    ap.add_argument("--vocab", type=int, help="source and target vocabulary size")
    ap.add_argument("--dropout", type=float)
    ap.add_argument("--label-smoothing", type=float)
    ap.add_argument("--batch", type=int, default=64, help="sentences per batch")
    ap.add_argument("--src-len", type=int, default=30)
    ap.add_argument("--tgt-len", type=int, default=30, help="train: decoder steps (|y|+1)")
    ap.add_argument("--ragged", action="store_true",
                    help="random lengths in [len/2, len] instead of all full length")
    ap.add_argument("--steps", type=int, default=10, help="timed steps (decode: batches)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--alpha", type=float, default=0.6, help="GNMT length penalty")
    ap.add_argument("--max-len", type=int, help="decode: default 3 * src_len + 10")
    ap.add_argument("--fixed-len", type=int, default=0,
                    help="decode: exactly this many steps, </s> ignored (fair timing)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads")
    ap.add_argument("--tf32", action="store_true", help="CUDA: allow TF32 (default off)")
    ap.add_argument("--bf16", action="store_true",
                    help="run the model under torch.autocast(bfloat16) (the peer of seqfuse's "
                         "--matmul-precision bf16)")
    ap.add_argument("--cudnn-benchmark", action="store_true")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--json", action="store_true", help="end with one JSON line of everything")
    args = ap.parse_args(argv)
    if args.batch < 1 or args.src_len < 1 or args.tgt_len < 1 or args.steps < 1 \
            or args.warmup < 0 or args.beam < 1 or args.fixed_len < 0:
        ap.error("--batch, --src-len, --tgt-len, --steps, --beam must be >= 1; "
                 "--warmup, --fixed-len >= 0")
    return args


def autocast(args, device):
    """torch.autocast to bfloat16 with --bf16 (matrix products in bf16, softmax and
    losses in f32, as autocast decides), else nothing."""
    if not args.bf16:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def setup_device(args):
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            sys.exit("bench_torch: --device cuda but torch.cuda.is_available() is false")
        if device.index is not None:
            torch.cuda.set_device(device)
        torch.backends.cudnn.enabled = True          # nn.LSTM/GRU/RNN through cuDNN
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32  # also governs cuDNN RNN math
    else:
        torch.set_num_threads(args.threads)
    return device


def main(argv=None):
    args = parse_args(argv)
    device = setup_device(args)
    cfg = model_config(args)
    h = header(args, device)
    print(f"# model: {json.dumps(cfg, separators=(',', ':'))}")
    print(f"# {args.mode}: batch {args.batch}, src_len {args.src_len}, "
          + (f"tgt_len {args.tgt_len}" if args.mode == "train" else
             f"beam {args.beam}, " + (f"fixed_len {args.fixed_len}" if args.fixed_len
                                      else f"max_len {args.max_len or 3 * args.src_len + 10}"))
          + f", {'ragged' if args.ragged else 'full-length'}, "
          f"{args.steps} timed + {args.warmup} warm-up", flush=True)
    clock = Clock(device)
    run = run_train if args.mode == "train" else run_decode
    res = run(args, cfg, device, clock)
    if args.json:
        out = dict(header=h, model=cfg, args=vars(args), **res)
        print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()
