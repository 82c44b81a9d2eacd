"""Element-level outlier AUROC of an exported robust model's filter graph on corrupted MNIST test
images, for several element scores: the calibrated per-element noise the runtime uses
((x - x_mean)^2 / noise_j), the variance head ((x - x_mean)^2 / exp(x_log_var)), both summed,
and |x - x_mean|; passes re-encode the cleaned input as the runtime filter does. Its own noise
draw (numpy), so figures differ slightly from `edgevae bench outliers`.
usage: python mnist_filter_scores.py <model dir> [rows] [mnist dir]   (numpy, onnxruntime)"""
import gzip
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from mnist_auroc_ceiling import auroc


def main():
    model = Path(sys.argv[1])
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    root = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(__file__).resolve().parents[2] / "shared/data/mnist"
    raw = gzip.open(root / "t10k-images-idx3-ubyte.gz").read()
    clean = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784)[:rows].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    mask = rng.random(clean.shape) < 0.2
    noisy = np.where(mask, rng.random(clean.shape, dtype=np.float32), clean).astype(np.float32)
    manifest = json.loads((model / "manifest.json").read_text())
    entry = next(g for g in manifest["graphs"] if g["role"] == "filter" and g["precision"] == "fp32")
    session = ort.InferenceSession(str(model / entry["file"]), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    noise = np.array(manifest["outlier"]["element_noise"], np.float32)
    threshold = manifest["outlier"]["element_threshold"]
    current = noisy
    for p in range(1, 4):
        out = dict(zip(names, session.run(None, {"x": current})))
        r2 = (noisy - out["x_mean"]) ** 2
        scores = {"calibrated noise": r2 / noise, "|x - x_mean|": np.sqrt(r2)}
        if "x_log_var" in out:
            v = np.exp(out["x_log_var"])
            scores["variance head"] = r2 / v
            scores["head + noise"] = r2 / (v + noise)
        print(f"pass {p}: " + ", ".join(f"{k} {auroc(s, mask):.4f}" for k, s in scores.items()))
        current = np.where(r2 / noise > threshold, out["x_mean"], noisy).astype(np.float32)


if __name__ == "__main__":
    main()
