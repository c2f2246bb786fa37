#!/usr/bin/python3
"""PyTorch peer for lsprobe's benchmarks: the same measurement, same shapes,
same thread count, printed as the same one-line JSON.

  /usr/bin/python3 bench/torch_peer.py loss --n N --k K --eps E --threads T --reps R
  /usr/bin/python3 bench/torch_peer.py train --hidden 256,256 --batch 128 --epochs E --threads T
  /usr/bin/python3 bench/torch_peer.py attack --model DIR --eps LIST --threads T
      [--attack fgsm|pgd] [--steps 10] [--reps R] [--batch B] [--x X.npy --labels y.npy]
  /usr/bin/python3 bench/torch_peer.py autoattack --model DIR --eps E --limit 500
      --autoattack AA_DIR [--attack autoattack|apgd-ce|apgd-dlr|apgd-t|square]
      [--threads T] [--reps R] [--batch B]
  /usr/bin/python3 bench/torch_peer.py data --reps R
  /usr/bin/python3 bench/torch_peer.py calib --n N --k K --threads T --reps R

Uses Debian's python3-torch. Timing: the median of R runs of forward +
backward (the gradient w.r.t. the logits), after one warm-up run (loss,
calib, clusters: warm-up runs until one faults in no new page). glibc's
malloc keeps freed memory for reuse (keep_freed_memory), so that fresh
arrays do not fault in new pages on every run; faults during the timed
runs are reported (timed_page_faults)."""
import argparse
import json
import statistics
import sys
import time

from torch_peer_attack import bench_attack, bench_autoattack, conv_net


def peer_host(threads):
    """The JSON members every benchmark line carries: the CPU model and
    cores, the library that ran and its instruction set, the thread counts,
    the 1-minute load average."""
    import os
    model, load = "unknown", -1.0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/loadavg") as f:
            load = float(f.read().split()[0])
    except OSError:
        pass
    out = {"cpu_model": model, "cores": os.cpu_count(), "threads": threads,
           "blas_threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0),
           "load_avg": load}
    try:
        import torch
        cap = [l for l in torch.__config__.show().splitlines() if "CPU capability" in l]
        out["isa"] = cap[0].split(":", 1)[1].strip() if cap else "unknown"
        out["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return out


def keep_freed_memory():
    """Have glibc's malloc keep freed memory for the next allocation: no
    separate mapping for a large block (M_MMAP_MAX 0) and no return of free
    memory to the system below 2 GB (M_TRIM_THRESHOLD). PyTorch and NumPy
    allocate fresh arrays on every call; otherwise each large one is a new
    mapping whose pages fault in on first touch, which costs a virtual
    machine far more than bare metal (13.5 us a 4 KB page on the test
    machine of 2026-12-05, README "Benchmarks"): the loss peer's 262 MB
    arrays took 3.25 s a call instead of 0.13 s. lsprobe's benchmarks
    allocate their arrays once, before the clock starts; with this the
    peers, warmed up untimed (warm_up), reuse theirs as well.
    Returns whether glibc took both settings."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))


def page_faults():
    """This process's minor page faults so far."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def warm_up(fn, quiet=3, most=12):
    """Run fn untimed until `quiet` runs in a row fault in no new page (at
    most `most` runs): the heap then holds every array a run allocates. One
    run was not always enough: freed arrays leave holes that the next run's
    arrays, allocated in another order, may not fit. Nor was one quiet run:
    the calib peer's PyTorch pass faulted in 127000, 117000, 59000, 0, then
    19500 and 19500 pages (0.52 s a run against 0.32), and none after."""
    calm = 0
    for _ in range(most):
        f0 = page_faults()
        fn()
        calm = calm + 1 if page_faults() == f0 else 0
        if calm == quiet:
            return


def timed_runs(fn, reps):
    """fn warmed up (warm_up), then run reps times: the wall and CPU times
    of each run, the page faults during them, and the last run's value."""
    warm_up(fn)
    times, cpus, value = [], [], None
    f0 = page_faults()
    for _ in range(reps):
        value = None  # the last run's value freed first: its arrays' memory is the next run's
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return times, cpus, page_faults() - f0, value


def bench_loss(args):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)
    z = (torch.rand(args.n, args.k, generator=g) - 0.5) * 4.0
    y = torch.randint(0, args.k, (args.n,), generator=g)

    def once():
        zz = z.detach().requires_grad_(True)
        loss = F.cross_entropy(zz, y, label_smoothing=args.eps)
        loss.backward()
        # a number: the tensor would hold its graph, and with it zz and its
        # gradient (262 MB each), until timed_runs drops it
        return loss.item()

    times, cpus, faults, loss = timed_runs(once, args.reps)
    med = statistics.median(times)
    nbytes = 8.0 * args.n * args.k
    return {"impl": "torch", "torch": torch.__version__, "n": args.n, "k": args.k,
            "eps": args.eps, "threads": args.threads, "reps": args.reps,
            "median_s": med, "min_s": min(times), "cpu_s": statistics.median(cpus),
            "bytes": nbytes, "gb_per_s": nbytes / med / 1e9, "loss": float(loss),
            "timed_page_faults": faults}


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
    if args.arch:
        model = conv_net(args.arch)
        x = x.reshape(-1, 1, 28, 28)
        xte = xte.reshape(-1, 1, 28, 28)
    else:
        layers = []
        for i in range(len(widths) - 1):
            layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
            if i + 2 < len(widths):
                layers.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    crit = torch.nn.CrossEntropyLoss(label_smoothing=args.smoothing)
    n = x.shape[0]
    c0 = time.process_time()
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
    cpu = time.process_time() - c0
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(xte)).argmax(1) == torch.from_numpy(yte)).double().mean()
    return {"impl": "torch", "benchmark": "train", "torch": torch.__version__,
            "arch": args.arch or "-".join(str(w) for w in widths), "n_train": n,
            "batch": args.batch, "epochs": args.epochs, "threads": args.threads,
            "smoothing": args.smoothing, "seconds": dt, "cpu_s": cpu,
            "samples_per_s": args.epochs * n / dt, "test_accuracy": float(acc)}
