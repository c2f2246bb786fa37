#!/usr/bin/python3
"""PyTorch peer for lsprobe's benchmarks: the same measurement, same shapes,
same thread count, printed as the same one-line JSON.

  /usr/bin/python3 bench/torch_peer.py loss --n N --k K --eps E --threads T --reps R
  /usr/bin/python3 bench/torch_peer.py train --hidden 256,256 --batch 128 --epochs E --threads T

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


def load_fashion(folder):
    """Fashion-MNIST from the four gzip IDX files, pixels scaled to [0, 1]."""
    import gzip
    import os
    import numpy as np

    def read(name, offset):
        with gzip.open(os.path.join(folder, name + ".gz"), "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)
    xtr = read("train-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / 255
    ytr = read("train-labels-idx1-ubyte", 8).astype(np.int64)
    xte = read("t10k-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / 255
    yte = read("t10k-labels-idx1-ubyte", 8).astype(np.int64)
    return xtr, ytr, xte, yte


def bench_train(args):
    """The training loop of lsprobe train in PyTorch: nn.Sequential of
    Linear/ReLU, SGD(lr, momentum), CrossEntropyLoss(label_smoothing), a fresh
    random permutation per epoch, mini-batches gathered by index; the same
    55000/5000 train/validation sizes. Only the training batches are timed."""
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr, xte, yte = load_fashion(args.data_dir)
    perm = np.random.default_rng(args.seed).permutation(len(xtr))
    keep = perm[: len(xtr) - args.val]
    x = torch.from_numpy(np.ascontiguousarray(xtr[keep]))
    y = torch.from_numpy(ytr[keep])
    widths = [784] + [int(h) for h in args.hidden.split(",")] + [10]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    crit = torch.nn.CrossEntropyLoss(label_smoothing=args.smoothing)
    n = x.shape[0]
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(n)
        for i in range(0, n, args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad(set_to_none=True)
            loss = crit(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    dt = time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(torch.from_numpy(xte)).argmax(1) == torch.from_numpy(yte)).double().mean()
    return {"impl": "torch", "benchmark": "train", "torch": torch.__version__,
            "arch": "-".join(str(w) for w in widths), "n_train": n,
            "batch": args.batch, "epochs": args.epochs, "threads": args.threads,
            "smoothing": args.smoothing, "seconds": dt,
            "samples_per_s": args.epochs * n / dt, "test_accuracy": float(acc)}


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
    pt = sub.add_parser("train", help="MLP training throughput (SGD, label smoothing)")
    pt.add_argument("--hidden", default="256,256")
    pt.add_argument("--batch", type=int, default=128)
    pt.add_argument("--epochs", type=int, default=1)
    pt.add_argument("--threads", type=int, default=1)
    pt.add_argument("--smoothing", type=float, default=0.1)
    pt.add_argument("--lr", type=float, default=0.1)
    pt.add_argument("--momentum", type=float, default=0.9)
    pt.add_argument("--seed", type=int, default=1)
    pt.add_argument("--val", type=int, default=5000)
    pt.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    pt.add_argument("--data", default="fashion-mnist",
                    help="accepted for symmetry with bench_train; only fashion-mnist")
    args = p.parse_args()
    if args.what == "loss":
        out = bench_loss(args)
    elif args.what == "train":
        out = bench_train(args)
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
