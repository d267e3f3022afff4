"""Claims about the Monte Carlo estimators (nstheory.montecarlo): each estimator against an
exact answer computed by an independent route."""

from __future__ import annotations

import itertools
import math

from nstheory.claims import claim, compare_digits, compare_exact, compare_holds, compare_z


def _kappa(r: float) -> float:
    """ReLU map (arc-cosine kernel, degree 1) -- the independent closed form."""
    return (math.sqrt(max(0.0, 1 - r * r)) + r * (math.pi - math.acos(r))) / (2 * math.pi)


# --------------------------------------------------------------------------- ReLU map

c = claim(
    "montecarlo.relu_map.mc_matches_kappa",
    "The Monte Carlo estimate of the raw ReLU map E[ReLU(X)ReLU(Y)] at rho = 0.5 (plain, and "
    "with antithetic pairs + a degree-4 Hermite control variate) agrees with "
    "kappa(rho) = (sqrt(1-rho^2) + rho(pi - arccos rho)) / (2 pi).",
    latex=r"\mathbb{E}[\mathrm{ReLU}(X)\mathrm{ReLU}(Y)] = "
    r"\frac{\sqrt{1-\rho^2} + \rho(\pi - \arccos\rho)}{2\pi}",
    provenance="textbook:Cho & Saul 2009 arc-cosine kernel; DESIGN.md §3",
)


@c.check("monte-carlo", name="plain_and_reduced_z")
def _():
    import torch

    from nstheory.montecarlo.variance import relu_map_mc

    r = relu_map_mc(0.5, 1 << 20, generator=torch.Generator().manual_seed(2026), antithetic=True,
                    cv_degree=4)
    if abs(r.plain.z(_kappa(0.5))) > 4:
        return compare_holds(False, [("plain MC z vs kappa(0.5)", r.plain.z(_kappa(0.5)))],
                             tolerance="|z| <= 4")
    return compare_z("MC raw ReLU map, antithetic + Hermite-4 CV, rho=0.5, seed 2026",
                    r.reduced.mean, r.reduced.stderr, r.reduced.n,
                    "kappa(0.5) closed form", _kappa(0.5),
                    note=f"plain estimator on the same draws: z = {r.plain.z(_kappa(0.5)):.2f}; "
                         f"VRF {r.vrf:.1f}")


@c.check("precise", name="mehler_series")
def _():
    from nstheory.montecarlo.variance import truncation_stability

    # sum_k c_k^2 rho^k over the Hermite coefficients used by the control variate converges
    # to kappa: the CV's closed-form mean is consistent with the map it corrects
    return compare_digits("Mehler series sum_{k<=400} c_k^2 0.5^k (the CV's coefficients)",
                          truncation_stability(400, 0.5), "kappa(0.5) closed form", _kappa(0.5),
                          min_digits=12)


c = claim(
    "montecarlo.relu_mlp.control_variate",
    "For a bias-free ReLU MLP f(x) = v.ReLU(Wx) (d=32, width 64) at rho = 0.5, the degree-4 "
    "Hermite control variate (the closed-form part of each unit) keeps the estimator unbiased "
    "for the exact arc-cosine-kernel stability and reduces the variance per draw >= 10x.",
    latex=r"\mathrm{Stab}_\rho(f) = \sum_{j,l} v_j v_l \|w_j\|\|w_l\|\,"
    r"\kappa(\rho\cos\theta_{jl})",
    provenance="new",
    fast=False,
)


def _mlp():
    import torch

    g = torch.Generator().manual_seed(1)
    W = torch.randn(64, 32, generator=g, dtype=torch.float64)
    v = torch.randn(64, generator=g, dtype=torch.float64) / 8
    return W, v


def _mlp_exact(W, v, rho):
    import numpy as np

    Wn, vn = W.numpy(), v.numpy()
    nr = np.linalg.norm(Wn, axis=1)
    cos = np.clip((Wn @ Wn.T) / np.outer(nr, nr), -1, 1)
    k = np.vectorize(_kappa)(rho * cos)
    a = vn * nr
    return float(a @ k @ a)


@c.check("monte-carlo", name="unbiased_and_vrf")
def _():
    import torch

    from nstheory.montecarlo.variance import relu_mlp_stability

    W, v = _mlp()
    r = relu_mlp_stability(W, v, 0.5, 20_000, generator=torch.Generator().manual_seed(7))
    exact = _mlp_exact(W, v, 0.5)
    z = r.reduced.z(exact)
    return compare_holds(
        abs(z) <= 4 and r.vrf >= 10,
        [("MC Stab (CV degree 4), 20000 draws", f"{r.reduced.mean:.6g} ± {r.reduced.stderr:.2g}"),
         ("exact arc-cosine-kernel Stab", exact), ("z", f"{z:.2f}"),
         ("VRF per draw (same draws)", f"{r.vrf:.1f}")],
        tolerance="|z| <= 4 and VRF >= 10",
    )


@c.check("precise", name="cv_mean_vs_kernel")
def _():
    from nstheory.montecarlo.variance import relu_mlp_cv_mean

    W, v = _mlp()
    return compare_digits("CV closed form with degree 300 (Mehler, all unit pairs)",
                          relu_mlp_cv_mean(W, v, 0.5, 300), "arc-cosine kernel Stab",
                          _mlp_exact(W, v, 0.5), min_digits=10)


# --------------------------------------------------------------------------- flip rates

