r"""First and second derivatives of an activation's Gaussian kernel map.

The finite-width (1/width) recursion needs, for pre-activations ``(u, v)`` with covariance
``[[q1, c], [c, q2]]``,

* ``F(q1, q2, c) = E[phi(u) phi(v)]``, its gradient in ``(q1, q2, c)`` and its 3 x 3 Hessian;
* ``f2(q) = E[phi(u)^2]`` (``u ~ N(0, q)``) with ``f2'`` and ``f2''`` (the diagonal entries,
  where ``F`` depends on the single variable ``q = q1 = q2 = c``);
* ``f1(q) = E[phi(u)]`` with ``f1'`` and ``f1''`` (the channel mean, which LayerNorm uses).

Two routes, sharing no code for the compared quantity:

:func:`map_derivatives` (the recursion's route, *symbolic*)
    SymPy differentiates the closed-form map where one exists (ReLU, erf, identity). For
    activations without one (tanh, GELU, SiLU, softplus) SymPy differentiates ``phi`` and the
    derivatives of the map are Gaussian expectations of derivatives of ``phi`` (Price's
    theorem: ``dF/dc = E[phi' phi']``, ``dF/dq1 = E[phi'' phi] / 2``, ...), evaluated by
    160 x 160-node Gauss-Hermite quadrature for variances ``q <= 2`` and composite
    Gauss-Legendre panels resolving ``phi``'s scale ``1/sqrt(q)`` above (there the Gauss-Hermite
    nodes are too sparse near 0: a tanh MLP's 1/width coefficient came out -42, not +0.20).
:func:`numerical_map_derivatives` (the independent route, *precise*)
    central finite differences (Richardson-extrapolated) of the activations area's mpmath map
    ``Activation.raw`` at high working precision.

Examples
--------
>>> d = map_derivatives("relu", 1.0, 0.5)
>>> round(d.grad[2], 12)   # dF/dc = E[1{u>0} 1{v>0}] = (pi - arccos(1/2)) / (2 pi)
0.333333333333
>>> round(d.f2_d1, 12), round(d.f2_d2, 12)   # f2(q) = q / 2
(0.5, 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from nstheory.errors import NSTheoryError

#: activations whose kernel map SymPy differentiates in closed form
CLOSED_FORM = ("relu", "erf", "identity")
#: activations handled by Price's theorem on SymPy derivatives of phi
PRICE = ("tanh", "gelu", "silu", "softplus")
SUPPORTED = CLOSED_FORM + PRICE
#: Gauss-Hermite nodes per axis of the Price-route quadrature
PRICE_NODES = 160


@dataclass(frozen=True)
class MapDerivatives:
    """Kernel-map value and derivatives at ``(q1, q2, c) = (q, q, c)``.

    Parameters
    ----------
    value, grad, hess
        ``F`` and its gradient (order ``q1, q2, c``) and 3 x 3 Hessian.
    f2, f2_d1, f2_d2
        The diagonal map ``f2(q) = E phi^2`` and its first two derivatives.
    f1, f1_d1, f1_d2
        The mean ``f1(q) = E phi`` and its first two derivatives.

    Examples
    --------
    For ReLU at ``q = 1``: ``E relu(U)^2 = 1/2`` and ``E relu(U) = 1 / sqrt(2 pi)``:

    >>> import math
    >>> d = map_derivatives("relu", 1.0, 0.0)
    >>> math.isclose(d.f2, 0.5), math.isclose(d.f1, 1 / math.sqrt(2 * math.pi))
    (True, True)
    >>> len(d.grad), len(d.hess), len(d.hess[0])
    (3, 3, 3)
    """

    value: float
    grad: tuple
    hess: tuple
    f2: float
    f2_d1: float
    f2_d2: float
    f1: float = 0.0
    f1_d1: float = 0.0
    f1_d2: float = 0.0


def _check_name(name: str) -> str:
    if name not in SUPPORTED:
        raise NSTheoryError(f"finite-width rules need an activation in {', '.join(SUPPORTED)}; "
                            f"got {name!r}")
    return name


@cache
def _sympy_closed_form(name: str):
    """Lambdified ``F``, its gradient and Hessian, and ``f2, f2', f2''`` (closed forms)."""
    import sympy as sp

    q1, q2, c, q = sp.symbols("q1 q2 c q", positive=True)
    if name == "relu":
        s = sp.sqrt(q1 * q2)
        f = (sp.sqrt(q1 * q2 - c**2) + c * (sp.pi - sp.acos(c / s))) / (2 * sp.pi)
        f2 = q / 2
        f1 = sp.sqrt(q / (2 * sp.pi))
    elif name == "erf":
        f = 2 / sp.pi * sp.asin(2 * c / sp.sqrt((1 + 2 * q1) * (1 + 2 * q2)))
        f2 = 2 / sp.pi * sp.asin(2 * q / (1 + 2 * q))
        f1 = sp.Integer(0)
    else:  # identity
        f = c
        f2 = q
        f1 = sp.Integer(0)
    xs = (q1, q2, c)
    grad = [sp.diff(f, x) for x in xs]
    hess = [[sp.diff(f, x, y) for y in xs] for x in xs]
    fn = sp.lambdify(xs, [f, grad, hess], "math")
    fd = sp.lambdify(q, [f2, sp.diff(f2, q), sp.diff(f2, q, 2),
                         f1, sp.diff(f1, q), sp.diff(f1, q, 2)], "math")
    return fn, fd


