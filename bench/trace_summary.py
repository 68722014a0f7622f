#!/usr/bin/env python3
"""Tables a profiler trace of mlrec (profile.steps: output.dir/profile/trace.rank<R>.json, the
Chrome trace torch's profiler writes) per training step, in Markdown:

- the steps: wall time of each ProfilerStep#N and, on a GPU, the device time and kernels it
  launched (a step replayed from a CUDA graph says so);
- on a GPU, device time per step by what launched it: the innermost mlrec scope ("mlrec::linear",
  "mlrec::forward", ...) or the backward function (autograd's "evaluate_function: X") and the
  outermost ATen op under it. A graph-replayed step is one cudaGraphLaunch; its kernels are the
  captured step's, in order, so they are aligned with the last eager step's kernels (in a trace
  that starts at step 0, profile.skip_steps=0) and take their launchers from there; and tabled by
  kernel name;
- on the CPU (no device activity), time per step by mlrec scope (inclusive) and the ATen ops with
  the most self time.

Standard library only:

  python3 bench/trace_summary.py runs/x/profile/trace.rank0.json [--top 25]
"""
import argparse
import bisect
import difflib
import json
import sys
from collections import defaultdict

DEVICE_CATEGORIES = {"kernel", "gpu_memset", "gpu_memcpy"}
SCOPE_CATEGORIES = {"cpu_op", "user_annotation"}
LAUNCH_CATEGORIES = {"cuda_runtime", "cuda_driver"}
STEP_PREFIX = "ProfilerStep#"
BACKWARD_PREFIX = "autograd::engine::evaluate_function: "


def short(name, width=90):
    return name if len(name) <= width else name[: width - 3] + "..."


class Trace:
    def __init__(self, events):
        complete = [e for e in events if e.get("ph") == "X" and "ts" in e and "dur" in e]
        self.steps = sorted((e for e in complete if e.get("name", "").startswith(STEP_PREFIX)
                             and e.get("cat") in SCOPE_CATEGORIES), key=lambda e: e["ts"])
        self.step_starts = [e["ts"] for e in self.steps]
        self.device = [e for e in complete if e.get("cat") in DEVICE_CATEGORIES]
        self.launches = {}  # correlation id -> the CUDA runtime or driver call
        self.host = defaultdict(list)  # (pid, tid) -> ops and scopes by start time
        for e in complete:
            if e.get("cat") in LAUNCH_CATEGORIES and "correlation" in e.get("args", {}):
                self.launches[e["args"]["correlation"]] = e
            elif e.get("cat") in SCOPE_CATEGORIES and not e["name"].startswith(STEP_PREFIX):
                self.host[(e["pid"], e["tid"])].append(e)
        # Events of one thread nest: each one's parent is the innermost earlier one still open.
        self.starts, self.parents = {}, {}
        for key, thread in self.host.items():
            thread.sort(key=lambda e: (e["ts"], -e["dur"]))
            parents, open_ = [], []
            for i, e in enumerate(thread):
                while open_ and thread[open_[-1]]["ts"] + thread[open_[-1]]["dur"] < e["ts"]:
                    open_.pop()
                parents.append(open_[-1] if open_ else -1)
                open_.append(i)
            self.starts[key] = [e["ts"] for e in thread]
            self.parents[key] = parents

    def enclosing(self, thread, ts):
        """The ops and scopes of `thread` open at time ts, outermost first."""
        events = self.host.get(thread, [])
        i = bisect.bisect_right(self.starts.get(thread, []), ts) - 1
        stack = []
        while i >= 0:
            if events[i]["ts"] + events[i]["dur"] >= ts:
                stack.append(events[i])
            i = self.parents[thread][i]
        return stack[::-1]

    def step_of(self, ts):
        i = bisect.bisect_right(self.step_starts, ts) - 1
        if i >= 0 and ts <= self.steps[i]["ts"] + self.steps[i]["dur"]:
            return i
        return None

    def launcher(self, kernel):
        """(label, step index, whether the launch was a graph replay, launch time) of a device
        event (its own start where the launch was not recorded)."""
        launch = self.launches.get(kernel.get("args", {}).get("correlation"))
        if launch is None:
            return "(launch not recorded)", self.step_of(kernel["ts"]), False, kernel["ts"]
        graph = launch["name"].startswith("cudaGraphLaunch")
        stack = self.enclosing((launch["pid"], launch["tid"]), launch["ts"])
        return label_of(stack), self.step_of(launch["ts"]), graph, launch["ts"]


