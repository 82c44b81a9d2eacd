"""Robust PCA matrices from another generator than edgevae's `manifold` data, and Principal
Component Pursuit on them, for `benches/rpca_cli_table.sh`.

    rpca_other_generator.py make KAPPA NU SEED OUT_DIR   # OUT_DIR/clean.npy, OUT_DIR/dirty.npy
    rpca_other_generator.py pcp DIRTY CLEAN             # prints PCP's NMSE against CLEAN
    rpca_other_generator.py nmse ESTIMATE CLEAN         # prints the NMSE of ESTIMATE

The generator: 10,000 rows t ~ N(0, I_kappa) through a fixed random ReLU network of shape
kappa -> 64 -> 160 -> 100 (He initialisation; edgevae's `manifold` has another shape), raw
values (no scaling); a fraction NU of the entries replaced by N(0, (1.5 s)^2) draws, s the
clean matrix's standard deviation. PCP: the inexact augmented Lagrangian method (Lin, Chen
and Ma 2010) with lambda = 1 / sqrt(max(n, d)), as method.md section 3 and edgevae's
`rpca::pcp`.
"""

import sys

import numpy as np


def make(kappa, nu, seed, out):
    rng = np.random.default_rng(seed)
    n, d = 10000, 100
    t = rng.standard_normal((n, kappa))
    w1 = rng.standard_normal((kappa, 64)) * np.sqrt(2 / kappa)
    w2 = rng.standard_normal((64, 160)) * np.sqrt(2 / 64)
    w3 = rng.standard_normal((160, d)) * np.sqrt(2 / 160)
    clean = np.maximum(np.maximum(t @ w1, 0) @ w2, 0) @ w3
    outliers = rng.random((n, d)) < nu
    dirty = clean.copy()
    dirty[outliers] = rng.standard_normal(outliers.sum()) * clean.std() * 1.5
    np.save(f"{out}/clean.npy", clean.astype(np.float32))
    np.save(f"{out}/dirty.npy", dirty.astype(np.float32))


def nmse(estimate, clean):
    return float(((estimate - clean) ** 2).sum() / (clean**2).sum())


def pcp(m, iterations=500, tol=1e-7):
    n, d = m.shape
    lam = 1 / np.sqrt(max(n, d))
    norm2 = np.linalg.norm(m, 2)
    y = m / max(norm2, np.abs(m).max() / lam)
    mu, rho = 1.25 / norm2, 1.5
    s = np.zeros_like(m)
    low = np.zeros_like(m)
    for _ in range(iterations):
        u, sig, vt = np.linalg.svd(m - s + y / mu, full_matrices=False)
        low = (u * np.maximum(sig - 1 / mu, 0)) @ vt
        t = m - low + y / mu
        s = np.sign(t) * np.maximum(np.abs(t) - lam / mu, 0)
        z = m - low - s
        y += mu * z
        mu = min(mu * rho, 1e7)
        if np.linalg.norm(z) / np.linalg.norm(m) < tol:
            break
    return low


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "make":
        make(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif what == "pcp":
        m = np.load(sys.argv[2]).astype(np.float64)
        print(f"{nmse(pcp(m), np.load(sys.argv[3]).astype(np.float64)):.4f}")
    elif what == "nmse":
        print(f"{nmse(np.load(sys.argv[2]).astype(np.float64), np.load(sys.argv[3])):.4f}")
    else:
        sys.exit(__doc__)