@cache
def _sympy_phi_derivatives(name: str):
    """``phi`` and its first four derivatives (SymPy), lambdified for numpy arrays."""
    import sympy as sp
    from scipy.special import erf

    x = sp.symbols("x", real=True)
    phi = {
        "tanh": sp.tanh(x),
        "gelu": x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
        "silu": x / (1 + sp.exp(-x)),
        "softplus": sp.log(1 + sp.exp(x)),
    }[name]
    ders = [phi] + [sp.diff(phi, x, k) for k in range(1, 5)]
    return [sp.lambdify(x, d, [{"erf": erf}, "numpy"]) for d in ders]


@cache
def _gauss_hermite(n: int):
    """Probabilists' Gauss-Hermite nodes and weights normalised to sum 1."""
    t, w = np.polynomial.hermite_e.hermegauss(n)
    return t, w / w.sum()


#: Largest variance at which the Price route keeps its Gauss-Hermite rule; above it ``phi``'s
#: features (width ``~1/sqrt(q)`` in the standardised variable) are finer than the rule's node
#: spacing, and a composite rule that resolves them is used (at q = 16 the 160-node rule gave
#: a tanh MLP's 1/width coefficient as -42 instead of +0.20).
PRICE_GH_MAX_Q = 2.0


def _price(name: str, q: float, c: float) -> MapDerivatives:
    d = _sympy_phi_derivatives(name)
    sq = math.sqrt(q)
    r = c / q
    s = math.sqrt(max(0.0, 1 - r * r))
    if q <= PRICE_GH_MAX_Q:
        t, w = _gauss_hermite(PRICE_NODES)
        t2, w2 = t, w
    else:  # resolve phi(sqrt(q) t) in the first variable and its slice in the second
        from nstheory.gaussian.smooth import normal_panel_rule

        t, w = normal_panel_rule(sq)
        t2, w2 = normal_panel_rule(sq * max(s, 1.0 / sq))
    u = sq * t[:, None] * np.ones((1, t2.size))
    v = sq * (r * t[:, None] + s * t2[None, :])
    ww = w[:, None] * w2[None, :]
    du = [f(u) * np.ones_like(u) for f in d]
    dv = [f(v) * np.ones_like(v) for f in d]

    def e(i, j):
        return float(np.sum(ww * du[i] * dv[j]))

    value = e(0, 0)
    grad = (e(2, 0) / 2, e(0, 2) / 2, e(1, 1))
    hess = (
        (e(4, 0) / 4, e(2, 2) / 4, e(3, 1) / 2),
        (e(2, 2) / 4, e(0, 4) / 4, e(1, 3) / 2),
        (e(3, 1) / 2, e(1, 3) / 2, e(2, 2)),
    )
    # diagonal: f2 = E phi^2, f2' = E[(phi^2)''] / 2, f2'' = E[(phi^2)''''] / 4
    x = sq * t
    p = [f(x) * np.ones_like(x) for f in d]
    sq2 = p[1] ** 2 + p[0] * p[2]                       # (phi^2)'' / 2
    sq4 = 3 * p[2] ** 2 + 4 * p[1] * p[3] + p[0] * p[4]  # (phi^2)'''' / 2
    return MapDerivatives(value, grad, hess, float(w @ p[0] ** 2), float(w @ sq2),
                          float(w @ sq4) / 2, float(w @ p[0]), float(w @ p[2]) / 2,
                          float(w @ p[4]) / 4)


