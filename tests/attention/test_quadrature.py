"""The Bartlett (Wishart) quadrature of random-W hard-argmax attention, n = 2, any d >= 4."""

import math

import numpy as np
import pytest

from nstheory.attention.quadrature import (
    chi2_gauss_rule,
    extrapolate_in_inverse_d,
    stab_random_hard_n2,
)
from nstheory.errors import NSTheoryError


@pytest.mark.parametrize("k", [4, 37, 4095])
def test_chi2_rule_reproduces_raw_moments(k):
    x, w = chi2_gauss_rule(4, k)
    assert abs(w.sum() - 1) < 1e-13
    for j in range(8):  # exact for degree < 2 * nodes; E[chi2_k^j] = k (k+2) ... (k+2j-2)
        exact = math.prod(k + 2 * i for i in range(j))
        assert abs(float(w @ x**j) / exact - 1) < 1e-11


def test_matches_hard_argmax_monte_carlo_at_d8():
    import torch

    from nstheory.attention.montecarlo import attention_stability_mc

    torch.set_num_threads(1)
    q = stab_random_hard_n2(0.5, 8, nodes=5)
    est = attention_stability_mc(2, 8, 0.5, "random", samples=300_000, seed=123, hard=True,
                                 scale="none", device="cpu", show_progress=False)
    assert abs(est.stab.mean - q) <= 4 * est.stab.stderr
    # and the finite-d value is well away from the d -> infinity formula
    assert q - 0.5 * (0.5 + math.asin(0.25) / math.pi) > 0.02


def test_exact_endpoints_and_odd_symmetry():
    assert abs(stab_random_hard_n2(1.0, 16) - 1.0) < 1e-12  # Y = X: E[x_k*^2] = 1
    assert abs(stab_random_hard_n2(0.0, 16)) < 1e-12  # independent, f odd in X
    assert abs(stab_random_hard_n2(-0.3, 32) + stab_random_hard_n2(0.3, 32)) < 1e-12


def test_node_convergence_and_the_one_over_d_gap():
    lim = 0.5 * (0.5 + math.asin(0.25) / math.pi)
    a, b = stab_random_hard_n2(0.5, 64, nodes=4), stab_random_hard_n2(0.5, 64, nodes=5)
    assert abs(a - b) < 1e-7  # measured 3.5e-8; 1.6e-10 at d = 256
    gaps = [stab_random_hard_n2(0.5, d) - lim for d in (128, 512)]
    assert gaps[0] > gaps[1] > 0
    assert abs(128 * gaps[0] / (512 * gaps[1]) - 1) < 0.01


def test_extrapolation_recovers_a_rational_function_limit():
    ds = [100, 200, 400, 800, 1600]
    vals = [2 + 1 / (d + 3) for d in ds]  # not a polynomial in 1/d
    v, err = extrapolate_in_inverse_d(ds, vals)
    assert abs(v - 2) < 1e-10 and err < 1e-9


def test_bad_input():
    with pytest.raises(NSTheoryError):
        stab_random_hard_n2(0.5, 3)
    with pytest.raises(NSTheoryError):
        stab_random_hard_n2(1.5, 16)
    with pytest.raises(NSTheoryError):
        chi2_gauss_rule(3, -1)
    with pytest.raises(NSTheoryError):
        extrapolate_in_inverse_d([10], [1.0])
    assert np.isfinite(stab_random_hard_n2(0.5, 4))
