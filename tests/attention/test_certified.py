"""Tests of the certified enclosures of s_n(r) (nstheory.attention.certified)."""

from __future__ import annotations

import json
import time

import mpmath
import pytest
from flint import arb

from nstheory.attention.certified import certified_grid, s_n_certified, s_n_certified_range
from nstheory.attention.consistency import s2_closed_form, s3_closed_form, s_n_quadrature
from nstheory.attention.montecarlo import argmax_agreement_mc
from nstheory.cli import main
from nstheory.errors import NSTheoryError
from nstheory.numerics import arb_precision


def _arb(x: mpmath.mpf) -> arb:
    with arb_precision(bits=200):
        return arb(mpmath.nstr(x, 40))


@pytest.mark.parametrize("r", ["0.25", "-0.6", "0.9"])
def test_contains_sheppard_and_plackett_closed_forms(r):
    # independent routes: the closed forms (different formulas, no quadrature)
    b2 = s_n_certified(2, r, digits=15)
    b3 = s_n_certified(3, r, digits=15)
    with mpmath.workdps(40), arb_precision(bits=200):
        assert b2.contains(_arb(s2_closed_form(r, dps=40)))
        assert b3.contains(_arb(s3_closed_form(r, dps=40)))
    assert b2.rad() < 1e-14 and b3.rad() < 1e-14


@pytest.mark.parametrize("n, r", [(4, 0.25), (8, 0.25), (16, -0.3), (64, 0.5)])
def test_quadrature_digits_checked_against_the_ball(n, r):
    ball = s_n_certified(n, r, digits=18)
    q = s_n_quadrature(n, r, dps=18)
    assert ball.rad() < 1e-17
    # the quadrature claims 18 digits: it must lie within 1e-17 of the certified ball
    with arb_precision(bits=200):
        assert (ball - _arb(q)).abs_upper() < 1e-17


def test_ball_excludes_a_wrong_value():
    # a shift of 1e-12 is resolved (the check can fail)
    ball = s_n_certified(8, "0.25", digits=15)
    with arb_precision(bits=200):
        assert not ball.contains(ball.mid() + arb("1e-12"))


def test_monte_carlo_inside_for_n32():
    # alternative: an error of 0.01 in the enclosure; stderr ~ 1.6e-3 at 1e5 samples -> power ~1
    ball = s_n_certified(32, "0.64", digits=10)
    m = argmax_agreement_mc(32, 0.64, samples=100_000, seed=11, device="cpu")
    assert abs(m.mean - float(ball.mid())) <= 4 * m.stderr


def test_exact_points_and_monotone_range():
    assert s_n_certified(1, "0.3") == arb(1)
    b7 = s_n_certified(7, 0)
    with arb_precision(bits=200):
        assert (7 * b7 - 1).abs_upper() < 1e-25
    assert s_n_certified(7, 1) == arb(1) and s_n_certified(7, -1) == arb(0)
    lo = s_n_certified(6, "0.4", 12)
    hi = s_n_certified(6, "0.5", 12)
    assert lo.upper() < hi.lower()
    rng = s_n_certified_range(6, arb("0.45", "0.05"), 12)
    assert rng.contains(lo) and rng.contains(hi)
    near_one = s_n_certified_range(3, arb(1) - arb(2) ** -30, 6)  # clipped to [0.992, 1]
    assert near_one.contains(arb(1)) and near_one.lower() > 0.9


def test_n64_within_one_second():
    t0 = time.perf_counter()
    ball = s_n_certified(64, "0.25", digits=15)
    assert time.perf_counter() - t0 < 2.0  # 1 s target on an idle core; margin for a shared one
    assert ball.rad() < 1e-15


def test_grid_and_errors():
    g = certified_grid(64, 0.25, 15)
    assert g["L"] <= 0 and g["U"] > 8
    for bad in (1.5, "nan", float("inf"), "x"):
        with pytest.raises(NSTheoryError):
            s_n_certified(4, bad)
    with pytest.raises(NSTheoryError, match="n must be"):
        s_n_certified(0, 0.2)
    with pytest.raises(NSTheoryError):
        s_n_certified(4, 1 - 1e-9)
    with pytest.raises(NSTheoryError, match="exact r"):
        s_n_certified(4, arb("0.2", "0.01"))


