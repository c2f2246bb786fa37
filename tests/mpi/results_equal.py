"""results_equal.py A.json B.json [--ignore-cache] — exit 0 when two
results.json files of `lsprobe run` hold the same numbers and strings,
compared exactly (Python's json reads every number the same way from both
files), except the fields that describe how and when a run ran rather than
what it measured:

  started                        the start time stamp
  command                        the command line (its --out differs)
  threads                        the thread count of the process
  timings.*                      wall and phase seconds, jobs (cells at once)
  *.seconds, *.train_seconds,    times of a model's training, attacks and
  training.samples_per_s,        a cell's phases
  study.cells[].seconds
  models[].model_file            the cache path (under --out)

With --ignore-cache also models[].cached and study.cells[].from_cache
(whether a model came from the cache: a resumed run loads what a clean run
trains). Prints every other difference, one per line, and exits 1.
Run it as /usr/bin/python3 (any Python 3 with json will do)."""
import json
import sys

TIMING_KEYS = {"seconds", "train_seconds", "samples_per_s"}
TOP_IGNORED = {"started", "command", "threads", "timings"}


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    ignore_cache = "--ignore-cache" in argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0]) as f:
        a = json.load(f)
    with open(args[1]) as f:
        b = json.load(f)
    diffs = []

    def ignored(path, key):
        if len(path) == 0 and key in TOP_IGNORED:
            return True
        if key in TIMING_KEYS:
            return True
        if key == "model_file" and path[:1] == ["models"]:
            return True
        if ignore_cache and ((key == "cached" and path[:1] == ["models"]) or
                             (key == "from_cache" and path[:2] == ["study", "cells"])):
            return True
        return False

    def walk(x, y, path):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                if ignored(path, k):
                    continue
                if k not in x or k not in y:
                    diffs.append("/".join(path + [k]) + ": only in one file")
                    continue
                walk(x[k], y[k], path + [k])
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                diffs.append("/".join(path) + ": %d vs %d entries" % (len(x), len(y)))
                return
            for u, v in zip(x, y):
                walk(u, v, path + ["[]"])
        elif x != y or type(x) is not type(y):
            diffs.append("/".join(path) + ": %r vs %r" % (x, y))

    walk(a, b, [])
    for d in diffs:
        print(d)
    # a comparison that compared nothing proves nothing
    if not a.get("models") or not a.get("study", {}).get("cells"):
        print("no models or study cells in %s" % args[0])
        return 1
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
