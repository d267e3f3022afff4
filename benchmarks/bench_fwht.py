"""Benchmark: nstheory's exact FWHT vs SymPy's fwht (n = 12, 16) and a plain numpy butterfly
(n = 20, 24), ratios measured in the same run.

    python benchmarks/bench_fwht.py [--quick] [--markdown PATH]

Timings are the minimum over repeats (wall clock, single process). Every timed transform is
checked for equality with its baseline, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (f"{cpu}, {os.cpu_count()} logical CPUs, load average {load[0]:.1f} at start "
            f"(numpy {np.__version__}, Python {platform.python_version()})")


def main(argv=None) -> int:
    from sympy.discrete.transforms import fwht as sympy_fwht

    from nstheory.boolean.fwht import fwht, fwht_numpy_plain

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="n = 12 and 20 only")
    ap.add_argument("--markdown", help="append a results table to this file")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(2026)
    rows = []
    desc = machine()
    print(f"machine: {desc}")
    for n in [12] if args.quick else [12, 16]:
        a = rng.choice(np.array([-1, 1], dtype=np.int8), 1 << n)
        t_ours, ours = best_of(lambda a=a: fwht(a), 20)
        t_sym, sym = best_of(lambda a=a: sympy_fwht(a.tolist()), 1 if n >= 16 else 3)
        assert ours.tolist() == [int(v) for v in sym], "mismatch with sympy"
        rows.append((n, "sympy.discrete.transforms.fwht", t_sym, t_ours))
        print(f"n={n:2d}  sympy {t_sym:9.4f} s   nstheory {t_ours:9.5f} s   "
              f"ratio {t_sym / t_ours:9.0f}x")
    for n in [20] if args.quick else [20, 24]:
        a = rng.choice(np.array([-1, 1], dtype=np.int8), 1 << n)
        t_ours, ours = best_of(lambda a=a: fwht(a), 5 if n < 24 else 3)
        t_plain, plain = best_of(lambda a=a: fwht_numpy_plain(a), 3 if n < 24 else 2)
        assert np.array_equal(ours, plain), "mismatch with the plain butterfly"
        rows.append((n, "plain numpy butterfly (int64)", t_plain, t_ours))
        print(f"n={n:2d}  plain {t_plain:9.4f} s   nstheory {t_ours:9.5f} s   "
              f"ratio {t_plain / t_ours:9.2f}x")
    if args.markdown:
        with open(args.markdown, "a") as fh:
            fh.write(f"\nMachine: {desc}.\n\n")
            fh.write("| n | baseline | baseline (s) | nstheory fwht (s) | ratio |\n")
            fh.write("|---|---|---|---|---|\n")
            for n, name, tb, to in rows:
                fh.write(f"| {n} | {name} | {tb:.4f} | {to:.5f} | {tb / to:.1f}x |\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
