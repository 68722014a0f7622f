#!/usr/bin/env python3
"""Runs mlrec_dist's benchmark and the Python reference (seed_reference.py) on the same machine,
data and settings, one after the other, and prints the ratio C++ / Python per model.

Both sides are measured the same way: training samples over training wall time across whole
epochs (the reference's own "samples_per_s"), with the same epochs and steps-per-epoch cap (the
cap shortens the OneCycle schedule on both sides alike). Run it with the project's Python:

  .venv/bin/python bench/compare_reference.py --data ../shared/data/ml-1m --models mf,seq_features \\
      --epochs 1 --max-steps 100 --out bench-results/cpu.json

Figures from different machines or runs are never compared: both sides run here, now.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_NAMES = {"baseline": "baseline", "mf": "mf", "seq": "bst", "seq_ratings": "bst_ratings",
                   "seq_features": "bst_features"}


def run_reference(python, reference, data, model, epochs, max_steps):
    cmd = [python, reference, "--data", data, "--model", REFERENCE_NAMES[model], "--epochs", str(epochs)]
    if max_steps:
        cmd += ["--max-steps", str(max_steps)]
    started = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.time() - started
    samples = seconds = 0.0
    result = {}
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("kind") == "epoch":
            samples += record["samples"]
            seconds += record["train_s"]
        elif record.get("kind") == "result":
            result = record
    return {"samples_per_second": samples / seconds if seconds else None, "mae": result.get("mae"),
            "prep_seconds": result.get("prep_s"), "train_seconds": seconds, "wall_seconds": wall,
            "device": result.get("device", "cpu")}


def run_mlrec(binary, data, model, epochs, max_steps, runs_dir, extra):
    out = os.path.join(runs_dir, f"{model}.bench.json")
    cmd = [binary, "bench", "--config", os.path.join(ROOT, "configs", f"{model}.yaml"),
           "--set", f"data.dir={data}", "--set", f"output.dir={os.path.join(runs_dir, model)}",
           "--set", f"train.epochs={epochs}", "--set", f"train.max_steps_per_epoch={max_steps}",
           "--set", "train.log_every_steps=0", "--out", out]
    for item in extra:
        cmd += ["--set", item]
    started = time.time()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.time() - started
    entry = json.load(open(out))[0]
    entry["wall_seconds"] = wall
    return entry


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="MovieLens-1M folder (the reference reads only ML-1M)")
    p.add_argument("--models", default="mf,seq_features", help="comma-separated: baseline,mf,seq,seq_ratings,seq_features")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-steps", type=int, default=0, help="steps per epoch cap on both sides (0: whole epochs)")
    p.add_argument("--reference", default=os.path.join(ROOT, "..", "shared", "reference", "seed_reference.py"))
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "mlrec_dist"))
    p.add_argument("--set", action="append", default=[], help="extra mlrec_dist override (e.g. train.precision=tf32)")
    p.add_argument("--out", help="write every figure as JSON here")
    args = p.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for model in args.models.split(","):
            cpp = run_mlrec(args.binary, args.data, model, args.epochs, args.max_steps, runs_dir, args.set)
            py = run_reference(sys.executable, args.reference, args.data, model, args.epochs, args.max_steps)
            ratio = (cpp["samples_per_second"] / py["samples_per_second"]
                     if model != "baseline" and py["samples_per_second"] else None)
            rows.append({"model": model, "mlrec": cpp, "reference": py, "ratio": ratio})

    print(f"| model | mlrec samples/s | reference samples/s | ratio | mlrec MAE | reference MAE | "
          f"mlrec data s | reference prep s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        c, py = r["mlrec"], r["reference"]
        fmt = lambda v, spec: "-" if v is None else format(v, spec)
        print(f"| {r['model']} | {fmt(c['samples_per_second'] if r['ratio'] else None, ',.0f')} | "
              f"{fmt(py['samples_per_second'] if r['ratio'] else None, ',.0f')} | {fmt(r['ratio'], '.2f') + ('x' if r['ratio'] else '')} | "
              f"{c['valid']['mae']:.5f} | {py['mae']:.5f} | {c['data_seconds']:.3f} | {py['prep_seconds']:.2f} |")
    print(f"(epochs {args.epochs}, steps per epoch cap {args.max_steps or 'none'}; device: mlrec {rows[0]['mlrec']['device']}, "
          f"reference {rows[0]['reference']['device']})")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"epochs": args.epochs, "max_steps": args.max_steps, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
