#!/usr/bin/python3
"""PyTorch peer for lsprobe's benchmarks: the same measurement, same shapes,
same thread count, printed as the same one-line JSON.

  /usr/bin/python3 bench/torch_peer.py loss --n N --k K --eps E --threads T --reps R

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
    args = p.parse_args()
    if args.what == "loss":
        out = bench_loss(args)
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
