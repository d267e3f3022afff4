"""The low-rank-W finite-d Stab by the conditional quasi-Monte Carlo route, against routes that
share none of its code (the library's torch Monte Carlo, a numpy Monte Carlo of the pattern
overlap written here), its exact special cases and the command line; and the refusals that keep
the finite-d routes from returning nonsense for near-hard logits."""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest

from nstheory.attention.montecarlo import attention_stability_mc
from nstheory.attention.random_finite_d import lowrank_query_geometry, stab_lowrank_finite_d
from nstheory.attention.softmax_conditional import (
    conditional_output_products,
    query_data,
    sampled_output_products,
)
from nstheory.errors import NSTheoryError


def test_one_token_and_independent_copies_are_exact():
    assert stab_lowrank_finite_d(1, 5, -0.4, 2, points=16, replicates=2).value == -0.4
    # rho = 0: f is odd in X, so E[f(X) f(Y)] = E[f(X)] E[f(Y)] = 0 (each conditional value is
    # not: the zero comes from the outer average); s.e. ~6e-4 here, fixed tolerance 3e-3, a
    # hundredth of the rho = 0.5 value
    r = stab_lowrank_finite_d(3, 4, 0.0, 2, points=1024, replicates=4)
    assert abs(r.value) < 3e-3


def test_matches_the_library_monte_carlo_rank2():
    # the torch Monte Carlo draws the dense d x k factor U (none of this route's algebra);
    # conditional s.e. ~1.3e-3, MC ~1.9e-3 at 200k: fixed tolerance 0.012. The alternatives it
    # must reject lie > 2 tolerances away: rank 1 (0.2817), i.i.d. W (0.2571), identity W (0.4015)
    r = stab_lowrank_finite_d(3, 4, 0.5, 2, points=512, replicates=8)
    est = attention_stability_mc(3, 4, 0.5, "lowrank", rank=2, samples=200_000, seed=3,
                                 device="cpu")
    assert abs(r.value - est.stab.mean) < 0.012
    for alternative in (0.2817, 0.2571, 0.4015):
        assert abs(r.value - alternative) > 0.024


def test_overlap_against_a_direct_monte_carlo():
    # two tokens, identity W at d = 2: the query pair p = (1.2, 0), p' = (0.7, 0.9), the other
    # token x ~ N(0, I), y = rho x + sigma z; overlap = a_self b_self + a_other b_other
    rho, t = 0.6, 0.8
    p, pp = np.array([[1.2, 0.0]]), np.array([[0.7, 0.9]])
    geo = query_data(p, pp, p, pp)
    _, ov = conditional_output_products(2, 2, rho, t, overlap=True, **geo)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((400_000, 2))
    y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal((400_000, 2))
    a_other = 1 / (1 + np.exp(t * (p[0] @ p[0] - x @ p[0])))
    b_other = 1 / (1 + np.exp(t * (pp[0] @ pp[0] - y @ pp[0])))
    direct = (1 - a_other) * (1 - b_other) + a_other * b_other
    se = direct.std() / math.sqrt(direct.size)  # ~3e-4
    # fixed tolerance 2e-3; the product of the mean weights (no correlation) is 0.01 away
    assert abs(float(ov[0]) - direct.mean()) < 2e-3
    indep = (1 - a_other.mean()) * (1 - b_other.mean()) + a_other.mean() * b_other.mean()
    assert abs(indep - direct.mean()) > 5e-3 and se < 5e-4


def test_geometry_rank_one():
    # u = (1/2, 1/2, 1/2): the chi^2_4 median for M, p = p' = 0 (rho = 0, z = 0)
    geo = lowrank_query_geometry(0.0, np.full((1, 3), 0.5), 4, 1)
    assert all(float(geo[k][0]) == 0.0 for k in ("r1", "off_x", "xy"))


@pytest.mark.parametrize("kw", [dict(rank=0), dict(rank=5), dict(points=100),
                                dict(replicates=1), dict(d=4096, rank=1)])
