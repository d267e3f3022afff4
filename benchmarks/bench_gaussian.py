"""Benchmarks of the Gaussian activation maps (nstheory.gaussian); prints timings and ratios
against baselines measured in the same run.

Run: ``python benchmarks/bench_gaussian.py [--skip-nested] [--repeat N]`` (the nested 2-D
acb.integral baseline for tanh takes ~10 s).

Section 0 times whole commands (``python -m nstheory activation NAME --rho 0.5 --dps D --json``,
a fresh process each, best of ``--repeat``): each smooth activation against the ReLU closed form
at the same precision, measured in the same run, by wall-clock and by CPU time of the child
process (the CPU ratio is the one to read on a loaded machine). Section 0b: certified
enclosures near rho = +-1 at 53 bits (radius and time, cold caches).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import mpmath
import numpy as np
import torch
from flint import acb, arb

from nstheory.gaussian.activations import _kappa_point, get_activation, kappa_mp
from nstheory.gaussian.precise import reduction_mp
from nstheory.numerics import arb_precision


def per_call(fn, n):
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def best_of(fn, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def whole_command(name: str, dps: int, repeat: int, extra=()):
    """Best-of-``repeat`` wall and CPU seconds of one CLI run, and its JSON output."""
    best_wall, best_cpu, out = float("inf"), float("inf"), None
    cmd = [sys.executable, "-m", "nstheory", "activation", name, "--rho", "0.5", "--dps",
           str(dps), "--json", *extra]
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
        out = json.loads(proc.stdout)
    return best_wall, best_cpu, out


def radius_of(out) -> float:
    with mpmath.workdps(out["dps"] + 30):
        lo, hi = (mpmath.mpf(v) for v in out["enclosure"])
        return float((hi - lo) / 2)


def precision_table(repeat: int) -> list[str]:
    lines = ["| activation | dps | wall s | CPU s | wall ratio to ReLU | CPU ratio to ReLU "
             "| enclosure radius | agreement digits (vs 1-D reduction) | target |",
             "|---|---|---|---|---|---|---|---|---|"]
    targets = {20: 2, 50: 3, 100: 10}
    for dps in (20, 50, 100):
        w0, c0, o0 = whole_command("relu", dps, repeat)
        lines.append(f"| relu (closed form, baseline) | {dps} | {w0:.3g} | {c0:.3g} | 1 | 1 | "
                     f"{radius_of(o0):.3g} | {o0['agreement_digits']} | - |")
        runs = [(n, ()) for n in ("tanh", "gelu", "silu", "softplus")]
        runs.append(("polynomial", ("--coeffs", "1,0,-2,1")))
        for name, extra in runs:
            w, c, o = whole_command(name, dps, repeat, extra)
            lines.append(f"| {name} | {dps} | {w:.3g} | {c:.3g} | {w / w0:.3g} | {c / c0:.3g} | "
                         f"{radius_of(o):.3g} | {o['agreement_digits']} | "
                         f"<= {targets[dps]}x |")
    return lines


def endpoint_table() -> list[str]:
    from flint import arb as _arb

    from nstheory.gaussian import endpoint, smooth

    lines = ["| activation | rho | q1, q2 | radius (53 bits) | seconds (cold) | target |",
             "|---|---|---|---|---|---|"]
    for name in ("tanh", "gelu", "silu", "softplus"):
        act = get_activation(name)
        endpoint._EndpointCache._store.clear()
        smooth._TrapezoidCache.store.clear()
        for rho in ("0.999", "-0.999", "0.999999", "-0.999999", "1", "-1"):
            with arb_precision(bits=53):
                t = time.perf_counter()
                ball = act.raw_arb(_arb(rho), _arb(1), _arb(1))
                dt = time.perf_counter() - t
            lines.append(f"| {name} | {rho} | 1, 1 | {float(ball.rad()):.3g} | {dt:.3g} | "
                         "radius <= 1e-15 |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-nested", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    load = os.getloadavg()
    print(f"load average at start (1, 5, 15 min): {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
          f"on {os.cpu_count()} CPUs")
    print("\n## whole-command time, smooth activations vs the ReLU closed form (same run)\n")
    print("\n".join(precision_table(args.repeat)))
    print("\n## certified enclosures near rho = +-1 (53 bits, cold caches)\n")
    print("\n".join(endpoint_table()))
    relu = get_activation("relu")
    rows = []

    # 1. certified ReLU closed form vs mpmath closed form (baseline)
    with mpmath.workdps(15):
        base = per_call(lambda: kappa_mp(mpmath.mpf("0.5")), 2000)
    for bits in (53, 333):
        with arb_precision(bits=bits):
            r = (arb(1) / 3).mid()  # a point rho (exact binary number near 1/3)
            t = per_call(lambda r=r: relu.raw_arb(r), 2000)
            t_bare = per_call(lambda r=r: _kappa_point(r), 2000)
            rad = float(relu.raw_arb(r).rad())
            rb = arb(1) / 3  # a ball rho: the enclosure must hold on the whole ball
            t_ball = per_call(lambda r=rb: relu.raw_arb(r), 2000)
        rows.append((f"bare arb kappa formula, {bits} bits (no input checks)", t_bare * 1e6, "us",
                     t_bare / base, "mpmath closed form dps 15", "-"))
        target = "<= 10 us" if bits == 53 else "<= 50 us"
        rows.append((f"certified ReLU closed form, {bits} bits, point rho (radius {rad:.1e})",
                     t * 1e6, "us", t / base, "mpmath closed form dps 15", target))
        rows.append((f"certified ReLU over a rho ball (two endpoint images), {bits} bits",
                     t_ball * 1e6, "us", t_ball / base, "mpmath closed form dps 15", "-"))

    # 2. certified tanh at rho = 0.5, cold cache, vs nested 2-D acb.integral
    from nstheory.gaussian import smooth

    smooth._TrapezoidCache.store.clear()
    tanh = get_activation("tanh")
    t0 = time.perf_counter()
    ball = tanh.raw_arb(0.5)
    t_tanh = time.perf_counter() - t0
    t1 = time.perf_counter()
    tanh.raw_arb(0.5)
    t_warm = time.perf_counter() - t1
    if not args.skip_nested:
        s = arb(3).sqrt() / 2

        def inner(x):
            return acb.integral(lambda z, _: (x / 2 + s * z).tanh() * (-z * z / 2).exp(), -9, 9)

        t2 = time.perf_counter()
        nested = acb.integral(lambda x, _: x.tanh() * inner(x) * (-x * x / 2).exp(), -9, 9)
        t_nested = time.perf_counter() - t2
        nested = nested.real / (2 * arb.pi())
        base_note = (f"nested 2-D acb.integral on [-9,9]^2 (no tail bound): {t_nested:.2f} s, "
                     f"{nested}")
    else:
        t_nested, base_note = float("nan"), "nested baseline skipped"
    rows.append((f"certified tanh rho=0.5, cold (radius {float(ball.rad()):.1e})", t_tanh, "s",
                 t_tanh / t_nested, base_note, "<= 1 s, radius <= 1e-15"))
    rows.append(("certified tanh rho=0.5, warm coefficient cache", t_warm * 1e3, "ms",
                 t_warm / t_nested, "same nested baseline", "-"))

    # 3. mpmath 1-D reduction at 50 digits vs closed form at 50 digits
    t_red, v = best_of(lambda: reduction_mp(relu, "0.5", 1, 1, dps=50))
    t_cf, w = best_of(lambda: relu.raw("0.5", dps=50))
    with mpmath.workdps(60):
        err = abs(v - w)
    rows.append((f"mpmath 1-D reduction ReLU, dps 50 (|diff| {float(err):.1e})", t_red, "s",
                 t_red / t_cf, "mpmath closed form dps 50", "<= 0.2 s"))

    # 4. float64 vectorised path
    x = np.linspace(-1, 1, 1_000_000)
    t_np, _ = best_of(lambda: np.sqrt(1 - x * x))
    for name in ("relu", "tanh", "gelu"):
        act = get_activation(name)
        act.raw_float(x[:10], 1.0, 1.0)  # warm the per-(q1,q2) coefficient cache
        t_f, _ = best_of(lambda act=act: act.raw_float(x, 1.0, 1.0))
        rows.append((f"float64 raw_float {name}, 1e6 points", 1e6 / t_f / 1e6, "M evals/s",
                     t_f / t_np, "numpy sqrt(1 - x^2) on 1e6 points", ">= 1 M/s"))

    lines = ["| benchmark | result | unit | ratio to baseline | baseline (same run) | target |",
             "|---|---|---|---|---|---|"]
    for name, val, unit, ratio, bl, target in rows:
        lines.append(f"| {name} | {val:.4g} | {unit} | {ratio:.3g} | {bl} | {target} |")
    print("\n## library-level timings\n")
    print("\n".join(lines))
    load = os.getloadavg()
    print(f"\nmachine: {platform.machine()}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; load average at end: {load[0]:.2f}, {load[1]:.2f}, "
          f"{load[2]:.2f}")


if __name__ == "__main__":
    main()
