"""PyTorch beside `cargo xtask bench`: the same computations, names and shapes.

Runs, in eager PyTorch on one device, what benches/{matmul,conv,ops,train_step}.rs time:
- `matmul/*/<s>x<s>x<s>`: fp32 square products (`*`: whichever WGSL kernel we ran);
- `matmul_gan/forward_bias_relu/<batch>x<k>x<n>` (relu(x W + b)) and
  `matmul_gan/weight_grad_tn/<k>x<batch>x<n>` (X^T dY) at the MLP GAN's layer shapes;
- `conv2d/{forward,backward_input,backward_weight}/<shape>` and
  `conv_transpose2d/{forward,backward_weight}/<shape>` at the DCGAN layer shapes, the
  gradients through `aten.convolution_backward` (what autograd calls) with only the wanted
  output; FLOPs counted as conv.rs does (the forward's count for each of the three);
- `elementwise/*`, `reduce/*`, `bce/*` of ops.rs, in GB/s of the bytes ops.rs counts;
- `optim/adam_*/<n>` of ops.rs: one `torch.optim.Adam` step over one n-element parameter
  (both of our kernels' rows time the same step), in GB/s of 28 bytes per parameter;
- `train_step/{mlp,dcgan}/<batch>`: one step of gan-train's default game (k = 1: D on a
  real and a generated batch, then G on the same G(z) with D frozen; non-saturating BCE;
  Adam lr 2e-4, betas (0.5, 0.999)) of the players of crates/gan-train/src/models.rs for
  28x28 MNIST (`mlp`: G 100-256-512-1024-784, LeakyReLU 0.2, Tanh; D 784-512-256-1,
  LeakyReLU 0.2, dropout 0.3; `dcgan`: ngf = ndf = 32, no conv biases, BatchNorm),
  in images/s (real images consumed).

On CUDA the main rows run with TF32 off (our kernels compute in fp32) and the matmul,
convolution and training-step rows again with TF32 on, named `<name>/tf32`. On the CPU,
`--threads` sets torch's intra-op threads.

Timing: a warm-up (at least 3 calls and `--min-time`), then `--repeats` timed runs of
enough calls to last `--min-time` each, synchronizing CUDA around each run; the figure is
the median run's time per call (criterion's median, in the same units).

Usage: python3 benches/pytorch/baseline.py [--device cpu|cuda] [--threads N] [--json]
       [--quick] [--big] [--dcgan256] [--only ID ...]
`--only` keeps the benchmarks whose `name/shape` matches one of the IDs (`cargo xtask
bench` passes the IDs of the rows it measured). Without `--json`: `name | shape | value |
unit` rows after `#` header lines; with it, one JSON object on stdout:
{"meta": {...}, "rows": [{"name", "shape", "value", "unit"}, ...]}; progress on stderr.
"""
import argparse
import fnmatch
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT = 100
# benches/matmul.rs
SQUARE = (128, 256, 512, 1024, 2048)
GAN_LAYERS = ((100, 256), (256, 512), (512, 1024), (1024, 784))
# benches/conv.rs: (Cin, H, Cout, kernel, stride, padding), batch 64
CONV_BATCH = 64
CONV = ((1, 28, 64, 4, 2, 1), (64, 14, 128, 4, 2, 1))
CONV_T = ((128, 7, 64, 4, 2, 1), (64, 14, 1, 4, 2, 1), (512, 4, 256, 4, 2, 1))
# benches/ops.rs
SIZES = (1 << 16, 1 << 20, 1 << 22)
BCE_SIZES = (256, 1 << 16, 1 << 20)
# benches/train_step.rs
TRAIN = (("mlp", 64), ("mlp", 256), ("dcgan", 64))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Timer:
    def __init__(self, dev, min_time, repeats):
        self.dev, self.min_time, self.repeats = dev, min_time, repeats

    def sync(self):
        if self.dev.type == "cuda":
            torch.cuda.synchronize()

    def per_call(self, fn):
        """Median seconds per call of `fn` over the timed runs, after a warm-up."""
        self.sync()
        t0, n = time.perf_counter(), 0
        while n < 3 or time.perf_counter() - t0 < self.min_time:
            fn()
            n += 1
        self.sync()
        est = (time.perf_counter() - t0) / n
        iters = max(1, math.ceil(self.min_time / max(est, 1e-9)))
        runs = []
        for _ in range(self.repeats):
            self.sync()
            t = time.perf_counter()
            for _ in range(iters):
                fn()
            self.sync()
            runs.append((time.perf_counter() - t) / iters)
        return statistics.median(runs)


