"""Degenerate Monte Carlo cases are stated, not NaN; the library takes the CLI's number forms."""

import math

import torch

from nstheory.montecarlo.comparison import t_interval
from nstheory.montecarlo.variance import relu_map_mc


def test_zero_variance_antithetic_rho_minus_one():
    # ReLU(X) ReLU(-X) = 0 exactly on every draw, plain and antithetic alike
    r = relu_map_mc(-1, 1000, generator=torch.Generator().manual_seed(0), antithetic=True)
    assert r.reduced.mean == 0 and r.reduced.stderr == 0
    assert r.reduced.ci() == (0.0, 0.0)
    assert math.isnan(r.vrf)  # 0 / 0: undefined, and reported as such (JSON null)


def test_one_seed_has_no_interval_instead_of_nan():
    t = t_interval([0.25])
    assert t["mean"] == 0.25 and t["ci95"] is None and "one seed" in t["note"]
    two = t_interval([0.0, 1.0])  # mean 0.5, sd 1/sqrt(2), se 0.5, t_{0.975,1} = 12.7062
    assert math.isclose(two["ci95"][1], 0.5 + 12.706204736 * 0.5, rel_tol=1e-9)


def test_fraction_string_rho_is_the_same_estimate():
    a = relu_map_mc("1/2", 5000, generator=torch.Generator().manual_seed(3))
    b = relu_map_mc(0.5, 5000, generator=torch.Generator().manual_seed(3))
    assert a.reduced.mean == b.reduced.mean
