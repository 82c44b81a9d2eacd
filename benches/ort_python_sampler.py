"""Python onnxruntime peer of the runtime sampler benchmark: the same fp32 sampler graph, the
same thread count, noise drawn per call. Prints median latency per call.
usage: python ort_python_sampler.py <model dir> <batch> <threads> [iters]"""
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def main():
    model_dir, batch, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    iters = int(sys.argv[4]) if len(sys.argv) > 4 else 2000 // max(1, batch // 16)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    entry = next(g for g in manifest["graphs"] if g["role"] == "sampler" and g["precision"] == "fp32")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model_dir / entry["file"]), opts, providers=["CPUExecutionProvider"])
    k = manifest["latent"]
    rng = np.random.default_rng(0)
    times = []
    for i in range(iters + 50):
        t0 = time.perf_counter()
        u = rng.standard_normal((batch, k), dtype=np.float32)
        eps = rng.standard_normal((batch, k), dtype=np.float32)
        session.run(["x"], {"u": u, "eps": eps})
        if i >= 50:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"python-onnxruntime {ort.__version__} batch={batch} threads={threads} median_us={med * 1e6:.1f} "
          f"samples_per_s={batch / med:.0f}")


if __name__ == "__main__":
    main()
