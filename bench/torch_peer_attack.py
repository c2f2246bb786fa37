#!/usr/bin/python3
"""The PyTorch side of lsprobe's attack benchmarks (imported by
bench/torch_peer.py): lsprobe's built-in networks as PyTorch modules, the
loaders for exported models and the test images, and the FGSM/PGD and
AutoAttack timings."""
import statistics
import sys
import time


def conv_net(name):
    """lsprobe's built-in LeNet-5 and ResNet-8 (docs/DESIGN.md §7.4) as
    PyTorch modules, for 1x28x28 inputs and 10 classes."""
    import torch.nn as nn
    if name.startswith("mlp:"):  # lsprobe's mlp:W1,W2,... on 784 inputs
        widths = [784] + [int(w) for w in name[4:].split(",")] + [10]
        layers = []
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i + 2 < len(widths):
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)
    if name == "lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))
    if name != "resnet8":
        raise SystemExit("torch_peer: --arch is lenet or resnet8")

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.main = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                                      nn.BatchNorm2d(cout), nn.ReLU(),
                                      nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(cout))
            self.short = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            return nn.functional.relu(self.main(x) + self.short(x))

    return nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def load_mlp(folder):
    """An nn.Sequential of Linear/ReLU from a state_dict export folder
    (0.weight.npy, 0.bias.npy, 2.weight.npy, ...), as lsprobe reads it."""
    import os
    import numpy as np
    import torch
    idx = sorted(int(f.split(".")[0]) for f in os.listdir(folder) if f.endswith(".weight.npy"))
    layers = []
    for j, i in enumerate(idx):
        w = torch.from_numpy(np.load(os.path.join(folder, "%d.weight.npy" % i)))
        b = torch.from_numpy(np.load(os.path.join(folder, "%d.bias.npy" % i)))
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        layers.append(lin)
        if j + 1 < len(idx):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_conv(arch, folder):
    """conv_net(arch) with the parameters bench_attack --export wrote, in
    order (param_000.npy, ...: weight then bias, layer by layer, the order
    of model.parameters())."""
    import os
    import numpy as np
    import torch
    model = conv_net(arch).eval()
    files = sorted(f for f in os.listdir(folder) if f.startswith("param_") and f.endswith(".npy"))
    params = list(model.parameters())
    if len(files) != len(params):
        raise SystemExit("torch_peer: %s holds %d tensors, %s has %d" % (folder, len(files), arch, len(params)))
    with torch.no_grad():
        for p, f in zip(params, files):
            p.copy_(torch.from_numpy(np.load(os.path.join(folder, f))).reshape(p.shape))
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_attack_data(args):
    import gzip
    import os
    import numpy as np
    if args.x:
        x = np.load(args.x).astype(np.float32)
        y = np.load(args.labels).astype(np.int64)
    else:
        d = os.environ.get("LSPROBE_DATA", "/usr/share/datasets/fashion-mnist")
        with gzip.open(os.path.join(d, "t10k-images-idx3-ubyte.gz")) as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
        with gzip.open(os.path.join(d, "t10k-labels-idx1-ubyte.gz")) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
        x = x.astype(np.float32) / np.float32(255.0)
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    return x, y


