"""Finite-width check of the MLP NTK spectrum on the cube: the empirical NTK of random torch
networks (autograd) against the infinite-width eigenvalues.

Routes: the certified spectrum (MLP kernel recursion + exact Krawtchouk transform with arb),
the direct mpmath Krawtchouk sum of a hand-written closed form (depth 1), and Monte Carlo over
initialisations of finite-width networks (torch autograd; no kernel formula involved).
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np

from nstheory.claims import claim, compare_holds, compare_z

N, WIDTH, SEEDS = 5, 1024, 30

c = claim(
    "spectrum.ntk.mlp_empirical_matches_limit",
    "For a depth-1 ReLU MLP (NTK parametrisation, sigma_w^2 = 2, sigma_b^2 = 0) on {-1,1}^5, "
    "the expected per-degree Rayleigh quotient of the empirical NTK over monomials of degree k "
    "equals the infinite-width eigenvalue mu_k (exactly, at every width, for depth 1).",
    latex=r"\mathbb{E}_\theta\,\langle\chi_S, T_{\hat\Theta}\chi_S\rangle = \mu_{|S|}"
          r"(\Theta^{\infty})",
    provenance="new",
)


def _certified():
    from nstheory.spectrum.kernels import mlp_spectrum

    return mlp_spectrum("relu", depth=1, n=N, sw2=2, sb2=0)["ntk"]


def _closed_form():
    from nstheory.spectrum.cube import spectrum_mp

    def phi(t):  # depth-1 ReLU NTK, sw2 = 2: 4 kappa(t) + 4 t kappa'(t), typed by hand
        kap = (mpmath.sqrt(1 - t * t) + t * (mpmath.pi - mpmath.acos(t))) / (2 * mpmath.pi)
        return 4 * kap + 4 * t * (mpmath.pi - mpmath.acos(t)) / (2 * mpmath.pi)

    return spectrum_mp(phi, N, dps=30)


@c.check("certified", name="recursion_arb_vs_closed_form_mp",
         uses=("nstheory.spectrum.kernels.MLPKernel", "nstheory.spectrum.cube.spectra_arb",
               "nstheory.spectrum.cube.krawtchouk_transform_int",
               "typed:4 kappa(t) + 4 t kappa'(t)", "nstheory.spectrum.cube.spectrum_mp"))
def _():
    # the infinite-width values used by the Monte Carlo checks, by two deterministic ways
    from flint import arb

    from nstheory.numerics import arb_precision

    balls, mp = _certified(), _closed_form()
    inside = []
    with arb_precision(bits=200):
        for b, m in zip(balls, mp, strict=True):
            inside.append(b.overlaps(arb(mpmath.nstr(m, 30), 1e-28)))
    return compare_holds(all(inside),
                         [("mu_k certified (recursion + exact transform)",
                           tuple(b.str(16) for b in balls)),
                          ("mu_k closed form, direct mpmath sum (30 digits)",
                           tuple(mpmath.nstr(m, 16) for m in mp))],
                         tolerance="each certified ball contains the 30-digit value (+-1e-28)")


@lru_cache(maxsize=1)
def _empirical():
    from nstheory.spectrum.empirical import degree_rayleigh, mlp_empirical_ntk

    return np.array([degree_rayleigh(mlp_empirical_ntk("relu", 1, WIDTH, N, 2.0, 0.0, seed), N)
                     for seed in range(SEEDS)])


for _k in (1, 2):
    def _mk(k):
        @c.check("monte-carlo", name=f"empirical_ntk_degree{k}_w{WIDTH}",
                 uses=("nstheory.spectrum.empirical.mlp_empirical_ntk", "torch.autograd"))
        def _():
            R = _empirical()[:, k]
            mu = float(_certified()[k].mid())
            return compare_z(f"mean Rayleigh quotient, degree {k} ({SEEDS} inits, width "
                             f"{WIDTH})", float(R.mean()), float(R.std(ddof=1) / math.sqrt(SEEDS)),
                             SEEDS, f"mu_{k} (infinite width, certified)", mu,
                             alternative=f"a 5% error in mu_{k} (wrong kernel map or scaling)",
                             effect=0.05 * mu)
    _mk(_k)
