#!/usr/bin/env python3
"""PacGAN's 2-D protocol (the `pacgan` preset, recipes/pacgan.toml) in eager PyTorch, scored
with the paper's metric: the reference that tells whether our rows in docs/benchmarks.md
differ from the papers because of the protocol's length or because of our implementation.

    .bench-venv/bin/python benches/pytorch/pacgan_2d.py ring8 --steps 5000 --seeds 3 --packs 1,2

Same players (G 2 -> 4 x [Linear(no bias), BatchNorm1d, ReLU] of 400 -> 2; D three maxout
layers of 200 units x 5 pieces, Blocks' piece layout, and a Linear logit), init (weights
N(0, 0.02), biases 0, BatchNorm scale N(1, 0.02)), losses (BCE for D, non-saturating G),
Adam (1e-4, betas 0.8 / 0.999), data (a fixed set of 100,000 points, shuffled each epoch,
batches of 100 packs of m consecutive points) and order (D steps on G(z) detached, then G
steps against the updated D on the same G(z); `--simultaneous`: both gradients against
the same D) as gan-train. Scores 2500 points of the eval-mode G: modes with a point within
3 sigma, % of points within 3 sigma of their nearest mode, KL of those points' mode
histogram to uniform (crates/gan-train/src/eval/mixture.rs). Writes one CSV row per run
in docs/benchmarks/pytorch/TABLE-sSTEPS.csv (the format of `cargo xtask paper`, which
puts them beside ours in docs/benchmarks.md), keeping the rows of the (pack, seed) pairs it
did not run, so a table can be filled in several sittings.
"""

import argparse
import csv
import math
import os
import time

import numpy as np
import torch
from torch import nn


def modes_of(table):
    if table == "ring8":
        return [(math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8)) for i in range(8)], 0.01
    coords = [-4.0, -2.0, 0.0, 2.0, 4.0]
    return [(x, y) for x in coords for y in coords], 0.05


class Maxout(nn.Module):
    def __init__(self, d_in, d_out, pieces):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out * pieces)
        self.d_out, self.pieces = d_out, pieces

    def forward(self, x):
        return self.lin(x).view(-1, self.d_out, self.pieces).max(dim=2).values


def players(m):
    g = [nn.Linear(2, 400, bias=False), nn.BatchNorm1d(400), nn.ReLU()]
    for _ in range(3):
        g += [nn.Linear(400, 400, bias=False), nn.BatchNorm1d(400), nn.ReLU()]
    g += [nn.Linear(400, 2)]
    d = [Maxout(2 * m, 200, 5), Maxout(200, 200, 5), Maxout(200, 200, 5), nn.Linear(200, 1)]
    g, d = nn.Sequential(*g), nn.Sequential(*d)
    for mod in list(g.modules()) + list(d.modules()):
        if isinstance(mod, nn.Linear):
            nn.init.normal_(mod.weight, 0.0, 0.02)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.BatchNorm1d):
            nn.init.normal_(mod.weight, 1.0, 0.02)
            nn.init.zeros_(mod.bias)
    return g, d


def scores(points, modes, sigma):
    p = points[:, None, :] - np.asarray(modes)[None, :, :]
    dist = np.sqrt((p ** 2).sum(-1))
    nearest = dist.argmin(1)
    good = dist[np.arange(len(points)), nearest] < 3 * sigma
    counts = np.bincount(nearest[good], minlength=len(modes))
    hq = 100.0 * good.mean()
    if counts.sum() == 0:
        return int((counts > 0).sum()), hq, None
    q = counts[counts > 0] / counts.sum()
    kl = float((q * np.log(q * len(modes))).sum())
    return int((counts > 0).sum()), hq, kl


def run(table, m, seed, steps, simultaneous):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    modes, sigma = modes_of(table)
    which = rng.integers(0, len(modes), 100_000)
    data = np.asarray(modes, dtype=np.float32)[which] + rng.normal(0, sigma, (100_000, 2)).astype(np.float32)
    data = torch.from_numpy(data)
    g, d = players(m)
    og = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.8, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.8, 0.999))
    bce = nn.BCEWithLogitsLoss()
    batch = 100 * m
    per_epoch = len(data) // batch
    order = torch.randperm(len(data))
    start = time.time()
    for step in range(steps):
        i = step % per_epoch
        if i == 0 and step > 0:
            order = torch.randperm(len(data))
        x = data[order[i * batch:(i + 1) * batch]].view(-1, 2 * m)
        fake = g(torch.randn(batch, 2)).view(-1, 2 * m)
        od.zero_grad()
        real_logits, fake_logits = d(x), d(fake.detach())
        d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
        d_loss.backward()
        if not simultaneous:
            od.step()
        og.zero_grad()
        for p in d.parameters():
            p.requires_grad_(False)
        out = d(fake)
        g_loss = bce(out, torch.ones_like(out))
        g_loss.backward()
        for p in d.parameters():
            p.requires_grad_(True)
        if simultaneous:
            od.step()
        og.step()
    seconds = time.time() - start
    g.eval()
    with torch.no_grad():
        pts = g(torch.randn(2500, 2, generator=torch.Generator().manual_seed(0))).numpy()
    return scores(pts, modes, sigma), seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("table", choices=["ring8", "grid25"])
    ap.add_argument("--steps", type=int, default=400_000)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--packs", default="1,2,3,4")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--simultaneous", action="store_true")
    ap.add_argument("--out", default=None, help="CSV path [docs/benchmarks/pytorch/TABLE-sSTEPS.csv]")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tag = "-simultaneous" if a.simultaneous else ""
    out = a.out or os.path.join(os.path.dirname(__file__), "..", "..", "docs", "benchmarks", "pytorch",
                                f"{a.table}-s{a.steps}{tag}.csv")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    device = f"PyTorch {torch.__version__} CPU, {a.threads} threads" + (", simultaneous" if a.simultaneous else "")
    rows = []
    for seed in range(1, a.seeds + 1):
        for m in [int(p) for p in a.packs.split(",")]:
            (modes, hq, kl), secs = run(a.table, m, seed, a.steps, a.simultaneous)
            print(f"{a.table} pack {m} seed {seed}: {modes} modes, {hq:.1f}% high quality, "
                  f"reverse KL {'-' if kl is None else f'{kl:.4f}'} ({secs:.0f} s)", flush=True)
            rows.append([a.table, m, seed, a.steps, modes, f"{hq:.2f}",
                         "-" if kl is None else f"{kl:.4f}", f"{secs:.1f}", device])
    header = "table,pack,seed,steps,modes,high_quality,reverse_kl,train_seconds,adapter"
    lines = [",".join(str(v) for v in r[:-1]) + f',"{r[-1]}"' for r in rows]
    # Rows of other (pack, seed) pairs already in the file stay: a table can be filled in
    # several sittings, as `cargo xtask paper` does.
    done = {(r[1], r[2]) for r in rows}
    if os.path.exists(out):
        with open(out) as f:
            old = f.read().splitlines()
        if old and old[0] == header:
            for line in old[1:]:
                fields = line.split(",")
                if len(fields) > 2 and (int(fields[1]), int(fields[2])) not in done:
                    lines.append(line)
    lines.sort(key=lambda l: (int(l.split(",")[1]), int(l.split(",")[2])))
    with open(out, "w", newline="") as f:
        f.write(header + "\n")
        for line in lines:
            f.write(line + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
