"""The deterministic finite-d Stab of identity-W softmax attention, against routes that share
none of its code: a direct tensor Gauss-Hermite rule over the raw Gaussian entries (n = 2,
d = 1, written in the claim module), the library's Monte Carlo and the limits d -> infinity."""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest

from nstheory.attention.identity_finite_d import (
    self_weight_identity_finite_d,
    stab_identity_finite_d,
)
from nstheory.attention.montecarlo import attention_stability_mc
from nstheory.errors import NSTheoryError
from proofs_check.attention_theorems import _direct_n2_d1  # a tensor rule over the raw entries


@pytest.mark.parametrize("rho", [0.5, -0.95])
def test_matches_a_direct_tensor_rule_n2_d1(rho):
    r = stab_identity_finite_d(2, 1, rho, "none")
    fine, coarse = _direct_n2_d1(rho, 72), _direct_n2_d1(rho, 56)
    # the two routes' own error estimates; agreement to ~1e-7 either way
    assert abs(r.value - fine) <= r.error + abs(fine - coarse) + 1e-9
    assert abs(r.value - fine) < 5e-7


def test_error_estimate_covers_the_error_d1():
    r = stab_identity_finite_d(3, 1, 0.5)
    ref = stab_identity_finite_d(3, 1, 0.5, resolution=(64, 60, 1, 48, 0.35),
                                 coarse=(40, 36, 1, 32, 0.4))
    assert ref.error < 2e-8
    assert abs(r.value - ref.value) <= r.error
    assert r.error < 1e-6


@pytest.mark.parametrize("n,d,rho,scale,seed", [
    (4, 16, 0.5, "sqrt", 1), (3, 4, 0.9, "none", 2), (2, 2, -0.5, "linear", 3),
    (300, 4, 0.5, "sqrt", 4),  # many tokens: the self-weight no longer dominates
])
def test_agrees_with_monte_carlo(n, d, rho, scale, seed):
    r = stab_identity_finite_d(n, d, rho, scale)
    est = attention_stability_mc(n, d, rho, "identity", scale=scale,
                                 samples=100_000 if n < 100 else 20_000, seed=seed,
                                 device="cpu", show_progress=False)
    se = est.stab.stderr
    # power: an error of 0.025 in the deterministic value would sit >= 5 standard errors away
    # (the many-token case has a smaller value and spread: an error of 0.015 there)
    assert (0.025 if n < 100 else 0.015) / se > 5
    assert abs(est.stab.mean - r.value) < 4 * se


def test_finite_d_gap_is_resolved_by_monte_carlo():
    """The check above can fail: at d = 16 the d -> infinity value rho is rejected."""
    est = attention_stability_mc(4, 16, 0.5, "identity", samples=100_000, seed=4, device="cpu",
                                 show_progress=False)
    assert (0.5 - est.stab.mean) / est.stab.stderr > 8


def test_limits_in_d():
    # large d concentrates the query pair's law: a lighter rule suffices (its own estimate says)
    res = dict(resolution=(16, 14, 6, 24, 0.4), coarse=(12, 10, 4, 20, 0.5))
    # 1/sqrt(d): Theorem 5.2's limit rho, the gap vanishing faster than any power of d
    r64, r256 = (stab_identity_finite_d(4, d, 0.5, **res) for d in (64, 256))
    assert max(r64.error, r256.error) < 1e-7
    assert 2e-3 < 0.5 - r64.value < 3e-3 and 0 < 0.5 - r256.value < 2e-6
    # 1/d: rho (e^2 + n - 1) / (e + n - 1)^2, approached at rate 1/d
    lim = 0.5 * (math.e**2 + 3) / (math.e + 3) ** 2
    g1 = stab_identity_finite_d(4, 1024, 0.5, "linear", **res).value - lim
    g2 = stab_identity_finite_d(4, 4096, 0.5, "linear", **res).value - lim
    assert 3.5 < g1 / g2 < 4.5


def test_exact_cases_and_scaling():
    assert stab_identity_finite_d(1, 5, -0.4).value == pytest.approx(-0.4, abs=1e-14)
    assert abs(stab_identity_finite_d(3, 4, 0.0).value) < 1e-12
    a = stab_identity_finite_d(2, 3, 0.7)
    b = stab_identity_finite_d(2, 3, 0.7, v_norm=2.0)
    assert b.value == pytest.approx(4 * a.value, rel=1e-14)


def test_self_weight_agrees_with_monte_carlo():
    w = self_weight_identity_finite_d(4, 4, "sqrt")
    est = attention_stability_mc(4, 4, 0.5, "identity", samples=100_000, seed=5, device="cpu",
                                 show_progress=False)
    mc = 1 - est.offdiag.mean
    assert w.error < 1e-6
    assert abs(mc - w.value) < 4 * est.offdiag.stderr
    assert 0.01 / est.offdiag.stderr > 5  # a 0.01 error would be seen


@pytest.mark.parametrize("kw", [dict(n=0, d=4, rho=0.5), dict(n=2, d=0, rho=0.5),
                                dict(n=2, d=4, rho=1.5), dict(n=2, d=4, rho=0.5, scale="cube"),
                                dict(n=2, d=4, rho=0.5, resolution=(8, 8, 8, 8, 2.0)),
                                dict(n=2, d=4, rho=0.5, coarse=(8, 8, 8))])
def test_bad_input_is_refused(kw):
    with pytest.raises(NSTheoryError):
        stab_identity_finite_d(**kw)


def test_cli_prints_the_deterministic_value():
    from nstheory.cli import main

    def run(mode, *extra):
        buf = io.StringIO()
        argv = ["attention", "stab", "--n", "3", "--d", "4", "--rho", "0.5", "--mode", mode,
                "--samples", "2000", "--device", "cpu", "--json", *extra]
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            assert main(argv) == 0
        return json.loads(buf.getvalue())

    out = run("identity")
    det = out["deterministic"]
    assert det["value"] == pytest.approx(stab_identity_finite_d(3, 4, 0.5).value, abs=1e-15)
    assert det["error_estimate"] < 1e-6
    assert det["self_weight"] == pytest.approx(self_weight_identity_finite_d(3, 4).value,
                                               abs=1e-15)
    assert 0 < out["self_weight"]["mean"] <= 1 and out["self_weight"]["stderr"] > 0
    assert det["mc_z"] == pytest.approx((out["stab"]["mean"] - det["value"])
                                        / out["stab"]["stderr"])
    off = run("random", "--cq-points", "0")
    assert off["deterministic"] is None and off["conditional"] is None
    assert "identity W" in off["deterministic_unavailable"]
    assert out["deterministic_unavailable"] is None
    assert run("identity", "--hard")["deterministic"] is None
    # the query is the last token: a causal mask hides nothing from it
    assert run("identity", "--causal")["deterministic"]["value"] == det["value"]