def label_of(stack):
    """'scope > op': the innermost mlrec scope or backward function, and the outermost ATen op
    inside it."""
    scope, scope_at = "(no scope)", -1
    for i, e in enumerate(stack):
        name = e["name"]
        if name.startswith("mlrec::"):
            scope, scope_at = name, i
        elif name.startswith(BACKWARD_PREFIX):
            scope, scope_at = "backward: " + name[len(BACKWARD_PREFIX):], i
    op = next((e["name"] for e in stack[scope_at + 1:] if e["name"].startswith("aten::")), "")
    return f"{scope} > {op}" if op else scope


def ranked_rows(totals, n, top, label_width=90):
    """Markdown rows of {label: [calls, us]} per step over n steps, largest first, with shares."""
    total = sum(us for _, us in totals.values())
    ranked = sorted(totals.items(), key=lambda kv: -kv[1][1])
    rows = [f"| {short(label, label_width)} | {calls / n:g} | {us / n:.1f} | {us / total * 100 if total else 0:.1f} % |"
            for label, (calls, us) in ranked[:top]]
    if len(ranked) > top:
        rest = sum(us for _, (c, us) in ranked[top:])
        rows.append(f"| ({len(ranked) - top} others) | | {rest / n:.1f} | {rest / total * 100:.1f} % |")
    return rows


def align_to_eager(eager, replayed):
    """The eager step's label for each replayed kernel, None where none matches. A graph replays
    the kernels of a step captured from the same code as the eager steps, so the replay's kernels
    in order of start are the eager step's in order of launch: the two name sequences are aligned
    (difflib), which tolerates the few launches that differ (first-step set-up, side streams)."""
    matcher = difflib.SequenceMatcher(None, [k["name"] for _, k in eager], [k["name"] for k in replayed],
                                      autojunk=False)
    labels = [None] * len(replayed)
    for block in matcher.get_matching_blocks():
        for i in range(block.size):
            labels[block.b + i] = eager[block.a + i][0]
    return labels


def device_summary(trace, top):
    steps = len(trace.steps)
    eager_kernels = defaultdict(list)     # step -> [(label, kernel)] by launch time
    replayed_kernels = defaultdict(list)  # step -> [kernel] by start time
    for k in trace.device:
        label, step, graph, launched = trace.launcher(k)
        if step is None:
            continue
        if graph:
            replayed_kernels[step].append(k)
        else:
            eager_kernels[step].append((launched, label, k))
    for step in list(eager_kernels):
        if step in replayed_kernels:  # (the capture step: its replay is what ran)
            del eager_kernels[step]
        else:
            eager_kernels[step] = [(label, k) for _, label, k in sorted(eager_kernels[step], key=lambda t: t[0])]
    for kernels in replayed_kernels.values():
        kernels.sort(key=lambda k: k["ts"])

    lines = [f"{steps} steps recorded; device activity (kernels, memsets, copies) per step:", "",
             "| step | wall ms | device ms | device events | |", "|---|---|---|---|---|"]
    for n, step in enumerate(trace.steps):
        graph = n in replayed_kernels
        kernels = replayed_kernels[n] if graph else [k for _, k in eager_kernels.get(n, [])]
        lines.append(f"| {step['name'][len(STEP_PREFIX):]} | {step['dur'] / 1e3:.3f} | "
                     f"{sum(k['dur'] for k in kernels) / 1e3:.3f} | {len(kernels)} | "
                     f"{'CUDA graph replay' if graph else 'eager'} |")
    if eager_kernels:
        by_label = defaultdict(lambda: [0, 0.0])
        for kernels in eager_kernels.values():
            for label, k in kernels:
                by_label[label][0] += 1
                by_label[label][1] += k["dur"]
        lines += ["", f"Eager steps ({len(eager_kernels)}): device time per step by what launched it "
                  "(scope > ATen op)", "", "| launched by | launches per step | us per step | share |",
                  "|---|---|---|---|"]
        lines += ranked_rows(by_label, len(eager_kernels), top)
    if replayed_kernels:
        n = len(replayed_kernels)
        by_kernel = defaultdict(lambda: [0, 0.0])
        by_label = defaultdict(lambda: [0, 0.0])
        template = eager_kernels[max(eager_kernels)] if eager_kernels else []
        matched = total = 0
        for kernels in replayed_kernels.values():
            labels = align_to_eager(template, kernels)
            for k, label in zip(kernels, labels):
                by_kernel[k["name"]][0] += 1
                by_kernel[k["name"]][1] += k["dur"]
                key = label if label is not None else "(no match in the eager step)"
                by_label[key][0] += 1
                by_label[key][1] += k["dur"]
                matched += label is not None
                total += 1
        if template:
            lines += ["", f"Graph-replayed steps ({n}): device time per step by what launched each kernel, "
                      f"read from the last eager step ({matched} of {total} kernels matched in order)", "",
                      "| launched by (eager step) | kernels per step | us per step | share |", "|---|---|---|---|"]
            lines += ranked_rows(by_label, n, top)
        lines += ["", f"Graph-replayed steps ({n}): device time per step by kernel", "",
                  "| kernel | calls per step | us per step | share |", "|---|---|---|---|"]
        lines += ranked_rows(by_kernel, n, top)
    return lines


