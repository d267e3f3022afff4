"""Certified tanh / GELU / SiLU / softplus ingredients of the 1/width recursion and their
enclosure.

Independent references (none shares the arb Hermite-series / trapezoid code path):

* ``numerical_map_derivatives``: Richardson-extrapolated finite differences of the activations
  area's mpmath map at 30 digits (value, gradient, Hessian, E phi^2 and the mean with their
  q-derivatives), returned as float64 (so compared to ~1e-12);
* Gauss-Hermite product quadrature in float64 (numpy's nodes, 200 per axis) for the moments
  ``E[phi(u)^a phi(v)^b]`` (integrands analytic in a strip: error far below 1e-13 here);
* mpmath's tanh-sinh quadrature at 25 digits for the one-dimensional moments (and, slow, a
  nested two-dimensional one for a mixed moment), and a two-dimensional one at 16 digits for
  the softplus kernel map;
* the float recursion (:mod:`nstheory.propagation.finite_width`: 160-node Gauss-Hermite maps,
  64-node four-point moments documented to ~1e-5 of the coefficient).
"""

import math
import time

import mpmath
import numpy as np
import pytest
from flint import acb, arb

from nstheory.errors import NSTheoryError
from nstheory.propagation.finite_width import finite_width_recursion
from nstheory.propagation.finite_width_enclosure_blocks import finite_width_enclosure_blocks
from nstheory.propagation.kernel_derivatives import numerical_map_derivatives
from nstheory.propagation.model import mlp
from nstheory.propagation.smooth_enclosure import (
    _Base,
    coefficients,
    derivative,
    power,
    smooth_ingredients,
)

PHI_NP = {"tanh": np.tanh,
          "gelu": lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
          "silu": lambda x: x / (1 + np.exp(-x)),
          "softplus": lambda x: np.logaddexp(0.0, x)}
POINTS = [(q, f * q) for q in (0.5, 1.3) for f in (0.0, 0.5, 0.9)]


def _near(ball, ref, tol):
    return abs(float(ball.mid()) - ref) <= float(ball.rad()) + tol * max(1.0, abs(ref))


# ---- the derivation: exact function algebra ---------------------------------------------------

def test_function_algebra_matches_sympy():
    """derivative/power against SymPy on the activation's closed form (tanh'''' and the GELU
    (phi^2)'' at a few points)."""
    import sympy as sp

    x = sp.symbols("x")
    forms = {"tanh": sp.tanh(x), "gelu": x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
             "silu": x / (1 + sp.exp(-x)), "softplus": sp.log(1 + sp.exp(x))}
    for name, expr in forms.items():
        f4 = power(name, 1)
        for _ in range(4):
            f4 = derivative(name, f4)
        s2 = derivative(name, derivative(name, power(name, 2)))
        for f, ref in ((f4, sp.diff(expr, x, 4)), (s2, sp.diff(expr**2, x, 2))):
            for x0 in (-1.3, 0.4, 2.1):
                got = _eval(name, f, x0)
                assert abs(got - float(ref.subs(x, x0))) < 1e-12, (name, x0)


def _eval(name, f, x0):
    tot = 0.0
    for (i, e), coef in f.items():
        b = _Base(name, e).phi_arb(arb(x0)) if any(e) else arb(1)
        tot += float(coef) * x0**i * float(b.mid())
    return tot


# ---- strip bounds: a grid of the closed strip -------------------------------------------------

@pytest.mark.parametrize("name,e", [("tanh", (j,)) for j in range(1, 7)]
                         + [("gelu", (j, m)) for j in range(5) for m in range(3) if j + m]
                         + [("silu", (j,)) for j in range(1, 5)]
                         + [("softplus", (m, j)) for m in range(7) for j in range(5) if m + j])
