"""Writes the first N MNIST test images, scaled to [0, 1], with a fraction of pixels replaced by
uniform [0, 1] noise, as an npy file [N, 784] f32 for `edgevae filter --input` (the README's
filter grid).
usage: python mnist_corrupt_npy.py <out.npy> [N] [fraction] [mnist dir]   (numpy)"""
import gzip
import sys
from pathlib import Path

import numpy as np


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    fraction = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2
    root = Path(sys.argv[4]) if len(sys.argv) > 4 else Path(__file__).resolve().parents[2] / "shared/data/mnist"
    raw = gzip.open(root / "t10k-images-idx3-ubyte.gz").read()
    clean = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784)[:n].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    mask = rng.random(clean.shape) < fraction
    noisy = np.where(mask, rng.random(clean.shape, dtype=np.float32), clean).astype(np.float32)
    np.save(out, noisy)
    print(f"{out}: {n} images, {mask.mean() * 100:.1f} % of pixels replaced")


if __name__ == "__main__":
    main()
