"""Estimators against exact answers (Boolean Fourier, linear classifiers, ReLU maps)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from nstheory.errors import NSTheoryError
from nstheory.montecarlo.estimators import (
    boolean_sensitivity,
    flip_rate,
    gaussian_stability,
    influence_profile,
    patch_sensitivity,
    token_replacement_sensitivity,
    token_stability,
    tokenwise_sensitivity,
)

torch.set_num_threads(1)


def kappa_relu(r):
    """Independent reference: the ReLU map (arc-cosine kernel of degree 1)."""
    r = np.clip(r, -1, 1)
    return (np.sqrt(1 - r * r) + r * (np.pi - np.arccos(r))) / (2 * np.pi)


def _cube(n):
    return torch.tensor(list(itertools.product([-1.0, 1.0], repeat=n)))


def _total_influence_fourier(values: np.ndarray, n: int) -> float:
    """I[f] = sum_S |S| fhat(S)^2 by a Walsh-Hadamard transform written out in the test."""
    pts = np.array(list(itertools.product([-1, 1], repeat=n)))
    total = 0.0
    for S in itertools.product([0, 1], repeat=n):
        chi = np.prod(np.where(np.array(S, bool), pts, 1), axis=1)
        fhat = float((values * chi).mean())
        total += sum(S) * fhat * fhat
    return total


@pytest.mark.parametrize("name", ["parity", "majority", "dictator", "and"])
def test_boolean_sensitivity_equals_fourier_total_influence(name):
    n = 5
    fns = {
        "parity": lambda b: b.prod(-1),
        "majority": lambda b: torch.sign(b.sum(-1)),
        "dictator": lambda b: b[:, 2],
        "and": lambda b: torch.where((b > 0).all(-1), 1.0, -1.0),
    }
    cube = _cube(n)
    vals = fns[name](cube)
    r = boolean_sensitivity(lambda b: (fns[name](b) > 0).long(), cube)
    exact = _total_influence_fourier(vals.numpy(), n)
    assert r.meta["as"] == pytest.approx(exact, abs=1e-12)
    assert r.rate == pytest.approx(exact / n, abs=1e-12)
    if name == "majority":  # O'Donnell: as(Maj_5) = 5 C(4,2) / 2^4 = 1.875
        assert exact == pytest.approx(1.875)


def test_boolean_sensitivity_sampled_interval_covers_exact():
    n = 9
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 2, (4000, n), generator=g).float() * 2 - 1
    r = boolean_sensitivity(lambda b: (b.sum(-1) > 0).long(), x)
    exact = n * math.comb(n - 1, (n - 1) // 2) / 2 ** (n - 1) / n  # as(Maj_9)/9
    lo, hi = r.overall.ci
    # per-input flips over the n bits are dependent, so widen by sqrt(n) (design effect bound)
    half = (hi - lo) / 2 * math.sqrt(n)
    assert abs(r.rate - exact) < half


def _linear_tokens(B=300, n=4, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, n, d, generator=g, dtype=torch.float64)
    w = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.tensor([[0.2], [1], [2], [0.5]],
                                                                           dtype=torch.float64)
    b = 0.3
    return x, w, b


def test_tokenwise_flip_probability_matches_linear_closed_form():
    x, w, b = _linear_tokens()
    sigma, reps = 0.7, 40

    def predict(t):
        m = (t * w).sum((1, 2)) + b
        return (m > 0).long()

    r = tokenwise_sensitivity(predict, x, sigma, reps=reps,
                              generator=torch.Generator().manual_seed(1))
    margin = ((x * w).sum((1, 2)) + b).numpy()
    wn = w.norm(dim=1).numpy()
    p = norm.cdf(-np.abs(margin)[:, None] / (sigma * wn[None, :]))  # (B, n)
    for i in range(4):
        pi, ki, ni = p[:, i].mean(), r.per_position[i].k, r.per_position[i].n
        assert abs(ki / ni - pi) < 4 * math.sqrt(pi * (1 - pi) / ni) + 1e-12
    pbar = p.mean()
    n = r.overall.n
    assert abs(r.rate - pbar) < 4 * math.sqrt(pbar * (1 - pbar) / n)


def test_tokenwise_right_alignment_and_ignored_tokens():
    x = torch.zeros(6, 5, 2)
    lengths = torch.tensor([5, 3, 2, 5, 4, 1])

    def predict(t):  # depends only on the last real token of each sequence
        idx = (lengths - 1).clamp(min=0)
        return (t[torch.arange(t.shape[0]), idx[: t.shape[0]], 0] > 0).long()

    r = tokenwise_sensitivity(predict, x, 1.0, reps=30, lengths=lengths,
                              generator=torch.Generator().manual_seed(0))
    prof = r.profile
    assert prof[:-1] == [0.0] * 4  # only the final (right-aligned) slot ever flips
    assert 0.3 < prof[-1] < 0.7
    assert r.per_position[0].n == 2 * 30  # two sequences have length 5
    assert r.overall.n == int(lengths.sum()) * 30  # length-weighted average


def test_patch_exact_matches_linear_closed_form():
    g = torch.Generator().manual_seed(4)
    imgs = torch.randn(200, 2, 4, 4, generator=g, dtype=torch.float64)
    w = torch.randn(2, 4, 4, generator=g, dtype=torch.float64)
    sigma, reps = 0.8, 20

    def predict(b):
        return ((b * w).sum((1, 2, 3)) > 0).long()

    r = patch_sensitivity(predict, imgs, sigma, patch=2, variant="exact", reps=reps, generator=g)
    margin = (imgs * w).sum((1, 2, 3)).abs().numpy()
    blocks = [(i, j) for i in (0, 2) for j in (0, 2)]
    p = []
    for i, j in blocks:
        wn = float(w[:, i:i + 2, j:j + 2].norm())
        p.append(norm.cdf(-margin / (sigma * wn)).mean())
    pbar = float(np.mean(p))
    assert r.variant == "exact" and "exact average" in r.overall.what
    assert abs(r.rate - pbar) < 4 * math.sqrt(pbar * (1 - pbar) / r.overall.n)


def test_patch_scattered_matches_distinct_pixel_count_distribution():
    # uniform weights on a 4x4 one-channel image, patch=2: 4 (r, c) draws with replacement;
    # the flip probability depends on the number D of distinct pixels hit: exact law of D by
    # enumerating all 16^4 draws.
    g = torch.Generator().manual_seed(5)
    imgs = torch.randn(300, 1, 4, 4, generator=g, dtype=torch.float64)
    sigma = 0.5

    def predict(b):
        return (b.sum((1, 2, 3)) > 0).long()

    r = patch_sensitivity(predict, imgs, sigma, patch=2, variant="scattered", reps=60, generator=g)
    combos = np.array(list(itertools.product(range(16), repeat=4)))
    distinct = np.array([len(set(c)) for c in combos])
    margin = imgs.sum((1, 2, 3)).abs().numpy()
    pbar = float(np.mean([norm.cdf(-margin / (sigma * math.sqrt(D))).mean() for D in distinct]))
    assert r.variant == "scattered" and "scattered" in r.overall.what
    # one pixel set per (batch, rep): dependence across the batch -> 60 independent masks;
    # tolerance from the spread of the conditional flip probability over D
    pD = {D: norm.cdf(-margin / (sigma * math.sqrt(D))).mean() for D in range(1, 5)}
    spread = float(np.std([pD[D] for D in distinct]))
    tol = 4 * (spread / math.sqrt(60) + math.sqrt(pbar * (1 - pbar) / r.overall.n))
    assert abs(r.rate - pbar) < tol


def test_relu_layer_gaussian_stability_all_views():
    rho, d = 0.6, 8
    r = gaussian_stability(torch.relu, (d,), rho, 60_000,
                           generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    k = float(kappa_relu(rho))
    assert abs(r.raw.z(d * k)) < 4
    assert abs(r.centred.z(d * (k - 1 / (2 * math.pi)))) < 4
    cmap = (k - 1 / (2 * math.pi)) / (0.5 - 1 / (2 * math.pi))
    assert abs(r.normalised.z(cmap)) < 4
    assert r.raw.view == "raw" and r.centred.view == "centred"


def test_gaussian_stability_rho_edges():
    g = torch.Generator().manual_seed(0)
    r1 = gaussian_stability(torch.relu, (3,), 1.0, 2000, generator=g, dtype=torch.float64)
    assert r1.normalised.mean == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(NSTheoryError):
        gaussian_stability(torch.relu, (3,), 1.5, 100)


@pytest.mark.parametrize("excl", [False, True])
def test_token_stability_effective_correlation(excl):
    U, q = 5, 0.7
    g = torch.Generator().manual_seed(7)
    t = torch.randint(0, U, (30_000, 1), generator=g)

    def onehot(b):
        return torch.nn.functional.one_hot(b[:, 0], U).double()

    r = token_stability(onehot, t, q, U, exclude_current=excl, generator=g)
    rho_eff = q if not excl else (q * U - 1) / (U - 1)
    assert r.meta["rho_eff"] == pytest.approx(rho_eff)
    assert abs(r.normalised.z(rho_eff)) < 4


def test_token_replacement_always_changes_token():
    t = torch.randint(0, 3, (50, 4), generator=torch.Generator().manual_seed(0))
    r = token_replacement_sensitivity(lambda b: b[:, 1], t, vocab=3, reps=3)
    assert r.profile == [0.0, 1.0, 0.0, 0.0]


def test_influence_finite_difference_agrees_with_gradient():
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 16), torch.nn.Tanh(),
                              torch.nn.Linear(16, 3)).double()
    x = torch.randn(64, 4, 3, generator=g, dtype=torch.float64)
    grad = influence_profile(net, x, "gradient")
    fd = influence_profile(net, x, "finite-difference", sigma=1e-4, reps=200, generator=g)
    for a, b in zip(grad, fd, strict=True):
        assert b == pytest.approx(a, rel=0.2)  # FD is itself a 200-draw MC average


def test_flip_rate_batching_is_invisible():
    x = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))

    def pert(b, gen):
        return b + torch.randn(b.shape, generator=gen)

    def pred(b):
        return (b[:, 0] > 0).long()

    a = flip_rate(pred, x, pert, reps=3, generator=torch.Generator().manual_seed(9))
    c = flip_rate(pred, x, pert, reps=3, generator=torch.Generator().manual_seed(9), batch_size=100)
    assert (a.k, a.n) == (c.k, c.n) and a.n == 300
    lo, hi = a.ci
    assert lo <= a.rate <= hi


def test_bad_inputs_raise():
    with pytest.raises(NSTheoryError):
        tokenwise_sensitivity(lambda b: b, torch.zeros(3, 4), 1.0)
    with pytest.raises(NSTheoryError):
        patch_sensitivity(lambda b: b, torch.zeros(1, 1, 5, 5), 1.0, patch=2)
    with pytest.raises(NSTheoryError):
        patch_sensitivity(lambda b: b, torch.zeros(1, 1, 4, 4), 1.0, variant="contiguous")
    with pytest.raises(NSTheoryError):
        influence_profile(lambda b: b, torch.zeros(2, 2, 2), method="hessian")


def test_gaussian_stability_refuses_outputs_that_would_not_fit():
    # every pair's outputs are kept (the centred view needs the means first): 3e6 pairs of 100
    # outputs are 4.8 GB; refused after the first batch, not after filling the memory
    import torch

    from nstheory.errors import NSTheoryError
    from nstheory.montecarlo.estimators import gaussian_stability

    def f(x):
        return x.repeat(1, 25)  # (batch, 100)

    with pytest.raises(NSTheoryError, match="use at most 2684354 pairs"):
        gaussian_stability(f, (4,), 0.5, 3_000_000, generator=torch.Generator().manual_seed(0),
                           batch_size=1024)


def test_gaussian_stability_refuses_non_finite_outputs():
    # a model returning NaN printed "nan ± nan" and a note about zero variance
    import torch

    from nstheory.errors import NSTheoryError
    from nstheory.montecarlo.estimators import gaussian_stability

    with pytest.raises(NSTheoryError, match="non-finite outputs"):
        gaussian_stability(lambda x: x / 0.0 * 0.0, (4,), 0.5, 100,
                           generator=torch.Generator().manual_seed(0))
