#!/usr/bin/python3
"""PyTorch peer for lsprobe's benchmarks: the same measurement, same shapes,
same thread count, printed as the same one-line JSON.

  /usr/bin/python3 bench/torch_peer.py loss --n N --k K --eps E --threads T --reps R
  /usr/bin/python3 bench/torch_peer.py data --reps R

Uses Debian's python3-torch. Timing: one warm-up, then the median of R runs
of forward + backward (the gradient w.r.t. the logits)."""
import argparse
import json
import statistics
import sys
import time


def bench_loss(args):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)
    z = (torch.rand(args.n, args.k, generator=g) - 0.5) * 4.0
    y = torch.randint(0, args.k, (args.n,), generator=g)
    times = []
    loss = None
    for r in range(args.reps + 1):
        zz = z.detach().requires_grad_(True)
        t0 = time.perf_counter()
        loss = F.cross_entropy(zz, y, label_smoothing=args.eps)
        loss.backward()
        dt = time.perf_counter() - t0
        if r > 0:
            times.append(dt)
    med = statistics.median(times)
    nbytes = 8.0 * args.n * args.k
    return {"impl": "torch", "torch": torch.__version__, "n": args.n, "k": args.k,
            "eps": args.eps, "threads": args.threads, "reps": args.reps,
            "median_s": med, "min_s": min(times), "bytes": nbytes,
            "gb_per_s": nbytes / med / 1e9, "loss": float(loss)}


def bench_data(args):
    """Load Fashion-MNIST the usual Python way (gzip + NumPy, pixels / 255 as
    float32, a seeded permutation for the 55000/5000 split, torch tensors)."""
    import gzip
    import os
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    d = args.data_dir or os.environ.get("LSPROBE_DATA") or "/usr/share/datasets/fashion-mnist"

    def idx(name):
        path = os.path.join(d, name)
        opener = open if os.path.exists(path) else gzip.open
        with opener(path if opener is open else path + ".gz", "rb") as f:
            raw = f.read()
        nd = raw[3]
        dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)

    def load():
        xtr = torch.from_numpy(idx("train-images-idx3-ubyte").reshape(60000, -1).astype(np.float32) / 255.0)
        ytr = torch.from_numpy(idx("train-labels-idx1-ubyte").astype(np.int64))
        xte = torch.from_numpy(idx("t10k-images-idx3-ubyte").reshape(10000, -1).astype(np.float32) / 255.0)
        yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte").astype(np.int64))
        perm = torch.randperm(60000, generator=torch.Generator().manual_seed(1))
        tr, va = perm[:-5000], perm[-5000:]
        return xtr[tr], ytr[tr], xtr[va], ytr[va], xte, yte

    times = []
    for r in range(args.reps + 1):
        t0 = time.perf_counter()
        out = load()
        dt = time.perf_counter() - t0
        if r > 0:
            times.append(dt)
    return {"impl": "torch", "torch": torch.__version__, "data": "fashion-mnist",
            "train": int(out[0].shape[0]), "val": int(out[2].shape[0]),
            "test": int(out[4].shape[0]), "dim": int(out[0].shape[1]),
            "threads": args.threads, "reps": args.reps,
            "median_s": statistics.median(times), "min_s": min(times)}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    pl = sub.add_parser("loss", help="label-smoothed cross-entropy fwd+bwd")
    pl.add_argument("--n", type=int, default=65536)
    pl.add_argument("--k", type=int, default=1000)
    pl.add_argument("--eps", type=float, default=0.1)
    pl.add_argument("--threads", type=int, default=1)
    pl.add_argument("--reps", type=int, default=20)
    pd = sub.add_parser("data", help="load + split Fashion-MNIST (gzip + NumPy)")
    pd.add_argument("--data", default="fashion-mnist", help="only fashion-mnist")
    pd.add_argument("--data-dir", default=None)
    pd.add_argument("--threads", type=int, default=1)
    pd.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    if args.what == "loss":
        out = bench_loss(args)
    elif args.what == "data":
        out = bench_data(args)
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
