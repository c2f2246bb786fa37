#!/usr/bin/python3
"""Reference cases for the soft-target losses (tests/data/distill/).

Run with /usr/bin/python3 (Debian's python3-torch 1.13, python3-numpy) from
the repository root:  /usr/bin/python3 tests/data/gen_distill.py

Every number comes from PyTorch, never from lsprobe:

soft_<name>     cross-entropy against probability targets,
                F.cross_entropy(logits, targets) (mean over rows): logits.npy
                (N×K float32), targets.npy (N×K float32, rows summing to 1 in
                float64, some entries exactly 0), grad.npy (float64: the
                gradient of the mean w.r.t. the logits, computed in float64
                from the stored float32 inputs), grad_f32.npy (the same in
                float32 by PyTorch).
distill_<name>  Hinton's distillation loss in PyTorch's usual form:
                  (1-a)*F.cross_entropy(zs, y, label_smoothing=e)
                  + a*T*T*F.kl_div(F.log_softmax(zs/T, 1),
                                   F.softmax(zt/T, 1), reduction='batchmean')
                student.npy, teacher.npy (N×K float32), labels.npy (int64),
                grad.npy (float64), grad_f32.npy (float32); the settings and
                the losses (float32 and float64) are in case.json.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distill")


def save(case, name, arr):
    d = os.path.join(OUT, case)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, name + ".npy"), arr)


def soft_case(name, n, k, scale, seed):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((n, k)) * scale).astype(np.float32)
    q = rng.dirichlet(np.full(k, 0.3), size=n)
    q[rng.random((n, k)) < 0.2] = 0.0          # exact zeros in the targets
    q[np.arange(0, n, 7), :] = 0.0             # every 7th row one-hot
    q[np.arange(0, n, 7), np.arange(0, n, 7) % k] = 1.0
    q = q / q.sum(axis=1, keepdims=True)
    q = q.astype(np.float32)
    out = {"n": n, "k": k, "seed": seed}
    for dt, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        zt = torch.tensor(z, dtype=dt, requires_grad=True)
        qt = torch.tensor(q, dtype=dt)
        loss = F.cross_entropy(zt, qt)
        loss.backward()
        out["loss_" + tag] = loss.item()
        g = zt.grad.numpy()
        save("soft_" + name, "grad" if tag == "f64" else "grad_f32", g)
    save("soft_" + name, "logits", z)
    save("soft_" + name, "targets", q)
    with open(os.path.join(OUT, "soft_" + name, "case.json"), "w") as f:
        json.dump(out, f, indent=1)


def distill_case(name, n, k, temp, alpha, eps, scale_s, scale_t, seed):
    rng = np.random.default_rng(seed)
    zs = (rng.standard_normal((n, k)) * scale_s).astype(np.float32)
    zt = (rng.standard_normal((n, k)) * scale_t).astype(np.float32)
    y = rng.integers(0, k, size=n).astype(np.int64)
    out = {"n": n, "k": k, "temperature": temp, "alpha": alpha,
           "smoothing": eps, "seed": seed}
    for dt, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        s = torch.tensor(zs, dtype=dt, requires_grad=True)
        t = torch.tensor(zt, dtype=dt)
        yt = torch.tensor(y)
        ce = F.cross_entropy(s, yt, label_smoothing=eps)
        kl = F.kl_div(F.log_softmax(s / temp, dim=1), F.softmax(t / temp, dim=1),
                      reduction="batchmean")
        loss = (1.0 - alpha) * ce + alpha * temp * temp * kl
        loss.backward()
        out["loss_" + tag] = loss.item()
        out["ce_" + tag] = ce.item()
        out["kl_" + tag] = kl.item()
        save("distill_" + name, "grad" if tag == "f64" else "grad_f32",
             s.grad.numpy())
    save("distill_" + name, "student", zs)
    save("distill_" + name, "teacher", zt)
    save("distill_" + name, "labels", y)
    with open(os.path.join(OUT, "distill_" + name, "case.json"), "w") as f:
        json.dump(out, f, indent=1)


def main():
    soft_case("k10", 300, 10, 3.0, 11)
    soft_case("k37", 65, 37, 2.0, 12)
    # name, N, K, T, alpha, eps, student scale, teacher scale, seed
    distill_case("t1_a0.5", 256, 10, 1.0, 0.5, 0.0, 2.0, 3.0, 21)
    distill_case("t2_a0.9", 256, 10, 2.0, 0.9, 0.0, 2.0, 3.0, 22)
    distill_case("t4_a0.3_ls0.1", 256, 10, 4.0, 0.3, 0.1, 2.5, 4.0, 23)
    distill_case("t8_a1", 256, 10, 8.0, 1.0, 0.0, 3.0, 5.0, 24)
    distill_case("t0.5_a0.7", 128, 10, 0.5, 0.7, 0.0, 1.5, 2.0, 25)
    distill_case("k37_t3_a0.6", 65, 37, 3.0, 0.6, 0.05, 2.0, 3.0, 26)
    # a peaked teacher: softmax(zt/T) underflows to 0 in float32 for many
    # classes (PyTorch's kl_div gives such a target a zero term)
    distill_case("peaked_t1_a0.8", 64, 10, 1.0, 0.8, 0.0, 2.0, 60.0, 27)


if __name__ == "__main__":
    main()
