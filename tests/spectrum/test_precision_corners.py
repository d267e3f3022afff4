"""Precision corners of the cube spectra and of the MLP kernel maps.

Every expected value comes from an independent route written here: closed forms evaluated in
mpmath at far higher precision, or the kernel recursion re-derived with the plain (cancelling)
formulas and evaluated at hundreds of digits.
"""

from fractions import Fraction
from math import comb

import mpmath
import numpy as np
import pytest

from nstheory.errors import NSTheoryError
from nstheory.spectrum.cube import spectrum_arb, spectrum_mp, spectrum_polynomial_exact
from nstheory.spectrum.kernels import MLPKernel, mlp_spectrum

# ---- referees -------------------------------------------------------------------------------


def _exp_closed_form(n, a=1):
    """mu_k of exp(a t) on {-1,1}^n: E_x[e^{a sum x_i / n} x_1..x_k] (independent coordinates)
    = sinh(a/n)^k cosh(a/n)^(n-k)."""
    x = mpmath.mpf(a) / n
    return [mpmath.sinh(x) ** k * mpmath.cosh(x) ** (n - k) for k in range(n + 1)]


def _cos_closed_form(n):
    """mu_k of cos(t): Re E[e^{i t}] gives Re(i^k) sin(1/n)^k cos(1/n)^(n-k)."""
    x = mpmath.mpf(1) / n
    re_ik = {0: 1, 1: 0, 2: -1, 3: 0}
    return [re_ik[k % 4] * mpmath.sin(x) ** k * mpmath.cos(x) ** (n - k) for k in range(n + 1)]


def _erf_kernels(t, sw2, sb2, depth):
    """(NNGP, NTK) of the erf MLP by its textbook recursion: Williams' arcsin map and the
    derivative map (4/pi) / sqrt((1 + 2q)^2 - 4c^2) with c = Sigma(t) written directly (call at
    a working precision far above the cancellation)."""
    sig = sw2 * t + sb2
    q = sw2 + sb2
    theta = sig
    for _ in range(depth):
        c = sig
        dot = sw2 * 4 / mpmath.pi / mpmath.sqrt((1 + 2 * q) ** 2 - 4 * c * c)
        sig = sw2 * 2 / mpmath.pi * mpmath.asin(2 * c / (1 + 2 * q)) + sb2
        q = sw2 * 2 / mpmath.pi * mpmath.asin(2 * q / (1 + 2 * q)) + sb2
        theta = sig + dot * theta
    return sig, theta


def _mu_direct(phi, n, k):
    """2^-n sum_x Phi(<x, 1>/n) x_1..x_k grouped by j = #(-1)'s: the coordinates 1..k hold i of
    them (sign (-1)^i), the other n - k hold j - i."""
    tot = 0
    for j in range(n + 1):
        w = sum((-1) ** i * comb(k, i) * comb(n - k, j - i) for i in range(min(j, k) + 1))
        tot += w * phi(mpmath.mpf(n - 2 * j) / n)
    return tot / mpmath.mpf(2) ** n


def _rel(a, b):
    return abs(a - b) / abs(b)


# ---- spectrum_mp: every degree to dps digits, true zeros recognised -------------------------


@pytest.mark.parametrize("f, ref, n", [(mpmath.exp, _exp_closed_form, 300),
                                       (mpmath.exp, _exp_closed_form, 230),
                                       (mpmath.cos, _cos_closed_form, 300)])
def test_spectrum_mp_analytic_kernels_every_degree(f, ref, n):
    mu = spectrum_mp(f, n, dps=15)
    with mpmath.workdps(3 * n + 60):
        want = ref(n)
    bad = [k for k in range(n + 1)
           if (want[k] == 0 and mu[k] != 0) or (want[k] != 0 and _rel(mu[k], want[k]) > 1e-14)]
    assert bad == []
    assert mu[n] > 0 if f is mpmath.exp else True


def test_spectrum_mp_exp_dps30_and_scaled():
    n = 280
    mu = spectrum_mp(lambda t: mpmath.exp(3 * t), n, dps=30)
    with mpmath.workdps(800):
        want = _exp_closed_form(n, 3)
    assert max(_rel(m, w) for m, w in zip(mu, want, strict=True)) < 1e-29