def test_strip_bounds_hold_on_a_grid(name, e):
    """|B(u + i v)| <= A on |v| <= D (the edge included), |u| <= 8, where a wrong bound
    shows: tanh's maximum sqrt(3)^j sits at u = 0, v = pi/3; Phi's e^{v^2/2} at u -> +inf;
    the logistic's 2/sqrt(3) at u = log 2, v = 2 pi/3. Softplus's entropy part H = log(1 + e^z)
    - z s(z) is evaluated here from the principal logarithm (1 + e^z stays off the negative
    axis for |v| < pi), not from the evenness the bound's derivation and the code use; its
    maximum, pi/sqrt(3) at u = 0, v = 2 pi/3, is about half the proved bound (2/sqrt(3))(1 +
    D)."""
    base = _Base(name, e)
    D, A = float(base.strip_bound.D), float(base.strip_bound.A)
    worst = 0.0
    for u in np.linspace(-8, 8, 81):
        for v in np.linspace(-D, D, 21):
            z = acb(u, v)
            if name == "tanh":
                w = z.tanh() ** e[0]
            elif name == "silu":
                w = (1 / (1 + (-z).exp())) ** e[0]
            elif name == "softplus":
                s = z.exp() / (1 + z.exp())
                w = s ** e[0] * ((1 + z.exp()).log() - z * s) ** e[1]
            else:
                big = (-z / arb(2).sqrt()).erfc() / 2
                w = big ** e[0] * ((-z * z / 2).exp() / (2 * arb.pi()).sqrt()) ** e[1]
            worst = max(worst, float(abs(w).mid()))
    assert worst <= A
    # tanh, silu and the logistic powers: nearly attained; with H^j: within 0.4^j
    assert worst >= (0.4 ** e[1] if name == "softplus" and e[1] else 0.5) * A or name == "gelu"


# ---- each ingredient against finite differences of the mpmath map ----------------------------

def _check_against_numerical(name, q, c):
    ing = smooth_ingredients(name, arb(q), arb(c))
    ref = numerical_map_derivatives(name, q, c, dps=30)
    tol = 1e-11
    assert _near(ing.value, ref.value, tol)
    for i in range(3):
        assert _near(ing.grad[i], ref.grad[i], tol), i
        for j in range(3):
            assert _near(ing.hess[i][j], ref.hess[i][j], tol), (i, j)
    for ball, v in ((ing.f2, ref.f2), (ing.f2_d1, ref.f2_d1), (ing.f2_d2, ref.f2_d2),
                    (ing.mean, ref.f1), (ing.mean_d1, ref.f1_d1), (ing.mean_d2, ref.f1_d2)):
        assert _near(ball, v, tol)
    radii = [ing.value, *ing.grad, *ing.hess[0], *ing.hess[2], ing.f2_d2]
    assert max(float(b.rad()) for b in radii) < 1e-12


@pytest.mark.parametrize("name,q,c", [("tanh", 0.5, 0.45), ("gelu", 1.3, 0.65),
                                      ("softplus", 1.3, 0.65), ("softplus", 0.8, 0.72)])
def test_ingredients_against_numerical_derivatives(name, q, c):
    _check_against_numerical(name, q, c)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tanh", "gelu"])
@pytest.mark.parametrize("q,c", POINTS)
def test_ingredients_against_numerical_derivatives_grid(name, q, c):
    _check_against_numerical(name, q, c)


@pytest.mark.slow
def test_silu_ingredients_against_numerical_derivatives():
    _check_against_numerical("silu", 1.3, 0.65)


# ---- moments against Gauss-Hermite and mpmath quadrature ---------------------------------------

def _gh_moment(name, a, b, q, c, n=200):
    t, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / math.sqrt(2 * math.pi)
    r = c / q
    u = math.sqrt(q) * t[:, None]
    v = math.sqrt(q) * (r * t[:, None] + math.sqrt(1 - r * r) * t[None, :])
    phi = PHI_NP[name]
    return float(np.sum(w[:, None] * w[None, :] * phi(u) ** a * phi(v) ** b))


@pytest.mark.parametrize("name", ["tanh", "gelu", "silu", "softplus"])
@pytest.mark.parametrize("q,c", POINTS)
def test_moments_against_gauss_hermite(name, q, c):
    mom = smooth_ingredients(name, arb(q), arb(c)).moments
    assert len(mom) == 12
    for (a, b), ball in mom.items():
        ref = _gh_moment(name, a, b, q, c)
        assert _near(ball, ref, 1e-12), (a, b, ball, ref)
        assert ball.rad() < 1e-12


@pytest.mark.parametrize("name", ["tanh", "gelu"])
def test_one_dimensional_moments_against_mpmath(name):
    """E phi(u)^4 at q = 1.3 by tanh-sinh quadrature at 25 digits."""
    phi = {"tanh": mpmath.tanh, "gelu": lambda x: x * mpmath.ncdf(x)}[name]
    with mpmath.workdps(25):
        s = mpmath.sqrt(mpmath.mpf("1.3"))
        ref = mpmath.quad(lambda x: phi(s * x) ** 4 * mpmath.npdf(x), [-mpmath.inf, 0, mpmath.inf])
    ball = coefficients(name, power(name, 4), arb("1.3"), 0)[0]
    with mpmath.workdps(25):
        assert ball.contains(arb(mpmath.nstr(ref, 22), "1e-21"))


