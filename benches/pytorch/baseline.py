"""PyTorch baseline for `cargo xtask bench` figures taken on a real GPU.

Times, on the same machine as the Rust figures:
- fp32 matrix products n x n x n (TF32 off, as our WGSL kernels compute in fp32; TF32 on
  shown for reference);
- one GAN training step (k = 1: D on a real and a generated batch, then G,
  non-saturating loss, Adam lr 2e-4 betas (0.5, 0.999)) of the same players as
  gan-train's `mlp` and `dcgan` (28x28, ngf = ndf = 32) at batch 64 and 256.

Usage: python3 benches/pytorch/baseline.py [--steps 200]
Prints one `name | shape | value | unit` row per figure.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timed(fn, iters, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / iters


def mlp_players():
    g = nn.Sequential(
        nn.Linear(100, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 1024), nn.LeakyReLU(0.2),
        nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    d = nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(256, 1))
    return g, d


def dcgan_players(f=32, z=100):
    g = nn.Sequential(
        nn.Unflatten(1, (z, 1, 1)),
        nn.ConvTranspose2d(z, 2 * f, 7, bias=False), nn.BatchNorm2d(2 * f), nn.ReLU(),
        nn.ConvTranspose2d(2 * f, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
        nn.ConvTranspose2d(f, 1, 4, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, f, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * f, 1, 7, bias=False), nn.Flatten())
    return g, d


def train_step_time(players, batch, steps, dev):
    g, d = players
    g, d = g.to(dev), d.to(dev)
    og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 1, 28, 28, device=dev) * 2 - 1
    ones = torch.ones(batch, 1, device=dev)
    zeros = torch.zeros(batch, 1, device=dev)

    def step():
        z = torch.randn(batch, 100, device=dev)
        fake = g(z)
        od.zero_grad(set_to_none=True)
        ld = F.binary_cross_entropy_with_logits(d(real), ones) + \
            F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
        ld.backward()
        od.step()
        og.zero_grad(set_to_none=True)
        lg = F.binary_cross_entropy_with_logits(d(fake), ones)
        lg.backward()
        og.step()

    return timed(step, steps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    dev = torch.device("cuda")
    print(f"# PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}")
    print("name | shape | value | unit")
    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        for n in (1024, 4096):
            a = torch.rand(n, n, device=dev)
            b = torch.rand(n, n, device=dev)
            s = timed(lambda: a @ b, 20)
            name = "torch_matmul_tf32" if tf32 else "torch_matmul_fp32"
            print(f"{name} | {n}x{n}x{n} | {2 * n**3 / s / 1e9:.1f} | GFLOP/s")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for name, make in (("mlp", mlp_players), ("dcgan", dcgan_players)):
        for batch in (64, 256):
            s = train_step_time(make(), batch, args.steps, dev)
            print(f"torch_train_step/{name} | {batch} | {batch / s:.0f} | images/s "
                  f"({s * 1e3:.2f} ms/step)")


if __name__ == "__main__":
    main()
