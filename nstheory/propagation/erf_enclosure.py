r"""Certified (arb) ingredients of the 1/width recursion for the ``erf`` activation.

For ``(u, v)`` centred Gaussian with variances ``q`` and covariance ``c``:

* the kernel map ``F(q1, q2, c) = E[erf(u) erf(v)] = (2/pi) asin(2c / sqrt((1 + 2q1)(1 + 2q2)))``
  (Williams) and ``f2(q) = E erf(u)^2 = (2/pi) asin(2q / (1 + 2q))``, with their SymPy
  gradients and Hessians evaluated on arb balls (:func:`erf_map_arb`);
* the fourth moments ``E[erf(u)^a erf(v)^b]``, ``a + b = 4`` (:func:`erf_moments_arb`; the
  third ones vanish, ``erf`` being odd):

  - ``E erf(u)^4 = int phi(x) erf(sqrt(q) x)^4 dx``;
  - ``E[erf(u)^3 erf(v)] = int phi(x) erf(sqrt(q) x)^3 erf(kappa x) dx`` with
    ``kappa = sqrt(q) r / sqrt(1 + 2 q (1 - r^2))``, ``r = c / q`` (the inner expectation over
    the part of ``v`` independent of ``u`` is ``E erf(a + b n) = erf(a / sqrt(1 + 2 b^2))``);
  - ``E[erf(u)^2 erf(v)^2]`` by Price's theorem: its derivative in ``c`` is
    ``(16/pi) E[erf(u) e^{-u^2} erf(v) e^{-v^2}]``, which the Gaussian weight turns into a
    closed form (the covariance ``S (I + 2S)^{-1}`` and the factor ``det(I + 2S)^{-1/2}``), so
    the moment is its value at ``c = 0``, ``f2(q)^2``, plus a one-dimensional integral in ``c``.

  Each integral is an ``acb.integral`` of an integrand analytic near the path (branch cuts
  checked) plus, for the infinite ones, the tail bound ``erfc(L / sqrt(2))`` (``|erf| <= 1``).
  They are computed at the midpoints of the ``(q, c)`` balls and widened by bounds on the
  partial derivatives (Price / heat equation: ``|dM/dc| <= sup|g_uv|``, ``|dM/dq| <=
  (sup|g_uu| + sup|g_vv|) / 2``, with ``|erf'| <= 2/sqrt(pi)`` and ``|erf''| <= 0.97``).

Examples
--------
>>> from flint import arb
>>> m = erf_moments_arb(arb(1), arb(0))
>>> m[(2, 2)].overlaps(erf_map_arb(arb(1), arb(0))[3] ** 2)   # independent: f2(1)^2
True
"""

from __future__ import annotations

from functools import cache

from nstheory.errors import NSTheoryError
from nstheory.propagation.finite_width_enclosure import _spread, ball_lambdify, mean_value_widen

#: bounds on |dM/dq| and |dM/dc| of the fourth moments (see the module docstring)
_DERIVATIVE_BOUNDS = {(4, 0): (10, 0), (3, 1): (6, 4), (2, 2): (5, 6)}


@cache
def _erf_map_fns():
    """Lambdified (for arb) ``F``, grad, Hessian in ``(q1, q2, c)`` and ``f2, f2', f2''`` in
    ``q``; ``pi`` is an argument (so it follows the working precision)."""
    import sympy as sp

    q1, q2, c, q, P = sp.symbols("q1 q2 c q P", positive=True)
    f = 2 / P * sp.asin(2 * c / sp.sqrt((1 + 2 * q1) * (1 + 2 * q2)))
    f2 = 2 / P * sp.asin(2 * q / (1 + 2 * q))
    xs = (q1, q2, c)
    grad = [sp.diff(f, x) for x in xs]
    hess = [[sp.diff(g, y) for y in xs] for g in grad]
    ns = {"sqrt": lambda x: x.sqrt(), "asin": lambda x: x.asin()}
    fn = ball_lambdify((*xs, P), [f, grad, hess], ns, "erf map")
    fd = ball_lambdify((q, P), [f2, sp.diff(f2, q), sp.diff(f2, q, 2)], ns, "erf second moment")
    return fn, fd