def clusters_features(n, h, k):
    """The features of bench_clusters.c, bit for bit: the same LCG
    s <- 1664525 s + 1013904223 (mod 2^32) evaluated in closed form
    (s_t = a^t s_0 + c (1 + a + ... + a^(t-1))), noise (s >> 8) / 2^24 plus
    1 where column % k equals the row's class (row % k)."""
    import numpy as np
    a, c, m = np.uint32(1664525), np.uint32(1013904223), n * h
    with np.errstate(over="ignore"):
        pw = np.cumprod(np.full(m, a, dtype=np.uint32), dtype=np.uint32)
        prev = np.concatenate(([np.uint32(1)], pw[:-1]))
        geo = np.cumsum(prev, dtype=np.uint32)
        st = pw * np.uint32(1) + c * geo
    x = ((st >> np.uint32(8)).astype(np.float32) / np.float32(16777216.0)).reshape(n, h)
    y = (np.arange(n) % k).astype(np.int64)
    x += (np.arange(h)[None, :] % k == y[:, None]).astype(np.float32)
    return x, y


def clusters_numpy(x, y, k):
    """DESIGN section 2 in NumPy, float64 like lsprobe: R2 (cosine, self-pairs
    included), scatter matrices, trace ratio, NC1 = tr(Sw pinv(Sb))/K with
    pinv(Sb) from numpy.linalg.eigh keeping the K-1 leading components."""
    import numpy as np
    x = x.astype(np.float64)
    n = x.shape[0]
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    counts = onehot.sum(0)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    mu_u = (onehot.T @ u) / counts[:, None]
    d_within = 1.0 - np.mean(np.sum(mu_u ** 2, axis=1))
    d_total = 1.0 - np.sum(np.mean(mu_u, axis=0) ** 2)
    r2 = 1.0 - d_within / d_total
    mu = (onehot.T @ x) / counts[:, None]
    cen = x - mu[y]
    sw = cen.T @ cen / n
    mc = mu - mu.mean(0)
    sb = mc.T @ mc / k
    lam, vec = np.linalg.eigh(sb)
    lam, vec = lam[::-1][:k - 1], vec[:, ::-1][:, :k - 1]
    sb_pinv = (vec / lam) @ vec.T
    nc1 = np.trace(sw @ sb_pinv) / k
    return r2, np.trace(sw) / np.trace(sb), nc1


