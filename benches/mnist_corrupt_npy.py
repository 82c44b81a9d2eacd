"""Writes the first N MNIST test images, scaled to [0, 1], with a fraction of pixels replaced by
uniform [0, 1] noise, as an npy file [N, 784] f32 for `edgevae filter --input` (docs/results.md,
filter grid). Its `corrupted_test_images` is the loader the other MNIST benches import.
usage: python mnist_corrupt_npy.py <out.npy> [N] [fraction] [mnist dir]   (numpy)"""
import gzip
import sys
from pathlib import Path

import numpy as np


def default_mnist_dir():
    """../shared/data/mnist beside the repository."""
    return Path(__file__).resolve().parents[2] / "shared/data/mnist"


def corrupted_test_images(root, rows, rng, fraction=0.2):
    """The first `rows` MNIST test images in [0, 1] (`clean`), the replaced pixels (`mask`) and
    the corrupted images (`noisy`: replaced pixels drawn uniformly from [0, 1]); both draws come
    from `rng`, mask first. The benches share this so that their figures use the same images."""
    raw = gzip.open(Path(root) / "t10k-images-idx3-ubyte.gz").read()
    clean = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784)[:rows].astype(np.float32) / 255
    mask = rng.random(clean.shape) < fraction
    noisy = np.where(mask, rng.random(clean.shape, dtype=np.float32), clean).astype(np.float32)
    return clean, mask, noisy


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    fraction = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2
    root = Path(sys.argv[4]) if len(sys.argv) > 4 else default_mnist_dir()
    _, mask, noisy = corrupted_test_images(root, n, np.random.default_rng(0), fraction)
    np.save(out, noisy)
    print(f"{out}: {n} images, {mask.mean() * 100:.1f} % of pixels replaced")


if __name__ == "__main__":
    main()
