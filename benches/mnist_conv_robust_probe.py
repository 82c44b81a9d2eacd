"""Probe: does a convolutional robust decoder detect outlier pixels on corrupted MNIST better
than the MLP one? Trains the robust VAE of method.md section 3 with the trainer's loss
(`trainer/src/model/loss.rs::robust_vae_loss`: shared gamma for the mean, a bounded per-element
variance head, closed-form outlier variance at `cost` nats with a 10x warm-up over the first
30 % of epochs) in PyTorch, with an MLP (784-512-512, as `edgevae train`) or a convolutional
encoder/decoder, or an MLP encoder with the convolutional decoder (mlp-conv), on the 60k training images with 20 % of pixels replaced by uniform noise;
then scores the 2,000 corrupted test images of the other MNIST benches with the runtime's
element score `(x - mu)^2 / v + ln(2 pi v)` and prints the element AUROC (all / clean pixel 0 /
> 0) and the cleaned-image NMSE at the runtime's default threshold (4.39).
usage: python mnist_conv_robust_probe.py mlp|conv|mlp-conv|mlp-subpixel[-wide] [epochs] [mnist dir]   (torch, numpy)
Not part of the product: evidence for issue 4's AUROC target."""
import gzip
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mnist_auroc_ceiling import auroc
from mnist_corrupt_npy import corrupted_test_images, default_mnist_dir

KAPPA = 64
FLOOR = 1e-4
RANGE = 6.0
COST = 3.0
THRESHOLD = 4.39


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                 nn.Linear(512, 2 * KAPPA))
        self.dec = nn.Sequential(nn.Linear(KAPPA, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                 nn.Linear(512, 2 * 784))

    def encode(self, x):
        return self.enc(x).chunk(2, dim=1)

    def decode(self, z):
        mean, raw = self.dec(z).chunk(2, dim=1)
        return mean, raw


class Conv(nn.Module):
    def __init__(self, conv_encoder=True):
        super().__init__()
        self.conv_encoder = conv_encoder
        self.enc = Mlp().enc if not conv_encoder else nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(64 * 49, 512), nn.ReLU(), nn.Linear(512, 2 * KAPPA))
        self.dec_fc = nn.Sequential(nn.Linear(KAPPA, 512), nn.ReLU(), nn.Linear(512, 64 * 49),
                                    nn.ReLU())
        self.dec_conv = nn.Sequential(nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                                      nn.ConvTranspose2d(32, 2, 4, 2, 1))

    def encode(self, x):
        x = x.view(-1, 1, 28, 28) if self.conv_encoder else x
        return self.enc(x).chunk(2, dim=1)

    def decode(self, z):
        out = self.dec_conv(self.dec_fc(z).view(-1, 64, 7, 7))
        return out[:, 0].reshape(-1, 784), out[:, 1].reshape(-1, 784)


class SubPixel(nn.Module):
    """MLP encoder; decoder as `edgevae train --decoder conv` builds it: dense layers to a
    64 x 7 x 7 map, then 3x3 convolutions each followed by a 2x depth-to-space (sub-pixel)
    upsampling: 64 -> 32 channels at 14 x 14 (ReLU), then one channel at 28 x 28 for the mean and
    one for the variance head, both from the 14 x 14 features."""

    def __init__(self, c0=64, c1=32):
        super().__init__()
        self.c0 = c0
        self.enc = Mlp().enc
        self.dec_fc = nn.Sequential(nn.Linear(KAPPA, 512), nn.ReLU(), nn.Linear(512, c0 * 49),
                                    nn.ReLU())
        self.up = nn.Sequential(nn.Conv2d(c0, 4 * c1, 3, 1, 1), nn.PixelShuffle(2), nn.ReLU())
        self.mean = nn.Sequential(nn.Conv2d(c1, 4, 3, 1, 1), nn.PixelShuffle(2))
        self.var = nn.Sequential(nn.Conv2d(c1, 4, 3, 1, 1), nn.PixelShuffle(2))

    def encode(self, x):
        return self.enc(x).chunk(2, dim=1)

    def decode(self, z):
        h = self.up(self.dec_fc(z).view(-1, self.c0, 7, 7))
        return self.mean(h).reshape(-1, 784), self.var(h).reshape(-1, 784)


