#!/usr/bin/python3
"""make_golden.py: PyTorch reference data ("goldens") for seqfuse's C tests.

Builds the seqfuse network of DESIGN.md section 1 (RNN encoder-decoder, global
attention, input feeding) in PyTorch, runs a tiny batch forward and backward plus
10 Adam steps, and writes tests/data/golden/<case>.safetensors with the inputs,
the weights (named as DESIGN.md section 2), outputs, gradients and Adam results.
All arithmetic is float64 (weights drawn in float32, so stored weights are exact);
every value is stored as F32, the two scalar losses also as F64. Before writing,
each case is checked against an independent loop-per-sentence re-implementation,
padding invariance is checked, and one case (or all) goes through gradcheck.

Run (Debian's interpreter, which has python3-torch):
    /usr/bin/python3 scripts/make_golden.py              # writes tests/data/golden/
    /usr/bin/python3 scripts/make_golden.py --gradcheck all --out /tmp/golden
The files are committed; CI never runs this script.
"""

import argparse
import copy
import json
import math
import os
import struct
import sys

import torch
from torch.nn.utils.stateless import functional_call

from sf_torch_model import BOS, EOS, PAD, init_model, losses
EPS_LS = 0.1          # label smoothing
INIT = 0.1            # uniform init range
ADAM = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, clip=5.0, steps=10)
SRC_LENS = [5, 3, 4]  # unsorted on purpose
TGT_LENS = [4, 2, 5]  # lengths of y; tgt_in/tgt_out have one more token, so T = 6

BASE = dict(cell="lstm", src_vocab_size=13, tgt_vocab_size=11, emb_size=6,
            hidden_size=8, enc_layers=2, dec_layers=2, bidirectional=True,
            attention="general", input_feed=True, bridge="copy", tie_output=False,
            dropout=0.0, src_append_eos=False, label_smoothing=EPS_LS)


def make_cases():
    """[(name, config, init range)]: cell x attention, four variants, and three
    cases drawn from [-1, 1] so that the nonlinearities and the attention work
    away from their linear regime (gru_mlp_init1 also exercises clipping)."""
    cases = []
    for cell in ("lstm", "gru", "rnn"):
        for attn in ("dot", "general", "mlp"):
            cases.append((f"{cell}_{attn}", dict(BASE, cell=cell, attention=attn), INIT))
    cases.append(("lstm_general_tied", dict(BASE, emb_size=8, tie_output=True), INIT))
    cases.append(("gru_mlp_unidir", dict(BASE, cell="gru", attention="mlp",
                                         bidirectional=False), INIT))
    cases.append(("lstm_dot_zero_bridge", dict(BASE, attention="dot", bridge="zero"), INIT))
    cases.append(("lstm_general_l1", dict(BASE, enc_layers=1, dec_layers=1), INIT))
    cases.append(("lstm_general_init1", dict(BASE), 1.0))
    cases.append(("gru_mlp_init1", dict(BASE, cell="gru", attention="mlp"), 1.0))
    cases.append(("rnn_dot_init1", dict(BASE, cell="rnn", attention="dot"), 1.0))
    return cases


# ----------------------------------------------------------------------------
# The model: sf_torch_model.py (shared with bench_torch.py)

def build_model(cfg, seed, init=INIT):
    """Uniform [-init, init] float32 draws (exact in float64), pad rows zeroed."""
    return init_model(cfg, seed, init).double()


def make_batch(cfg, seed):
    """src [B, S] (no </s>), src_len [B], tgt_in = <s> y, tgt_out = y </s>: [B, T]."""
    g = torch.Generator().manual_seed(seed + 7919)
    B, S, T = len(SRC_LENS), max(SRC_LENS), max(TGT_LENS) + 1
    src = torch.zeros(B, S, dtype=torch.long)
    tgt_in = torch.zeros(B, T, dtype=torch.long)
    tgt_out = torch.zeros(B, T, dtype=torch.long)
    for b, (n, m) in enumerate(zip(SRC_LENS, TGT_LENS)):
        src[b, :n] = torch.randint(4, cfg["src_vocab_size"], (n,), generator=g)
        y = torch.randint(4, cfg["tgt_vocab_size"], (m,), generator=g)
        tgt_in[b, 0] = BOS
        tgt_in[b, 1:m + 1] = y
        tgt_out[b, :m] = y
        tgt_out[b, m] = EOS
    return src, torch.tensor(SRC_LENS), tgt_in, tgt_out