def test_spectrum_mp_true_zeros_are_zero():
    # Phi = t + 2 t^3 (odd, degree 3): mu_k = 0 for even k and for k > 3, exactly
    n = 60
    mu = spectrum_mp(lambda t: t + 2 * t ** 3, n, dps=20)
    exact = spectrum_polynomial_exact([0, 1, 0, 2], n)
    for k in range(n + 1):
        if exact[k] == 0:
            assert mu[k] == 0
        else:
            with mpmath.workdps(40):
                assert _rel(mu[k], mpmath.mpf(exact[k].numerator) / exact[k].denominator) < 1e-19
    # erf is odd: even degrees vanish, odd ones down to ~1e-390 are resolved
    n = 120
    mu = spectrum_mp(mpmath.erf, n, dps=15)
    assert all(m == 0 for m in mu[0::2])
    with mpmath.workdps(600):
        for k in (1, 61, 119):
            assert _rel(mu[k], _mu_direct(mpmath.erf, n, k)) < 1e-14


def test_spectrum_mp_cap_too_small_is_an_error():
    # exp on n = 300 has mu_k down to 7.3e-744: 400 digits cannot give them 15 correct digits
    with pytest.raises(NSTheoryError, match="raise max_dps"):
        spectrum_mp(mpmath.exp, 300, dps=15, max_dps=400)


def test_spectrum_mp_refuses_inaccurate_phi():
    # a phi accurate only to about 2^-60, whatever the working precision
    def phi(t):
        return mpmath.exp(t) + mpmath.ldexp(mpmath.mpf(mpmath.mp.prec % 3 + 1), -60)

    with pytest.raises(NSTheoryError, match="not accurate"):
        spectrum_mp(phi, 40, dps=15)


# ---- erf maps at huge variances: no cancellation at t = +-1 ----------------------------------


@pytest.mark.parametrize("sw2, sb2", [("1e20", "0"), ("1e40", "0"), ("1e40", "0.5"),
                                      ("1e300", "0"), ("1e8", "0.25")])
@pytest.mark.parametrize("depth", [1, 2])
def test_erf_kernel_mp_at_huge_variance(sw2, sb2, depth):
    k = MLPKernel("erf", depth, sw2, sb2)
    for t in (1, -1, 0.5, -0.3):  # binary doubles: the same t in both routes
        with mpmath.workdps(1500):
            want = _erf_kernels(mpmath.mpf(t), mpmath.mpf(sw2), mpmath.mpf(sb2), depth)
        got = k.mp(t, dps=30)
        for g, w in zip(got, want, strict=True):
            assert _rel(g, w) < 1e-29, (t, g, w)


@pytest.mark.parametrize("sw2", ["1e8", "1e12", "1e20", "1e40"])
def test_erf_kernel_float_at_huge_variance(sw2):
    k = MLPKernel("erf", 2, sw2, "0")
    ts = np.array([1.0, -1.0, 0.5])
    nngp, ntk = k.float(ts)
    for i, t in enumerate(ts):
        with mpmath.workdps(300):
            want = _erf_kernels(mpmath.mpf(t), mpmath.mpf(sw2), 0, 2)
        assert float(_rel(nngp[i], want[0])) < 1e-13
        assert float(_rel(ntk[i], want[1])) < 1e-13


def test_erf_kernel_sw2_1e300():
    k = MLPKernel("erf", 1, "1e300", "0")
    with mpmath.workdps(1500):
        want = _erf_kernels(mpmath.mpf(1), mpmath.mpf("1e300"), 0, 1)
    got = k.mp(1, dps=30)
    assert _rel(got[1], want[1]) < 1e-29
    with pytest.raises(NSTheoryError, match="overflows float64"):
        k.float(1.0)


# ---- certified route: precision raised on non-finite balls -----------------------------------


