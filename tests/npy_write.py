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