# ----------------------------------------------------------------------------
# Independent re-implementation: one sentence at a time, cells from the formulas

def ref_cell(kind, x, st, w_ih, w_hh, b_ih, b_hh):
    """One cell step on vectors, written from DESIGN.md's equations."""
    gi = w_ih @ x + b_ih
    gh = w_hh @ (st[0] if kind == "lstm" else st) + b_hh
    if kind == "rnn":
        return torch.tanh(gi + gh)
    if kind == "gru":
        n3 = gi.shape[0] // 3
        r = torch.sigmoid(gi[:n3] + gh[:n3])
        z = torch.sigmoid(gi[n3:2 * n3] + gh[n3:2 * n3])
        n = torch.tanh(gi[2 * n3:] + r * gh[2 * n3:])
        return (1 - z) * n + z * st
    g = gi + gh
    n4 = g.shape[0] // 4
    i, f = torch.sigmoid(g[:n4]), torch.sigmoid(g[n4:2 * n4])
    gg, o = torch.tanh(g[2 * n4:3 * n4]), torch.sigmoid(g[3 * n4:])
    c = f * st[1] + i * gg
    return (o * torch.tanh(c), c)


def ref_encode(P, cfg, ids):
    """ids: [n] -> outputs [n, H], finals per layer (h [H] or (h, c))."""
    kind, bi = cfg["cell"], cfg["bidirectional"]
    h = cfg["hidden_size"] // 2 if bi else cfg["hidden_size"]
    xs = [P["encoder.embeddings.weight"][i] for i in ids.tolist()]
    finals = []
    for k in range(cfg["enc_layers"]):
        dir_outs, dir_finals = [], []
        for sfx in (["", "_reverse"] if bi else [""]):
            w = [P[f"encoder.rnn.{n}_l{k}{sfx}"] for n in
                 ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            z = xs[0].new_zeros(h)
            st = (z, z) if kind == "lstm" else z
            order = range(len(xs) - 1, -1, -1) if sfx else range(len(xs))
            out = [None] * len(xs)
            for t in order:
                st = ref_cell(kind, xs[t], st, *w)
                out[t] = st[0] if kind == "lstm" else st
            dir_outs.append(out)
            dir_finals.append(st)
        xs = [torch.cat([d[t] for d in dir_outs]) for t in range(len(xs))]
        if kind == "lstm":
            finals.append(tuple(torch.cat([d[j] for d in dir_finals]) for j in (0, 1)))
        else:
            finals.append(torch.cat(dir_finals))
    return torch.stack(xs), finals


def ref_attend(P, cfg, h, mem):
    """h: [H]; mem: [n, H] -> (h~ [H], a [n])."""
    kind = cfg["attention"]
    if kind == "dot":
        s = mem @ h
    elif kind == "general":
        s = mem @ (P["decoder.attn.linear_in.weight"] @ h)
    else:
        q = P["decoder.attn.linear_query.weight"] @ h + P["decoder.attn.linear_query.bias"]
        k = mem @ P["decoder.attn.linear_context.weight"].t()
        s = torch.tanh(k + q) @ P["decoder.attn.v.weight"][0]
    e = torch.exp(s - s.max())
    a = e / e.sum()
    o = P["decoder.attn.linear_out.weight"] @ torch.cat([a @ mem, h])
    return (o + P["decoder.attn.linear_out.bias"] if kind == "mlp" else torch.tanh(o)), a


def ref_forward(P, cfg, src, src_len, tgt_in, tgt_out):
    """Loop-per-sentence forward; returns memory, align, logits, loss, nll."""
    B, S = src.shape
    T, H, V = tgt_in.shape[1], cfg["hidden_size"], cfg["tgt_vocab_size"]
    kind = cfg["cell"]
    mems, aligns, logits = [], [], []
    W_o = P["decoder.embeddings.weight" if cfg["tie_output"] else "generator.weight"]
    tot_s = tot_n = count = 0
    for b in range(B):
        n = int(src_len[b])
        mem, finals = ref_encode(P, cfg, src[b, :n])
        mems.append(torch.cat([mem, mem.new_zeros(S - n, H)]))
        if cfg["bridge"] == "zero":
            z = mem.new_zeros(H)
            finals = [(z, z) if kind == "lstm" else z] * cfg["dec_layers"]
        states, feed = list(finals), mem.new_zeros(H)
        for t in range(T):
            x = torch.cat([P["decoder.embeddings.weight"][int(tgt_in[b, t])], feed])
            for k in range(cfg["dec_layers"]):
                w = [P[f"decoder.rnn.layers.{k}.{nm}"] for nm in
                     ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                states[k] = ref_cell(kind, x, states[k], *w)
                x = states[k][0] if kind == "lstm" else states[k]
            feed, a = ref_attend(P, cfg, x, mem)
            aligns.append(torch.cat([a, a.new_zeros(S - n)]))
            z = W_o @ feed + P["generator.bias"]
            logits.append(z)
            gold = int(tgt_out[b, t])
            if gold != PAD:
                lse = z.max() + torch.log(torch.exp(z - z.max()).sum())
                nll_t = lse - z[gold]
                tot_n = tot_n + nll_t
                tot_s = tot_s + (1 - EPS_LS) * nll_t + EPS_LS / V * (V * lse - z.sum())
                count += 1
    return dict(memory=torch.stack(mems), align=torch.stack(aligns).view(B, T, S),
                logits=torch.stack(logits).view(B, T, V), loss=tot_s / count,
                nll=tot_n / count)


# ----------------------------------------------------------------------------
# Checks

def max_diff(a, b):
    d = (a.detach() - b.detach()).abs()
    return d.max().item() if d.numel() else 0.0


def rel_diff(a, b):
    """max |a - b| / max |b|: relative to the tensor's scale (0 if b is all 0)."""
    scale = b.detach().abs().max().item()
    return max_diff(a, b) / scale if scale > 0 else max_diff(a, b)


def check_reference(name, model, cfg, batch):
    """Module forward/grads == independent re-implementation, each tensor
    within 1e-9 of its own largest magnitude (float64)."""
    src, src_len, tgt_in, tgt_out = batch
    params = dict(model.named_parameters())
    out = model(src, src_len, tgt_in)
    loss, nll = losses(out["logits"], tgt_out)
    g_mod = torch.autograd.grad(loss, list(params.values()))
    P = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    ref = ref_forward(P, cfg, src, src_len, tgt_in, tgt_out)
    g_ref = torch.autograd.grad(ref["loss"], list(P.values()))
    diffs = [rel_diff(out[k], ref[k]) for k in ("memory", "align", "logits")]
    diffs += [rel_diff(loss, ref["loss"]), rel_diff(nll, ref["nll"])]
    diffs += [rel_diff(a, b) for a, b in zip(g_mod, g_ref)]
    worst = max(diffs)
    if not worst < 1e-9:
        sys.exit(f"{name}: module and reference differ by {worst:.3g} (relative)")
    return worst


def check_padding(name, model, batch):
    """Each sentence alone, unpadded, gives the batch's rows (1e-12)."""
    src, src_len, tgt_in, tgt_out = batch
    out = model(src, src_len, tgt_in)
    worst = 0.0
    for b in range(src.shape[0]):
        n, m = int(src_len[b]), int((tgt_out[b] != PAD).sum())
        one = model(src[b:b + 1, :n], src_len[b:b + 1], tgt_in[b:b + 1, :m])
        worst = max(worst, max_diff(one["memory"][0], out["memory"][b, :n]),
                    max_diff(out["memory"][b, n:], torch.zeros(1)),
                    max_diff(one["logits"][0], out["logits"][b, :m]),
                    max_diff(one["align"][0], out["align"][b, :m, :n]),
                    max_diff(out["align"][b, :, n:], torch.zeros(1)))
    if not worst < 1e-12:
        sys.exit(f"{name}: padding changes other sentences by {worst:.3g}")
    return worst


def check_gradcheck(name, model, batch):
    """torch.autograd.gradcheck of the smoothed loss w.r.t. every weight."""
    src, src_len, tgt_in, tgt_out = batch
    names = [n for n, _ in model.named_parameters()]
    inputs = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())

    def f(*ps):
        out = functional_call(model, dict(zip(names, ps)), (src, src_len, tgt_in))
        return losses(out["logits"], tgt_out)[0]
    if not torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7, rtol=1e-5):
        sys.exit(f"{name}: gradcheck failed")


