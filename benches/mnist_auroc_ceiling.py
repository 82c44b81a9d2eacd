"""How high element-level outlier AUROC can go on MNIST with 20 % of pixels replaced by uniform
noise, for a detector whose reconstruction of the clean image has Gaussian error of standard
deviation sigma per pixel (clipped to [0, 1]) and which scores |x - reconstruction|.
sigma = 0 is the oracle (AUROC 1). Shows how exact reconstructions must be for a target AUROC.
usage: python mnist_auroc_ceiling.py [mnist dir] [rows]   (needs numpy; e.g. target/venv-onnx)"""
import sys
from pathlib import Path

import numpy as np

from mnist_corrupt_npy import corrupted_test_images, default_mnist_dir


def auroc(score, label):
    """Mann-Whitney statistic, ties counted half (as edgevae's bench::outliers::auroc)."""
    score, label = score.ravel(), label.ravel()
    order = np.argsort(score, kind="mergesort")
    _, inverse, counts = np.unique(score[order], return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = np.empty(len(score))
    ranks[order] = mean_rank[inverse]
    pos = label.sum()
    return (ranks[label].sum() - pos * (pos + 1) / 2) / (pos * (len(label) - pos))


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default_mnist_dir()
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rng = np.random.default_rng(0)
    clean, mask, noisy = corrupted_test_images(root, rows, rng)
    background = clean == 0
    for sigma in [0.0, 0.01, 0.02, 0.05, 0.1, 0.15]:
        recon = np.clip(clean + sigma * rng.standard_normal(clean.shape), 0, 1)
        score = np.abs(noisy - recon)
        print(
            f"sigma {sigma:<5} AUROC {auroc(score, mask):.4f}   where clean = 0: "
            f"{auroc(score[background], mask[background]):.4f}   where clean > 0: "
            f"{auroc(score[~background], mask[~background]):.4f}"
        )


if __name__ == "__main__":
    main()
