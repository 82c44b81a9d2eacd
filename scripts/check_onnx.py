"""Checks an edgevae model directory with the ONNX reference tools: every graph passes
onnx.checker.check_model(full_check=True), and Python onnxruntime gives the same samples as
edgevae-runtime on the same noise.

usage: python check_onnx.py <model dir> <samples.npy> <noise.npy> <precision>
(samples and noise from `edgevae sample --model DIR --precision P --out samples.npy --save-noise noise.npy`)"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort


def main():
    model_dir, samples_path, noise_path, precision = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    manifest = json.loads((model_dir / "manifest.json").read_text())
    for g in manifest["graphs"]:
        onnx.checker.check_model(onnx.load(str(model_dir / g["file"])), full_check=True)
        print(f"onnx.checker full_check ok: {g['file']}")
    entry = next(g for g in manifest["graphs"] if g["role"] == "sampler" and g["precision"] == precision)
    session = ort.InferenceSession(str(model_dir / entry["file"]), providers=["CPUExecutionProvider"])
    noise = np.load(noise_path)
    rust = np.load(samples_path)
    (python,) = session.run(["x"], {"u": noise[0], "eps": noise[1]})
    diff = float(np.abs(python - rust).max())
    print(f"onnxruntime {ort.__version__} vs edgevae-runtime, {entry['file']}: max abs diff {diff:.3g}")
    if ort.__version__ != "1.31.1" or diff > 1e-5:
        sys.exit(f"mismatch: onnxruntime {ort.__version__}, max abs diff {diff}")


if __name__ == "__main__":
    main()