def bench_clusters(args):
    import os
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import numpy as np
    x, y = clusters_features(args.n, args.h, args.k)
    times, _, faults, out = timed_runs(lambda: clusters_numpy(x, y, args.k), args.reps)
    return {"impl": "numpy", "numpy": np.__version__, "n": args.n, "h": args.h,
            "k": args.k, "threads": args.threads, "reps": args.reps,
            "timed_page_faults": faults,
            "median_s": statistics.median(times), "min_s": min(times),
            "r2_separation": float(out[0]), "trace_ratio": float(out[1]),
            "nc1": float(out[2])}
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

    times, _, faults, out = timed_runs(load, args.reps)
    return {"impl": "torch", "torch": torch.__version__, "data": "fashion-mnist",
            "train": int(out[0].shape[0]), "val": int(out[2].shape[0]),
            "test": int(out[4].shape[0]), "dim": int(out[0].shape[1]),
            "threads": args.threads, "reps": args.reps,
            "median_s": statistics.median(times), "min_s": min(times),
            "timed_page_faults": faults}
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
        times, cpus, faults, ece = timed_runs(fn, args.reps)
        out[name + "_timed_page_faults"] = faults
        med = statistics.median(times)
        out[name + "_median_s"] = med
        out[name + "_cpu_s"] = statistics.median(cpus)
        out[name + "_ece"] = ece
        if best is None or med < best[1]:
            best = (name, med)
    out["fastest"], out["median_s"] = best
    out["cpu_s"] = out[best[0] + "_cpu_s"]
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
    pt = sub.add_parser("train", help="training throughput (SGD, label smoothing): MLP, LeNet-5, ResNet-8")
    pt.add_argument("--hidden", default="256,256")
    pt.add_argument("--arch", default=None, help="lenet or resnet8 instead of the MLP")
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
    pa = sub.add_parser("attack", help="FGSM sweep / PGD on an exported MLP")
    pa.add_argument("--model", required=True,
                    help="state_dict export folder (MLP), or bench_attack --export's folder with --arch")
    pa.add_argument("--arch", default=None, help="lenet or resnet8: a convolutional network")
    pa.add_argument("--seed", type=int, default=1, help="accepted for symmetry with bench_attack")
    pa.add_argument("--export", default=None, help="accepted for symmetry with bench_attack")
    pa.add_argument("--x", help="N x dim .npy inputs (default: Fashion-MNIST test)")
    pa.add_argument("--labels", help="N labels .npy (with --x)")
    pa.add_argument("--eps", default="0,0.05,0.1,0.2")
    pa.add_argument("--attack", choices=["fgsm", "pgd"], default="fgsm")
    pa.add_argument("--steps", type=int, default=10)
    pa.add_argument("--threads", type=int, default=1)
    pa.add_argument("--reps", type=int, default=5)
    pa.add_argument("--batch", type=int, default=1000,
                    help="rows per batch; 0 = all (1000 was torch's fastest of 256, 1000, all)")
    pa.add_argument("--limit", type=int, default=0)
    pq = sub.add_parser("autoattack", help="the authors' AutoAttack on an exported MLP")
    pq.add_argument("--model", required=True, help="state_dict export folder")
    pq.add_argument("--x", help="N x dim .npy inputs (default: Fashion-MNIST test)")
    pq.add_argument("--labels", help="N labels .npy (with --x)")
    pq.add_argument("--eps", default="0.05", help="one eps")
    pq.add_argument("--attack", default="autoattack",
                    choices=["autoattack", "apgd-ce", "apgd-dlr", "apgd-t", "square"])
    pq.add_argument("--threads", type=int, default=1)
    pq.add_argument("--reps", type=int, default=1)
    pq.add_argument("--batch", type=int, default=0, help="rows per batch; 0 = all")
    pq.add_argument("--limit", type=int, default=500)
    pq.add_argument("--autoattack", help="fra31/auto-attack checkout (default $AUTOATTACK_DIR)")
    pc = sub.add_parser("clusters", help="cluster geometry (R2, scatter, NC1) in NumPy")
    pc.add_argument("--n", type=int, default=60000)
    pc.add_argument("--h", type=int, default=256)
    pc.add_argument("--k", type=int, default=10)
    pc.add_argument("--threads", type=int, default=1)
    pc.add_argument("--reps", type=int, default=10)
    pd = sub.add_parser("data", help="load + split Fashion-MNIST (gzip + NumPy)")
    pd.add_argument("--data", default="fashion-mnist", help="only fashion-mnist")
    pd.add_argument("--data-dir", default=None)
    pd.add_argument("--threads", type=int, default=1)
    pd.add_argument("--reps", type=int, default=5)
    pk = sub.add_parser("calib", help="top-label 15-bin ECE of a probability matrix")
    pk.add_argument("--n", type=int, default=10000000)
    pk.add_argument("--k", type=int, default=10)
    pk.add_argument("--bins", type=int, default=15)
    pk.add_argument("--threads", type=int, default=1)
    pk.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    reuse = keep_freed_memory()
    runners = {"loss": bench_loss, "train": bench_train, "attack": bench_attack,
               "autoattack": bench_autoattack,
               "clusters": bench_clusters, "data": bench_data, "calib": bench_calib}
    out = runners[args.what](args)
    host = peer_host(getattr(args, "threads", 1))
    host.update(out)
    host["malloc_reuse"] = reuse
    print(json.dumps(host))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
