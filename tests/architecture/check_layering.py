#!/usr/bin/env python3
"""The architecture checks itself: every #include of mlrec's own headers must follow the layers.

mlrec's code is layered, each layer a folder of include/mlrec/ and src/ (README, "Architecture"):

    cli -> bench -> report -> train -> distributed, models -> ops -> ... -> common
    cli -> serve -> train

A layer may include only the layers named for it in ALLOWED below (and itself). An include that
crosses a forbidden arrow -- models reaching train/, data reaching models/, common reaching
anything -- is reported with its file and line, and the check fails.

Usage:
    check_layering.py [ROOT]        check the tree at ROOT (default: this checkout)
    check_layering.py --self-test   plant a violation in a scratch tree and require that it is caught
"""
import os
import re
import sys
import tempfile

# What each layer may include besides itself. Lower layers never know the ones above them.
ALLOWED = {
    "common": set(),
    "config": {"common"},
    "data": {"common", "config"},
    "ops": {"common"},
    "models": {"common", "config", "data", "ops"},
    "distributed": {"common", "config", "data"},
    "train": {"common", "config", "data", "ops", "models", "distributed"},
    "report": {"common", "config", "train"},
    "bench": {"common", "config", "data", "models", "distributed", "train", "report"},
    "serve": {"common", "config", "data", "models", "train"},
    "cli": {"common", "config", "data", "ops", "models", "distributed", "train", "report", "bench", "serve"},
}

# "mlrec/train/run.h" (public headers) or "ops/cpu/kernels.h" (private headers, from src/).
INCLUDE = re.compile(r'^\s*#\s*include\s*"(?:mlrec/)?([a-z_]+)/[^"]*"')
SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh")


def layer_files(root):
    """(layer, path) for every source file of a layer, under include/mlrec/LAYER and src/LAYER."""
    for base in (os.path.join(root, "include", "mlrec"), os.path.join(root, "src")):
        if not os.path.isdir(base):
            continue
        for layer in sorted(os.listdir(base)):
            top = os.path.join(base, layer)
            if not os.path.isdir(top):
                continue
            for folder, _, files in os.walk(top):
                for name in sorted(files):
                    if name.endswith(SOURCE_SUFFIXES):
                        yield layer, os.path.join(folder, name)


def violations(root):
    found = []
    seen_layers = set()
    for layer, path in layer_files(root):
        seen_layers.add(layer)
        rel = os.path.relpath(path, root)
        if layer not in ALLOWED:
            found.append(f"{rel}: folder '{layer}' is no layer of the architecture "
                         f"(add it to ALLOWED in {os.path.relpath(__file__, root)})")
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                if target == layer or target not in ALLOWED:
                    continue  # its own layer, or not one of mlrec's (e.g. "torch/...")
                if target not in ALLOWED[layer]:
                    allowed = ", ".join(sorted(ALLOWED[layer])) or "nothing"
                    found.append(f"{rel}:{number}: {layer}/ includes {target}/ "
                                 f"({line.strip()}); {layer}/ may include only {allowed}")
    return found, seen_layers


def check(root):
    found, seen = violations(root)
    if not seen:
        print(f"check_layering: no layers found under {root}", file=sys.stderr)
        return 1
    for v in found:
        print(v, file=sys.stderr)
    if found:
        print(f"check_layering: {len(found)} include(s) cross a forbidden arrow", file=sys.stderr)
        return 1
    print(f"check_layering: {len(seen)} layers, every include follows the layering")
    return 0


def self_test():
    """A clean scratch tree passes; the same tree with models/ including train/ fails."""
    with tempfile.TemporaryDirectory() as root:
        def write(rel, text):
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        write("include/mlrec/common/error.h", "#pragma once\n")
        write("src/models/mf.cpp", '#include "mlrec/common/error.h"\n#include <torch/torch.h>\n')
        write("src/train/trainer.cpp", '#include "mlrec/models/mf.h"\n')
        clean, _ = violations(root)
        write("src/models/bst.cpp", '#include "mlrec/common/error.h"\n#include "mlrec/train/trainer.h"\n')
        planted, _ = violations(root)
    if clean:
        print("self-test: a clean tree was reported: " + "; ".join(clean), file=sys.stderr)
        return 1
    if len(planted) != 1 or not planted[0].startswith("src/models/bst.cpp:2: models/ includes train/"):
        print("self-test: the planted include of train/ in models/ was not reported as such: "
              + repr(planted), file=sys.stderr)
        return 1
    print("self-test: the planted violation was caught: " + planted[0])
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    here = os.path.dirname(os.path.abspath(__file__))
    sys.exit(check(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..")))