def bench_attack(args):
    """FGSM: the input gradient of the summed CE once, then one no-grad
    forward per eps > 0 (eps = 0 reuses the clean logits, as lsprobe does).
    PGD: random start, `steps` steps of 2.5*eps/steps with projection, per eps > 0.
    Batches of --batch rows (default 1000, torch's fastest here)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    xn, yn = load_attack_data(args)
    x, y = torch.from_numpy(np.ascontiguousarray(xn)), torch.from_numpy(yn)
    if args.arch:
        model = load_conv(args.arch, args.model)
        if not args.arch.startswith("mlp:"):
            x = x.reshape(-1, 1, 28, 28)
    else:
        model = load_mlp(args.model)
    eps_list = [float(e) for e in args.eps.split(",")]
    n = x.shape[0]
    bs = args.batch or n

    def fgsm():
        correct = [0] * len(eps_list)
        for i in range(0, n, bs):
            xb, yb = x[i:i + bs], y[i:i + bs]
            xr = xb.clone().requires_grad_(True)
            logits = model(xr)
            F.cross_entropy(logits, yb, reduction="sum").backward()
            s = xr.grad.sign()
            clean = logits.detach().argmax(1)
            with torch.no_grad():
                for e, eps in enumerate(eps_list):
                    if eps == 0:
                        pred = clean
                    else:
                        pred = model((xb + eps * s).clamp_(0.0, 1.0)).argmax(1)
                    correct[e] += int((pred == yb).sum())
        return correct

    def pgd():
        correct = [0] * len(eps_list)
        for i in range(0, n, bs):
            xb, yb = x[i:i + bs], y[i:i + bs]
            with torch.no_grad():
                clean = model(xb).argmax(1)
            for e, eps in enumerate(eps_list):
                if eps == 0:
                    correct[e] += int((clean == yb).sum())
                    continue
                alpha = 2.5 * eps / args.steps
                lo, hi = (xb - eps).clamp(0.0, 1.0), (xb + eps).clamp(0.0, 1.0)
                xa = torch.min(torch.max(xb + eps * (2 * torch.rand_like(xb) - 1), lo), hi)
                for _ in range(args.steps):
                    xa.requires_grad_(True)
                    loss = F.cross_entropy(model(xa), yb, reduction="sum")
                    g, = torch.autograd.grad(loss, xa)
                    xa = torch.min(torch.max(xa.detach() + alpha * g.sign(), lo), hi)
                with torch.no_grad():
                    correct[e] += int((model(xa).argmax(1) == yb).sum())
        return correct

    run = fgsm if args.attack == "fgsm" else pgd
    times, cpus, correct = [], [], None
    for r in range(args.reps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        correct = run()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if r > 0:
            times.append(dt)
            cpus.append(dc)
    med = statistics.median(times)
    if args.arch:  # multiply-adds of the convolutions and linear layers, by hooks
        macs = [0]

        def count(mod, inp, out):
            if isinstance(mod, torch.nn.Conv2d):
                macs[0] += out[0].numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
            elif isinstance(mod, torch.nn.Linear):
                macs[0] += mod.in_features * mod.out_features
        hooks = [m.register_forward_hook(count) for m in model.modules()
                 if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        with torch.no_grad():
            model(x[:1])
        for h in hooks:
            h.remove()
        fwd = 2.0 * macs[0]
    else:
        fwd = 2.0 * sum(m.in_features * m.out_features for m in model
                        if isinstance(m, torch.nn.Linear))
    npos = sum(1 for e in eps_list if e > 0)
    passes = (2 + npos) if args.attack == "fgsm" else (1 + npos * (2 * args.steps + 1))
    gflop = fwd * n * passes / 1e9
    return {"impl": "torch", "torch": torch.__version__, "attack": args.attack, "n": n,
            "steps": args.steps if args.attack == "pgd" else 1, "threads": args.threads,
            "reps": args.reps, "batch": bs, "median_s": med, "min_s": min(times),
            "cpu_s": statistics.median(cpus), "model": args.arch or "mlp",
            "gflop": gflop, "gflop_per_s": gflop / med, "eps": eps_list,
            "accuracy": [c / n for c in correct]}


def bench_autoattack(args):
    """The authors' AutoAttack (github.com/fra31/auto-attack, a checkout at
    --autoattack or $AUTOATTACK_DIR) on the exported MLP, with the settings
    lsprobe's standard uses: APGD 100 iterations, 1 restart; APGD-T 9
    targets; Square 5000 queries, p_init 0.8; the protocol APGD-CE ->
    APGD-T -> Square (version 'custom'). Images are fed as N x 1 x 28 x 28
    (Square needs the image shape) to the MLP behind a reshape. Batches of
    --batch rows (default: all, which was its fastest here)."""
    import os
    import numpy as np
    import torch
    sys.path.insert(0, args.autoattack or os.environ.get("AUTOATTACK_DIR", "/tmp/aa"))
    from autoattack import AutoAttack
    torch.set_num_threads(args.threads)
    mlp = load_mlp(args.model)
    xn, yn = load_attack_data(args)
    side = int(round(xn.shape[1] ** 0.5))
    x = torch.from_numpy(np.ascontiguousarray(xn)).reshape(-1, 1, side, side)
    y = torch.from_numpy(yn)

    class Images(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, v):
            return self.m(v.reshape(v.shape[0], -1))

    model = Images(mlp).eval()
    eps = float(args.eps)
    attacks = ["apgd-ce", "apgd-t", "square"] if args.attack == "autoattack" else [args.attack]
    times, cpus, acc = [], [], None
    for r in range(args.reps):
        aa = AutoAttack(model, norm="Linf", eps=eps, version="custom", attacks_to_run=attacks,
                        device="cpu", seed=0, verbose=False)
        aa.apgd.n_restarts = 1
        aa.apgd_targeted.n_restarts = 1
        aa.apgd_targeted.n_target_classes = 9
        aa.square.n_queries = 5000
        t0, c0 = time.perf_counter(), time.process_time()
        xa = aa.run_standard_evaluation(x, y, bs=args.batch or x.shape[0])
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        with torch.no_grad():
            acc = float((model(xa).argmax(1) == y).double().mean())
    med = statistics.median(times)
    n = x.shape[0]
    return {"impl": "torch-autoattack", "torch": torch.__version__, "attack": args.attack,
            "n": n, "threads": args.threads, "reps": args.reps, "median_s": med,
            "min_s": min(times), "cpu_s": statistics.median(cpus),
            "seconds_per_100": 100.0 * med / n, "eps": [eps],
            "accuracy": [acc]}
