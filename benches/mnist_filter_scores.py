"""Element-level outlier AUROC of an exported model's filter graph on corrupted MNIST test images,
for several element scores: the runtime's (twice the negative log-likelihood under the inlier
Gaussian: (x - x_mean)^2 / v + ln(2 pi v), v the variance head of a robust model, else the
calibrated per-element noise), the standardised residuals alone ((x - x_mean)^2 / noise_j, the
runtime's score in manifest format 1, and (x - x_mean)^2 / v), and |x - x_mean|; each split where
the clean pixel is 0 (background) or not (strokes). Passes re-encode the cleaned input as the
runtime filter does. Also the AUROC without replaced pixels whose value barely changed, and the
share of elements masked on the clean images, and the AUROC when the encoder is given the clean
image (what the decoder could reach with a noise-immune encoder). Its own noise draw (numpy), so
figures differ slightly from `edgevae bench outliers`.
usage: python mnist_filter_scores.py <model dir> [rows] [mnist dir]   (numpy, onnxruntime)"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from mnist_auroc_ceiling import auroc
from mnist_corrupt_npy import corrupted_test_images, default_mnist_dir


def main():
    model = Path(sys.argv[1])
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    root = Path(sys.argv[3]) if len(sys.argv) > 3 else default_mnist_dir()
    clean, mask, noisy = corrupted_test_images(root, rows, np.random.default_rng(0))
    manifest = json.loads((model / "manifest.json").read_text())
    entry = next(g for g in manifest["graphs"] if g["role"] == "filter" and g["precision"] == "fp32")
    session = ort.InferenceSession(str(model / entry["file"]), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    noise = np.array(manifest["outlier"]["element_noise"], np.float32)
    threshold = manifest["outlier"]["element_threshold"]
    background = clean == 0

    def variance(out):
        return np.exp(out["x_log_var"]) if "x_log_var" in out else np.broadcast_to(noise, out["x_mean"].shape)

    def runtime_score(x, out):
        v = variance(out)
        return (x - out["x_mean"]) ** 2 / v + np.log(2 * np.pi * v)

    current = noisy
    for p in range(1, 4):
        out = dict(zip(names, session.run(None, {"x": current})))
        r2 = (noisy - out["x_mean"]) ** 2
        scores = {
            "runtime (log-likelihood)": runtime_score(noisy, out),
            "(x - x_mean)^2 / noise": r2 / noise,
            "|x - x_mean|": np.sqrt(r2),
        }
        if "x_log_var" in out:
            scores["(x - x_mean)^2 / head"] = r2 / variance(out)
        print(f"pass {p}:")
        for name, s in scores.items():
            print(f"  {name:26s} AUROC {auroc(s, mask):.4f}  background {auroc(s[background], mask[background]):.4f}"
                  f"  strokes {auroc(s[~background], mask[~background]):.4f}")
        if p == 1:
            # Replaced pixels whose new value is close to the clean one are barely outliers: the
            # runtime score's AUROC without those within each margin.
            for margin in (0.05, 0.1, 0.3):
                keep = ~mask | (np.abs(noisy - clean) > margin)
                s = scores["runtime (log-likelihood)"]
                print(f"  runtime, without replaced pixels changed by <= {margin}: AUROC "
                      f"{auroc(s[keep], mask[keep]):.4f} ({mask[keep].sum() / mask.sum() * 100:.0f} % of outliers kept)")
        current = np.where(scores["runtime (log-likelihood)"] > threshold, out["x_mean"], noisy).astype(np.float32)
    out = dict(zip(names, session.run(None, {"x": clean})))
    print(f"clean images, 1 pass: {np.mean(runtime_score(clean, out) > threshold) * 100:.2f} % of elements masked "
          f"(element threshold {threshold:.3f}); with (x - x_mean)^2 / noise > 9: "
          f"{np.mean((clean - out['x_mean']) ** 2 / noise > 9) * 100:.2f} %")
    # The decoder's own limit: the corrupted values scored against what the model reconstructs
    # from the clean image, as if the encoder were untouched by the noise.
    s = runtime_score(noisy, out)
    print(f"encoder given the clean image (the decoder's limit): AUROC {auroc(s, mask):.4f}  background "
          f"{auroc(s[background], mask[background]):.4f}  strokes {auroc(s[~background], mask[~background]):.4f}")


if __name__ == "__main__":
    main()