# ----------------------------------------------------------------------------
# Adam

def run_adam(model, batch):
    """ADAM['steps'] steps on one batch; returns (losses before each step,
    total grad norms before clipping, model after)."""
    src, src_len, tgt_in, tgt_out = batch
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=ADAM["lr"], betas=ADAM["betas"], eps=ADAM["eps"])
    hist, norms = [], []
    for _ in range(ADAM["steps"]):
        opt.zero_grad()
        loss, _ = losses(model(src, src_len, tgt_in)["logits"], tgt_out)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, ADAM["clip"])))
        hist.append(loss.item())
        opt.step()
    return hist, norms, model


# ----------------------------------------------------------------------------
# safetensors writer/reader (struct + json only)

DTYPES = {torch.float32: ("F32", "f"), torch.float64: ("F64", "d"), torch.int32: ("I32", "i")}


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, tensor) in file order; metadata: str -> str."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, t in tensors:
        code, fmt = DTYPES[t.dtype]
        flat = t.detach().contiguous().view(-1).tolist()
        blob = struct.pack(f"<{len(flat)}{fmt}", *flat)
        header[name] = {"dtype": code, "shape": list(t.shape),
                        "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    rev = {code: (dt, fmt) for dt, (code, fmt) in DTYPES.items()}
    out = {}
    for name, info in header.items():
        dt, fmt = rev[info["dtype"]]
        a, b = info["data_offsets"]
        vals = struct.unpack(f"<{(b - a) // struct.calcsize(fmt)}{fmt}", raw[8 + n + a:8 + n + b])
        out[name] = torch.tensor(vals, dtype=dt).view(info["shape"])
    return meta, out


# ----------------------------------------------------------------------------
# One case

ADAM_FINAL = ("generator.bias", "decoder.rnn.layers.0.weight_hh", "encoder.embeddings.weight")


def evaluate(model, cfg, batch):
    """Every computed result, named as in the file, in the model's dtype:
    out.*, grad.*, adam.*. Adam runs on a copy; model is left as it was."""
    src, src_len, tgt_in, tgt_out = batch
    params = dict(model.named_parameters())
    out = model(src, src_len, tgt_in)
    loss, nll = losses(out["logits"], tgt_out)
    grads = torch.autograd.grad(loss, list(params.values()))
    R = {"out." + k: out[k].detach() for k in ("memory", "align", "logits", "dec_h", "dec_out")}
    lstm = cfg["cell"] == "lstm"
    R["out.bridge_h"] = torch.stack([s[0] if lstm else s for s in out["bridge"]]).detach()
    if lstm:
        R["out.bridge_c"] = torch.stack([s[1] for s in out["bridge"]]).detach()
    R["out.loss"], R["out.nll"] = loss.detach().view(1), nll.detach().view(1)
    R.update(("grad." + n, g) for n, g in zip(params, grads))
    hist, norms, trained = run_adam(copy.deepcopy(model), batch)
    R["adam.losses"] = torch.tensor(hist, dtype=loss.dtype)
    R["adam.grad_norms"] = torch.tensor(norms, dtype=loss.dtype)
    tp = dict(trained.named_parameters())
    final = ADAM_FINAL + (("decoder.embeddings.weight",) if cfg["tie_output"] else ())
    R.update(("adam.final." + n, tp[n].detach()) for n in final)
    return R


def golden_case(name, cfg, seed, init, do_gradcheck):
    """Returns (tensors list, metadata dict, summary dict)."""
    model = build_model(cfg, seed, init)
    batch = make_batch(cfg, seed)
    ref_err = check_reference(name, model, cfg, batch)
    pad_err = check_padding(name, model, batch)
    if do_gradcheck:
        check_gradcheck(name, model, batch)
    R = evaluate(model, cfg, batch)
    params = dict(model.named_parameters())
    for e in ("encoder", "decoder"):
        assert params[f"{e}.embeddings.weight"][PAD].abs().max() == 0
        g = R.get(f"grad.{e}.embeddings.weight")
        assert e == "decoder" and cfg["tie_output"] or g[PAD].abs().max() == 0
    # what float32 arithmetic (torch's, same order) moves each result, relative
    # to the result's largest magnitude: a guide for the C tests' tolerances
    R32 = evaluate(copy.deepcopy(model).float(), cfg, batch)
    drift = {k: (R32[k].double() - v).abs().max().item() / max(v.abs().max().item(), 1e-300)
             for k, v in R.items()}

    src, src_len, tgt_in, tgt_out = batch
    T = [("input.src", src.int()), ("input.src_len", src_len.int()),
         ("input.tgt_in", tgt_in.int()), ("input.tgt_out", tgt_out.int())]
    T += [(n, p.detach().float()) for n, p in params.items()]
    T += [(k, v.float()) for k, v in R.items()]
    T += [("out.loss_f64", R["out.loss"]), ("out.nll_f64", R["out.nll"])]
    meta = {"format": "seqfuse-golden", "case": name,
            "config": json.dumps(cfg, separators=(",", ":")),
            "torch_version": torch.__version__, "seed": str(seed),
            "init_range": repr(init), "compute_dtype": "float64",
            "adam": json.dumps(dict(ADAM), separators=(",", ":")),
            "f32_drift": json.dumps({k: float(f"{v:.2e}") for k, v in drift.items()},
                                    separators=(",", ":"))}
    gs = [v for k, v in R.items() if k.startswith("grad.")]
    summary = dict(loss=R["out.loss"].item(), nll=R["out.nll"].item(), ref_err=ref_err,
                   pad_err=pad_err, gnorm=R["adam.grad_norms"][0].item(),
                   adam_last=R["adam.losses"][-1].item(),
                   drift=max(v for k, v in drift.items() if not k.startswith("grad.")),
                   gmin=min(g.abs().max().item() for g in gs))
    return T, meta, summary


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "data", "golden"))
    ap.add_argument("--gradcheck", choices=("none", "one", "all"), default="one",
                    help="gradcheck no case, one case (lstm_general_tied), or all")
    ap.add_argument("--cases", nargs="*", help="only these cases")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}; writing {os.path.normpath(args.out)}")
    print(f"{'case':22} {'loss':>9} {'nll':>9} {'bytes':>6} {'ref_err':>8} {'pad_err':>8}"
          f" {'|g|_0':>6} {'adam[9]':>9} {'f32':>8} {'min gmax':>8}")
    for idx, (name, cfg, init) in enumerate(make_cases()):
        if args.cases and name not in args.cases:
            continue
        gc = args.gradcheck == "all" or (args.gradcheck == "one" and name == "lstm_general_tied")
        tensors, meta, s = golden_case(name, cfg, 1000 + idx, init, gc)
        path = os.path.join(args.out, name + ".safetensors")
        write_safetensors(path, tensors, meta)
        meta2, back = read_safetensors(path)
        assert meta2 == meta and list(back) == [n for n, _ in tensors]
        assert all(torch.equal(back[n], t) for n, t in tensors), name
        size = os.path.getsize(path)
        assert size < 50000, f"{name}: {size} bytes"
        print(f"{name:22} {s['loss']:9.6f} {s['nll']:9.6f} {size:6d} {s['ref_err']:8.1e} "
              f"{s['pad_err']:8.1e} {s['gnorm']:6.3f} {s['adam_last']:9.6f} "
              f"{s['drift']:8.1e} {s['gmin']:8.1e}" + ("  gradcheck ok" if gc else ""))


if __name__ == "__main__":
    main()