@pytest.mark.parametrize("sw2", ["1e40", "1e300"])
def test_mlp_spectrum_erf_huge_variance(sw2):
    from flint import arb

    from nstheory.numerics import arb_precision

    n = 4
    s = mlp_spectrum("erf", 1, n, sw2)["ntk"]
    with mpmath.workdps(1500):
        want = [_mu_direct(lambda t: _erf_kernels(t, mpmath.mpf(sw2), 0, 1)[1], n, k)
                for k in range(n + 1)]
    with arb_precision(bits=400):
        for ball, w in zip(s, want, strict=True):
            assert ball.contains(arb(mpmath.nstr(w, 110, min_fixed=1, max_fixed=0)))
            if w != 0:
                assert ball.rad() <= abs(ball.mid()) * arb(2) ** -53


def test_spectrum_arb_retries_non_finite_ball():
    from flint import arb

    from nstheory.numerics import arb_precision

    # at the first working precision (1 + 2^-150) - 1 is a ball around 0 and its inverse is not
    # finite; from 150 bits on it is exactly 2^-150, so Phi(t) = 2^150 t, mu = (0, 2^150/3, 0, 0)
    mu = spectrum_arb(lambda t: t / ((1 + arb(2) ** -150) - 1), 3)
    want = [0, Fraction(2**150, 3), 0, 0]
    with arb_precision(bits=300):
        for ball, w in zip(mu, want, strict=True):
            assert ball.contains(arb(w.numerator) / w.denominator if w else arb(0))
    assert mu[1].rad() <= mu[1].mid() * 2.0**-53
    with pytest.raises(NSTheoryError, match="max_bits"):
        spectrum_arb(lambda t: t / ((1 + arb(2) ** -5000) - 1), 3)


# ---- one reading of floats: shortest decimal --------------------------------------------------


def test_leaky_slope_float_read_as_decimal():
    from flint import arb

    from nstheory.numerics import arb_precision

    # (a, b)-ReLU maps from the Cho-Saul closed forms: E[phi(U)phi(V)] = q [(a-b)^2 kappa(rho)
    # + a b rho], E[phi'(U)phi'(V)] = (a-b)^2 (pi - acos rho)/(2 pi) + a b
    def ref(a, t, sw2, depth):
        def kp(r):
            return (mpmath.pi - mpmath.acos(r)) / (2 * mpmath.pi)

        def kap(r):
            return mpmath.sqrt(1 - r * r) / (2 * mpmath.pi) + r * kp(r)

        sig, q = sw2 * t, sw2
        theta = sig
        for _ in range(depth):
            r = sig / q
            dot = sw2 * ((a - 1) ** 2 * kp(r) + a)
            sig = sw2 * q * ((a - 1) ** 2 * kap(r) + a * r)
            q = sw2 * q * ((a - 1) ** 2 * kap(mpmath.mpf(1)) + a)
            theta = sig + dot * theta
        return sig, theta

    with mpmath.workdps(120):
        want = ref(mpmath.mpf(1) / 10, mpmath.mpf(1) / 2, mpmath.mpf(1) / 10, 2)
        want_default = ref(mpmath.mpf(1) / 100, mpmath.mpf(1) / 2, mpmath.mpf(2), 1)
    with arb_precision(bits=300):
        got = MLPKernel("leaky_relu", 2, sw2=0.1, sb2=0, slope=0.1).arb(arb(1) / 2)
        got_default = MLPKernel("leaky_relu", 1).arb(arb(1) / 2)
        pairs = [*zip(got, want, strict=True), *zip(got_default, want_default, strict=True)]
        for ball, w in pairs:
            assert ball.contains(arb(mpmath.nstr(w, 100, min_fixed=1, max_fixed=0)))
            assert ball.rad() < abs(ball.mid()) * arb(2) ** -250


def test_vanishing_degrees_print_zero_with_their_enclosure(capsys):
    # (1 + t)^2 has degree 2: degrees 3..5 of the transformer kernel vanish exactly, and the
    # ball's midpoint (1e-32) was printed to 15 digits as if it were a value
    import json

    from nstheory.cli import main

    assert main(["spectrum", "--arch", "transformer", "--n", "5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["degrees"]
    for r in rows[3:]:
        assert r["nngp"] == r["ntk"] == "0" and not r["nngp_resolved"]
        lo, hi = map(float, r["nngp_enclosure"])
        assert lo <= 0 <= hi
    assert rows[2]["ntk"] != "0" and rows[2]["ntk_resolved"]
