#!/usr/bin/env python3
"""mlrec against the strongest Python peer: the reference (seed_reference.py) eager and under each
torch.compile mode with fused AdamW, in strict fp32, TF32 and bf16 autocast, beside mlrec_dist in
the same precision, on the same machine, data and settings, one run after the other.

Every run trains whole epochs (no step cap). A compiled model compiles during its first epoch,
so each side's speed is its LAST epoch's samples per second (--epochs 2 by default: the second
epoch runs what the first compiled), and the compile time is reported apart: the first epoch's
time less the last one's. The figure that counts is mlrec's speed over the best Python
configuration's, per precision.

Precisions on the Python side: fp32 is torch's default (cuBLAS matmuls in strict fp32); tf32 sets
TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 (TF32 matmuls, as mlrec's train.precision=tf32); bf16 is the
reference's --amp (bf16 autocast, as train.precision=bf16).

  python3 bench/compile_reference.py --data .gpu/data/ml-1m --binary build-gpu/mlrec_dist \\
      --reference .gpu/reference/seed_reference.py --out results/compile.json --budget 240
  python3 bench/compile_reference.py --table results/compile.json   # the table again
  .venv/bin/python bench/compile_reference.py --data ../shared/data/ml-1m --precisions bf16,fp32 \\
      --python-precisions fp32 --modes max-autotune-no-cudagraphs,default,max-autotune,eager \\
      --max-steps 150 --set train.threads=2 --out results/cpu-compile.json   # on a CPU (BENCHMARKS.md)

Configurations run in order of importance (bf16 first, the compile modes before eager) and
those that would start past --budget seconds are skipped and listed; the JSON is rewritten after
each run, so a run cut short keeps what it measured.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_NAMES = {"mf": "mf", "seq": "bst", "seq_ratings": "bst_ratings", "seq_features": "bst_features"}
MODES = ["max-autotune-no-cudagraphs", "reduce-overhead", "default", "max-autotune", "eager"]


def reference_env(precision):
    env = dict(os.environ)
    env.pop("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", None)
    if precision == "tf32":
        env["TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"] = "1"
    return env


def epoch_figures(epochs):
    """(last epoch's samples/s, first epoch's seconds less the last one's) from epoch records."""
    if not epochs:
        return None, None
    last = epochs[-1]
    steady = last["samples"] / last["train_s"] if last["train_s"] else None
    warm_up = epochs[0]["train_s"] - last["train_s"] if len(epochs) > 1 else None
    return steady, warm_up


def run_reference(python, reference, data, model, epochs, max_steps, precision, mode, timeout):
    cmd = [python, reference, "--data", data, "--model", REFERENCE_NAMES[model], "--epochs", str(epochs),
           "--max-steps", str(max_steps)]
    if precision == "bf16":
        cmd.append("--amp")
    if mode != "eager":
        cmd += ["--compile", mode, "--fused-adamw"]
    started = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=reference_env(precision), timeout=timeout)
    wall = time.time() - started
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}",
                "wall_seconds": wall}
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    epoch_records = [r for r in records if r.get("kind") == "epoch"]
    result = next((r for r in records if r.get("kind") == "result"), {})
    steady, warm_up = epoch_figures(epoch_records)
    return {"samples_per_second": steady, "compile_seconds": warm_up, "epochs": len(epoch_records),
            "mae": result.get("mae"), "device": result.get("device"), "wall_seconds": wall}


def run_mlrec(binary, data, model, epochs, max_steps, precision, runs_dir, extra, timeout):
    run_dir = os.path.join(runs_dir, f"{model}-{precision}")
    cmd = [binary, "--config", os.path.join(ROOT, "configs", f"{model}.yaml"), "--set", f"data.dir={data}",
           "--set", f"output.dir={run_dir}", "--set", f"train.epochs={epochs}", "--set", f"train.max_steps_per_epoch={max_steps}",
           "--set", "train.patience=0",
           "--set", f"train.precision={precision}", "--set", "train.log_every_steps=0",
           "--set", "output.save_checkpoint=false"]
    for item in extra:
        cmd += ["--set", item]
    started = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.time() - started
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1], "wall_seconds": wall}
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    epoch_records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl")) if line.strip()]
    epoch_records = [{"samples": r["samples_per_second"] * r["seconds"], "train_s": r["seconds"]}
                     for r in epoch_records if "samples_per_second" in r]
    steady, warm_up = epoch_figures(epoch_records)
    return {"samples_per_second": steady, "compile_seconds": warm_up, "epochs": len(epoch_records),
            "mae": summary["valid"]["mae"], "device": summary.get("device"), "cuda_graph": summary.get("cuda_graph"),
            "wall_seconds": wall}


