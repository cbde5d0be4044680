#!/usr/bin/env python3
"""Compare two scripts/bench results files and flag regressions.

A benchmark regresses when its median items/s in NEW is more than THRESHOLD
below OLD (for the pipeline: the median rate per lcore count). Benchmarks in
only one file are listed, not judged. Exit status 1 if anything regressed,
2 on bad usage.
usage: bench_compare.py OLD.json NEW.json [--threshold 5%]
"""
import argparse
import json
import statistics
import sys


def medians(res):
    gb = res.get("gbench", res)  # a bare gbench JSON file works too
    out, single = {}, {}
    for b in gb.get("benchmarks", []):
        if b.get("error_occurred") or "items_per_second" not in b:
            continue
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            out[name] = b["items_per_second"]
        elif b.get("run_type", "iteration") == "iteration":
            single.setdefault(name, []).append(b["items_per_second"])
    for name, v in single.items():
        out.setdefault(name, statistics.median(v))
    by = {}
    for p in res.get("pipeline", []) or []:
        s = p.get("summary", {})
        lc = len(s.get("lcores", [])) or p.get("lcores_requested")
        by.setdefault(lc, []).append(s.get("rate_msgs_per_s", 0))
    for lc, v in by.items():
        out[f"pipeline/keyburstd/lcores:{lc}"] = statistics.median(v)
    return out


def threshold(s):
    s = s.strip()
    v = float(s[:-1]) / 100 if s.endswith("%") else float(s)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError("threshold must be in [0%, 100%)")
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--threshold", type=threshold, default=0.05, help="e.g. 5%% (default)")
    a = ap.parse_args()
    with open(a.old) as f:
        old = medians(json.load(f))
    with open(a.new) as f:
        new = medians(json.load(f))
    regressed = 0
    width = max([len(n) for n in old.keys() | new.keys()] + [9])
    print(f"{'benchmark':<{width}}  {'old/s':>12}  {'new/s':>12}  change")
    for name in sorted(old.keys() & new.keys()):
        o, n = old[name], new[name]
        change = (n - o) / o if o else 0.0
        mark = ""
        if change < -a.threshold:
            mark = "  REGRESSION"
            regressed += 1
        elif change > a.threshold:
            mark = "  faster"
        print(f"{name:<{width}}  {o:>12.4g}  {n:>12.4g}  {100 * change:+6.1f}%{mark}")
    for name in sorted(old.keys() - new.keys()):
        print(f"{name:<{width}}  only in {a.old}")
    for name in sorted(new.keys() - old.keys()):
        print(f"{name:<{width}}  only in {a.new}")
    print(f"{regressed} regression(s) beyond {100 * a.threshold:g}%")
    return 1 if regressed else 0


if __name__ == "__main__":
    sys.exit(main())
