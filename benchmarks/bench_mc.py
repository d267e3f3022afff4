"""Benchmark: Monte Carlo of the scalar ReLU map and a ReLU MLP, with variance reduction.

Run: ``python benchmarks/bench_mc.py [--n 8388608] [--threads 2]``. Prints throughput in draws
(sample pairs) per second for a plain batched torch loop (the baseline, measured in this run)
and for the library estimator with antithetic pairs and Hermite control variates; the
variance-reduction factor (VRF, per draw, measured on the same draws); the effective
throughput = throughput x VRF; and every ratio against the baseline. A CUDA row is added when
a GPU is present.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import torch

from nstheory.montecarlo.variance import relu_map_mc, relu_mlp_stability

KAPPA_HALF = 0.30449889052211465  # (sqrt(3/4) + (pi - pi/3)/2) / (2 pi), the exact ReLU map at 1/2


def baseline_loop(n, rho, chunk, device, g):
    s = math.sqrt(1 - rho * rho)
    acc = acc2 = 0.0
    done = 0
    while done < n:
        b = min(chunk, n - done)
        x = torch.randn(b, generator=g, device=device)
        y = rho * x + s * torch.randn(b, generator=g, device=device)
        v = torch.relu(x) * torch.relu(y)
        acc += float(v.sum())
        acc2 += float((v * v).sum())
        done += b
    return acc / n


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 23)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rho", type=float, default=0.5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n, rho = args.n, args.rho
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; n = {n} draws, rho = {rho}")
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for dev in devices:
        g = torch.Generator(device=dev).manual_seed(0)
        baseline_loop(1 << 20, rho, 1 << 20, dev, g)  # warm-up
        _, tb = timed(lambda dev=dev, g=g: baseline_loop(n, rho, 1 << 20, dev, g))
        base = n / tb
        print(f"\n[{dev}] baseline plain batched torch loop: {base:.3e} pairs/s")
        print(f"{'estimator':34s} {'pairs/s':>10s} {'ratio':>6s} {'VRF':>7s} "
              f"{'effective/s':>12s} {'eff. ratio':>10s} {'z vs exact':>10s}")
        for anti, deg in [(False, None), (True, None), (False, 1), (False, 4), (True, 4),
                          (True, 8)]:
            _, dt = timed(lambda a=anti, d=deg, dev=dev, g=g: relu_map_mc(
                rho, n, generator=g, antithetic=a, cv_degree=d, device=dev, track_plain=False))
            r = relu_map_mc(rho, 1 << 21, generator=g, antithetic=anti, cv_degree=deg, device=dev)
            thr = n / dt
            name = f"antithetic={anti!s:5s} cv_degree={deg}"
            print(f"{name:34s} {thr:10.3e} {thr / base:6.2f} {r.vrf:7.1f} {thr * r.vrf:12.3e} "
                  f"{thr * r.vrf / base:10.1f} {r.reduced.z(KAPPA_HALF):10.2f}")
    g = torch.Generator().manual_seed(1)
    W = torch.randn(64, 32, generator=g, dtype=torch.float64)
    v = torch.randn(64, generator=g, dtype=torch.float64) / 8
    print("\nReLU MLP (d=32, width 64, bias-free), Stab_rho at rho=0.5, 100000 draws:")
    for anti, deg in [(False, 1), (False, 2), (False, 4), (True, 4)]:
        (r, dt) = timed(lambda a=anti, d=deg: relu_mlp_stability(W, v, 0.5, 100_000, generator=g,
                                                                 antithetic=a, cv_degree=d))
        print(f"  antithetic={anti!s:5s} cv_degree={deg}: VRF {r.vrf:8.1f}  "
              f"({100_000 / dt:.3e} draws/s)")


if __name__ == "__main__":
    main()
