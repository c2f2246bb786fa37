"""A run's results.json without what varies from run to run of the same
study (start time, command line, threads, jobs, timings) and with its own
folder's name replaced by OUT: what two runs that must agree compare."""


def clean(v, out):
    if isinstance(v, dict):
        return {k: clean(x, out) for k, x in v.items()
                if k not in ("started", "command", "threads", "timings", "jobs")
                and not k.endswith("seconds") and not k.endswith("_s") and k != "samples_per_s"}
    if isinstance(v, list):
        return [clean(x, out) for x in v]
    return v.replace(out, "OUT") if isinstance(v, str) else v
