#!/usr/bin/env python3
"""make_st_fixture.py: writes tests/data/st_fixture.safetensors with only the
standard library (struct, json), independently of seqfuse's writer, so that
tests/test_safetensors.c can check our reader against a file we did not make.

The header lists the tensors in one order and the data section stores them in
reverse order (readers must follow data_offsets, not header order); the header
is padded with spaces past the 8-byte alignment. Values are documented in
test_safetensors.c (test_fixture) and must stay in sync with it.

Usage: python3 scripts/make_st_fixture.py [OUT]
"""
import json
import os
import struct
import sys


def bf16_bits(x):
    """f32 -> bf16 bits, round to nearest even (as the C converter does)."""
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    u += 0x7FFF + ((u >> 16) & 1)
    return (u >> 16) & 0xFFFF


# name, dtype, shape, raw little-endian bytes
TENSORS = [
    ("weight", "F32", [2, 3], struct.pack("<6f", 1.5, -2.25, 0.0, 3.125, -0.001, 100.0)),
    ("half", "F16", [4], struct.pack("<4e", 1.0, -0.5, 65504.0, 2.0 ** -24)),
    ("bf", "BF16", [2, 2],
     struct.pack("<4H", *(bf16_bits(v) for v in (1.0, -2.0, 0.15625, 3.14159)))),
    ("ids", "I32", [3], struct.pack("<3i", -1, 0, 2147483647)),
    ("count", "I64", [1], struct.pack("<q", -9007199254740993)),
    ("bytes", "U8", [5], b"hi\x00\xff!"),
    ("dbl", "F64", [2], struct.pack("<2d", 0.1, -2.5)),
    ("empty", "F32", [0, 3], b""),
]

METADATA = {
    "format": "seqfuse",
    "version": "1",
    "config": '{"cell":"lstm"}',
    "note": "\u00fcn\u00efcode \u2713",  # written as \u escapes (ensure_ascii)
}


def build():
    offsets = {}
    data = b""
    for name, _, _, raw in reversed(TENSORS):  # data in reverse header order
        offsets[name] = (len(data), len(data) + len(raw))
        data += raw
    header = {"__metadata__": METADATA}
    for name, dtype, shape, raw in TENSORS:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": list(offsets[name])}
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((-len(text)) % 8 + 8)  # align the data, plus 8 spare spaces
    return struct.pack("<Q", len(text)) + text + data


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "tests", "data", "st_fixture.safetensors")
    blob = build()
    with open(out, "wb") as f:
        f.write(blob)
    print(f"wrote {out} ({len(blob)} bytes)")


if __name__ == "__main__":
    main()