c = claim(
    "montecarlo.tokenwise.linear_flip_closed_form",
    "For a linear classifier sign(sum_i w_i.x_i + b), N(0, sigma^2 I) noise on token i flips "
    "the prediction with probability Phi(-|m(X)| / (sigma ||w_i||)); the token-wise "
    "sensitivity estimator reproduces E_X mean_i of it.",
    latex=r"\Pr[\text{flip}_i] = \Phi\!\left(-\frac{|m(X)|}{\sigma\|w_i\|}\right)",
    provenance="reconstructed:vasudeva2025 §5a item 5",
)


def _linear_setup():
    import torch

    g = torch.Generator().manual_seed(3)
    x = torch.randn(200, 4, 3, generator=g, dtype=torch.float64)
    w = torch.randn(4, 3, generator=g, dtype=torch.float64)
    w[0] *= 0.2
    w[2] *= 2
    return x, w, 0.3, 0.7


@c.check("monte-carlo", name="estimator_vs_closed_form")
def _():
    import torch
    from scipy.stats import norm

    from nstheory.montecarlo.estimators import tokenwise_sensitivity

    x, w, b, sigma = _linear_setup()
    r = tokenwise_sensitivity(lambda t: ((t * w).sum((1, 2)) + b > 0).long(), x, sigma, reps=25,
                              generator=torch.Generator().manual_seed(4))
    m = ((x * w).sum((1, 2)) + b).abs().numpy()
    p = norm.cdf(-m[:, None] / (sigma * w.norm(dim=1).numpy()[None, :]))
    pbar = float(p.mean())
    # conditional on X the flips are independent Bernoulli(p_xi): binomial stderr bound
    se = math.sqrt(pbar * (1 - pbar) / r.overall.n)
    return compare_z("token-wise flip rate (exact positions, 25 draws, 200 inputs)", r.rate, se,
                     r.overall.n, "E_X mean_i Phi(-|m|/(sigma||w_i||))", pbar,
                     note=f"per-position rates {[round(v, 4) for v in r.profile]}")


@c.check("precise", name="quadrature_of_flip_probability")
def _():
    import mpmath

    # one margin, one token: Pr[m + sigma ||w|| Z < 0] by integrating the normal density over
    # the flipping half-line vs the closed form Phi(-|m| / (sigma ||w||))
    m, s = mpmath.mpf("0.83"), mpmath.mpf("0.7") * mpmath.mpf("1.9")
    with mpmath.workdps(40):
        quad = mpmath.quad(lambda z: mpmath.npdf(z), [-mpmath.inf, -m / s])
        closed = mpmath.ncdf(-abs(m) / s)
        return compare_digits("quadrature of N(0,1) density over z < -m/(sigma|w|)", quad,
                              "Phi(-|m|/(sigma|w|))", closed, min_digits=30)


c = claim(
    "montecarlo.boolean.bitflip_equals_total_influence",
    "The bit-flip sensitivity estimator over the whole cube equals the total influence "
    "I[f] = sum_S |S| fhat(S)^2 (exact), e.g. as(Maj_5) = 15/8; sampled inputs give an "
    "interval containing as(Maj_9)/9.",
    latex=r"\mathrm{as}(f) = \sum_S |S|\,\hat f(S)^2",
    provenance="textbook:O'Donnell 2014 §2.3 (total influence)",
    fast=False,
)


def _maj_cube(n):
    import torch

    cube = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=n)))
    return cube, torch.sign(cube.sum(-1))


@c.check("exact-enumeration", name="fourier_vs_estimator")
def _():
    from fractions import Fraction

    from nstheory.montecarlo.estimators import boolean_sensitivity

    n = 5
    cube, vals = _maj_cube(n)
    r = boolean_sensitivity(lambda b: (b.sum(-1) > 0).long(), cube)
    total = Fraction(0)
    pts = cube.long().tolist()
    fv = vals.long().tolist()
    for S in itertools.product([0, 1], repeat=n):
        fhat = Fraction(sum(f * math.prod(p[i] for i in range(n) if S[i])
                            for p, f in zip(pts, fv, strict=True)), 2**n)
        total += sum(S) * fhat * fhat
    flips = sum(p.k for p in r.per_position)
    return compare_exact("estimator: flips / 2^n over the cube (Maj_5)", Fraction(flips, 2**n),
                         "sum_S |S| fhat(S)^2 by exact Walsh transform", total,
                         note=f"= {float(total)}; textbook 5 C(4,2)/2^4 = 15/8")


@c.check("monte-carlo", name="sampled_maj9")
def _():
    import torch

    from nstheory.montecarlo.estimators import boolean_sensitivity

    n = 9
    x = torch.randint(0, 2, (20000, n), generator=torch.Generator().manual_seed(5)).float() * 2 - 1
    from nstheory.stats import Moments

    def maj(b):
        return (b.sum(-1) > 0).long()

    r = boolean_sensitivity(maj, x)
    # flips are independent across inputs (not across the bits of one input): stderr from
    # the per-input flip fractions
    per_input = torch.zeros(x.shape[0], dtype=torch.float64)
    for i in range(n):
        y = x.clone()
        y[:, i] = -y[:, i]
        per_input += (maj(y) != maj(x)).double() / n
    mom = Moments.from_values(per_input)
    exact = math.comb(n - 1, (n - 1) // 2) / 2 ** (n - 1)  # as(Maj_9)/9
    return compare_z("sampled as/n (20000 inputs, Maj_9, bit-flip estimator)", r.rate,
                     mom.stderr, mom.n, "as(Maj_9)/9 = C(8,4)/2^8", exact,
                     note=f"per-input mean {mom.mean:.6g} equals the estimator's rate")
