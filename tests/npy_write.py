"""A .npy file written by hand, for the end-to-end tests that need exact
float32/float64 values without NumPy: npy(path, descr, shape, fmt, values),
e.g. npy(p, "<f4", "(50, 4)", "f", values). tests/e2e_common.sh puts this
folder on PYTHONPATH."""
import struct


def npy(path, dt, shape, fmt, vals):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dt, shape)
    hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        f.write(struct.pack("<%d%s" % (len(vals), fmt), *vals))


def huge_noise_logits(zpath, ypath):
    """50×4 float32 logits of 1e20 times Gaussian noise and labels 0-3 (seed
    0), written to zpath and ypath; returns the double-precision mean of
    (max − z_y) + log Σ e^(z − max) over the float32 values: their NLL."""
    import math, random
    r = random.Random(0)
    y = [r.randrange(4) for _ in range(50)]
    z = [r.gauss(0, 1) * 1e20 for _ in range(200)]
    z = list(struct.unpack("<200f", struct.pack("<200f", *z)))
    npy(ypath, "<i8", "(50,)", "q", y)
    npy(zpath, "<f4", "(50, 4)", "f", z)
    ref = 0.0
    for i in range(50):
        row = z[4 * i:4 * i + 4]
        m = max(row)
        ref += (m - row[y[i]]) + math.log(sum(math.exp(v - m) for v in row))
    return ref / 50