def erf_map_arb(q, c):
    """The erf kernel map at ``(q, q, c)``: ``(F, grad F, Hess F, f2, f2', f2'')`` (arb balls),
    derivatives by SymPy; values and first derivatives at the midpoints, widened by the
    mean-value form.

    Examples
    --------
    ``dF/dc = (2/pi) 2 / (1 + 2q)`` at ``c = 0``: ``4 / (3 pi)`` for ``q = 1``:

    >>> from flint import arb
    >>> val, grad, hess, f2, d1, d2 = erf_map_arb(arb(1), arb(0))
    >>> val.contains(0), grad[2].overlaps(4 / (3 * arb.pi()))
    (True, True)
    """
    from flint import arb

    fn, fd = _erf_map_fns()
    pi = arb.pi()
    qm, cm = arb(q.mid()), arb(c.mid())
    val, grad, _ = fn(qm, qm, cm, pi)
    _, gb, hess = fn(q, q, c, pi)
    hess = [[arb(h) for h in row] for row in hess]
    val, grad = mean_value_widen((q, q, c), val, grad, gb, hess)
    f2, f2d1, _ = fd(qm, pi)
    _, f2d1b, f2d2 = fd(q, pi)
    f2, (f2d1,) = mean_value_widen((q,), f2, [f2d1], [f2d1b], [[f2d2]])
    return val, grad, hess, f2, f2d1, f2d2


def _integral(f, a, b):
    from flint import acb

    return acb.integral(f, a, b).real


def erf_moments_arb(q, c, prec: int = 53):
    """``E[erf(u)^a erf(v)^b]`` for ``a + b = 4`` (dict keyed by ``(a, b)``), ``(u, v)`` of
    variances ``q`` and covariance ``c`` (arb balls, ``|c| < q`` certified).

    Examples
    --------
    At ``c = 0`` the mixed moments factorise: ``E erf^3 E erf = 0``:

    >>> from flint import arb
    >>> erf_moments_arb(arb(2), arb(0))[(3, 1)].contains(0)
    True
    """
    from flint import acb, arb

    from nstheory.gaussian.hermite import certified_radius_L
    from nstheory.numerics import arb_precision

    if not (q > 0 and abs(c) < q):
        raise NSTheoryError(f"erf moments need q > 0 and |c| < q certified; got {q}, {c}")
    L = max(4, certified_radius_L(prec))
    fd = _erf_map_fns()[1]
    with arb_precision(bits=prec + 30):
        qm, cm = arb(q.mid()), arb(c.mid())
        rt = qm.sqrt()
        r = cm / qm
        kappa = rt * r / (1 + 2 * qm * (1 - r * r)).sqrt()
        inv2pi = 1 / (2 * arb.pi()).sqrt()
        tail = (arb(L) / arb(2).sqrt()).erfc()   # 2 P(Z > L)

        def gauss(x):
            return (-x * x / 2).exp() * inv2pi

        def m40(x, analytic):
            return gauss(x) * (rt * x).erf() ** 4

        def m31(x, analytic):
            return gauss(x) * (rt * x).erf() ** 3 * (kappa * x).erf()

        pi = arb.pi()

        def price(t, analytic):
            # E[erf(u) e^{-u^2} erf(v) e^{-v^2}] at covariance t: eigenvalues q +- t of the
            # covariance become (q +- t) / (1 + 2(q +- t)) under the Gaussian weight
            lp, lm = 1 + 2 * (qm + t), 1 + 2 * (qm - t)
            a, b = (qm + t) / lp, (qm - t) / lm
            det = (lp * lm).sqrt(analytic=analytic)
            w = (a - b) / (1 + a + b)
            if analytic and not abs(w.real) < 1:
                return acb("nan")
            return 2 / pi * w.asin() / det

        out = {(4, 0): 2 * _integral(m40, 0, L) + arb(0, tail.upper()),
               (3, 1): 2 * _integral(m31, 0, L) + arb(0, tail.upper())}
        f2 = fd(qm, pi)[0]
        out[(2, 2)] = f2 * f2 + 16 / pi * _integral(price, 0, cm)
        dq, dc = _spread(q), _spread(c)
        for k, (bq, bc) in _DERIVATIVE_BOUNDS.items():
            out[k] = out[k] + bq * dq + bc * dc
    with arb_precision(bits=prec):
        out = {k: +v for k, v in out.items()}
    out[(0, 4)], out[(1, 3)] = out[(4, 0)], out[(3, 1)]
    return out


__all__ = ["erf_map_arb", "erf_moments_arb"]