def self_times(events):
    """Self time (us) of each event of one thread: its duration less its direct children's."""
    out, stack = [], []
    for e in sorted(events, key=lambda e: (e["ts"], -e["dur"])):
        while stack and stack[-1][0]["ts"] + stack[-1][0]["dur"] < e["ts"]:
            out.append(tuple(stack.pop()))
        if stack:
            stack[-1][1] -= e["dur"]
        stack.append([e, e["dur"]])
    out.extend(tuple(s) for s in stack)
    return out


def host_summary(trace, top):
    steps = len(trace.steps)
    lines = [f"{steps} steps recorded (no device activity in the trace: a CPU run)", "",
             "| step | wall ms |", "|---|---|"]
    for step in trace.steps:
        lines.append(f"| {step['name'][len(STEP_PREFIX):]} | {step['dur'] / 1e3:.3f} |")
    in_steps = lambda e: trace.step_of(e["ts"]) is not None
    scopes, ops = defaultdict(lambda: [0, 0.0]), defaultdict(lambda: [0, 0.0])
    for thread in trace.host.values():
        events = [e for e in thread if in_steps(e)]
        for e in events:
            if e["name"].startswith("mlrec::"):
                scopes[e["name"]][0] += 1
                scopes[e["name"]][1] += e["dur"]
        for e, own in self_times(events):
            if e["name"].startswith("aten::"):
                ops[e["name"]][0] += 1
                ops[e["name"]][1] += own
    n = max(steps, 1)
    wall = sum(s["dur"] for s in trace.steps) / n
    lines += ["", "mlrec scopes (time includes what runs inside them)", "",
              "| scope | calls per step | ms per step | of the step |", "|---|---|---|---|"]
    for name, (calls, us) in sorted(scopes.items(), key=lambda kv: -kv[1][1])[:top]:
        lines.append(f"| {name} | {calls / n:g} | {us / n / 1e3:.3f} | {us / n / wall * 100 if wall else 0:.1f} % |")
    lines += ["", "ATen ops by self time", "", "| op | calls per step | ms per step | of the step |", "|---|---|---|---|"]
    for name, (calls, us) in sorted(ops.items(), key=lambda kv: -kv[1][1])[:top]:
        lines.append(f"| {name} | {calls / n:g} | {us / n / 1e3:.3f} | {us / n / wall * 100 if wall else 0:.1f} % |")
    return lines


def summarise(trace_json, top=25):
    events = trace_json.get("traceEvents") if isinstance(trace_json, dict) else None
    if not isinstance(events, list):
        raise ValueError("not a Chrome trace: no traceEvents list")
    trace = Trace(events)
    if not trace.steps:
        raise ValueError(f"no {STEP_PREFIX}N events: not a trace of mlrec's training steps")
    return "\n".join(device_summary(trace, top) if trace.device else host_summary(trace, top))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace", help="a trace.rank<R>.json of profile.steps")
    parser.add_argument("--top", type=int, default=25, help="rows per table")
    args = parser.parse_args()
    try:
        with open(args.trace) as f:
            trace_json = json.load(f)
        print(summarise(trace_json, args.top))
    except (OSError, ValueError) as e:
        print(f"{args.trace}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
