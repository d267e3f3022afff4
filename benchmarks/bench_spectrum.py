"""Benchmark of nstheory.spectrum: all cube eigenvalues mu_0..mu_n of a deep ReLU NTK.

Run: ``python benchmarks/bench_spectrum.py [--quick]``. For a depth-10 ReLU MLP (sw2 = 2,
sb2 = 0) and n = 100, 1000 it times, in the same process:

* nstheory: certified balls for the NNGP and the NTK together (arb enclosures of the kernel at
  the n + 1 cube points + exact integer Krawtchouk transform), target 53 bits per eigenvalue;
* baseline "finite differences in float64": our own implementation of the approach of Yang &
  Salman's public code -- ``mu_k = 2^-n sum_i C(n-k, i) [(1 - E)^k Phi]_i`` with the shift
  ``E Phi(t) = Phi(t - 2/n)``, i.e. k-th finite differences of the kernel on the grid followed
  by a binomial average, all in float64 (NTK only);
* baseline "direct Krawtchouk sum in mpmath" (:func:`nstheory.spectrum.cube.spectrum_mp`) at
  the precision that gives 15 digits (NTK only; skipped with --quick at n = 1000).

Accuracy of a baseline = how many degrees k have relative error <= 1e-6 against the certified
balls (every certified ball has relative radius <= 2^-53).
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import mpmath
import numpy as np


def finite_difference_spectrum(phi_float, n: int) -> np.ndarray:
    """Float64 baseline: ``mu_k = 2^-n sum_i C(n-k, i) [(1 - E)^k Phi]_i`` for k = 0..n."""
    t = 1.0 - 2.0 * np.arange(n + 1) / n
    d = np.asarray(phi_float(t), dtype=np.float64)
    out = np.empty(n + 1)
    for k in range(n + 1):
        m = n - k
        i = np.arange(m + 1)
        logw = (math.lgamma(m + 1) - np.array([math.lgamma(a + 1) + math.lgamma(m - a + 1)
                                               for a in i]) - n * math.log(2.0))
        out[k] = float(np.dot(np.exp(logw), d))
        d = d[:-1] - d[1:]
    return out


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None) -> int:
    from flint import arb

    from nstheory.numerics import arb_precision
    from nstheory.spectrum.cube import resolved, spectra_arb, spectrum_mp
    from nstheory.spectrum.kernels import MLPKernel

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}")
    k = MLPKernel("relu", depth=10, sw2=2, sb2=0)
    print("depth-10 ReLU MLP, sw2 = 2, sb2 = 0; eigenvalues mu_0..mu_n on {-1,1}^n")
    hdr = ("| n | nstheory certified NNGP+NTK (s) | degrees resolved to 2^-53 | "
           "float64 finite differences (s) | FD degrees with rel. err <= 1e-6 | FD max rel. "
           "err | mpmath direct sum, 15 digits (s) | mpmath degrees <= 1e-6 |")
    print(hdr)
    print("|" + "---|" * 8)
    for n in (100, 1000):
        tc, (nngp, ntk) = _time(lambda n=n: spectra_arb(k.arb, n, 53))
        nres = sum(resolved(b, 53) for b in nngp + ntk)
        tf, fd = _time(lambda n=n: finite_difference_spectrum(lambda t: k.float(t)[1], n))
        with arb_precision(bits=80):
            rel = []
            for b, f in zip(ntk, fd, strict=True):
                mid = b.mid()
                if mid == 0:
                    rel.append(math.inf)
                    continue
                r = abs((arb(float(f)) - mid) / mid) if math.isfinite(f) else arb(math.inf)
                rel.append(float(r) if r.is_finite() else math.inf)
        fd_ok = sum(r <= 1e-6 for r in rel)
        fd_max = max(rel)
        if args.quick and n == 1000:
            tm, mp_ok = float("nan"), "skipped"
        else:
            tm, mm = _time(lambda n=n: spectrum_mp(lambda t: k.mp(t, dps=mpmath.mp.dps)[1], n,
                                                   dps=15))
            with arb_precision(bits=80):
                mp_ok = sum(abs((arb(mpmath.nstr(m, 20)) - b.mid()) / b.mid()) <= 1e-6
                            for m, b in zip(mm, ntk, strict=True))
        print(f"| {n} | {tc:.3g} | {nres}/{2 * (n + 1)} | {tf:.3g} | {fd_ok}/{n + 1} | "
              f"{fd_max:.3g} | {tm:.3g} | {mp_ok}/{n + 1} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
