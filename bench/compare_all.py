#!/usr/bin/python3
"""bench/compare all — every benchmark of README's performance table, each
against its peer on the same machine, and the table itself.

  bench/compare all [--repeat 3] [--quick] [--readme] [--force] [--max-load L]
                    [--only NAME,...] [--json FILE]

Each case runs lsprobe's benchmark and its peer (PyTorch or NumPy, Debian's
python3-torch / python3-numpy, run with /usr/bin/python3) back to back,
--repeat times, interleaved; a figure is the median over the repeats of each
run's own median. The table goes to stdout as Markdown, one row per figure,
with its goal, whether the figure meets it ("met" / "not met", checked
against that row's own numbers), and the machine it was measured on; --readme also writes it into README.md
between the "bench/compare all" markers, --json every run's JSON lines to
FILE.

Timings are only meaningful on a quiet machine: the 1-minute load average is
read before every case; above --max-load (default: the number of cores, i.e.
other programs compete for every core) the script refuses to start unless
--force is given. During every case the script also counts the CPU time the
whole machine spent busy (or lost to the hypervisor) minus its own and its
children's: a case during which other programs kept more than 0.1 core busy
on average is marked in the table (the load average cannot tell, as the
benchmarks' own threads raise it). Two-thread rows also give each run's
cache-line round trip between the cores (core_rtt_ns), which on a virtual
machine tells where the host had put the virtual CPUs; the --stream row
gives the rate at which `cat` reads the same files in the same minute
(the logits file's size over the time to read both, as for lsprobe).
--quick shrinks every problem to test the script, not the machine (its
figures are not comparable).

Cases (names for --only): loss, calib, calib_cli, clusters, train_mlp,
train_lenet, fgsm_mlp, fgsm_lenet, data."""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("LSP_BUILD", os.path.join(ROOT, "build", "release"))
PY = "/usr/bin/python3"
PEER = os.path.join(HERE, "torch_peer.py")
LOG = []  # every JSON line, for --json
# A case during which other programs kept more than this many cores busy on
# average (their CPU time over the case's wall time) is marked unreliable.
OTHERS_MAX = 0.1


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def cpu_mark():
    """(wall s, CPU s the whole machine spent busy or lost to the hypervisor,
    CPU s of this script and its finished children): the difference of two
    marks gives the CPU time other programs took meanwhile. The load average
    cannot tell: the benchmarks' own threads raise it."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal: all but idle and iowait
    busy = (sum(v[:3]) + sum(v[5:8])) / hz
    t = os.times()
    return (time.monotonic(), busy,
            t.user + t.system + t.children_user + t.children_system)


def others_cores(m0, m1):
    """Cores other programs kept busy on average between two cpu_marks."""
    wall = m1[0] - m0[0]
    if wall <= 0:
        return 0.0
    return max(0.0, ((m1[1] - m0[1]) - (m1[2] - m0[2])) / wall)


def run_json(cmd, threads, env_extra=None):
    """Run a benchmark with OpenBLAS/OpenMP pinned to `threads`; its last
    stdout line as JSON."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    env.update(env_extra or {})
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    d = json.loads(out.strip().splitlines()[-1])
    LOG.append(d)
    return d


