"""Prints a TensorBoard log directory's scalars and text as JSON, read by the tensorboard package.

Usage: read_tensorboard.py LOGDIR   (the e2e test compares it with the run's metrics.jsonl)
"""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

accumulator = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
accumulator.Reload()
tags = accumulator.Tags()
out = {"scalars": {}, "text": {}}
for tag in tags["scalars"]:
    out["scalars"][tag] = [[event.step, event.value] for event in accumulator.Scalars(tag)]
for tag in tags["tensors"]:
    out["text"][tag] = [event.tensor_proto.string_val[0].decode() for event in accumulator.Tensors(tag)]
print(json.dumps(out))