def forward(model, log_gamma, x, sample):
    mu, log_var = model.encode(x)
    z = mu + torch.randn_like(mu) * (0.5 * log_var).exp() if sample else mu
    logits, raw = model.decode(z)
    mean = torch.sigmoid(logits)
    gamma = log_gamma.clamp(min=math.log(FLOOR)).exp()
    variance = FLOOR + gamma * (RANGE * torch.tanh(raw / RANGE)).exp()
    return mu, log_var, mean, gamma, variance


def loss(model, log_gamma, x, cost):
    mu, log_var, mean, gamma, v = forward(model, log_gamma, x, True)
    sq = (x - mean) ** 2
    sq_d, v_d = sq.detach(), v.detach()
    in_cost = sq_d / v_d + v_d.log()
    out_term = sq.clamp(min=FLOOR).log() + 1 + 2 * cost
    outlier = ((out_term.detach() < in_cost) & (sq_d > v_d)).float()
    inlier = 1 - outlier
    lg = gamma.log()
    nll = 0.5 * (inlier * (sq / gamma + lg) + outlier * out_term).sum() / x.shape[0]
    head = 0.5 * (inlier * (sq_d / v + v.log())).sum() / x.shape[0]
    kl = 0.5 * (mu ** 2 + log_var.exp() - log_var - 1).sum() / x.shape[0]
    return nll + head + kl


def training_images(root, rng):
    raw = gzip.open(Path(root) / "train-images-idx3-ubyte.gz").read()
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255
    mask = rng.random(x.shape) < 0.2
    return np.where(mask, rng.random(x.shape, dtype=np.float32), x).astype(np.float32)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("mlp", "conv", "mlp-conv", "mlp-subpixel", "mlp-subpixel-wide"):
        sys.exit(__doc__)
    kind = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    root = Path(sys.argv[3]) if len(sys.argv) > 3 else default_mnist_dir()
    torch.manual_seed(0)
    train = torch.from_numpy(training_images(root, np.random.default_rng(1)))
    if kind == "mlp-subpixel":
        model = SubPixel()
    elif kind == "mlp-subpixel-wide":
        model = SubPixel(128, 64)
    else:
        model = Mlp() if kind == "mlp" else Conv(conv_encoder=kind == "conv")
    log_gamma = nn.Parameter(torch.zeros(()))
    opt = torch.optim.Adam(list(model.parameters()) + [log_gamma], lr=1e-3)
    batch = 128
    start = time.time()
    for epoch in range(epochs):
        progress = epoch / epochs
        scale = 1 + 9 * max(0.0, 1 - progress / 0.3)
        perm = torch.randperm(train.shape[0])
        total = 0.0
        for i in range(0, train.shape[0] - batch + 1, batch):
            x = train[perm[i:i + batch]]
            value = loss(model, log_gamma, x, COST * scale)
            opt.zero_grad()
            value.backward()
            opt.step()
            total += value.item()
        print(f"{kind} epoch {epoch + 1}: loss {total / (train.shape[0] // batch):.1f}, "
              f"gamma {log_gamma.exp().item():.2e}, {time.time() - start:.0f} s", flush=True)

    clean, mask, noisy = corrupted_test_images(root, 2000, np.random.default_rng(0))
    with torch.no_grad():
        mu, _, mean, _, v = forward(model, log_gamma, torch.from_numpy(noisy), False)
        active = int((mu.var(dim=0) > 0.01).sum())
    mean, v = mean.numpy(), v.numpy()
    score = (noisy - mean) ** 2 / v + np.log(2 * np.pi * v)
    background = clean == 0
    flagged = score > THRESHOLD
    cleaned = np.where(flagged, mean, noisy)
    nmse = ((cleaned - clean) ** 2).sum() / (clean ** 2).sum()
    print(f"{kind}, {epochs} epochs, {active} active dims: element AUROC "
          f"{auroc(score.ravel(), mask.ravel()):.4f} "
          f"(clean = 0: {auroc(score[background], mask[background]):.4f}, "
          f"> 0: {auroc(score[~background], mask[~background]):.4f}), "
          f"cleaned NMSE {nmse:.3f}, masked {flagged.mean() * 100:.1f} %")


if __name__ == "__main__":
    main()
