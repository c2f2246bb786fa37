#!/usr/bin/python3
"""Reference robust accuracies for lsprobe's APGD, Square and AutoAttack.

Trains two 784-256-256-10 MLPs on Fashion-MNIST in PyTorch (label smoothing
0 and 0.1), exports each as a state_dict folder lsprobe loads, and runs the
authors' AutoAttack package (Croce & Hein, github.com/fra31/auto-attack) on
the first 500 test images at each eps: every component alone (APGD-CE,
APGD-DLR, APGD-T, Square) and the protocol APGD-CE -> APGD-T -> Square
(robust accuracy after each stage). Writes tests/data/aa_fmnist/.

  /usr/bin/python3 tests/data/gen_aa_reference.py --autoattack DIR [--eps 0.05,0.1]
      [--reuse-models] [--only square-paper]

Square is also run a second time as "square-paper": the package's Square
draws a square's position as floor(U * (H - s)), which never reaches the
last position H - s the paper allows (positions 0..H-s, so the last rows
and columns are never changed after the start); "square-paper" runs the
same code with that one draw widened to floor(U * (H - s + 1)) by
replacing the instance's random_int, to check lsprobe's Square, which
follows the paper. --reuse-models loads the exported models instead of
training them again; --only runs the named entries and merges them into
an existing reference.json.

DIR is a checkout of fra31/auto-attack (its root, holding autoattack/).
The package is only imported and run here; nothing of it is copied.
Settings are those of AutoAttack's standard L-inf version: APGD 100
iterations, 1 restart, rho 0.75; APGD-T 9 target classes, 1 restart each;
Square 5000 queries, p_init 0.8, its unscaled schedule; seed 0. One thread.
Runs for tens of minutes: start it with `nice`."""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "aa_fmnist")


