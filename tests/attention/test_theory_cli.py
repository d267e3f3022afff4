"""Symbolic statements, the proved bound, and the CLI."""

from __future__ import annotations

import json

import mpmath
import pytest
import sympy as sp

from nstheory.attention.consistency import s3_closed_form
from nstheory.attention.theory import (
    s2_symbolic,
    s3_plackett_integrand,
    s3_symbolic,
    thm52_deviation_bound,
    thm52_limit_linear_scale,
)
from nstheory.cli import main
from nstheory.errors import NSTheoryError


def test_s2_symbolic_is_sheppard():
    r = sp.Symbol("r")
    assert sp.simplify(s2_symbolic(r) - (sp.Rational(1, 2) + sp.asin(r) / sp.pi)) == 0


def test_s3_symbolic_matches_closed_form_numerically():
    r = sp.Symbol("r")
    e = s3_symbolic(r)
    with mpmath.workdps(30):
        for x in ("0.2", "-0.6", "0.95"):
            sym = mpmath.mpf(str(sp.N(e.subs(r, sp.Rational(x)), 30)))
            assert abs(sym - s3_closed_form(x, dps=30)) < mpmath.mpf("1e-25")


def test_s3_integrand_positive():
    t, dP = s3_plackett_integrand()
    f = sp.lambdify(t, dP, "mpmath")
    assert all(f(mpmath.mpf(x) / 10) > 0 for x in range(-9, 10) if x != 0)


def test_linear_scale_limit_n1_is_rho():
    assert sp.simplify(thm52_limit_linear_scale(1) - sp.Symbol("rho")) == 0


def test_bound_decreases_and_rejects_large_scale():
    b = [float(thm52_deviation_bound(4, d, d ** -0.5)) for d in (256, 1024, 4096)]
    assert b[0] > b[1] > b[2] > 0
    with pytest.raises(NSTheoryError, match="1 \\+ sqrt"):
        thm52_deviation_bound(4, 16, 3.0)


def _s_n_owens_t(n: int, r: float, nodes: int = 160) -> float:
    """s_n(r) by another route than the toolkit's quadrature: n * E[Phi_2(X, Y; r)^(n-1)] over
    one correlated pair (X, Y), Phi_2 by Owen's T function (scipy), the 2-D Gaussian
    expectation by a tensor Gauss-Hermite rule (about 13 correct digits at 160 nodes)."""
    import numpy as np
    from scipy.special import ndtr, owens_t

    s = (1 - r * r) ** 0.5

    def phi2(h, k):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(h != 0, (k - r * h) / (h * s), np.inf)
            b = np.where(k != 0, (h - r * k) / (k * s), np.inf)
        half = np.where((h * k < 0) | ((h * k == 0) & (h + k < 0)), 0.5, 0.0)
        return 0.5 * ndtr(h) + 0.5 * ndtr(k) - owens_t(h, a) - owens_t(k, b) - half

    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / np.sqrt(2 * np.pi)
    X, Z = np.meshgrid(x, x, indexing="ij")
    return float(n * np.sum(np.outer(w, w) * phi2(X, r * X + s * Z) ** (n - 1)))


def test_owens_t_route_against_sheppard():
    import math

    assert abs(_s_n_owens_t(2, 0.25) - (0.5 + math.asin(0.25) / math.pi)) < 1e-13


def test_cli_s_json(capsys):
    assert main(["attention", "s", "--n", "8", "--r", "0.25", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(float(out["value"]) - _s_n_owens_t(8, 0.25)) < 1e-11
    assert len(out["value"].replace("0.", "", 1).lstrip("0")) >= 15


def test_cli_stab_json(capsys):
    assert main(["attention", "stab", "--n", "4", "--d", "32", "--rho", "0.5", "--mode",
                 "random", "--scale", "none", "--samples", "2000", "--device", "cpu",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["route"] == "monte-carlo" and out["stab"]["n"] == 2000
    assert "s_n(rho^2)" in out["theory"]


def test_cli_stab_hard_n2_adds_the_finite_d_quadrature(capsys):
    assert main(["attention", "stab", "--n", "2", "--d", "8", "--rho", "0.5", "--mode",
                 "random", "--hard", "--samples", "200000", "--device", "cpu", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (key,) = [k for k in out["theory"] if "Bartlett" in k]
    # the deterministic finite-d value agrees with the Monte Carlo estimate printed beside it
    assert abs(out["theory"][key] - out["stab"]["mean"]) <= 4 * out["stab"]["stderr"]


def test_cli_errors(capsys):
    assert main(["attention", "s", "--n", "3", "--r", "2"]) == 2
    assert "--r must lie in [-1, 1]" in capsys.readouterr().err
    assert main(["attention", "stab", "--n", "4", "--d", "8", "--rho", "0.5", "--mode",
                 "lowrank", "--samples", "10"]) == 2
    assert "needs a rank" in capsys.readouterr().err


def test_cli_s_reads_r_exactly(capsys):
    # 0.999999999999999999 is 1.0 as a float, but s_2 differs from 1 by 4.5e-10 there
    # (reference: Sheppard's 1/2 + asin(r)/pi in mpmath at 40 digits); was printed as 1
    assert main(["attention", "s", "--n", "2", "--r", "0.999999999999999999", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    with mpmath.workdps(40):
        ref = mpmath.mpf(1) / 2 + mpmath.asin(mpmath.mpf("0.999999999999999999")) / mpmath.pi
    assert abs(mpmath.mpf(out["value"]) - ref) < 1e-14 and out["certified"] is None
    # fractions, as every number argument accepts them: s_2(1/2) = 2/3
    assert main(["attention", "s", "--n", "2", "--r", "1/2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    with mpmath.workdps(40):
        lo, hi = (mpmath.mpf(x) for x in (out["certified"]["lo"], out["certified"]["hi"]))
        assert lo <= mpmath.mpf(2) / 3 <= hi