def test_cli_prints_certified_enclosure(capsys):
    assert main(["attention", "s", "--n", "8", "--r", "0.25", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lo, hi = (mpmath.mpf(out["certified"][k]) for k in ("lo", "hi"))
    assert lo <= mpmath.mpf(out["value"]) <= hi and hi - lo < 1e-14


def test_runs_predicted_too_long_are_refused_up_front():
    # the quadrature and the certified tensor rule (r < 0.9) grow like (1 - |r|)^(-3/2): at
    # n = 64, r = -0.9999 the latter would take several minutes and r = 1 - 1e-5 the quadrature
    # about an hour; they are refused before any work (this test would hang otherwise), with
    # the predicted time in the message
    from nstheory.attention.consistency import grid_seconds, s_n

    for call in (lambda: s_n_certified(64, "-0.9999"), lambda: s_n(64, 0.9999),
                 lambda: s_n_quadrature(16, -0.99999, dps=15),
                 lambda: s_n_certified_range(4, arb("0.9", "0.05"), max_seconds=1e-3)):
        with pytest.raises(NSTheoryError, match="would take about"):
            call()
    assert s_n_certified(4, "0.5", max_seconds=None).overlaps(s_n_certified(4, "0.5"))
    # the prediction grows with the grid and is cheap where the rules are
    g = certified_grid(4, 0.25, 15)
    assert grid_seconds(4, 0.25, g["nx"], 2 * g["jw"]) < 0.5
    for bad in (0, -1, float("nan"), "x"):
        with pytest.raises(NSTheoryError, match="max_seconds"):
            grid_seconds(4, 0.25, 10, 10, bad)


def test_cli_refuses_a_run_that_would_take_hours(capsys):
    assert main(["attention", "s", "--n", "64", "--r", "-0.99999"]) == 2
    assert "would take about" in capsys.readouterr().err
    assert main(["attention", "s", "--n", "4", "--r", "0.5", "--max-seconds", "-1"]) == 2
    capsys.readouterr()
    # r = 0.9999: the quadrature is refused but the certified (rotated) rule runs; the printed
    # value is then its midpoint, and says so
    assert main(["attention", "s", "--n", "64", "--r", "0.9999", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"].startswith("midpoint of the certified enclosure")
    lo, hi = (mpmath.mpf(out["certified"][k]) for k in ("lo", "hi"))
    assert hi - lo < 1e-15  # the value is the midpoint rounded to 15 significant digits:
    assert abs(mpmath.mpf(out["value"]) - (lo + hi) / 2) <= 5e-16 + (hi - lo) / 2
    # the Monte Carlo command still runs; only its s_n theory line says why it is missing
    argv = ["attention", "stab", "--n", "8", "--d", "4", "--rho", "0.99999", "--mode", "random",
            "--samples", "200", "--device", "cpu", "--cq-points", "0", "--json"]
    assert main(argv) == 0
    theory = json.loads(capsys.readouterr().out)["theory"]
    assert theory["thm5.3 rho*s_n(rho^2)*||v||^2 (reconstructed)"].startswith("not computed")


R_NEAR_ONE = ["0.9", "0.99", "0.999", "0.99999", "0.99999904632568359375"]  # the last: 1 - 2^-20


@pytest.mark.parametrize("r", R_NEAR_ONE)
def test_rotated_rule_contains_the_closed_forms_near_one(r):
    # r >= 0.9 goes by the rotated rule; Sheppard (n = 2) and the Plackett reduction (n = 3)
    # share no code with it. A value 1e-13 off (the alternative: a mis-scaled bound or step
    # losing two digits) is excluded: the radius stays below 1e-15 however close r is to 1
    for n, exact in ((2, s2_closed_form), (3, s3_closed_form)):
        ball = s_n_certified(n, r, digits=15)
        ref = _arb(exact(r, dps=40))
        assert ball.overlaps(ref) and ball.rad() < 1e-15
        assert not ball.overlaps(ref + arb("1e-13"))


@pytest.mark.parametrize("n, r", [(4, "0.9"), (16, "0.95"), (64, "0.99"), (8, "0.995")])
def test_rotated_rule_against_the_quadrature(n, r):
    # the precise route integrates in (a, b) on its own grids (not certified, 20 digits)
    ball = s_n_certified(n, r, digits=15)
    assert ball.overlaps(_arb(s_n_quadrature(n, r, dps=20))) and ball.rad() < 1e-15


def test_rotated_and_tensor_rules_agree_where_both_run():
    # two discretisations with separate error bounds (r = 0.95, 0.99: the tensor rule is still
    # affordable there); both must contain s_n, so they must overlap
    from nstheory.attention.certified import _tensor_rule
    from nstheory.attention.consistency import _to_arb

    for n, r in ((5, "0.95"), (12, "0.99")):
        with arb_precision(bits=120):
            tensor = _tensor_rule(n, _to_arb(r), float(r), 15, None)
        rotated = s_n_certified(n, r, digits=15)
        assert rotated.overlaps(tensor) and tensor.rad() < 1e-14


def test_near_one_cost_does_not_grow_and_the_range_reaches_it():
    from nstheory.attention.certified import rotated_grid

    a, b = rotated_grid(64, 0.9, 15), rotated_grid(64, 1 - 2**-20, 15)
    for key in ("nu", "nv"):
        assert b[key] <= a[key]
    assert b["jhi"] - b["jlo"] <= a["jhi"] - a["jlo"]
    # an interval reaching 1 - 2^-19 is enclosed through its endpoints, not clipped at 0.992
    ball = s_n_certified_range(4, arb("0.99999", "1e-6"))
    assert ball.upper() < 1 and ball.lower() > 0.99
    assert ball.contains(s_n_certified(4, "0.99999"))
