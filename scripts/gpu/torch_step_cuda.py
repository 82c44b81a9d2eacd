"""The PyTorch peer of `edgevae bench step --device cuda`: the model of the CPU peer
(shared/bench/torch_vae_step.py, imported from the path given, not copied) on a CUDA device,
AdamW, eight fixed uniform batches, fresh noise each step, `loss.item()` each step (which
synchronises, as candle's `to_scalar` does). Prints the median step time.
usage: python torch_step_cuda.py <peer.py> <batch> [warmup] [steps]"""
import importlib.util
import statistics
import sys
import time

import torch


def main():
    spec = importlib.util.spec_from_file_location("peer", sys.argv[1])
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    batch = int(sys.argv[2])
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 60
    if not torch.cuda.is_available():
        sys.exit("torch sees no CUDA device")
    dev = torch.device("cuda")
    torch.manual_seed(0)
    model = peer.Vae().to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    data = [torch.rand(batch, peer.D_IN, device=dev) for _ in range(8)]
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        eps = torch.randn(batch, peer.Z, device=dev)
        loss = model.loss(data[i % 8], eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        last = loss.item()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    n = len(times)
    print(
        f"torch device=cuda batch={batch} steps={steps} median_ms={times[n // 2]:.3f} "
        f"mean_ms={statistics.mean(times):.3f} p10={times[n // 10]:.3f} "
        f"p90={times[n * 9 // 10]:.3f} final_loss={last:.2f} gpu={torch.cuda.get_device_name(0)}"
    )


if __name__ == "__main__":
    main()