@pytest.mark.slow
def test_mixed_moment_against_nested_mpmath():
    """E[tanh(u)^2 tanh(v)^2] at q = 1.3, c = 0.9 q by nested tanh-sinh quadrature."""
    q, c = mpmath.mpf("1.3"), mpmath.mpf("1.17")
    with mpmath.workdps(20):
        s, r = mpmath.sqrt(q), c / q
        t = mpmath.sqrt(1 - r * r)

        def inner(x):
            return mpmath.quad(lambda y: mpmath.tanh(s * (r * x + t * y)) ** 2 * mpmath.npdf(y),
                               [-mpmath.inf, 0, mpmath.inf])

        ref = mpmath.quad(lambda x: mpmath.tanh(s * x) ** 2 * inner(x) * mpmath.npdf(x),
                          [-mpmath.inf, 0, mpmath.inf])
        ball = smooth_ingredients("tanh", arb("1.3"), arb("1.17")).moments[(2, 2)]
        assert ball.contains(arb(mpmath.nstr(ref, 18), "1e-17"))


def test_softplus_kernel_map_against_mpmath_2d_quadrature():
    """E[softplus(u) softplus(v)] at q = 1.3, c = 0.9 q by mpmath's two-dimensional tanh-sinh
    quadrature at 16 digits over [-9, 9]^2 in (x, y), u = sqrt(q) x, v = sqrt(q)(r x +
    sqrt(1 - r^2) y) (the mass outside, weighted by softplus <= log 2 + |.|, is below 1e-17;
    a 20-digit run over the whole plane agreed to 19 digits)."""
    with mpmath.workdps(16):
        q, c = mpmath.mpf("1.3"), mpmath.mpf("1.17")
        s, r = mpmath.sqrt(q), c / q
        t = mpmath.sqrt(1 - r * r)

        def sp(x):
            return mpmath.log1p(mpmath.exp(x)) if x < 0 else x + mpmath.log1p(mpmath.exp(-x))

        ref = mpmath.quad(lambda x, y: sp(s * x) * sp(s * (r * x + t * y)) * mpmath.npdf(x)
                          * mpmath.npdf(y), [-9, 0, 9], [-9, 0, 9])
    ball = smooth_ingredients("softplus", arb("1.3"), arb("1.17")).value
    assert ball.rad() < 1e-14
    assert ball.overlaps(arb(mpmath.nstr(ref, 17), "1e-15"))


def test_rejects_correlation_not_inside():
    with pytest.raises(NSTheoryError, match="certified"):
        smooth_ingredients("tanh", arb(1), arb(1, 1e-3))
    with pytest.raises(NSTheoryError, match="covers"):
        smooth_ingredients("relu", arb(1), arb(0))


# ---- the depth-10 enclosures against the float recursion -------------------------------------

@pytest.mark.parametrize("act,sigma2", [("tanh", 1.5), ("gelu", 2.0)])
def test_depth10_mlp_enclosure_contains_float_recursion(act, sigma2, capsys):
    model = mlp(10, sigma2=sigma2, act=act)
    t0 = time.perf_counter()
    rows = finite_width_enclosure_blocks(model, 0.9)
    dt = time.perf_counter() - t0
    flt = finite_width_recursion(model, 0.9, per_net=1)
    for row, f in zip(rows, flt, strict=True):
        # mean field: 160-node Gauss-Hermite maps in float64 (measured ~1e-12 here)
        assert _near(row.mean_field_raw, f.mean_field_raw, 1e-9), row.layer
        assert _near(row.mean_field_normalised, f.mean_field_normalised, 1e-9), row.layer
        # coefficients: the float four-point moments, documented to ~1e-5 of the coefficient
        assert _near(row.coef_raw, f.coef_raw, 1e-4), row.layer
        assert _near(row.coef_normalised, f.coef_normalised, 1e-4), row.layer
    last = rows[-1]
    rad = max(float(last.coef_raw.rad()), float(last.mean_field_raw.rad()))
    with capsys.disabled():
        print(f"\n{act} depth 10 rho 0.9, 53 bits: radius coef_raw "
              f"{float(last.coef_raw.rad()):.3g}, coef_normalised "
              f"{float(last.coef_normalised.rad()):.3g}, time {dt:.3g} s")
    assert rad < 1e-9 * max(1.0, abs(float(last.coef_raw.mid())))