# --- the players of crates/gan-train/src/models.rs (28x28x1 MNIST, default config) ---

def mlp_players(z=LATENT):
    g = nn.Sequential(
        nn.Linear(z, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 1024), nn.LeakyReLU(0.2),
        nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    d = nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(256, 1))
    return g, d


def dcgan_players(f=32, z=LATENT):
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


PLAYERS = {"mlp": mlp_players, "dcgan": dcgan_players}


def train_step_fn(arch, batch, dev):
    """One step of gan-train's `train_step` (k = 1), as a closure."""
    g, d = (m.to(dev).train() for m in PLAYERS[arch]())
    og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    # The bench's feed: 4096 MNIST items (here random in [-1, 1]) on the device.
    data = torch.rand(4096, 1, 28, 28, device=dev) * 2 - 1
    order = torch.randperm(4096, device=dev)
    ones = torch.ones(batch, 1, device=dev)
    zeros = torch.zeros(batch, 1, device=dev)
    d_params = list(d.parameters())
    state = {"step": 0, "metrics": None}

    def step():
        s = state["step"] % (4096 // batch)
        real = data[order[s * batch:(s + 1) * batch]]
        z = torch.randn(batch, LATENT, device=dev)
        fake = g(z)
        od.zero_grad(set_to_none=True)
        lr, lf = d(real), d(fake.detach())
        ld = F.binary_cross_entropy_with_logits(lr, ones) + \
            F.binary_cross_entropy_with_logits(lf, zeros)
        ld.backward()
        od.step()
        og.zero_grad(set_to_none=True)
        for p in d_params:  # D frozen: no weight gradients of D in G's step
            p.requires_grad_(False)
        lg = F.binary_cross_entropy_with_logits(d(fake), ones)
        lg.backward()
        for p in d_params:
            p.requires_grad_(True)
        og.step()
        # The metrics the bench records on the device each step (no readback).
        with torch.no_grad():
            state["metrics"] = torch.stack([
                ld, lg, lr.sigmoid().mean(), lf.sigmoid().mean(), -ld])
        state["step"] += 1

    return step


# --- the benchmark list: (name, shape, unit, amount per call, make) ---

def conv_out(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def convt_out(h, k, s, p):
    return (h - 1) * s - 2 * p + k


def benchmarks(dev, big, dcgan256):
    """Every benchmark as (name, shape, unit, amount, make, tf32, default): `make()`
    builds the inputs and returns the timed closure; `amount` is FLOPs, bytes or images
    per call; `tf32` marks rows also timed with TF32 on; `default` rows run without
    `--only`."""
    out = []
    rnd = lambda *s: torch.rand(*s, device=dev) * 2 - 1

    def mm(s):
        def make():
            a, b = rnd(s, s), rnd(s, s)
            return lambda: a @ b
        return make
    for s in SQUARE + (4096,):
        out.append(("matmul/*", f"{s}x{s}x{s}", "GFLOP/s", 2 * s ** 3, mm(s), True,
                    s != 4096 or big))

    def fwd(b, k, n):
        def make():
            a, w, bias = rnd(b, k), rnd(k, n), rnd(n)
            return lambda: torch.relu(torch.addmm(bias, a, w))
        return make

    def wgrad(b, k, n):
        def make():
            a, dy = rnd(b, k), rnd(b, n)
            return lambda: a.t() @ dy
        return make
    for b in (64, 256):
        for k, n in GAN_LAYERS:
            fl = 2 * b * k * n
            out.append(("matmul_gan/forward_bias_relu", f"{b}x{k}x{n}", "GFLOP/s", fl,
                        fwd(b, k, n), True, True))
            out.append(("matmul_gan/weight_grad_tn", f"{k}x{b}x{n}", "GFLOP/s", fl,
                        wgrad(b, k, n), True, True))

    cb = torch.ops.aten.convolution_backward

    def conv(cin, h, cout, k, s, p, oh, what):
        def make():
            x, w = rnd(CONV_BATCH, cin, h, h), rnd(cout, cin, k, k)
            dy = rnd(CONV_BATCH, cout, oh, oh)
            if what == "forward":
                return lambda: F.conv2d(x, w, None, s, p)
            mask = [what == "backward_input", what == "backward_weight", False]
            return lambda: cb(dy, x, w, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask)
        return make
    for cin, h, cout, k, s, p in CONV:
        oh = conv_out(h, k, s, p)
        shape = f"{CONV_BATCH}x{cin}x{h}x{h}->{cout}x{oh}x{oh}_k{k}s{s}p{p}"
        fl = 2 * CONV_BATCH * cout * oh * oh * cin * k * k
        for what in ("forward", "backward_input", "backward_weight"):
            out.append((f"conv2d/{what}", shape, "GFLOP/s", fl,
                        conv(cin, h, cout, k, s, p, oh, what), True, True))

    def convt(cin, h, cout, k, s, p, oh, what):
        def make():
            x, w = rnd(CONV_BATCH, cin, h, h), rnd(cin, cout, k, k)
            dy = rnd(CONV_BATCH, cout, oh, oh)
            if what == "forward":
                return lambda: F.conv_transpose2d(x, w, None, s, p)
            return lambda: cb(dy, x, w, None, [s, s], [p, p], [1, 1], True, [0, 0], 1,
                              [False, True, False])
        return make
    for cin, h, cout, k, s, p in CONV_T:
        oh = convt_out(h, k, s, p)
        shape = f"{CONV_BATCH}x{cin}x{h}x{h}->{cout}x{oh}x{oh}_k{k}s{s}p{p}"
        fl = 2 * CONV_BATCH * cin * h * h * cout * k * k
        for what in ("forward", "backward_weight"):
            out.append((f"conv_transpose2d/{what}", shape, "GFLOP/s", fl,
                        convt(cin, h, cout, k, s, p, oh, what), True, True))

    def op(n, f):
        def make():
            x, y = rnd(n), rnd(n)
            return f(x, y)
        return make
    for n in SIZES:
        def bias_add(x, _y, n=n):
            xm, b = x.view(n // 1024, 1024), rnd(1024)
            return lambda: xm + b

        def sum_axis0(x, _y, n=n):
            xm = x.view(n // 256, 256)
            return lambda: xm.sum(0)
        out += [
            ("elementwise/add", str(n), "GB/s", 12 * n, op(n, lambda x, y: lambda: x + y),
             False, True),
            ("elementwise/leaky_relu", str(n), "GB/s", 8 * n,
             op(n, lambda x, y: lambda: F.leaky_relu(x, 0.2)), False, True),
            ("elementwise/add_bias_broadcast", str(n), "GB/s", 8 * n, op(n, bias_add),
             False, True),
            ("reduce/sum_all", str(n), "GB/s", 4 * n, op(n, lambda x, y: lambda: x.sum()),
             False, True),
            ("reduce/sum_axis0", str(n), "GB/s", 4 * n, op(n, sum_axis0), False, True),
        ]

    def bce(n, grad):
        def make():
            x = rnd(n, 1)
            if not grad:
                t = torch.ones(1, 1, device=dev).expand(n, 1)
                return lambda: F.binary_cross_entropy_with_logits(x, t)
            # The gradient of the mean loss as autograd computes it (the backward of the
            # recorded loss alone, kept for repeated calls).
            x.requires_grad_(True)
            t = torch.zeros(1, 1, device=dev).expand(n, 1)
            loss = F.binary_cross_entropy_with_logits(x, t)
            return lambda: torch.autograd.grad(loss, x, retain_graph=True)
        return make
    for n in BCE_SIZES:
        out.append(("bce/loss_const_label", str(n), "GB/s", 4 * n, bce(n, False), False,
                    True))
        out.append(("bce/grad_const_label", str(n), "GB/s", 8 * n, bce(n, True), False,
                    True))

    def adam(n):
        def make():
            p = torch.nn.Parameter(rnd(n))
            p.grad = rnd(n)
            return torch.optim.Adam([p], lr=1e-4).step
        return make
    for n in (1 << 16, 1_486_352):
        for kernel in ("adam_vec4", "adam_texture"):
            out.append((f"optim/{kernel}", str(n), "GB/s", 28 * n, adam(n), False, True))

    for arch, batch in TRAIN + (("dcgan", 256),):
        default = not (arch == "dcgan" and batch == 256) or dcgan256
        out.append((f"train_step/{arch}", str(batch), "images/s", batch,
                    lambda a=arch, b=batch: train_step_fn(a, b, dev), True, default))
    return out


def selected(name, shape, only):
    pattern = f"{name}/{shape}"
    return any(fnmatch.fnmatchcase(i, pattern) for i in only)


def set_tf32(on):
    """TF32 for cuBLAS matmuls and cuDNN convolutions (torch's new API when present)."""
    mm = torch.backends.cuda.matmul
    if hasattr(mm, "fp32_precision"):
        mm.fp32_precision = "tf32" if on else "ieee"
        torch.backends.cudnn.conv.fp32_precision = "tf32" if on else "ieee"
    else:
        mm.allow_tf32 = on
        torch.backends.cudnn.allow_tf32 = on


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def nvidia_driver():
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else None
    except (OSError, IndexError, subprocess.SubprocessError):
        return None


def metadata(dev, args):
    meta = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": dev.type,
        "repeats": args.repeats,
        "min_time_s": args.min_time,
        "timing": "median over repeats of the mean time per call, after a warm-up",
    }
    if dev.type == "cpu":
        meta.update(device_name=cpu_model(), threads=torch.get_num_threads(),
                    cores=os.cpu_count())
    else:
        meta.update(device_name=torch.cuda.get_device_name(dev), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version(), driver=nvidia_driver(),
                    tf32="main rows TF32 off; rows named <name>/tf32 TF32 on",
                    cudnn_benchmark=torch.backends.cudnn.benchmark)
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=("cpu", "cuda"),
                    default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads on the CPU")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--quick", action="store_true", help="shorter runs (as GAN_BENCH_QUICK)")
    ap.add_argument("--repeats", type=int, help="timed runs per figure (5; quick 3)")
    ap.add_argument("--min-time", type=float, help="seconds per timed run (0.2; quick 0.05)")
    ap.add_argument("--big", action="store_true", help="add 4096^3 (as GAN_BENCH_BIG)")
    ap.add_argument("--dcgan256", action="store_true",
                    help="add train_step/dcgan at batch 256 (as GAN_BENCH_DCGAN256)")
    ap.add_argument("--only", nargs="*", metavar="ID",
                    help="run only benchmarks whose name/shape matches one of these IDs")
    ap.add_argument("--no-tf32", action="store_true", help="CUDA: skip the TF32 rows")
    args = ap.parse_args()
    args.repeats = args.repeats or (3 if args.quick else 5)
    args.min_time = args.min_time or (0.05 if args.quick else 0.2)
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: torch finds no CUDA device")
    dev = torch.device(args.device)
    if args.threads and dev.type == "cpu":
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    timer = Timer(dev, args.min_time, args.repeats)
    meta = metadata(dev, args)
    header = f"# PyTorch {meta['torch']} on {meta['device_name']}"
    if dev.type == "cpu":
        header += f", {meta['threads']} threads"
    else:
        header += f", CUDA {meta['cuda']}, driver {meta['driver']}; TF32 off (rows /tf32: on)"
    log(header)
    if not args.json:
        print(header)
        print("name | shape | value | unit")
    rows = []
    passes = [False] + ([True] if dev.type == "cuda" and not args.no_tf32 else [])
    for tf32 in passes:
        if dev.type == "cuda":
            set_tf32(tf32)
        for name, shape, unit, amount, make, has_tf32, default in benchmarks(
                dev, args.big, args.dcgan256):
            if tf32 and not has_tf32:
                continue
            if not (selected(name, shape, args.only) if args.only is not None else default):
                continue
            fn = make()
            s = timer.per_call(fn)
            del fn
            value = amount / s if unit == "images/s" else amount / s / 1e9
            row = {"name": name + ("/tf32" if tf32 else ""), "shape": shape,
                   "value": value, "unit": unit}
            rows.append(row)
            line = f"{row['name']} | {shape} | {value:.2f} | {unit}"
            log(f"{line}  ({s * 1e3:.3f} ms/call)")
            if not args.json:
                print(line, flush=True)
    if dev.type == "cuda":
        set_tf32(False)
    if args.json:
        json.dump({"meta": meta, "rows": rows}, sys.stdout, indent=1)
        print()


if __name__ == "__main__":
    main()