def med(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


# A case is a function (quick, repeats) -> rows; a row is (what, threads,
# lsprobe, peer, ratio, goal, met): met is True or False when the row has a
# goal (checked against the figures of that row), None when it has none.


def rtt_note(runs):
    """The cores' round trip each run measured (bench_core_rtt_ns): on a
    virtual machine it says whether the host had placed the two virtual
    CPUs on cores that share a cache, which moves every two-thread figure."""
    v = ["%.0f" % r["core_rtt_ns"] for r in runs if r.get("core_rtt_ns")]
    return "; cores' round trip %s ns" % "/".join(v) if v else ""


def ms(s):
    return "%.1f ms" % (1e3 * s) if s < 1 else "%.2f s" % s


def fmt_ratio(x):
    return "%.2f×" % x if x is not None else "—"


def case_loss(q, rep):
    n, k = (4096, 1000) if q else (65536, 1000)
    peer = [PY, PEER, "loss", "--n", str(n), "--k", str(k), "--threads", "1", "--reps", "3" if q else "5"]
    rows, peer_runs, ours = [], [], {}
    for _ in range(rep):
        for isa in ("x86-64-v4", "x86-64-v3", "x86-64"):
            ours.setdefault(isa, []).append(run_json(
                [os.path.join(BUILD, "bench", "bench_loss"), "--n", str(n), "--k", str(k),
                 "--reps", "9", "--isa", isa], 1))
        peer_runs.append(run_json(peer, 1))
    tp = med(peer_runs, "median_s")
    names = {"x86-64-v4": "AVX-512", "x86-64-v3": "AVX2", "x86-64": "x86-64 baseline (SSE2)"}
    t512 = med(ours["x86-64-v4"], "median_s")
    for isa, runs in ours.items():
        ran = runs[0]["isa"]
        t, share, bw = med(runs, "median_s"), med(runs, "share_of_memcpy"), med(runs, "memcpy_gb_per_s")
        goal, met = "≥ 0.6 of memcpy", share >= 0.6
        extra = ""
        if isa == "x86-64-v3":  # the AVX2 path within 1.5x of the AVX-512 one
            goal += ", ≤ 1.5× the AVX-512 time"
            extra = "; %.2f× the AVX-512 time" % (t / t512)
            met = met and t <= 1.5 * t512
        rows.append(("`loss` fused LS-CE fwd+bwd, N=%d, K=%d, ε=0.1, %s path (ran: %s)"
                     % (n, k, names[isa], ran), 1,
                     "%s (%.2f of memcpy's %.1f GB/s%s)" % (ms(t), share, bw, extra),
                     "PyTorch %s" % ms(tp), fmt_ratio(tp / t), goal, met))
    return rows


def case_calib(q, rep):
    n = 1000000 if q else 10000000
    ours, peers = [], []
    for _ in range(rep):
        ours.append(run_json([os.path.join(BUILD, "bench", "bench_calib"), "--n", str(n),
                              "--reps", "7"], 1))
        peers.append(run_json([PY, PEER, "calib", "--n", str(n), "--threads", "1", "--reps", "3"], 1))
    t, rf = med(ours, "median_s"), med(ours, "ratio_to_floor")
    tp = med(peers, "median_s")
    return [("`calib` top-label 15-bin ECE, N=%d, K=10" % n, 1,
             "%s (%.2f× the memory floor)" % (ms(t), rf),
             "%s %s" % (peers[0]["fastest"].replace("numpy", "NumPy").replace("torch", "PyTorch"),
                        ms(tp)),
             fmt_ratio(tp / t), "≤ 2× floor, ≥ 10× peer", rf <= 2.0 and tp / t >= 10.0)]


def time_rss(cmd):
    """Wall seconds and maximum resident set (MB) of a command. The resident
    set is GNU time's (%M: its child, started from that small process; a
    child forked from this Python would count Python's pages too, as Linux
    keeps the high-water mark across exec); the wall clock is taken here
    around the whole (%e would round to 10 ms, an eighth of the time being
    measured), so it includes time's own start, about a millisecond."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
        t0 = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name] + cmd, check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        kb = f.read().split()[-1]
    return wall, int(kb) / 1024.0


def case_calib_cli(q, rep):
    import numpy as np
    n, k = (200000 if q else 2000000), 10
    with tempfile.TemporaryDirectory() as d:
        rng = np.random.default_rng(1)
        y = rng.integers(0, k, n)
        z = rng.normal(0, 2, (n, k)).astype(np.float32)
        z[np.arange(n), y] += 2.5
        zp, yp = os.path.join(d, "z.npy"), os.path.join(d, "y.npy")
        np.save(zp, z)
        np.save(yp, y)
        # "from the page cache": clean cached pages, not 80 MB still being
        # written back while the first run reads them (that cost up to
        # 0.2 s of system time in the run that followed the write)
        os.sync()
        mb = os.path.getsize(zp) / 1e6
        full, stream, cat = [], [], []
        lsp = os.path.join(BUILD, "lsprobe")
        for _ in range(rep):
            full.append(time_rss([lsp, "calib", "--logits", zp, "--labels", yp, "--json"]))
            stream.append(time_rss([lsp, "calib", "--logits", zp, "--labels", yp, "--json",
                                    "--stream"]))
            # the same files only read, by a process started the same way: what
            # the page cache and a process's start allow at that moment
            cat.append(time_rss(["cat", zp, yp]))
        tf, mf = statistics.median(t for t, _ in full), max(m for _, m in full)
        ts, msz = statistics.median(t for t, _ in stream), max(m for _, m in stream)
        tc = statistics.median(t for t, _ in cat)
    # the goals are for the full problem; --quick only tests the script
    return [("`lsprobe calib` end to end, every metric, %d×%d float32 logits (%.0f MB)"
             % (n, k, mb), 1, "%s, %.0f MB resident" % (ms(tf), mf), "—", "—",
             "≤ 0.25 s, ≤ 2× input", tf <= 0.25 and mf <= 2.0 * mb),
            ("`lsprobe calib --stream`, the same file", 1,
             "%.2f GB/s, %.0f MB resident (the same files read by `cat`: %.1f GB/s)"
             % (mb / 1e3 / ts, msz, mb / 1e3 / tc), "—", "—",
             "≥ 1 GB/s, memory below the input's", mb / 1e3 / ts >= 1.0 and msz < mb)]


def case_clusters(q, rep):
    n = 6000 if q else 60000
    ours, peers = [], []
    for _ in range(rep):
        ours.append(run_json([os.path.join(BUILD, "bench", "bench_clusters"), "--n", str(n)], 1))
        peers.append(run_json([PY, PEER, "clusters", "--n", str(n), "--threads", "1"], 1))
    t, tp = med(ours, "median_s"), med(peers, "median_s")
    return [("`clusters` R², scatter, NC1, N=%d, H=256, K=10" % n, 1, ms(t), "NumPy %s" % ms(tp),
             fmt_ratio(tp / t), "", None)]


def train_pair(arch, threads, q, rep):
    extra = ["--max-train", "5000"] if q else []
    a_ours = ["--arch", arch] if arch else []
    a_peer = ["--arch", arch] if arch else []
    ours, peers = [], []
    for _ in range(rep):
        ours.append(run_json([os.path.join(BUILD, "bench", "bench_train"), "--threads",
                              str(threads), "--epochs", "1"] + a_ours + extra, threads))
        peers.append(run_json([PY, PEER, "train", "--threads", str(threads), "--epochs", "1"]
                              + a_peer + (["--val", "50000"] if q else []), threads))
    return ours, peers


def case_train_mlp(q, rep):
    rows = []
    for t in (1, 2):
        ours, peers = train_pair(None, t, q, rep)
        s, sp = med(ours, "samples_per_s"), med(peers, "samples_per_s")
        # with 2 threads the floor is 2 threads multiplying side by side
        # (bench_train); the share of the 1-thread loop is shown as well
        also = (", %.2f of the 1-thread one; runs %s%s"
                % (med(ours, "share_of_sgemm_1thread_cpu"),
                   "/".join("%.2f" % r["share_of_sgemm_cpu"] for r in ours), rtt_note(ours))
                if t > 1 else "")
        rows.append(("`train` 784-256-256-10, batch 128, one epoch", t,
                     "%.0fk samples/s (%.2f of %ssgemm by CPU time%s)"
                     % (s / 1e3, med(ours, "share_of_sgemm_cpu"),
                        "%d-thread " % t if t > 1 else "", also),
                     "PyTorch %.0fk" % (sp / 1e3), fmt_ratio(s / sp), "≥ 0.8 of sgemm",
                     med(ours, "share_of_sgemm_cpu") >= 0.8))
    return rows


def case_train_lenet(q, rep):
    ours, peers = train_pair("lenet", 2, q, rep)
    s, sp = med(ours, "samples_per_s"), med(peers, "samples_per_s")
    return [("`train` LeNet-5, batch 128, one epoch", 2,
             "%.1fk samples/s (%.2f of 2-thread sgemm by CPU time; %.2f of the 2-thread floor %.0fk/s%s)"
             % (s / 1e3, med(ours, "share_of_sgemm_cpu"), med(ours, "share_of_floor"),
                med(ours, "floor_samples_per_s") / 1e3, rtt_note(ours)),
             "PyTorch %.1fk" % (sp / 1e3), fmt_ratio(s / sp), "≥ 3× PyTorch", s / sp >= 3.0)]


EPS7 = "0,0.01,0.02,0.05,0.1,0.2,0.3"


def fgsm(arch, threads, q, rep, d):
    lim = ["--limit", "1000"] if q else []
    ours, peers = [], []
    for _ in range(rep):
        ours.append(run_json([os.path.join(BUILD, "bench", "bench_attack"), "--arch", arch,
                              "--export", d, "--eps", EPS7, "--threads", str(threads),
                              "--reps", "3"] + lim, threads))
        peers.append(run_json([PY, PEER, "attack", "--arch", arch, "--model", d, "--eps", EPS7,
                               "--threads", str(threads), "--reps", "3"] + lim, threads))
    if ours[-1]["accuracy"] != [round(a, 5) for a in peers[-1]["accuracy"]]:
        print("bench/compare all: %s: accuracies differ from PyTorch's (%s vs %s)"
              % (arch, ours[-1]["accuracy"], peers[-1]["accuracy"]), file=sys.stderr)
    return ours, peers


def case_fgsm_mlp(q, rep):
    with tempfile.TemporaryDirectory() as d:
        ours, peers = fgsm("mlp:256,256", 1, q, rep, d)
    t, tp = med(ours, "median_s"), med(peers, "median_s")
    return [("`attack` FGSM sweep, 7 ε, %d images, 784-256-256-10" % ours[0]["n"], 1,
             "%s (%.2f of sgemm by CPU time)" % (ms(t), med(ours, "share_of_sgemm_cpu")),
             "PyTorch %s" % ms(tp), fmt_ratio(tp / t), "≥ 0.8 of sgemm",
             med(ours, "share_of_sgemm_cpu") >= 0.8)]


def case_fgsm_lenet(q, rep):
    rows = []
    for t in (1, 2):
        with tempfile.TemporaryDirectory() as d:
            ours, peers = fgsm("lenet", t, q, rep, d)
        tl, tp = med(ours, "median_s"), med(peers, "median_s")
        rows.append(("`attack` FGSM sweep, 7 ε, %d images, LeNet-5" % ours[0]["n"], t,
                     "%s (%.2f of %ssgemm by CPU time%s)"
                     % (ms(tl), med(ours, "share_of_sgemm_cpu"), "2-thread " if t > 1 else "",
                        rtt_note(ours) if t > 1 else ""),
                     "PyTorch %s" % ms(tp), fmt_ratio(tp / tl), "≥ 1.5× PyTorch, ≥ 0.8 of sgemm",
                     tp / tl >= 1.5 and med(ours, "share_of_sgemm_cpu") >= 0.8))
    return rows


def case_data(q, rep):
    ours, peers = [], []
    for _ in range(rep):
        ours.append(run_json([os.path.join(BUILD, "bench", "bench_data"), "--reps", "3"], 1))
        peers.append(run_json([PY, PEER, "data", "--reps", "3"], 1))
    t, tp = med(ours, "median_s"), med(peers, "median_s")
    return [("`data` load + split Fashion-MNIST", 1, ms(t), "gzip+NumPy %s" % ms(tp),
             fmt_ratio(tp / t), "", None)]


CASES = [("loss", case_loss), ("calib", case_calib), ("calib_cli", case_calib_cli),
         ("clusters", case_clusters), ("train_mlp", case_train_mlp),
         ("train_lenet", case_train_lenet), ("fgsm_mlp", case_fgsm_mlp),
         ("fgsm_lenet", case_fgsm_lenet), ("data", case_data)]

BEGIN = "<!-- bench/compare all: begin (generated; do not edit by hand) -->"
END = "<!-- bench/compare all: end -->"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--readme", action="store_true")
    p.add_argument("--force", action="store_true")
    p.add_argument("--max-load", type=float, default=None)
    p.add_argument("--only", default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    if a.readme and (a.only or a.quick):
        print("bench/compare all: --readme writes the whole table: not with --only or --quick",
              file=sys.stderr)
        return 2
    if a.repeat < 1:
        print("bench/compare all: --repeat %d: the runs of each case, 1 or more" % a.repeat,
              file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    max_load = a.max_load if a.max_load is not None else float(cores)
    l0 = loadavg()
    if l0 > max_load and not a.force:
        print("bench/compare all: the load average is %.2f on %d cores (limit %.2f): other "
              "programs would take the cores the figures need. Wait for a quiet machine, "
              "or pass --force (the table then says so)." % (l0, cores, max_load), file=sys.stderr)
        return 3
    want = set(a.only.split(",")) if a.only else None
    host = run_json([os.path.join(BUILD, "bench", "bench_loss"), "--n", "64", "--k", "16",
                     "--reps", "1"], 1)
    rows, worst, worst_other = [], l0, 0.0
    for name, fn in CASES:
        if want and name not in want:
            continue
        l = loadavg()
        worst = max(worst, l)
        print("bench/compare all: %s (load %.2f) ..." % (name, l), file=sys.stderr)
        m0 = cpu_mark()
        case_rows = fn(a.quick, a.repeat)
        other = others_cores(m0, cpu_mark())
        l1 = loadavg()
        worst_other = max(worst_other, other)
        for r in case_rows:
            rows.append(r + (other > OTHERS_MAX, "%.1f–%.1f; others %.2f"
                             % (min(l, l1), max(l, l1), other)))
        worst = max(worst, l1)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    where = "%s, %d cores" % (host["cpu_model"], cores)
    lines = ["Measured by `bench/compare all%s` on %s (lsprobe's kernels: %s; OpenBLAS: %s), %s; "
             "each figure the median of %d runs; load average %.2f–%.2f (the benchmarks' "
             "own threads included); other programs kept at most %.2f cores busy%s."
             % (" --quick" if a.quick else "", where, host["isa"],
                host["blas_core"] + (", forced by OPENBLAS_CORETYPE"
                                     if os.environ.get("OPENBLAS_CORETYPE") else ""), date,
                a.repeat, l0, worst, worst_other,
                " — **measured on a busy machine: figures marked ⚠ are not reliable**"
                if worst_other > OTHERS_MAX else ""),
             "",
             "| benchmark (`bench/compare …`) | threads | lsprobe | peer | ratio | goal | goal met | measured on | load avg; others' cores |",
             "|---|---|---|---|---|---|---|---|---|"]
    for what, th, ours, peer, ratio, goal, met, busy, load in rows:
        verdict = "—" if met is None else ("met" if met else "**not met**")
        if a.quick and met is not None:
            verdict += " (--quick: not the goal's size)"
        lines.append("| %s | %d | %s%s | %s | %s | %s | %s | %s, %s | %s |"
                     % (what, th, ours, " ⚠" if busy else "", peer, ratio, goal, verdict, where,
                        date, load))
    table = "\n".join(lines)
    print(table)
    if a.json:
        with open(a.json, "w") as f:
            for d in LOG:
                f.write(json.dumps(d) + "\n")
    if a.readme:
        path = os.path.join(ROOT, "README.md")
        text = open(path).read()
        if BEGIN not in text or END not in text:
            print("bench/compare all: README.md has no %r ... %r markers" % (BEGIN, END),
                  file=sys.stderr)
            return 1
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        with open(path + ".tmp", "w") as f:
            f.write(head + BEGIN + "\n" + table + "\n" + END + tail)
        os.replace(path + ".tmp", path)
        print("bench/compare all: README.md's table rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