def table(rows):
    lines = ["| precision | side | mode | samples/s (last epoch) | first epoch's extra s (compile) | valid MAE | mlrec / this |",
             "|---|---|---|---|---|---|---|"]
    fmt = lambda v, spec: "-" if v is None else format(v, spec)
    for precision in dict.fromkeys(r["precision"] for r in rows):
        group = [r for r in rows if r["precision"] == precision]
        ours = next((r for r in group if r["side"] == "mlrec"), None)
        ours_speed = ours and ours.get("samples_per_second")
        for r in group:
            speed = r.get("samples_per_second")
            ratio = ours_speed / speed if ours_speed and speed and r["side"] != "mlrec" else None
            last = f"failed: {r['error']}" if r.get("error") else fmt(ratio, '.2f') + ('x' if ratio else '')
            lines.append(f"| {precision} | {r['side']} | {r['mode']} | {fmt(speed, ',.0f')} | "
                         f"{fmt(r.get('compile_seconds'), '.1f')} | {fmt(r.get('mae'), '.5f')} | {last} |")
        python_speeds = [r["samples_per_second"] for r in group if r["side"] == "python" and r.get("samples_per_second")]
        if ours_speed and python_speeds:
            lines.append(f"| {precision} | **mlrec / best Python** | | | | | **{ours_speed / max(python_speeds):.2f}x** |")
    # Across precisions: each side's fastest configuration (whether its MAE is close enough to
    # fp32's is for the reader of the MAE column).
    fastest = {side: max((r for r in rows if r["side"] == side and r.get("samples_per_second")),
                         key=lambda r: r["samples_per_second"], default=None) for side in ("mlrec", "python")}
    if fastest["mlrec"] and fastest["python"]:
        m, py = fastest["mlrec"], fastest["python"]
        lines.append(f"| any | **fastest mlrec ({m['precision']}) / fastest Python ({py['precision']}, {py['mode']})** "
                     f"| | | | | **{m['samples_per_second'] / py['samples_per_second']:.2f}x** |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="MovieLens-1M folder")
    p.add_argument("--model", default="seq_features", choices=sorted(REFERENCE_NAMES))
    p.add_argument("--precisions", default="bf16,tf32,fp32")
    p.add_argument("--python-precisions", default=None,
                   help="the precisions the Python side runs in (default: all of --precisions). On a CPU give "
                        "fp32 only: the reference autocasts on CUDA only (its --amp is ignored on a CPU), and TF32 "
                        "is a GPU format, so its bf16 and tf32 runs there would be fp32 runs under another name")
    p.add_argument("--modes", default=",".join(MODES), help="torch.compile modes, and eager")
    p.add_argument("--epochs", type=int, default=2, help="whole epochs per run; the last one is timed")
    p.add_argument("--max-steps", type=int, default=0, help="steps per epoch cap on both sides (rehearsals only: "
                   "the figures that count are whole epochs)")
    p.add_argument("--reference", default=os.path.join(ROOT, "..", "shared", "reference", "seed_reference.py"))
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "mlrec_dist"))
    p.add_argument("--python", default=sys.executable, help="the Python with torch for the reference")
    p.add_argument("--set", action="append", default=[], help="extra mlrec_dist override")
    p.add_argument("--budget", type=float, default=0, help="seconds; configurations that would start later are skipped")
    p.add_argument("--run-timeout", type=float, default=600, help="seconds one run may take")
    p.add_argument("--runs-dir", default=None, help="where mlrec's runs go (default: a folder next to --out)")
    p.add_argument("--out", help="the JSON of every figure (rewritten after each run)")
    p.add_argument("--table", metavar="JSON", help="only print the table of an earlier --out")
    args = p.parse_args()
    if args.table:
        print(table(json.load(open(args.table))["rows"]))
        return
    if not args.out or not args.data:
        p.error("--data and --out are required (or --table)")

    started = time.time()
    runs_dir = args.runs_dir or os.path.join(os.path.dirname(os.path.abspath(args.out)), "compile-runs")
    rows, skipped = [], []

    def save():
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".tmp", "w") as f:
            json.dump({"model": args.model, "epochs": args.epochs, "max_steps": args.max_steps, "rows": rows,
                       "skipped": skipped}, f, indent=1)
        os.replace(args.out + ".tmp", args.out)

    python_precisions = (args.python_precisions or args.precisions).split(",")
    for precision in args.precisions.split(","):
        plan = [("mlrec", "mlrec")]
        if precision in python_precisions:
            plan += [("python", mode) for mode in args.modes.split(",")]
        for side, mode in plan:
            elapsed = time.time() - started
            if args.budget and elapsed >= args.budget:
                skipped.append(f"{precision} {side} {mode}")
                continue
            timeout = min(args.run_timeout, args.budget - elapsed) if args.budget else args.run_timeout
            try:
                if side == "mlrec":
                    figures = run_mlrec(args.binary, args.data, args.model, args.epochs, args.max_steps, precision,
                                        runs_dir, args.set, timeout)
                else:
                    figures = run_reference(args.python, args.reference, args.data, args.model, args.epochs,
                                            args.max_steps, precision, mode, timeout)
            except subprocess.TimeoutExpired:
                figures = {"error": f"timed out after {timeout:.0f} s"}
            rows.append({"precision": precision, "side": side, "mode": mode, **figures})
            print(f"{precision} {side} {mode}: " + json.dumps(figures), flush=True)
            save()
    print(table(rows))
    if skipped:
        print("skipped (budget): " + ", ".join(skipped))
    save()


if __name__ == "__main__":
    main()
