"""The random-W finite-d Stab by the conditional quasi-Monte Carlo route, against routes that
share none of its code: the deterministic tensor Gauss-Hermite rule for n = 2, d = 1 and the
library's torch Monte Carlo; the exact special cases; the command line."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from nstheory.attention.montecarlo import attention_stability_mc
from nstheory.attention.quadrature import stab_random_d1_n2
from nstheory.attention.random_finite_d import random_query_geometry, stab_random_finite_d
from nstheory.errors import NSTheoryError


def test_one_token_is_exact():
    assert stab_random_finite_d(1, 5, -0.4, points=16, replicates=2).value == -0.4
    assert stab_random_finite_d(1, 5, 0.5, v_norm=2.0, points=16, replicates=2).value == 2.0


def test_matches_the_deterministic_tensor_rule_n2_d1():
    # the tensor rule (32^5 Gauss-Hermite nodes, error ~1e-3) is independent of this route;
    # the alternatives it must tell apart, rho s_2(rho^2) = 0.2902 (the d -> infinity value) and
    # the identity-W value 0.4767, lie > 0.04 away: a fixed tolerance of 6e-3
    r = stab_random_finite_d(2, 1, 0.5, "none", points=1024, replicates=8)
    assert abs(r.value - stab_random_d1_n2(0.5, 32)) < 6e-3
    assert r.stderr < 2e-3


def test_matches_the_library_monte_carlo_n2_d2():
    # MC s.e. ~1.8e-3 at 200k samples; fixed tolerance 0.01 against the d -> infinity value
    # rho s_2(0.25) = 0.2902, which is 0.034 below
    r = stab_random_finite_d(2, 2, 0.5, points=512, replicates=8)
    est = attention_stability_mc(2, 2, 0.5, "random", samples=200_000, seed=3, device="cpu")
    assert abs(r.value - est.stab.mean) < 0.01
    assert abs(r.value - 0.2902) > 0.02


def test_value_scales_with_v_norm_and_seed_reproduces():
    a = stab_random_finite_d(3, 4, 0.7, points=64, replicates=2, seed=5)
    b = stab_random_finite_d(3, 4, 0.7, points=64, replicates=2, seed=5, v_norm=2.0)
    assert b.value == pytest.approx(4 * a.value, rel=1e-13)
    assert stab_random_finite_d(3, 4, 0.7, points=64, replicates=2, seed=5).value == a.value


def test_geometry_is_rotation_consistent():
    # p = 2 f_1, p' = 1.6 f_1 + 0.8 f_2 (rho = 0.6, g = 0.5, r2 = 1); xi_1 = f_2, xi_2 = f_1:
    # q = W^T p = 2 f_2, q' = 1.6 f_2 + 0.8 f_1, so |q| = 2, q'.e_1 = 1.6, q'.e_2 = 0.8 and the
    # query's own logits / t are p.q = 0 and p'.q' = 2 * 1.6 * 0.8
    one = np.ones(1)
    a = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    geo = random_query_geometry(0.6, 2 * one, 0.5 * one, one, a, np.zeros((1, 3)))
    got = {k: float(v[0]) for k, v in geo.items()}
    assert got["r1"] == pytest.approx(2.0) and got["pi1"] == pytest.approx(1.6)
    assert got["pi2"] == pytest.approx(0.8)
    assert got["off_x"] == pytest.approx(0.0) and got["off_y"] == pytest.approx(2.56)
    assert (got["p1"], got["p2"]) == pytest.approx((0.0, 2.0))  # p along e_1 = f_2, e_2 = -f_1
    assert abs(got["q1"]) == pytest.approx(0.8) and got["xy"] == pytest.approx(3.2)


@pytest.mark.parametrize("kw", [dict(points=100), dict(points=8), dict(replicates=1),
                                dict(inner_nodes=4), dict(h=0.0), dict(h="x"), dict(n=0),
                                dict(d=0), dict(rho=1.5), dict(scale="cube"),
                                dict(d=32, scale="none"), dict(d=4096)])
def test_bad_input_is_refused(kw):
    args = dict(n=4, d=16, rho=0.5, points=16, replicates=2) | kw
    with pytest.raises(NSTheoryError):
        stab_random_finite_d(args.pop("n"), args.pop("d"), args.pop("rho"), **args)


def test_cli_prints_the_conditional_value():
    from nstheory.cli import main

    def run(*extra):
        buf = io.StringIO()
        argv = ["attention", "stab", "--n", "3", "--d", "4", "--rho", "0.5", "--mode", "random",
                "--samples", "2000", "--device", "cpu", "--cq-points", "16",
                "--cq-replicates", "2", *extra]
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            assert main(argv) == 0
        return buf.getvalue()

    out = json.loads(run("--json"))
    cond = out["conditional"]
    ref = stab_random_finite_d(3, 4, 0.5, points=16, replicates=2)
    assert cond["value"] == pytest.approx(ref.value, abs=1e-15)
    assert cond["stderr"] == pytest.approx(ref.stderr, abs=1e-15)
    se = (out["stab"]["stderr"] ** 2 + ref.stderr ** 2) ** 0.5
    assert cond["z_mc"] == pytest.approx((out["stab"]["mean"] - ref.value) / se)
    assert out["deterministic"] is None
    assert json.loads(run("--json", "--hard"))["conditional"] is None
    text = run()
    assert f"{ref.value:.6g}" in text and "standard error over scramblings" in text


def test_cli_refuses_bad_conditional_options_before_sampling():
    from nstheory.cli import main

    for extra in (["--cq-points", "100"], ["--cq-replicates", "1"], ["--cq-points", "-1"]):
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            assert main(["attention", "stab", "--n", "3", "--d", "4", "--rho", "0.5", "--mode",
                         "random", *extra]) == 2


def test_cli_skips_the_route_for_near_hard_logits():
    from nstheory.cli import main

    buf = io.StringIO()
    argv = ["attention", "stab", "--n", "4", "--d", "32", "--rho", "0.5", "--mode", "random",
            "--scale", "none", "--samples", "500", "--device", "cpu", "--json"]
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        assert main(argv) == 0
    out = json.loads(buf.getvalue())
    assert out["conditional"] is None and "logit spread" in out["deterministic_unavailable"]


def test_different_seeds_share_no_scrambling():
    # with scramblings seeded seed + rep, seeds 0 and 1 shared seven of eight replicate values;
    # now every replicate of one seed differs from every replicate of the other, and a run is
    # reproducible at its own seed
    from nstheory.attention.random_finite_d import stab_random_finite_d

    a = stab_random_finite_d(4, 16, 0.5, points=16, replicates=4, seed=0)
    b = stab_random_finite_d(4, 16, 0.5, points=16, replicates=4, seed=1)
    assert not set(a.replicate_values) & set(b.replicate_values)
    again = stab_random_finite_d(4, 16, 0.5, points=16, replicates=4, seed=1)
    assert again.replicate_values == b.replicate_values
