#!/usr/bin/python3
"""Write tests/data/lspm_v2/mlp_3_4_2.lspm: a model file in .lspm format 2
(the MLP layer list with the typed training record, written by lsprobe for a
short while before the graph's format 3), built from the format's
description (docs/DESIGN.md §3) with Python's struct and zlib -- not by
lsprobe -- so that the test that format 2 still loads checks the reader
against the documented layout.

Model 3-4-2 (dense 3->4, relu, dense 4->2), parameter i = 1.25 - i/16;
record: every setting (code version 2, smoothing 0.2 t2t, seed 11, 4
epochs, batch 64, 1 share, SGD lr 0.03 momentum 0.5 weight decay 1e-4,
cosine, data hash 0xabcdef0123456789, split seed 3, 500 train / 50
validation rows, validation hash 0x77) and the description (data "tiny",
validation accuracy 0.625)."""
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))


def field(t, name, v):
    b = bytes([ord(t), len(name)]) + name.encode()
    if t == "u":
        return b + struct.pack("<Q", v)
    if t == "f":
        return b + struct.pack("<d", v)
    s = v.encode()
    return b + struct.pack("<I", len(s)) + s


fields = [("u", "code_version", 2), ("f", "smoothing", 0.2), ("s", "convention", "t2t"),
          ("u", "normalize", 0), ("u", "seed", 11), ("u", "epochs", 4), ("u", "batch", 64),
          ("u", "shares", 1), ("s", "optimizer", "sgd"), ("f", "lr", 0.03),
          ("f", "momentum", 0.5), ("f", "weight_decay", 1e-4), ("s", "schedule", "cosine"),
          ("u", "data_hash", 0xABCDEF0123456789), ("u", "split_seed", 3),
          ("u", "n_train", 500), ("u", "n_val", 50), ("u", "val_hash", 0x77),
          ("s", "data", "tiny"), ("f", "val_accuracy", 0.625)]
rec = struct.pack("<I", len(fields)) + b"".join(field(*f) for f in fields)

b = bytearray(b"LSPM")
b += struct.pack("<II", 2, 3)
for kind, n_in, n_out in ((1, 3, 4), (2, 4, 4), (1, 4, 2)):
    b += struct.pack("<IQQ", kind, n_in, n_out)
nparams = 4 * 3 + 4 + 2 * 4 + 2
b += struct.pack("<Q", nparams)
b += struct.pack("<%df" % nparams, *[1.25 - i / 16 for i in range(nparams)])
b += struct.pack("<I", len(rec)) + rec
b += struct.pack("<I", zlib.crc32(bytes(b)))
os.makedirs(os.path.join(here, "lspm_v2"), exist_ok=True)
with open(os.path.join(here, "lspm_v2", "mlp_3_4_2.lspm"), "wb") as f:
    f.write(b)
