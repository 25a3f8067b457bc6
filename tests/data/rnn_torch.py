#!/usr/bin/env python3
"""rnn_torch.py: writes rnn_torch.bin, PyTorch's own numbers for test_rnn.c.

One bidirectional single-layer torch.nn.{RNN,GRU,LSTM} over a packed padded batch
(T=5, B=3, in=4, h=5, lengths 5,2,4), loss = sum(y*R) + sum(h_n*R2) (+ sum(c_n*R3)).
File (little-endian): int32 T, B, in, h, lengths[B]; then for rnn, gru, lstm in turn,
float32 blocks: x [T,B,in], h0 [2,B,h], c0 [2,B,h], R [T,B,2h], R2 [2,B,h], R3 [2,B,h],
then per direction (forward, reverse) w_ih, w_hh, b_ih, b_hh; outputs y [T,B,2h],
h_n [2,B,h], c_n [2,B,h] (zeros for rnn/gru); grads of x, h0, c0, and per direction
w_ih, w_hh, b_ih, b_hh. Run: python3 tests/data/rnn_torch.py (needs torch).
"""
import os
import struct

import torch

T, B, IN, H = 5, 3, 4, 5
LENGTHS = [5, 2, 4]
NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def blocks(cell):
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
    m = cls(IN, H, bidirectional=True)
    for p in m.parameters():
        torch.nn.init.uniform_(p, -0.6, 0.6)
    u = lambda *shape: torch.empty(*shape).uniform_(-1, 1)
    x, h0, c0 = u(T, B, IN).requires_grad_(), u(2, B, H).requires_grad_(), u(2, B, H)
    c0.requires_grad_()
    R, R2, R3 = u(T, B, 2 * H), u(2, B, H), u(2, B, H)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(LENGTHS),
                                                     enforce_sorted=False)
    if cell == "lstm":
        y, (hn, cn) = m(packed, (h0, c0))
    else:
        (y, hn), cn = m(packed, h0), torch.zeros(2, B, H)
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, total_length=T)
    loss = (y * R).sum() + (hn * R2).sum() + (cn * R3).sum()
    loss.backward()
    params = [getattr(m, n + "_l0" + sfx) for sfx in ("", "_reverse") for n in NAMES]
    dc0 = c0.grad if c0.grad is not None else torch.zeros(2, B, H)
    return ([x, h0, c0, R, R2, R3] + params + [y, hn, cn, x.grad, h0.grad, dc0] +
            [p.grad for p in params])


def main():
    torch.manual_seed(0)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rnn_torch.bin")
    with open(path, "wb") as f:
        f.write(struct.pack("<%di" % (4 + B), T, B, IN, H, *LENGTHS))
        for cell in ("rnn", "gru", "lstm"):
            for t in blocks(cell):
                f.write(t.detach().contiguous().float().numpy().astype("<f4").tobytes())
    print("wrote", path, "with torch", torch.__version__)


if __name__ == "__main__":
    main()