def map_derivatives(name: str, q: float, c: float) -> MapDerivatives:
    """Value, gradient and Hessian of the kernel map of ``name`` at ``(q, q, c)``, ``|c| < q``
    (the recursion's route; see the module docstring).

    >>> d = map_derivatives("erf", 1.0, 0.0)
    >>> round(d.grad[2], 12)   # dF/dc at c = 0: (2/pi) * 2/3
    0.424413181578
    """
    _check_name(name)
    q, c = float(q), float(c)
    if not (q > 0) or not math.isfinite(q):
        raise NSTheoryError(f"q must be finite and > 0, got {q}")
    if not abs(c) < q:
        raise NSTheoryError(f"kernel map derivatives need |c| < q, got c={c}, q={q}")
    if name in CLOSED_FORM:
        fn, fd = _sympy_closed_form(name)
        value, grad, hess = fn(q, q, c)
        return MapDerivatives(float(value), tuple(map(float, grad)),
                              tuple(tuple(map(float, row)) for row in hess),
                              *(float(v) for v in fd(q)))
    return _price(name, q, c)


def numerical_map_derivatives(name: str, q: float, c: float, h: float = 1e-6,
                              dps: int = 40) -> MapDerivatives:
    """The same derivatives by Richardson-extrapolated central differences of the activations
    area's mpmath map (steps ``h`` and ``2h``, working precision ``dps`` digits).

    >>> d = numerical_map_derivatives("relu", 1.0, 0.5)
    >>> round(d.grad[2], 9)
    0.333333333
    """
    import mpmath

    from nstheory.propagation.maps import activation

    _check_name(name)
    act = activation(name)
    with mpmath.workdps(dps):
        qm, cm, hm = mpmath.mpf(q), mpmath.mpf(c), mpmath.mpf(h)

        memo: dict = {}  # the stencils share points: evaluate each map once per point

        def once(key, fn):
            if key not in memo:
                memo[key] = fn()
            return memo[key]

        def F(x):
            a, b, cc = x
            return once(("F", *x), lambda: act.raw(cc / mpmath.sqrt(a * b), a, b, dps))

        def f2(x):
            return once(("f2", x), lambda: act.second_moment(x, dps))

        x0 = (qm, qm, cm)

        def shift(i, di, j=None, dj=0):
            x = list(x0)
            x[i] += di
            if j is not None:
                x[j] += dj
            return tuple(x)

        def d1(i, s):
            return (F(shift(i, s)) - F(shift(i, -s))) / (2 * s)

        def d2(i, j, s):
            if i == j:
                return (F(shift(i, s)) - 2 * F(x0) + F(shift(i, -s))) / s**2
            return (F(shift(i, s, j, s)) - F(shift(i, s, j, -s)) - F(shift(i, -s, j, s))
                    + F(shift(i, -s, j, -s))) / (4 * s**2)

        def rich(g):
            return (4 * g(hm) - g(2 * hm)) / 3

        grad = tuple(float(rich(lambda s, i=i: d1(i, s))) for i in range(3))
        hess = tuple(tuple(float(rich(lambda s, i=i, j=j: d2(i, j, s))) for j in range(3))
                     for i in range(3))
        def f1(x):
            return once(("f1", x), lambda: act.mean(x, dps))

        def dd(f):
            return (float(f(qm)), float(rich(lambda s: (f(qm + s) - f(qm - s)) / (2 * s))),
                    float(rich(lambda s: (f(qm + s) - 2 * f(qm) + f(qm - s)) / s**2)))

        return MapDerivatives(float(F(x0)), grad, hess, *dd(f2), *dd(f1))
