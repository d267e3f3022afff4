"""Depth recurrence, C-map asymptotics, symbolic derivations and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import mpmath
import pytest

from nstheory.gaussian import recurrence as R
from nstheory.gaussian import symbolic as S
from nstheory.gaussian._backend import to_arb
from nstheory.numerics import arb_precision


def test_fixed_point_certified_and_not_linearised():
    fp = R.kappa_fixed_point_arb(200)
    with arb_precision(bits=220):
        assert fp.overlaps(to_arb("[0.21723362821122165740827932556247 +/- 1e-32]"))
        assert not fp.contains(to_arb(R.linearised_fixed_point()))
    assert float(fp.rad()) < 1e-55
    flo, fhi = R.fixed_point_sign_change_arb(fp, 200)
    assert flo >= 0 and fhi <= 0


def test_global_convergence():
    img, lip = R.global_convergence_certificate()
    assert img.lower() > -1e-8 and img.upper() < 0.5 + 1e-8
    assert lip < 1
    it = R.iterate_kappa(-1.0, 60)
    assert abs(it[-1] - 0.21723362821122166) < 1e-15


def test_cmap_gap_table_monotone_towards_limit():
    tab = R.cmap_gap_table((10, 100, 1000))
    assert 12.8 < tab[10] < 12.9 and 35.7 < tab[100] < 35.8 and 43.1 < tab[1000] < 43.2


def test_symbolic_results():
    assert S.derive_sign().result == 2 * S.sp.asin(S.rho) / S.sp.pi
    d = S.derive_relu()
    assert d.latex().startswith("\\begin{align*}") and len(d.steps) >= 4
    p = S.x**4 - S.x
    assert S.sp.simplify(S.derive_polynomial(p).result - S.polynomial_moment_direct(p)) == 0
    assert all(S.mehler_eigen(k) == 0 for k in range(5))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nstheory", "activation", *args],
                          capture_output=True, text=True, timeout=300)


def _relu_map_by_conditioning(rho, dps=60):
    """E[ReLU(X) ReLU(Y)], corr(X, Y) = rho, by another route than the toolkit's: condition on
    X = x, where E[ReLU(Y) | x] = s phi(m/s) + m Phi(m/s) with m = rho x, s = sqrt(1 - rho^2),
    then one mpmath quadrature over x > 0."""
    with mpmath.workdps(dps):
        r = mpmath.mpf(rho)
        s = mpmath.sqrt(1 - r * r)

        def inner(x):
            m = r * x
            return s * mpmath.npdf(m / s) + m * mpmath.ncdf(m / s)

        return mpmath.quad(lambda x: x * inner(x) * mpmath.npdf(x), [0, 2, 6, mpmath.inf])


def test_cli_relu_json():
    out = _cli("relu", "--rho", "0.5", "--dps", "50", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    ref = _relu_map_by_conditioning(mpmath.mpf(1) / 2)
    with mpmath.workdps(60):
        assert abs(mpmath.mpf(d["value"]) - ref) < mpmath.mpf(10) ** -45
        lo, hi = (mpmath.mpf(v) for v in d["enclosure"])
        assert lo - mpmath.mpf(10) ** -55 <= ref <= hi + mpmath.mpf(10) ** -55
    assert d["agreement_digits"] >= 45


@pytest.mark.parametrize("args,msg", [
    (("relu", "--rho", "1.5"), "rho"),
    (("relu", "--rho", "0.5", "--q1", "0"), "q1"),
    (("relu", "--rho", "0.5", "--dps", "0"), "dps"),
    (("swish", "--rho", "0.5"), "unknown activation"),
])
def test_cli_errors(args, msg):
    out = _cli(*args)
    assert out.returncode == 2 and msg in out.stderr


def test_cli_view_corr_relu_is_two_kappa():
    from nstheory.gaussian.cli import evaluate

    d = evaluate("relu", "0.5", "3", "5", view="corr", dps=20)
    # the correlation view divides by sqrt(E[ReLU(X)^2] E[ReLU(Y)^2]) = sqrt(q1 q2) / 2
    with mpmath.workdps(40):
        ref = _relu_map_by_conditioning(0.5, dps=40) * 2
        assert abs(mpmath.mpf(d["value"]) - ref) < mpmath.mpf(10) ** -19
        # the enclosure's decimal end points, read exactly at 40 digits, contain the reference
        # (its own error is below 1e-35, far inside the enclosure's 1e-22 width)
        lo, hi = (mpmath.mpf(v) for v in d["enclosure"])
        assert lo <= ref <= hi
