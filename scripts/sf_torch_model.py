"""sf_torch_model.py: the seqfuse network of DESIGN.md section 1 as PyTorch modules.

Shared by make_golden.py (reference data, float64, dropout 0) and bench_torch.py (the
PyTorch peer for benchmarks, float32, CPU or CUDA). Parameter names are DESIGN.md
section 2's (OpenNMT-py's). Dropout sits where seqfuse puts it: between encoder layers,
between decoder layers, and on h~ before the generator (the input feed is h~ undropped).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, UNK, BOS, EOS = 0, 1, 2, 3

RNN_CLASSES = {"lstm": (nn.LSTM, nn.LSTMCell), "gru": (nn.GRU, nn.GRUCell),
               "rnn": (nn.RNN, nn.RNNCell)}


def dropout_p(cfg):
    return float(cfg.get("dropout", 0.0))


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        H, E = cfg["hidden_size"], cfg["emb_size"]
        bi = cfg["bidirectional"]
        L = cfg["enc_layers"]
        self.embeddings = nn.Embedding(cfg["src_vocab_size"], E, padding_idx=PAD)
        extra = {"dropout": dropout_p(cfg)} if dropout_p(cfg) > 0 and L > 1 else {}
        self.rnn = RNN_CLASSES[cfg["cell"]][0](E, H // 2 if bi else H, num_layers=L,
                                               bidirectional=bi, batch_first=True, **extra)

    def forward(self, src, src_len):
        # src: [B, S]; src_len: [B] (on the CPU) -> memory [B, S, H] (pad rows 0),
        # final (h_n[, c_n]) [L*dirs, B, h]
        packed = pack_padded_sequence(self.embeddings(src), src_len.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, final = self.rnn(packed)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        return memory, final


class StackedCells(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        H, E, cell = cfg["hidden_size"], cfg["emb_size"], cfg["cell"]
        cls = RNN_CLASSES[cell][1]
        self.is_lstm = cell == "lstm"
        self.p = dropout_p(cfg)
        self.layers = nn.ModuleList(
            cls(E + H if k == 0 else H, H) for k in range(cfg["dec_layers"]))

    def forward(self, x, states):
        # x: [B, E+H]; states: list per layer of h [B, H] or (h, c)
        new = []
        for k, (layer, st) in enumerate(zip(self.layers, states)):
            if k > 0 and self.p > 0:
                x = F.dropout(x, self.p, self.training)
            st = layer(x, st)
            new.append(st)
            x = st[0] if self.is_lstm else st
        return x, new


class GlobalAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        H, self.kind = cfg["hidden_size"], cfg["attention"]
        if self.kind == "general":
            self.linear_in = nn.Linear(H, H, bias=False)
        elif self.kind == "mlp":
            self.linear_context = nn.Linear(H, H, bias=False)
            self.linear_query = nn.Linear(H, H, bias=True)
            self.v = nn.Linear(H, 1, bias=False)
        self.linear_out = nn.Linear(2 * H, H, bias=self.kind == "mlp")

    def forward(self, h, memory, keys, mask):
        # h: [B, H]; memory, keys: [B, S, H]; mask: [B, S] true at real tokens
        if self.kind == "dot":
            scores = torch.bmm(memory, h.unsqueeze(2)).squeeze(2)
        elif self.kind == "general":
            scores = torch.bmm(memory, self.linear_in(h).unsqueeze(2)).squeeze(2)
        else:
            q = self.linear_query(h).unsqueeze(1)
            scores = self.v(torch.tanh(q + keys)).squeeze(2)
        a = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)  # [B, S]
        ctx = torch.bmm(a.unsqueeze(1), memory).squeeze(1)                 # [B, H]
        out = self.linear_out(torch.cat([ctx, h], dim=1))
        return (out if self.kind == "mlp" else torch.tanh(out)), a


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = nn.Embedding(cfg["tgt_vocab_size"], cfg["emb_size"],
                                       padding_idx=PAD)
        self.rnn = StackedCells(cfg)
        self.attn = GlobalAttention(cfg)


class Generator(nn.Module):
    """Output layer; its weight is the decoder embedding when tied."""

    def __init__(self, cfg):
        super().__init__()
        V, H = cfg["tgt_vocab_size"], cfg["hidden_size"]
        if not cfg["tie_output"]:
            self.weight = nn.Parameter(torch.empty(V, H))
        self.bias = nn.Parameter(torch.empty(V))


class Seq2Seq(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.generator = Generator(cfg)

    def bridge(self, final, B):
        """Initial decoder states: list per layer of h [B, H] or (h, c)."""
        cfg, H = self.cfg, self.cfg["hidden_size"]
        lstm = cfg["cell"] == "lstm"
        if cfg["bridge"] == "zero":
            z = final[0].new_zeros(B, H) if lstm else final.new_zeros(B, H)
            return [((z, z) if lstm else z) for _ in range(cfg["dec_layers"])]

        def layer(t, k):  # t: [L*dirs, B, h] -> [B, H], forward half first
            return torch.cat([t[2 * k], t[2 * k + 1]], 1) if cfg["bidirectional"] else t[k]
        if lstm:
            return [(layer(final[0], k), layer(final[1], k)) for k in range(cfg["dec_layers"])]
        return [layer(final, k) for k in range(cfg["dec_layers"])]

    def out_weight(self):
        """W_o [V, H]: the generator's weight, or the target embedding when tied."""
        return self.decoder.embeddings.weight if self.cfg["tie_output"] else self.generator.weight

    def logits(self, dec_out):
        # dec_out: [..., H] -> [..., V]; dropout on h~ first (training only)
        p = dropout_p(self.cfg)
        if p > 0:
            dec_out = F.dropout(dec_out, p, self.training)
        return F.linear(dec_out, self.out_weight(), self.generator.bias)

    def forward(self, src, src_len, tgt_in):
        # src: [B, S]; src_len: [B]; tgt_in: [B, T] -> dict of outputs
        B, S = src.shape
        memory, final = self.encoder(src, src_len)
        states = self.bridge(final, B)
        bridge_states = states
        mask = src_mask(src_len, S, src.device)
        att = self.decoder.attn
        keys = att.linear_context(memory) if att.kind == "mlp" else None
        emb = self.decoder.embeddings(tgt_in)
        feed = memory.new_zeros(B, self.cfg["hidden_size"])
        hs, outs, aligns = [], [], []
        for t in range(tgt_in.shape[1]):
            top, states = self.decoder.rnn(torch.cat([emb[:, t], feed], 1), states)
            feed, a = att(top, memory, keys, mask)
            hs.append(top)
            outs.append(feed)
            aligns.append(a)
        dec_out = torch.stack(outs, 1)                                   # [B, T, H]
        logits = self.logits(dec_out)                                    # [B, T, V]
        return dict(memory=memory, align=torch.stack(aligns, 1), logits=logits,
                    dec_h=torch.stack(hs, 1), dec_out=dec_out, bridge=bridge_states)


def src_mask(src_len, S, device):
    """[B, S] bool, true at real source tokens."""
    return torch.arange(S, device=device).unsqueeze(0) < src_len.to(device).unsqueeze(1)


def losses(logits, tgt_out, eps=0.1):
    """(smoothed mean, plain NLL mean) over non-pad target tokens."""
    logp = torch.log_softmax(logits, dim=-1)                            # [B, T, V]
    nll = -logp.gather(2, tgt_out.unsqueeze(2)).squeeze(2)             # [B, T]
    smooth = (1 - eps) * nll + (eps / logits.shape[-1]) * (-logp).sum(-1)
    keep = (tgt_out != PAD).to(logits.dtype)
    n = keep.sum()
    return (smooth * keep).sum() / n, (nll * keep).sum() / n


def init_model(cfg, seed, init=0.1):
    """Seq2Seq in float32 with uniform [-init, init] draws, pad rows zeroed."""
    torch.manual_seed(seed)
    model = Seq2Seq(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-init, init)
        model.encoder.embeddings.weight[PAD].zero_()
        model.decoder.embeddings.weight[PAD].zero_()
    return model
