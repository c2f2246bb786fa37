#!/usr/bin/python3
"""Write tests/data/lspm_v1/mlp_3_4_2.lspm: a model file in .lspm format 1
(the fixed training record of lsprobe 0.1), built from the format's
description (docs/DESIGN.md §3, format 1) with Python's struct and zlib --
not by lsprobe -- so that the test that format 1 still loads checks the
reader against the documented layout.

Model 3-4-2 (dense 3->4, relu, dense 4->2), parameter i = i/8 - 1.5;
record: trained, smoothing 0.1 uniform, seed 7, 3 epochs, batch 32,
SGD lr 0.05 momentum 0.9, no weight decay, data "synthetic",
data hash 0x0123456789abcdef, validation accuracy 0.875, 1.5 s."""
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))
b = bytearray(b"LSPM")
b += struct.pack("<II", 1, 3)
for kind, n_in, n_out in ((1, 3, 4), (2, 4, 4), (1, 4, 2)):
    b += struct.pack("<IQQ", kind, n_in, n_out)
nparams = 4 * 3 + 4 + 2 * 4 + 2
b += struct.pack("<Q", nparams)
b += struct.pack("<%df" % nparams, *[i / 8 - 1.5 for i in range(nparams)])
b += struct.pack("<IdIIQII", 1, 0.1, 0, 0, 7, 3, 32)
b += struct.pack("<dddII", 0.05, 0.9, 0.0, 0, 0)
b += b"synthetic".ljust(128, b"\0")
b += struct.pack("<Qdd", 0x0123456789ABCDEF, 0.875, 1.5)
b += struct.pack("<I", zlib.crc32(bytes(b)))
os.makedirs(os.path.join(here, "lspm_v1"), exist_ok=True)
with open(os.path.join(here, "lspm_v1", "mlp_3_4_2.lspm"), "wb") as f:
    f.write(b)
