"""Checks an edgevae model directory with the ONNX reference tools: every graph passes
onnx.checker.check_model(full_check=True); Python onnxruntime gives the same samples as
edgevae-runtime on the same noise; and, when the model is calibrated, the filter graph run by
Python onnxruntime explains what `edgevae filter` wrote (cleaned values, mask and row scores
from its reconstruction, with method.md section 5's element score). Every comparison fails on
a NaN or an infinity, and on a shape mismatch.

usage: python check_onnx.py <model dir> <samples.npy> <noise.npy> <precision> [<x.npy> <filter out dir>]
(samples and noise from `edgevae sample --model DIR --precision P --out samples.npy
--save-noise noise.npy`; the filter directory from `edgevae filter --model DIR --precision P
--input x.npy --out OUT`, one pass)"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

TOLERANCE = 1e-5


def max_diff(what, a, b):
    """The largest |a - b|; exits on a shape mismatch or a non-finite value."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        sys.exit(f"{what}: shapes {a.shape} and {b.shape} differ")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        sys.exit(f"{what}: a value is not finite")
    return float(np.abs(a - b).max()) if a.size else 0.0


def check(what, diff, tolerance=TOLERANCE):
    print(f"{what}: max abs diff {diff:.3g}")
    if not diff <= tolerance:
        sys.exit(f"mismatch: {what}: max abs diff {diff} > {tolerance}")


def session(model_dir, manifest, role, precision):
    entry = next(g for g in manifest["graphs"] if g["role"] == role and g["precision"] == precision)
    return entry["file"], ort.InferenceSession(str(model_dir / entry["file"]), providers=["CPUExecutionProvider"])


def check_filter(model_dir, manifest, precision, x, out_dir):
    outlier = manifest["outlier"]
    name, s = session(model_dir, manifest, "filter", precision)
    outputs = {o.name: v for o, v in zip(s.get_outputs(), s.run(None, {"x": x}))}
    x_mean = outputs["x_mean"].astype(np.float64)
    if manifest.get("robust"):
        log_var = outputs["x_log_var"].astype(np.float64)
    else:
        log_var = np.broadcast_to(np.log(np.asarray(outlier["element_noise"], dtype=np.float64)), x.shape)
    element = (x - x_mean) ** 2 * np.exp(-log_var) + log_var + np.log(2 * np.pi)
    mask = np.load(out_dir / "mask.npy")
    cleaned = np.load(out_dir / "cleaned.npy")
    scores = np.load(out_dir / "scores.npy")
    want_mask = element > outlier["element_threshold"]
    # Elements within rounding of the threshold may fall either way.
    near = np.abs(element - outlier["element_threshold"]) < 1e-3
    differing = int(((mask == 1) != want_mask)[~near].sum())
    print(f"{name}: mask differs from the reconstruction's at {differing} elements away from the threshold")
    if differing:
        sys.exit(f"mismatch: {name}: {differing} mask elements")
    check(f"{name} cleaned vs input / reconstruction", max_diff(name, cleaned, np.where(mask == 1, x_mean, x)), 1e-4)
    check(f"{name} row scores", max_diff(name, scores, element.mean(axis=1)), 1e-3)


def main():
    model_dir, samples_path, noise_path, precision = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    manifest = json.loads((model_dir / "manifest.json").read_text())
    if ort.__version__ != "1.31.1":
        sys.exit(f"onnxruntime {ort.__version__}, expected 1.31.1")
    for g in manifest["graphs"]:
        onnx.checker.check_model(onnx.load(str(model_dir / g["file"])), full_check=True)
        print(f"onnx.checker full_check ok: {g['file']}")
    name, s = session(model_dir, manifest, "sampler", precision)
    noise = np.load(noise_path)
    rust = np.load(samples_path)
    (python,) = s.run(["x"], {"u": noise[0], "eps": noise[1]})
    check(f"onnxruntime {ort.__version__} vs edgevae-runtime, {name}", max_diff(name, python, rust))
    if len(sys.argv) > 5:
        if manifest.get("outlier") is None:
            sys.exit("a filter directory was given, but the model has no outlier calibration")
        x = np.load(sys.argv[5]).astype(np.float32).reshape(rust.shape[0], -1)
        check_filter(model_dir, manifest, precision, x, Path(sys.argv[6]))


if __name__ == "__main__":
    main()
