#!/usr/bin/env python3
"""Summarises an Nsight Compute CSV of kernel durations (as scripts/gpu_check.sh's `ncu` stage
writes it: `ncu --metrics gpu__time_duration.sum --csv ...`) by kernel: calls, total and mean
time, share of the total, largest first. With --steps N, times are also given per training step
(the profiled launches divided over N steps).

  python3 bench/ncu_summary.py ncu.log [--steps 2] [--top 25]
"""
import argparse
import csv
import io
import sys
from collections import defaultdict

UNIT_SECONDS = {"nsecond": 1e-9, "ns": 1e-9, "usecond": 1e-6, "us": 1e-6, "msecond": 1e-3, "ms": 1e-3,
                "second": 1.0, "s": 1.0}


def read_durations(text):
    """(kernel name, seconds) for every gpu__time_duration.sum row of an ncu CSV."""
    lines = text.splitlines()
    # ncu prints its own "==PROF==" lines and the program's output around the CSV.
    start = next((i for i, line in enumerate(lines) if line.startswith('"ID"')), None)
    if start is None:
        raise ValueError("no ncu CSV header (a line starting with \"ID\") found")
    rows = csv.DictReader(io.StringIO("\n".join(l for l in lines[start:] if l.startswith('"'))))
    out = []
    for row in rows:
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        unit = row.get("Metric Unit", "nsecond")
        if unit not in UNIT_SECONDS:
            raise ValueError(f"unknown time unit {unit!r}")
        value = float(row["Metric Value"].replace(",", ""))
        out.append((row["Kernel Name"], value * UNIT_SECONDS[unit]))
    return out


def summarise(durations, steps=0, top=25):
    by_kernel = defaultdict(lambda: [0, 0.0])
    for name, seconds in durations:
        by_kernel[name][0] += 1
        by_kernel[name][1] += seconds
    total = sum(s for _, s in durations)
    lines = [f"{len(durations)} kernels, {total * 1e3:.3f} ms of GPU time"
             + (f", {total / steps * 1e3:.3f} ms per step over {steps} steps" if steps else "")]
    lines.append("| kernel | calls | total ms | mean us | share |")
    lines.append("|---|---|---|---|---|")
    ranked = sorted(by_kernel.items(), key=lambda kv: -kv[1][1])
    for name, (calls, seconds) in ranked[:top]:
        short = name if len(name) <= 90 else name[:87] + "..."
        lines.append(f"| {short} | {calls} | {seconds * 1e3:.3f} | {seconds / calls * 1e6:.1f} | "
                     f"{seconds / total * 100 if total else 0:.1f} % |")
    if len(ranked) > top:
        rest = sum(s for _, (c, s) in ranked[top:])
        lines.append(f"| ({len(ranked) - top} other kernels) | | {rest * 1e3:.3f} | | {rest / total * 100:.1f} % |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", help="the ncu output (CSV, possibly with the program's output around it)")
    p.add_argument("--steps", type=int, default=0, help="training steps the profiled launches cover")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    try:
        with open(args.csv, encoding="utf-8", errors="replace") as f:
            durations = read_durations(f.read())
    except (OSError, ValueError) as e:
        print(f"ncu_summary: {args.csv}: {e}", file=sys.stderr)
        return 2
    print(summarise(durations, args.steps, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