def load_fashion(folder):
    def read(name, offset):
        with gzip.open(os.path.join(folder, name + ".gz"), "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)
    xtr = read("train-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / np.float32(255)
    ytr = read("train-labels-idx1-ubyte", 8).astype(np.int64)
    xte = read("t10k-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / np.float32(255)
    yte = read("t10k-labels-idx1-ubyte", 8).astype(np.int64)
    return xtr, ytr, xte, yte


def train_mlp(xtr, ytr, smoothing, seed=1, epochs=15, batch=128, lr=0.1, momentum=0.9):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    crit = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)
    x, y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    for _ in range(epochs):
        order = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0], batch):
            idx = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            crit(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


class Images(torch.nn.Module):
    """The MLP on N x 1 x 28 x 28 images (Square needs the image shape)."""

    def __init__(self, mlp):
        super().__init__()
        self.mlp = mlp

    def forward(self, x):
        return self.mlp(x.reshape(x.shape[0], -1))


def robust_acc(model, xa, y):
    with torch.no_grad():
        return float((model(xa).argmax(1) == y).double().mean())


def paper_positions(sq):
    """Square's position draw widened to the paper's 0..H-s (see above)."""
    def random_int(low=0, high=1, shape=[1]):
        t = low + (high - low + 1) * torch.rand(shape).to(sq.device)
        return t.long().clamp(max=high)
    sq.random_int = random_int


def run_reference(AutoAttack, model, x, y, eps, only):
    res = {}
    secs = {}
    names = ["apgd-ce", "apgd-dlr", "apgd-t", "square", "square-paper"]
    for name in [n for n in names if not only or n in only]:
        aa = make(AutoAttack, model, eps, [name.replace("-paper", "")])
        if name == "square-paper":
            paper_positions(aa.square)
        t0 = time.perf_counter()
        xa = aa.run_standard_evaluation(x, y, bs=500)
        secs[name] = time.perf_counter() - t0
        assert float((xa - x).abs().max()) <= eps + 1e-6 and xa.min() >= 0 and xa.max() <= 1
        res[name] = robust_acc(model, xa, y)
        print("  eps %g %-8s %.4f  (%.0f s)" % (eps, name, res[name], secs[name]), flush=True)
    if only and "autoattack" not in only:
        return res, secs
    stages = {}
    t0 = time.perf_counter()
    # run_standard_evaluation reports the robust accuracy after each stage
    # only through its logger; the stages are rerun here one after another
    # on the survivors, exactly as the protocol does, to record them.
    with torch.no_grad():
        robust = model(x).argmax(1) == y
    stages["clean"] = float(robust.double().mean())
    for name in ["apgd-ce", "apgd-t", "square"]:
        idx = robust.nonzero().squeeze(1)
        if idx.numel():
            one = make(AutoAttack, model, eps, [name])
            xa = one.run_standard_evaluation(x[idx], y[idx], bs=500)
            with torch.no_grad():
                fooled = model(xa).argmax(1) != y[idx]
            robust[idx[fooled]] = False
        stages[name] = float(robust.double().mean())
    secs["autoattack"] = time.perf_counter() - t0
    print("  eps %g autoattack %s  (%.0f s)" % (eps, stages, secs["autoattack"]), flush=True)
    res["autoattack"] = stages
    return res, secs


def make(AutoAttack, model, eps, attacks):
    aa = AutoAttack(model, norm="Linf", eps=eps, version="custom", attacks_to_run=attacks,
                    device="cpu", seed=0, verbose=False)
    aa.apgd.n_restarts = 1
    aa.apgd.n_iter = 100
    aa.apgd_targeted.n_restarts = 1
    aa.apgd_targeted.n_target_classes = 9
    aa.apgd_targeted.n_iter = 100
    aa.square.n_queries = 5000
    aa.square.p_init = 0.8
    aa.square.n_restarts = 1
    return aa


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--autoattack", required=True, help="root of a fra31/auto-attack checkout")
    p.add_argument("--commit", help="the checkout's commit (default: git rev-parse in DIR)")
    p.add_argument("--eps", default="0.05,0.1")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--reuse-models", action="store_true")
    p.add_argument("--only", default="", help="comma-separated entries to (re)run")
    p.add_argument("--data-dir", default=os.environ.get("LSPROBE_DATA",
                                                        "/usr/share/datasets/fashion-mnist"))
    args = p.parse_args()
    sys.path.insert(0, args.autoattack)
    from autoattack import AutoAttack
    commit = args.commit or "unknown"
    try:
        commit = subprocess.run(["git", "-C", args.autoattack, "rev-parse", "HEAD"],
                                capture_output=True, text=True).stdout.strip() if not args.commit else commit
    except OSError:
        pass
    torch.set_num_threads(1)
    xtr, ytr, xte, yte = load_fashion(args.data_dir)
    x = torch.from_numpy(xte[:args.n].copy()).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(yte[:args.n].copy())
    eps_list = [float(e) for e in args.eps.split(",")]
    os.makedirs(OUT, exist_ok=True)
    out = {"origin": "tests/data/gen_aa_reference.py: PyTorch %s, AutoAttack (fra31/auto-attack) "
                     "commit %s, run on the CPU with 1 thread" % (torch.__version__, commit),
           "n": args.n, "data": "Fashion-MNIST test images 0..%d" % (args.n - 1),
           "settings": {"apgd_iter": 100, "apgd_restarts": 1, "rho": 0.75, "apgd_t_targets": 9,
                        "square_queries": 5000, "square_p_init": 0.8, "seed": 0},
           "models": {}}
    only = [o for o in args.only.split(",") if o]
    path = os.path.join(OUT, "reference.json")
    if only:
        with open(path) as f:
            old = json.load(f)
        out["models"] = old["models"]
        out["origin"] = old["origin"] + "; entries %s added by a later run" % ",".join(only)
    for ls in [0.0, 0.1]:
        tag = "mlp_ls%g" % ls
        t0 = time.perf_counter()
        folder = os.path.join(OUT, tag)
        if args.reuse_models:
            mlp = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                      torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                      torch.nn.Linear(256, 10))
            mlp.load_state_dict({k: torch.from_numpy(np.load(os.path.join(folder, k + ".npy")))
                                 for k in mlp.state_dict()})
            mlp.eval()
        else:
            mlp = train_mlp(xtr, ytr, ls)
            os.makedirs(folder, exist_ok=True)
            for name, t in mlp.state_dict().items():
                np.save(os.path.join(folder, name + ".npy"),
                        t.detach().numpy().astype(np.float32))
        for prm in mlp.parameters():
            prm.requires_grad_(False)
        model = Images(mlp).eval()
        with torch.no_grad():
            test_acc = float((mlp(torch.from_numpy(xte)).argmax(1) ==
                              torch.from_numpy(yte)).double().mean())
        entry = {"smoothing": ls, "train": "SGD lr 0.1 momentum 0.9, batch 128, 15 epochs, "
                 "all 60000 training images, torch.manual_seed(1)",
                 "train_seconds": time.perf_counter() - t0, "test_accuracy": test_acc,
                 "clean_accuracy": robust_acc(model, x, y), "eps": {}, "seconds": {}}
        if only:
            entry = out["models"][tag]
        print("%s: test accuracy %.4f, clean on %d: %.4f" %
              (tag, test_acc, args.n, entry["clean_accuracy"]), flush=True)
        for eps in eps_list:
            res, secs = run_reference(AutoAttack, model, x, y, eps, only)
            entry["eps"].setdefault("%g" % eps, {}).update(res)
            entry["seconds"].setdefault("%g" % eps, {}).update(secs)
        out["models"][tag] = entry
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
