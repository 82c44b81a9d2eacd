"""ONNX Runtime session options, measured from Python on the sampler graph of a model directory
(docs/results.md, "Runtime sampler"): what each option does to batch-1 latency, to
throughput, and to the time to build a session.
usage: python ort_python_session_options.py <model dir> latency|throughput|pinning|build
  latency     1 thread, batch 1: default against each option, interleaved, median of 5 rounds
  throughput  weight prepacking on/off and spinning on/off at batch 1, 64 and 256, 2 threads
  pinning     intra_op_num_threads 0 (ONNX Runtime picks the count and pins its workers to
              cores) against the same count given explicitly (no pinning), batch 1, 64, 256
  build       session build time, fresh process per run: 1 or 2 threads, spinning on/off,
              and thread count 0 (pinned workers)"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def graph(model_dir):
    manifest = json.loads((Path(model_dir) / "manifest.json").read_text())
    entry = next(g for g in manifest["graphs"] if g["role"] == "sampler" and g["precision"] == "fp32")
    return str(Path(model_dir) / entry["file"]), manifest["latent"]


def session(path, threads, config=(), level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.graph_optimization_level = level
    for key, value in config:
        o.add_session_config_entry(key, value)
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def median_us(s, k, batch, iters):
    u = np.random.default_rng(0).standard_normal((batch, k), dtype=np.float32)
    times = []
    for i in range(iters + 20):
        t0 = time.perf_counter()
        s.run(["x"], {"u": u, "eps": u})
        if i >= 20:
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def compare(variants, k, batch, iters, rounds=5):
    results = {name: [] for name in variants}
    for _ in range(rounds):
        for name, s in variants.items():
            results[name].append(median_us(s, k, batch, iters))
    for name, r in results.items():
        print(f"batch {batch:>3}  {name:28s} {statistics.median(r):9.1f} us")


def main():
    path, k = graph(sys.argv[1])
    what = sys.argv[2]
    if what == "latency":
        no_opt = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        variants = {
            "default": session(path, 1),
            "no prepacking": session(path, 1, [("session.disable_prepacking", "1")]),
            "denormals as zero": session(path, 1, [("session.set_denormal_as_zero", "1")]),
            "no spinning": session(path, 1, [("session.intra_op.allow_spinning", "0")]),
            "basic optimisation": session(path, 1, level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
            "no optimisation": session(path, 1, level=no_opt),
        }
        compare(variants, k, 1, 1000)
    elif what == "throughput":
        variants = {
            "prepacking, spinning": session(path, 2),
            "no prepacking": session(path, 2, [("session.disable_prepacking", "1")]),
            "no spinning": session(path, 2, [("session.intra_op.allow_spinning", "0")]),
        }
        for batch, iters in ((1, 1000), (64, 200), (256, 100)):
            compare(variants, k, batch, iters)
    elif what == "pinning":
        cpus = len(os.sched_getaffinity(0))
        variants = {
            "0 (pinned workers)": session(path, 0),
            f"{cpus} given explicitly": session(path, cpus),
        }
        for batch, iters in ((1, 1000), (64, 200), (256, 100)):
            compare(variants, k, batch, iters)
    elif what == "build":
        for threads, spins in ((1, ("1", "0")), (2, ("1", "0")), (0, ("1",))):
            for spin in spins:
                runs = [
                    float(subprocess.run([sys.executable, __file__, sys.argv[1], "build-once", str(threads), spin],
                                         capture_output=True, text=True, check=True).stdout)
                    for _ in range(6)
                ]
                print(f"threads {threads} spinning {spin}: session build "
                      + " ".join(f"{t:.1f}" for t in runs) + " ms")
    elif what == "build-once":
        t0 = time.perf_counter()
        session(path, int(sys.argv[3]), [("session.intra_op.allow_spinning", sys.argv[4])])
        print((time.perf_counter() - t0) * 1e3)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
