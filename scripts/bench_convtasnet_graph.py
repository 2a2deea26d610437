#!/usr/bin/env python3
"""Conv-TasNet graph alone in ONNX Runtime: CPU seconds per second of 16 kHz audio for several run
lengths, one intra-op thread, random input; with --profile, the share of each operator type.

Used for the chunk-length, PRelu and int8 figures in BENCHMARKS.md ("Conv-TasNet and ensemble").
Needs numpy and onnxruntime==1.31.1 (e.g. PYTHONPATH=vendor/quantise-pkgs, which the set-up fills).
Run pinned to one core:
  taskset -c 1 python3 scripts/bench_convtasnet_graph.py models/convtasnet/convtasnet.onnx [--profile]
"""
import argparse
import collections
import json
import time

import numpy as np
import onnxruntime as rt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--seconds", default="2,4,8,16,32", help="run lengths, comma-separated")
    ap.add_argument("--profile", action="store_true", help="operator shares on 3 s runs instead")
    a = ap.parse_args()
    so = rt.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.enable_profiling = a.profile
    s = rt.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    x = (np.random.default_rng(0).standard_normal((1, 1, 16000 * 64)) * 0.1).astype(np.float32)
    if a.profile:
        for _ in range(3):
            s.run(None, {"input": x[:, :, : 16000 * 3]})
        ev = json.load(open(s.end_profiling()))
        by_op = collections.Counter()
        for e in ev:
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
                by_op[e["args"]["op_name"]] += e["dur"]
        total = sum(by_op.values())
        for op, us in by_op.most_common(15):
            print(f"{op:24s} {100 * us / total:5.1f} %")
        return
    for sec in [int(v) for v in a.seconds.split(",")]:
        n = 16000 * sec
        reps = max(1, 32 // sec)
        s.run(None, {"input": x[:, :, :n]})
        t = time.process_time()
        for r in range(reps):
            s.run(None, {"input": x[:, :, r * n : (r + 1) * n]})
        cpu = (time.process_time() - t) / reps / sec
        print(f"{a.model}: {sec} s runs: {cpu:.3f} CPU s per s of audio ({1 / cpu:.1f}x real time)")


if __name__ == "__main__":
    main()
