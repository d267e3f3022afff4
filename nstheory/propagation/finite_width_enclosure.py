r"""Certified (arb) enclosure of the 1/width-corrected stability of a Dense + ReLU MLP.

The 1/width recursion (:mod:`~nstheory.propagation.finite_width`) gives, per block, the
mean-field value ``v`` and the coefficient ``c`` of ``1/N``; the *corrected value* at width ``N``
is the truncated expansion ``v + c / N``. This module computes ``v``, ``c`` and ``v + c / N`` as
arb balls that provably contain the exact values **of the truncated expansion**: the
``O(1/N^2)`` remainder is not part of the ball (it is estimated separately, not bounded).

Scope: stacks of ``Dense(sigma2) -> relu`` or ``Dense(sigma2) -> identity`` blocks, one input pair
per network (LayerNorm, residual and identity-pattern transformer blocks, and the table
columns of ``nstheory propagate --finite-width``:
:mod:`~nstheory.propagation.finite_width_enclosure_blocks`).
The statistics tracked are the pair's kernel entries ``(K_XX, K_XY, K_YY)`` only:

* the raw view's coefficient (``mu_XY``) depends on nothing else, whatever the number of pairs
  per network;
* the normalised view's coefficient needs, besides the same-pair vertex, the vertex between two
  independent pairs seen by the same network (weight ``1 - 1/per_net``); this module encloses
  it for ``per_net = 1`` only, :mod:`~nstheory.propagation.finite_width_enclosure_blocks`
  for any ``per_net`` (with the three-input moments of :func:`relu_cross_moment_arb`).

Every ingredient is rigorous: the ReLU kernel map, its gradient and Hessian are SymPy derivatives
of the arc-cosine closed form evaluated in ball arithmetic (:func:`relu_map_arb`); the four-point
source needs ``E[relu(u)^j relu(v)^k]`` for ``j + k = 4``: the mixed ones are an ``acb.integral``
over ``[0, L]`` of an entire integrand (the inner Gaussian integral in closed form) plus an
analytic tail bound (:func:`relu_pair_moment_arb`).

Examples
--------
>>> from nstheory.propagation.model import mlp
>>> rows = finite_width_enclosure(mlp(2), 0.9)
>>> rows[-1].mean_field_normalised      # doctest: +ELLIPSIS
[0.91774...
>>> bool(rows[-1].corrected_normalised(256).rad() < 1e-12)
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.propagation.model import Act, Dense, Model, require_zero_eps
from nstheory.validate import check_real

#: activations covered by the enclosure
ENCLOSED = ("relu", "identity")
_XX, _XY, _YY = 0, 1, 2
#: the number of input-0 and input-1 factors of each tracked kernel entry
_COUNTS = ((2, 0), (1, 1), (0, 2))


def ball_lambdify(args, exprs, namespace: dict, what: str):
    """``sympy.lambdify`` for arb balls: every rational literal is checked to be dyadic (hence
    exact in binary), and positive integer powers are printed as products (python-flint's
    ``x ** n`` of a ball that contains 0 is ``nan``; ``x * x`` is the sound square).

    Examples
    --------
    >>> import sympy as sp
    >>> from flint import arb
    >>> x = sp.Symbol("x")
    >>> f = ball_lambdify((x,), x**2 / 4, {}, "square")
    >>> f(arb(0, 1e-3)).is_finite(), f(arb(2))
    (True, 1.00000000000000)
    """
    import inspect

    import sympy as sp
    from sympy.printing.lambdarepr import LambdaPrinter

    class Printer(LambdaPrinter):
        def _print_Pow(self, expr, rational=False):
            if expr.exp.is_Integer and expr.exp > 1:
                base = self.parenthesize(expr.base, 100)
                return "(" + " * ".join([base] * int(expr.exp)) + ")"
            return super()._print_Pow(expr, rational=rational)

    fn = sp.lambdify(args, exprs, modules=[namespace],
                     printer=Printer({"fully_qualified_modules": False}))
    body = inspect.getsource(fn).split("return", 1)[1]
    if re.search(r"\d\.\d|\de", body) or any(
            int(d) & (int(d) - 1) for d in re.findall(r"/(\d+)", body)):
        raise NSTheoryError(f"lambdified {what} has a non-dyadic literal")  # pragma: no cover
    return fn


@cache
def _relu_map_fn():
    """SymPy value, gradient and Hessian of ``F(q1, q2, c) = E[relu(u) relu(v)]`` lambdified
    for arb balls (:func:`ball_lambdify`)."""
    import sympy as sp
    from flint import arb

    q1, q2, c = xs = sp.symbols("q1 q2 c", positive=True)
    f = (sp.sqrt(q1 * q2 - c**2) + c * (sp.pi - sp.acos(c / sp.sqrt(q1 * q2)))) / (2 * sp.pi)
    grad = [sp.diff(f, x) for x in xs]
    hess = [[sp.diff(g, y) for y in xs] for g in grad]
    ns = {"sqrt": lambda x: x.sqrt(), "acos": lambda x: x.acos(), "pi": arb.pi()}
    return ball_lambdify(xs, [f, grad, hess], ns, "ReLU map")


def _spread(ball):
    """The ball ``[-rad, rad]`` of the deviations from the midpoint."""
    from flint import arb

    return arb(0, ball.rad())


def mean_value_widen(box, val_mid, grad_mid, grad_ball, hess_ball):
    """Enclose a function and its gradient on a box of balls from their values at the midpoint.

    Mean-value form: for ``x`` in the box, ``f(x) = f(m) + grad f(xi) . (x - m)`` with ``m``
    the midpoint and ``xi`` in the box, so ``f(m) + sum_i grad_i(box) [-rad_i, rad_i]``
    contains ``f(x)``; likewise each gradient component with the Hessian on the box.
    Evaluating ``f`` on the balls directly (interval evaluation) loses the cancellations
    inside ``f`` and overestimates the radius; the mean-value form grows it only by the
    derivative times the input radii.

    Parameters
    ----------
    box : sequence of flint.arb
        The arguments (``n`` balls).
    val_mid : flint.arb
        ``f`` at the midpoint of the box.
    grad_mid : sequence of flint.arb
        The ``n`` partial derivatives at the midpoint.
    grad_ball : sequence of flint.arb
        The ``n`` partial derivatives enclosed on the whole box.
    hess_ball : sequence of sequences of flint.arb
        The ``n x n`` second derivatives enclosed on the whole box.

    Returns
    -------
    tuple
        ``(value, gradient)``: a ball containing ``f`` on the box and a list of balls
        containing its partial derivatives there.

    Examples
    --------
    ``f(x) = x^2`` on ``x = 1 +- 0.01``: ``f`` in ``1 + [-2.02, 2.02] 0.01`` and ``f'`` in
    ``2 + 2 [-0.01, 0.01]``:

    >>> from flint import arb
    >>> x = arb(1, 0.01)
    >>> val, (d1,) = mean_value_widen((x,), arb(1), [arb(2)], [2 * x], [[arb(2)]])
    >>> val.contains(arb("1.0201")), val.contains(arb("0.9801")), d1.contains(arb("2.02"))
    (True, True, True)
    >>> bool(val.rad() < 0.0203)
    True
    """
    d = [_spread(x) for x in box]
    n = len(d)
    val = val_mid + sum(grad_ball[i] * d[i] for i in range(n))
    grad = [grad_mid[i] + sum(hess_ball[i][k] * d[k] for k in range(n)) for i in range(n)]
    return val, grad


def relu_map_arb(q, c):
    """``F``, its gradient and Hessian in ``(q1, q2, c)`` at ``(q, q, c)`` (arb balls).

    The value and the gradient are evaluated at the midpoints and widened by the mean-value
    form (the next derivative on the whole ball times the radius): evaluating the closed form
    on the balls directly would lose the cancellation between ``sqrt(q1 q2 - c^2)`` and
    ``c acos(...)`` and blow the radius of the mean-field kernel up by ``1/sqrt(1 - r^2)`` per
    layer. The Hessian is evaluated on the balls (its radius does not feed back into the
    kernel).

    Examples
    --------
    ``dF/dc = P(u > 0, v > 0) = 1/3`` at correlation 1/2:

    >>> from flint import arb
    >>> val, grad, hess = relu_map_arb(arb(1), arb(1) / 2)
    >>> grad[2].contains(arb(1) / 3), bool(grad[2].rad() < 1e-14)
    (True, True)
    """
    from flint import arb

    fn = _relu_map_fn()
    q, c = (x if isinstance(x, arb) else arb(check_real(x, "q" if x is q else "c"))
            for x in (q, c))
    qm, cm = arb(q.mid()), arb(c.mid())
    val, grad, _ = fn(qm, qm, cm)
    _, gb, hess = fn(q, q, c)
    val, grad = mean_value_widen((q, q, c), val, grad, gb, hess)
    return val, grad, hess


def _tail_bound(m: int, k: int, L: int):
    """Bound on ``int_L^inf x^m gamma(x) 2^k x^k dx`` (``L^2 > m + k``): with ``p = m + k``,
    ``x^p gamma(x) <= L^p gamma(L) e^{-(L - p/L)(x - L)}`` (``log x <= log L + (x - L)/L``), so
    the integral is at most ``2^k L^p gamma(L) / (L - p/L)``; ``4^k`` is used (slack)."""
    from flint import arb

    p = m + k
    Lb = arb(L)
    gam = (-Lb * Lb / 2).exp() / (2 * arb.pi()).sqrt()
    return arb(4) ** k * Lb**p * gam / (Lb - arb(p) / Lb)


def _relu_inner(x, s, k: int):
    """``E[(x + s n)_+^k]``, ``k = 1, 2, 3``, in closed form (``s > 0`` a ball; ``x`` an arb or
    acb ball: the expression is entire in ``x``)."""
    from flint import arb

    t = x / s
    big = (-t / arb(2).sqrt()).erfc() / 2
    small = (-t * t / 2).exp() / (2 * arb.pi()).sqrt()
    if k == 1:
        return x * big + s * small
    if k == 2:
        return (x * x + s * s) * big + x * s * small
    return x * (x * x + 3 * s * s) * big + s * (x * x + 2 * s * s) * small


def relu_pair_moment_arb(j: int, k: int, r, prec: int = 53):
    """``E[relu(u)^j relu(v)^k]`` for standard ``(u, v)`` with correlation ``r`` (a ball inside
    ``(-1, 1)``), ``j, k >= 1``.

    With ``v = r u + s n``, ``s = sqrt(1 - r^2)``, the inner expectation over ``n`` is in closed
    form (``m_k(x) = E[(x + s n)_+^k]``, polynomials times ``Phi(x/s)`` and ``phi(x/s)``), an
    entire function; the outer one is ``int_0^L x^j gamma(x) m_k(r x) dx`` by ``acb.integral``
    plus the tail bound of :func:`_tail_bound` (on ``x >= L >= 3``, ``m_k(r x) <= E(x + |n|)^k
    <= 2^(k-1) (x^k + E|n|^k) <= 2^k x^k``; added to the radius).

    Examples
    --------
    The degree-2 arc-cosine kernel: at ``r = 0`` the moment factorises, ``(1/2)^2``:

    >>> from flint import arb
    >>> ball = relu_pair_moment_arb(2, 2, arb(0))
    >>> ball.contains(arb(1) / 4), bool(ball.rad() < 1e-14)
    (True, True)
    """
    from flint import acb, arb

    from nstheory.gaussian.hermite import certified_radius_L
    from nstheory.numerics import arb_precision

    if not (j >= 1 and k in (1, 2, 3)):
        raise NSTheoryError(f"relu_pair_moment_arb needs j >= 1 and k in 1..3, got {j}, {k}")
    L = max(3, certified_radius_L(prec + 4 * (j + k)))
    with arb_precision(bits=prec + 30):
        r = arb(r)
        one_m = 1 - r * r
        if not one_m > 0:
            raise NSTheoryError(f"relu_pair_moment_arb needs |r| < 1 certified, got {r}")
        s = one_m.sqrt()
        inv2pi = 1 / (2 * arb.pi()).sqrt()

        def f(z, analytic):
            return z**j * (-z * z / 2).exp() * inv2pi * _relu_inner(r * z, s, k)

        val = acb.integral(f, 0, L).real
        val += arb(0, _tail_bound(j, k, L).upper())
    with arb_precision(bits=prec):
        return +val


def relu_cross_moment_arb(k: int, r, t, prec: int = 53):
    """``E[relu(z0) relu(z1) relu(z2)^k]``, ``k = 1, 2``, for standard Gaussians with
    ``corr(z0, z1) = r`` and ``corr(z0, z2) = corr(z1, z2) = t``, ``|t| <= r < 1``.

    This is the three-dimensional source of the vertex between two independent input pairs
    seen by the same network (``z0, z1`` one pair, ``z2`` an input of the other). With ``a`` the
    pair's shared part, ``z0 = a + s n0``, ``z1 = a + s n1`` (``a ~ N(0, r)``, ``s =
    sqrt(1 - r)``), and ``z2 = (t / r) a + s2 n2`` (``s2 = sqrt(1 - t^2 / r)``), the three are
    independent given ``a``, so

    .. math::
        E = \\int \\gamma(u)\\, m_1(\\sqrt r\\, u; s)^2\\, m_k(t u / \\sqrt r; s_2)\\, du,
        \\qquad m_k(x; s) = E[(x + s n)_+^k],

    a one-dimensional integral of an entire function (the inner expectations in closed form).
    It is computed by ``acb.integral`` on ``[-L, L]`` plus a tail bound: for ``|u| >= L >= 3``,
    ``m_1 <= |u| + 1`` and ``m_k <= 2^(k-1) (|u|^k + E|n|^k)``, so the integrand is at most
    ``2^(k+1) |u|^(k+2) gamma(u)``. Balls ``r, t`` are handled at their midpoints and widened by
    Price's theorem: ``dE/dr = E[1{z0>0} 1{z1>0} relu(z2)^k] in [0, 1/2]`` and ``dE/dt = k
    E[1{z0>0} relu(z1) relu(z2)^(k-1)] + (z0 <-> z1) in [0, 2]``.

    Parameters
    ----------
    k : int
        Power of the third factor, 1 or 2.
    r, t : flint.arb or number
        The correlations: ``r < 1`` and ``|t| <= r`` (``t = r`` is the case of a pair of
        independent inputs; a midpoint past it by rounding is moved onto it and the move
        added to the widening).
    prec : int, optional
        Working precision in bits.

    Returns
    -------
    flint.arb

    Examples
    --------
    At ``t = 0`` the third factor is independent: ``E[relu^2] = 1/2`` times the arc-cosine
    kernel ``(sqrt(1 - r^2) + r (pi - acos r)) / (2 pi)``; at ``r = 0`` that is ``1 / (2 pi)``:

    >>> from flint import arb
    >>> ball = relu_cross_moment_arb(2, arb(0), arb(0))
    >>> ball.overlaps(1 / (4 * arb.pi())), bool(ball.rad() < 1e-14)
    (True, True)
    >>> relu_cross_moment_arb(3, 0.5, 0.1)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: relu_cross_moment_arb needs k in (1, 2), got 3
    """
    from flint import acb, arb

    from nstheory.gaussian.hermite import certified_radius_L
    from nstheory.numerics import arb_precision

    if k not in (1, 2):
        raise NSTheoryError(f"relu_cross_moment_arb needs k in (1, 2), got {k}")
    L = max(3, certified_radius_L(prec + 4 * (k + 2)))
    with arb_precision(bits=prec + 30):
        r, t = arb(r), arb(t)
        rm, tm = arb(r.mid()), arb(t.mid())
        if not (rm < 1 and abs(t).lower() <= rm):
            raise NSTheoryError(f"relu_cross_moment_arb needs |t| <= r < 1, got r={r}, t={t}")
        # t = r is a real case (a pair of independent inputs): a midpoint just past it by
        # rounding is moved onto it, and the move is added to t's spread below
        shift = abs(tm) - rm if abs(tm) > rm else arb(0)
        tm = tm - shift if tm > 0 else tm + shift
        s = (1 - rm).sqrt()
        if tm == 0:  # z2 independent of the pair
            third = arb(1) / 2 if k == 2 else 1 / (2 * arb.pi()).sqrt()
            val = third * relu_pair_moment_arb(1, 1, rm, prec + 30)
        else:
            sr = rm.sqrt()
            slope = tm / sr
            s2 = (1 - tm * tm / rm).sqrt()
            inv2pi = 1 / (2 * arb.pi()).sqrt()

            def f(z, analytic):
                m1 = _relu_inner(sr * z, s, 1)
                return (-z * z / 2).exp() * inv2pi * m1 * m1 * _relu_inner(slope * z, s2, k)

            tol = arb(2) ** -(prec + 8)   # the requested accuracy, not the working precision's
            val = acb.integral(f, -L, L, rel_tol=tol, abs_tol=tol).real
            tail = 2 * arb(2) ** (k + 1) * _tail_bound(k + 2, 0, L)
            val += arb(0, tail.upper())
        val += arb(0, (_spread(r) / 2 + 2 * (_spread(t) + shift)).upper())
    with arb_precision(bits=prec):
        return +val


def _relu_moments(q, c, prec):
    """``E[relu(u)^a relu(v)^b]``, ``a + b = 4``, for ``(u, v)`` of variances ``q`` and
    covariance ``c`` (balls): ``{(a, b): ball}``."""
    from flint import arb

    r = c / q
    if not (r < 1 and r > -1):
        raise NSTheoryError(f"the correlation ball {r} is not certified inside (-1, 1)")
    # at the midpoint, widened by |dM/dr| <= bound (Price: dM_jk/dr = jk E[relu^(j-1)
    # relu^(k-1)] with relu^0 read as 1{> 0}: 3 E relu^2 = 3/2 and 4 E relu relu <= 2)
    rm, dr = arb(r.mid()), _spread(r)
    m31 = relu_pair_moment_arb(3, 1, rm, prec) + arb(3) / 2 * dr
    m22 = relu_pair_moment_arb(2, 2, rm, prec) + 2 * dr
    q2 = q * q
    return {(4, 0): q2 * arb(3) / 2, (0, 4): q2 * arb(3) / 2, (3, 1): q2 * m31,
            (1, 3): q2 * m31, (2, 2): q2 * m22}


def _identity_moments(q, c):
    """Isserlis: ``E[u^a v^b]``, ``a + b = 4``."""
    return {(4, 0): 3 * q * q, (0, 4): 3 * q * q, (3, 1): 3 * q * c, (1, 3): 3 * q * c,
            (2, 2): q * q + 2 * c * c}


@dataclass
class EnclosureRow:
    """One block: arb balls of the mean-field values and the ``1/N`` coefficients.

    Parameters
    ----------
    layer : int
        Block index, 1-based.
    mean_field_raw, mean_field_normalised : flint.arb
        Infinite-width ``E[h(X) h(Y)]`` and the correlation.
    coef_raw : flint.arb
        The raw view's ``1/N`` coefficient (any number of pairs per network).
    coef_normalised : flint.arb
        The normalised view's coefficient (for the number of input pairs per network the
        row was computed for; ``None`` where not enclosed).

    Examples
    --------
    >>> from flint import arb
    >>> row = EnclosureRow(1, arb(1), arb("0.5"), arb(0), arb(-1))
    >>> row.corrected_normalised(4)
    0.250000000000000
    """

    layer: int
    mean_field_raw: object
    mean_field_normalised: object
    coef_raw: object
    coef_normalised: object

    def corrected_raw(self, width: int):
        """Ball of ``mean_field_raw + coef_raw / width`` (the truncated expansion)."""
        return self.mean_field_raw + self.coef_raw / width

    def corrected_normalised(self, width: int):
        """Ball of ``mean_field_normalised + coef_normalised / width``."""
        return self.mean_field_normalised + self.coef_normalised / width


def _blocks(model: Model):
    if model.n_tokens != 1:
        raise NSTheoryError("the arb enclosure covers single-token MLPs (n_tokens = 1)")
    out = []
    for block in model.blocks:
        if not (len(block) == 2 and isinstance(block[0], Dense) and isinstance(block[1], Act)
                and block[1].name in ENCLOSED):
            raise NSTheoryError("the arb enclosure covers Dense -> relu/identity blocks only; "
                                f"got {block!r}")
        out.append((block[1].name, block[0].sigma2))
    return out


def finite_width_enclosure(model: Model, rho: float, prec: int = 53) -> list[EnclosureRow]:
    """Arb enclosures of the 1/width recursion after every block (one input pair per network).

    Parameters
    ----------
    model : Model
        ``Dense(sigma2) -> relu`` or ``-> identity`` blocks.
    rho : float
        Input correlation in ``[0, 1)``.
    prec : int, optional
        Working precision in bits (at least 20).

    Returns
    -------
    list of EnclosureRow

    Raises
    ------
    NSTheoryError
        For other layers, ``rho`` outside ``[0, 1)``, or a correlation that reaches 1 within
        the ball.

    Examples
    --------
    A linear layer has no ``1/N`` shift in the raw view, and the normalised view's
    coefficient is Fisher's ``-rho (1 - rho^2) / 2`` of the sample correlation (twice,
    as the input kernel and the layer's weights each contribute one sample):

    >>> from flint import arb
    >>> from nstheory.propagation.model import mlp
    >>> r = finite_width_enclosure(mlp(1, act="identity", sigma2=1.0), 0.5)[0]
    >>> r.coef_raw.contains(0), r.coef_normalised.contains(arb(-0.375))
    (True, True)
    """
    require_zero_eps(model, "the finite-width enclosure")
    from flint import arb

    from nstheory.numerics import arb_precision

    prec = check_int(prec, "prec", lo=20)
    check_rho(rho)
    if not 0 <= rho < 1:
        raise NSTheoryError(f"finite-width enclosure needs rho in [0, 1), got {rho}")
    blocks = _blocks(model)
    out = []
    with arb_precision(bits=prec):
        rb = arb(rho)
        g = [arb(1), rb, arb(1)]
        mu = [arb(0)] * 3
        gm = [[g[0], g[1]], [g[1], g[2]]]
        V = [[_isserlis(gm, _COUNTS[i], _COUNTS[j]) for j in range(3)] for i in range(3)]
        for li, (name, sigma2) in enumerate(blocks, start=1):
            g, mu, V = _step(name, arb(sigma2), g, mu, V, prec)
            out.append(_row(li, g, mu, V))
    return out


def _isserlis(gm, ci, cj):
    """``N Cov(K_ab, K_cd) = g_ac g_bd + g_ad g_bc`` for Gaussian inputs."""
    a, b = [0] * ci[0] + [1] * ci[1]
    c, d = [0] * cj[0] + [1] * cj[1]
    return gm[a][c] * gm[b][d] + gm[a][d] * gm[b][c]


def _step(name, s2, g, mu, V, prec):
    from flint import arb

    Q, C = s2 * g[_XX], s2 * g[_XY]
    s4 = s2 * s2
    if name == "relu":
        val, grad, hess = relu_map_arb(Q, C)
        f2, f2d1, f2d2 = Q / 2, arb(1) / 2, arb(0)
        mom = _relu_moments(Q, C, prec)
    else:
        val, grad, hess = C, [arb(0), arb(0), arb(1)], [[arb(0)] * 3 for _ in range(3)]
        f2, f2d1, f2d2 = Q, arb(1), arb(0)
        mom = _identity_moments(Q, C)
    F = [f2, val, f2]
    # Jacobian rows in the columns (XX, XY, YY); the map's arguments are (q1, q2, c)
    J = [[f2d1, arb(0), arb(0)], [grad[0], grad[2], grad[1]], [arb(0), arb(0), f2d1]]
    args = (_XX, _YY, _XY)
    hv = [f2d2 * s4 * V[_XX][_XX],
          s4 * sum(hess[i][j] * V[args[i]][args[j]] for i in range(3) for j in range(3)),
          f2d2 * s4 * V[_YY][_YY]]
    mu_new = [s2 * sum(J[i][k] * mu[k] for k in range(3)) + hv[i] / 2 for i in range(3)]
    JV = [[sum(J[i][k] * V[k][m] for k in range(3)) for m in range(3)] for i in range(3)]
    V_new = [[mom[tuple(a + b for a, b in zip(_COUNTS[i], _COUNTS[j], strict=True))]
              - F[i] * F[j] + s4 * sum(JV[i][m] * J[j][m] for m in range(3))
              for j in range(3)] for i in range(3)]
    return F, mu_new, V_new


def _row(layer, g, mu, V, W=None, pairs: int = 1):
    """The statistic's coefficients: raw ``mu_XY``; normalised the ratio ``A / sqrt(B_X B_Y)``'s
    first-order shift plus its delta-method terms. With ``pairs > 1`` input pairs per network
    the covariances of the per-network averages mix the same-pair vertex ``V`` (weight
    ``1/pairs``) and the cross-pair vertex ``W`` (weight ``1 - 1/pairs``; ``W[i][j]`` between
    statistic ``i`` of one pair and ``j`` of the other); without ``W`` the normalised
    coefficient is ``None``."""
    from flint import arb

    a, b = g[_XY], g[_XX]
    first = (mu[_XY] - (a / b) * mu[_XX]) / b
    if pairs == 1:
        c_ab, c_bb, c_bxby = V[_XY][_XX], V[_XX][_XX], V[_XX][_YY]
    elif W is None:
        return EnclosureRow(layer, a, a / b, mu[_XY], None)
    else:
        w = 1 - arb(1) / pairs
        c_ab, c_bb, c_bxby = (V[i][j] / pairs + w * W[i][j]
                              for i, j in ((_XY, _XX), (_XX, _XX), (_XX, _YY)))
    second = -c_ab / (b * b) + 3 * a / (4 * b**3) * c_bb + a / (4 * b**3) * c_bxby
    return EnclosureRow(layer, a, a / b, mu[_XY], first + second)


__all__ = ["ENCLOSED", "EnclosureRow", "ball_lambdify", "finite_width_enclosure",
           "mean_value_widen", "relu_cross_moment_arb", "relu_map_arb", "relu_pair_moment_arb"]