def test_bad_input_is_refused(kw):
    args = dict(n=4, d=4, rho=0.5, rank=2, points=16, replicates=2) | kw
    with pytest.raises(NSTheoryError):
        stab_lowrank_finite_d(args.pop("n"), args.pop("d"), args.pop("rho"), args.pop("rank"),
                              **args)


def test_sampled_fallback_matches_the_laplace_route():
    # the two conditional expectations by the Laplace-factorised quadrature and by sampling
    # the other tokens (code that shares nothing but the query data), for random logit
    # vectors at several (n, d): 200k draws give s.e. ~2e-3 on the products, ~4e-4 on the
    # overlap; fixed tolerances 0.015 and 3e-3
    rng = np.random.default_rng(0)
    for n, d, rho, t in [(3, 4, 0.5, 0.5), (4, 1, 0.6, 0.7), (5, 2, -0.3, 0.9), (2, 6, 0.8, 0.3)]:
        p = rng.standard_normal((3, d))
        pp = rho * p + math.sqrt(1 - rho * rho) * rng.standard_normal((3, d))
        W = rng.standard_normal((d, d))
        geo = query_data(p, pp, p @ W, pp @ W)
        prod, over = conditional_output_products(n, d, rho, t, overlap=True, inner_nodes=48,
                                                 h=0.3, **geo)
        s_prod, s_over = sampled_output_products(n, d, rho, t, np.random.default_rng(1),
                                                 200_000, **geo)
        assert np.max(np.abs(prod - s_prod)) < 0.015
        assert np.max(np.abs(over - s_over)) < 3e-3


def test_near_hard_tail_points_are_sampled():
    # unscaled logits at d = 8, rank 2: some Wishart tail points would need a Laplace grid
    # below the range where the weight cap is exact; their other tokens are sampled instead.
    # Against the torch Monte Carlo (s.e. ~2.2e-3 at 200k; conditional ~2e-3): tolerance 0.015
    r = stab_lowrank_finite_d(4, 8, 0.5, 2, "none", points=128, replicates=4)
    assert r.params["sampled_points"] > 0
    est = attention_stability_mc(4, 8, 0.5, "lowrank", rank=2, scale="none", samples=200_000,
                                 seed=4, device="cpu")
    assert abs(r.value - est.stab.mean) < 0.015


def test_identity_route_refuses_strong_numeric_scales():
    from nstheory.attention.identity_finite_d import (
        self_weight_identity_finite_d,
        stab_identity_finite_d,
    )

    for scale in (1.5, 16.0):
        with pytest.raises(NSTheoryError, match="logit scale"):
            stab_identity_finite_d(4, 1, 0.5, scale=scale)
        with pytest.raises(NSTheoryError, match="logit scale"):
            self_weight_identity_finite_d(4, 2, scale=scale)


def _cli(*extra):
    from nstheory.cli import main

    buf = io.StringIO()
    argv = ["attention", "stab", "--n", "3", "--d", "4", "--rho", "0.5", "--mode", "lowrank",
            "--samples", "2000", "--device", "cpu", "--cq-points", "16", "--cq-replicates", "2",
            *extra]
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    return code, buf.getvalue()


def test_cli_prints_the_lowrank_conditional_value():
    code, text = _cli("--rank", "2", "--json")
    assert code == 0
    out = json.loads(text)
    ref = stab_lowrank_finite_d(3, 4, 0.5, 2, points=16, replicates=2)
    assert out["conditional"]["value"] == pytest.approx(ref.value, abs=1e-15)
    assert "low-rank W = U U^T (rank 2" in out["conditional"]["route"]
    code, text = _cli("--rank", "2")
    assert code == 0 and "low-rank W of rank 2" in text and f"{ref.value:.6g}" in text


def test_cli_lowrank_needs_a_rank_and_says_why_the_route_is_skipped():
    assert _cli()[0] == 2
    code, text = _cli("--d", "64", "--rank", "1", "--scale", "none", "--json")
    out = json.loads(text)
    assert code == 0 and out["conditional"] is None
    assert "logit spread" in out["deterministic_unavailable"]
