#!/usr/bin/python3
"""PyTorch peer for lsprobe's benchmarks: the same measurement, same shapes,
same thread count, printed as the same one-line JSON.

  /usr/bin/python3 bench/torch_peer.py loss --n N --k K --eps E --threads T --reps R
  /usr/bin/python3 bench/torch_peer.py calib --n N --k K --threads T --reps R

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


def bench_calib(args):
    """Top-label 15-bin ECE (right-closed bins) of an N x K float32
    probability matrix, in NumPy (one pass: max, argmax, one bincount per
    sum) and PyTorch (the same with torch ops). Timed: the metric only."""
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(1)
    p = rng.random((args.n, args.k), dtype=np.float32)
    np.power(p, 4, out=p)
    p /= p.sum(axis=1, keepdims=True)
    y = ((np.arange(args.n, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(args.k)).astype(np.int64)
    m = args.bins

    def ece_numpy():
        conf = p.max(axis=1).astype(np.float64)
        correct = (p.argmax(axis=1) == y).astype(np.float64)
        b = np.clip(np.ceil(conf * m).astype(np.int64) - 1, 0, m - 1)
        sc = np.bincount(b, weights=conf, minlength=m)
        sa = np.bincount(b, weights=correct, minlength=m)
        return float(np.abs(sa - sc).sum() / args.n)

    pt, yt = torch.from_numpy(p), torch.from_numpy(y)

    def ece_torch():
        conf, pred = pt.max(dim=1)
        conf = conf.double()
        correct = (pred == yt).double()
        b = ((conf * m).ceil().long() - 1).clamp_(0, m - 1)
        sc = torch.zeros(m, dtype=torch.float64).index_add_(0, b, conf)
        sa = torch.zeros(m, dtype=torch.float64).index_add_(0, b, correct)
        return float((sa - sc).abs().sum() / args.n)

    out = {"impl": "peers", "benchmark": "calib", "torch": torch.__version__,
           "numpy": np.__version__, "n": args.n, "k": args.k, "bins": m,
           "threads": args.threads, "reps": args.reps}
    best = None
    for name, fn in (("numpy", ece_numpy), ("torch", ece_torch)):
        times = []
        for r in range(args.reps + 1):
            t0 = time.perf_counter()
            ece = fn()
            dt = time.perf_counter() - t0
            if r > 0:
                times.append(dt)
        med = statistics.median(times)
        out[name + "_median_s"] = med
        out[name + "_ece"] = ece
        if best is None or med < best[1]:
            best = (name, med)
    out["fastest"], out["median_s"] = best
    return out


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
    pc = sub.add_parser("calib", help="top-label 15-bin ECE of a probability matrix")
    pc.add_argument("--n", type=int, default=10000000)
    pc.add_argument("--k", type=int, default=10)
    pc.add_argument("--bins", type=int, default=15)
    pc.add_argument("--threads", type=int, default=1)
    pc.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    if args.what == "loss":
        out = bench_loss(args)
    elif args.what == "calib":
        out = bench_calib(args)
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
