"""Finite alphabets [U]^n with the regularizer's token-resampling noise (haris2026 §3).

The shared formula under test is :func:`nstheory.noise.effective_token_correlation`:
rho_eff = q (redraw from all U symbols) or (qU - 1)/(U - 1) (redraw excludes the current one).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from nstheory.claims import claim, compare_exact, compare_z

c = claim(
    "boolean.alphabet.token_noise_stability",
    "Under token noise on [U]^n (keep each symbol w.p. q, else redraw uniformly from [U], or from "
    "[U] minus the current symbol), E[f(x) f(y)] = sum_S rho_eff^|S| ||f^{=S}||^2 (Efron-Stein "
    "decomposition) with rho_eff = q, resp. (qU - 1)/(U - 1); with q = (1 + rho)/2 the "
    "regularizer's rho is not the Gaussian rho.",
    latex=r"\mathbb{E}[f(x)f(y)] = \sum_S \rho_{\mathrm{eff}}^{|S|}\|f^{=S}\|^2,\ "
    r"\rho_{\mathrm{eff}} \in \{q, \tfrac{qU-1}{U-1}\}",
    provenance="reconstructed:haris2026 §3 (Def. 6.1 token noise)",
    fast=False,  # the Monte Carlo route imports torch (seconds on a loaded machine)
)

_CASES = [(2, 3), (3, 2), (3, 3), (4, 2), (5, 2)]  # (U, n)
_QS = [Fraction(5, 8), Fraction(21, 40), Fraction(1, 5), Fraction(1)]  # rho = 1/4, 1/20, ..


def _functions():
    out = []
    for i, (U, n) in enumerate(_CASES):
        rng = np.random.default_rng(100 + i)
        out.append(rng.integers(-3, 4, (U,) * n))
    # parity-like chi_S on U = 2 with symbols {0, 1} -> {+1, -1}: Stab = rho_eff^|S|
    out.append(np.array([[[1 - 2 * ((a + b) % 2) for c in range(2)] for b in range(2)]
                         for a in range(2)]))
    return out


@c.check("exact-enumeration", name="all_pairs_vs_efron_stein",
         uses=("nstheory.boolean.alphabet.stability_by_enumeration",))
def _():
    from nstheory.boolean.alphabet import stability_by_efron_stein, stability_by_enumeration

    lhs, rhs = [], []
    for f in _functions():
        for q in _QS:
            for excl in (False, True):
                lhs.append(stability_by_enumeration(f, q, excl))
                rhs.append(stability_by_efron_stein(f, q, excl))
    return compare_exact("E[f(x)f(y)] summed over all pairs with Pr[y|x] "
                         "(U,n) in (2,3),(3,2),(3,3),(4,2),(5,2) + chi_{1,2}; 4 q; excl./not",
                         tuple(lhs), "sum_S rho_eff^|S| ||f^=S||^2 with "
                         "nstheory.noise.effective_token_correlation", tuple(rhs))


@c.check("monte-carlo", name="resample_tokens",
         uses=("nstheory.boolean.alphabet.stability_by_sampling", "nstheory.noise.resample_tokens"))
def _():
    from nstheory.boolean.alphabet import stability_by_efron_stein, stability_by_sampling

    f = _functions()[2]  # U = 3, n = 3
    q = Fraction(5, 8)
    m = stability_by_sampling(f, float(q), True, samples=100_000, seed=31)
    theory = float(stability_by_efron_stein(f, q, True))
    other = float(stability_by_efron_stein(f, q, False))  # rho_eff = q: the other noise model
    return compare_z("E[f(x)f(y)] (MC with nstheory.noise.resample_tokens, U=3, n=3, q=5/8, "
                     "exclude current, 1e5 samples, seed 31)", m.mean, m.stderr, m.n,
                     "Efron-Stein formula", theory,
                     alternative="the redraw not excluding the current symbol (rho_eff = q "
                     f"instead of (qU-1)/(U-1)): E[f f] = {other:.6g}", effect=theory - other)
