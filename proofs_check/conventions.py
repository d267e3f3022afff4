"""Claims about the toolkit's shared conventions: the noise models."""

from __future__ import annotations

from fractions import Fraction

from nstheory.claims import claim, compare_exact, compare_z
from nstheory.noise import effective_token_correlation, regularizer_keep_prob

c = claim(
    "conventions.token_noise.regularizer_rho_eff",
    "The regularizer's token noise (keep with probability (1+rho)/2, else redraw uniformly "
    "from all U symbols) has effective correlation (1+rho)/2, e.g. 0.625 at rho = 0.25 for any "
    "U; with exclusion of the current symbol it is (qU-1)/(U-1) = 0.62165 at U = 113.",
    latex=r"\rho_{\mathrm{eff}} = q = \tfrac{1+\rho}{2};\quad "
    r"\rho_{\mathrm{eff}}^{\mathrm{excl}} = \tfrac{qU-1}{U-1}",
    provenance="reconstructed:haris2026 §3 (token noise of Def. 6.1)",
)


@c.check("exact-enumeration", name="one_symbol_eigenvalue",
         uses=("inline:markov-matrix-eigenvalue", "nstheory.noise.regularizer_keep_prob",
               "nstheory.noise.effective_token_correlation"))
def _():
    # The noise operator on one symbol is the U x U Markov matrix P; its eigenvalue on the
    # mean-zero function e_0 - 1/U is found by applying P exactly in rationals.
    U, rho = 5, Fraction(1, 4)
    q = (1 + rho) / 2
    vals = []
    for excl in (False, True):
        def P(a, b, excl=excl):
            if excl:
                return q if a == b else (1 - q) / (U - 1)
            return q + (1 - q) / U if a == b else (1 - q) / U
        f = [Fraction(1) - Fraction(1, U) if a == 0 else -Fraction(1, U) for a in range(U)]
        Pf = [sum(P(a, b) * f[b] for b in range(U)) for a in range(U)]
        vals.append(Pf[0] / f[0])
    return compare_exact(
        "eigenvalue of P on mean-zero f (U=5, rho=1/4; no exclusion, exclusion)",
        tuple(vals),
        "formula (q, (qU-1)/(U-1))",
        (
            effective_token_correlation(regularizer_keep_prob(rho), U, False),
            effective_token_correlation(regularizer_keep_prob(rho), U, True),
        ),
    )


@c.check("monte-carlo", name="sampled_correlation",
         uses=("nstheory.noise.resample_tokens", "typed:(qU-1)/(U-1)"))
def _():
    import torch

    from nstheory.noise import resample_tokens
    from nstheory.stats import Moments

    # q = (1 + rho)/2 and rho_eff = (qU - 1)/(U - 1) typed here, not taken from the library's
    # map, so an error in regularizer_keep_prob or effective_token_correlation cannot move the
    # sampler and the theory together (the exact check holds those two to the Markov matrix)
    U, rho, n = 113, 0.25, 1_200_000
    q = (1 + rho) / 2
    g = torch.Generator().manual_seed(1234)
    x = torch.randint(0, U, (n,), generator=g)
    y = resample_tokens(x, q, U, exclude_current=True, generator=g)
    # f(a) = 1[a == 0] - 1/U centred indicator summed over all symbols -> use the estimator
    # E[1[x == y]] = q_agree; correlation = (U * P(x == y) - 1) / (U - 1).
    agree = (x == y).double()
    m = Moments.from_values(agree * U / (U - 1) - 1 / (U - 1))
    theory = (q * U - 1) / (U - 1)
    return compare_z(
        "rho_eff from P[x = y] (token resampling, U=113, rho=0.25, excl.; MC)",
        m.mean, m.stderr, m.n, "(qU-1)/(U-1) exact", theory,
        alternative="no exclusion of the current symbol: rho_eff = q = 0.625",
        effect=float(q) - theory,
    )