@pytest.mark.parametrize("model", [mlp(2, sigma2=1.0, act="softplus"),
                                   mlp(10, sigma2=1.0, act="softplus", layernorm=True)],
                         ids=["plain-depth2", "layernorm-depth10"])
def test_softplus_mlp_enclosure_agrees_with_float_recursion(model, capsys):
    """Softplus MLPs against the float recursion (Gauss-Hermite maps of SymPy derivatives, its
    own four-point moments): >= 7 significant digits of the corrected value, raw and one-pair
    normalised, at every layer, and a sharp ball. Without LayerNorm softplus's positive mean
    drives the correlation to 1 (0.968, 0.990, 0.997 after layers 1-3), where the Hermite
    series needs thousands of terms: the plain MLP is tested to depth 2 (depth 3 takes ~15 s;
    at layer 4 the series reaches its 4000-term cap and the radius jumps to 5e-5); LayerNorm
    after every block keeps the correlation near 0.8-0.9."""
    t0 = time.perf_counter()
    rows = finite_width_enclosure_blocks(model, 0.9)
    dt = time.perf_counter() - t0
    worst, radius = math.inf, 0.0
    for row, f in zip(rows, finite_width_recursion(model, 0.9, per_net=1), strict=True):
        for ball, x in ((row.corrected_raw(128), f.mean_field_raw + f.coef_raw / 128),
                        (row.corrected_normalised(128), f.corrected_normalised(128))):
            assert abs(float(ball.mid()) - x) <= 1e-7 * abs(x), (row.layer, ball, x)
            worst = min(worst, -math.log10(max(abs(float(ball.mid()) - x) / abs(x), 1e-17)))
            radius = max(radius, float(ball.rad()))
    with capsys.disabled():
        print(f"\nsoftplus {model.name} depth {model.depth} rho 0.9, 53 bits: largest radius of "
              f"the corrected values (width 128) {radius:.3g}, fewest agreeing digits "
              f"{worst:.3g}, time {dt:.3g} s")
    assert radius < 1e-10


def test_enclosure_columns_cover_tanh_and_limit_depth():
    from nstheory.propagation.finite_width_enclosure_blocks import enclosure_columns

    rows, note = enclosure_columns(mlp(2, sigma2=1.5, act="tanh"), 0.9, 128, per_net=1)
    lo, hi = map(float, rows[-1]["corrected_normalised_arb"])
    flt = finite_width_recursion(mlp(2, sigma2=1.5, act="tanh"), 0.9, per_net=1)[-1]
    assert lo <= hi and abs(flt.corrected_normalised(128) - (lo + hi) / 2) < 1e-6
    rows, note = enclosure_columns(mlp(3, act="gelu"), 0.9, 128, 1, max_smooth_depth=2)
    assert rows is None and "depth 3 > 2" in note


def test_argument_validation():
    with pytest.raises(NSTheoryError, match="prec"):
        smooth_ingredients("tanh", arb(1), arb(0), prec=10)
    with pytest.raises(NSTheoryError, match="activation"):
        coefficients("relu", power("tanh", 1), arb(1), 3)
    with pytest.raises(NSTheoryError, match="K"):
        coefficients("tanh", power("tanh", 1), arb(1), -1)
    with pytest.raises(NSTheoryError, match="q"):
        coefficients("tanh", power("tanh", 1), arb(0), 3)


@pytest.mark.parametrize("model", [mlp(3, sigma2=1.5, act="tanh", residual=True, layernorm=True),
                                   mlp(3, sigma2=2.0, act="gelu", layernorm=True),
                                   mlp(2, sigma2=2.0, act="silu"),
                                   mlp(3, sigma2=1.0, act="softplus", residual=True,
                                       layernorm=True)],
                         ids=["tanh-preln-residual", "gelu-layernorm", "silu",
                              "softplus-preln-residual"])
def test_blocks_with_smooth_activations_contain_float_recursion(model):
    """Residual and LayerNorm blocks (GELU's non-zero channel means enter LayerNorm)."""
    rows = finite_width_enclosure_blocks(model, 0.9)
    for row, f in zip(rows, finite_width_recursion(model, 0.9, per_net=1), strict=True):
        assert _near(row.mean_field_normalised, f.mean_field_normalised, 1e-9), row.layer
        assert _near(row.coef_raw, f.coef_raw, 1e-4), row.layer
        assert _near(row.coef_normalised, f.coef_normalised, 1e-4), row.layer
        assert row.coef_normalised.rad() < 1e-10
