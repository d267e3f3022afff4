r"""The Gaussian Hermite core: orthonormal probabilists' Hermite functions, Hermite coefficients
of activations, the Ornstein-Uhlenbeck (Mehler) operator, and Stab via the Hermite series with a
rigorous bound on the truncated tail.

Conventions (docs/conventions.md): ``h_k = He_k / sqrt(k!)``, orthonormal in ``L^2(gamma)``; for
``U ~ N(0, q)`` the coefficients of ``phi`` at variance ``q`` are
``c_k(q) = E[phi(sqrt(q) X) h_k(X)]``, ``X ~ N(0, 1)``, and for ``corr(U, V) = rho``

    E[phi(U) phi(V)] = sum_k c_k(q1) c_k(q2) rho^k          (Mehler).

Truncation at degree K leaves a tail bounded by Cauchy-Schwarz:

    |sum_{k>K} c_k(q1) c_k(q2) rho^k| <= |rho|^{K+1} sqrt(R_K(q1) R_K(q2)),
    R_K(q) = E phi(sqrt(q) X)^2 - sum_{k<=K} c_k(q)^2     (Parseval).

Examples
--------
>>> [mpmath.nstr(v, 6) for v in hermite_values(3, mpmath.mpf(2))]
['1.0', '2.0', '2.12132', '0.816497']
>>> relu = lambda x: max(x, 0)
>>> c = hermite_coefficients(relu, 4, q=1, dps=20, kinks=(0,))
>>> [mpmath.nstr(mpmath.chop(v, 1e-25), 10) for v in c]  # 1/sqrt(2pi), 1/2, 1/(2 sqrt(pi)), 0, .
['0.3989422804', '0.5', '0.2820947918', '0.0', '-0.08143375198']
>>> val, tail = stab_series(c, c, 0.5, mpmath.mpf(1) / 2, mpmath.mpf(1) / 2)
>>> abs(val - mpmath.mpf('0.30449889052211467904')) <= tail
True
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import mpmath
import numpy as np
from mpmath.libmp import to_fixed

from nstheory.errors import NSTheoryError, check_int

#: Cramér's constant, rounded up: |h_n(x)| <= CRAMER * exp(x^2/4) for all n >= 0 and real x
#: (Cramér's inequality |H_n(x)| <= 1.086435 2^{n/2} sqrt(n!) e^{x^2/2} for physicists' H_n).
CRAMER = 1.0865


def hermite_values(K: int, x):
    """``[h_0(x), ..., h_K(x)]`` (orthonormal probabilists') by the three-term recurrence
    ``h_{k+1} = (x h_k - sqrt(k) h_{k-1}) / sqrt(k+1)``, in mpmath.

    Examples
    --------
    ``h_2(x) = (x^2 - 1) / sqrt(2)``, so ``h_2(3) = 4 sqrt(2)``:

    >>> h = hermite_values(2, 3)
    >>> h[:2], abs(h[2] - 4 * mpmath.sqrt(2)) < mpmath.mpf(10) ** -14
    ([mpf('1.0'), mpf('3.0')], True)
    """
    K = check_int(K, "K", lo=0)
    x = mpmath.mpf(x)
    out = [mpmath.mpf(1)]
    if K >= 1:
        out.append(x)
    for k in range(1, K):
        out.append((x * out[k] - mpmath.sqrt(k) * out[k - 1]) / mpmath.sqrt(k + 1))
    return out


@lru_cache(maxsize=32)
def _gl_rule(degree: int, prec: int):
    from mpmath.calculus.quadrature import GaussLegendre

    return GaussLegendre(mpmath.mp).calc_nodes(degree, prec)


def truncation_radius(dps: int) -> float:
    """``L`` with ``exp(-L^2/4) <= 10^{-(dps+8)}``: beyond ``|x| > L`` the Cramér-weighted
    Gaussian integrands are negligible at ``dps`` digits.

    >>> round(truncation_radius(15), 3)
    14.555
    """
    return 2 * math.sqrt((check_int(dps, "dps", lo=1) + 8) * math.log(10))


#: Most panels of :func:`panel_nodes` (each holds 4-6 Gauss-Legendre nodes in mpmath; the
#: rules scale their panels like 1/sqrt(q), so q = 1e308 asked for ~1e154 of them).
MAX_PANELS = 20_000


def panel_nodes(breaks, dps: int, width: float = 1.0):
    """Composite Gauss-Legendre nodes and weights on ``[breaks[0], breaks[-1]]`` with panel
    edges at every break (put kinks there) and panels no wider than ``width``.

    Examples
    --------
    The rule integrates low-degree polynomials exactly (``int_{-1}^{1} x^2 dx = 2/3``):

    >>> xs, ws = panel_nodes([-1, 0, 1], dps=15)
    >>> second = mpmath.fsum(w * x * x for x, w in zip(xs, ws))
    >>> abs(mpmath.fsum(ws) - 2) < 1e-14, abs(second - mpmath.mpf(2) / 3) < 1e-14
    (True, True)
    """
    panels = sum(max(1, math.ceil((b - a) / width)) for a, b in itertools.pairwise(breaks))
    if not panels <= MAX_PANELS:  # the width shrinks like 1/sqrt(q): refuse, do not hang
        raise NSTheoryError(f"the composite rule would need {panels:.3g} panels (at most "
                            f"{MAX_PANELS}): the variance is too large for this precise route "
                            "(the certified routes state their own limits)")
    prec = int((dps + 10) * 3.33) + 10
    degree = 4 if dps <= 20 else (5 if dps <= 45 else 6)
    rule = _gl_rule(degree, prec)
    xs, ws = [], []
    for a, b in itertools.pairwise(breaks):
        n = max(1, math.ceil((b - a) / width))
        h = (mpmath.mpf(b) - a) / n
        for i in range(n):
            lo = a + i * h
            mid, half = lo + h / 2, h / 2
            for t, w in rule:
                xs.append(mid + half * t)
                ws.append(half * w)
    return xs, ws


def _breaks(kinks, L):
    pts = sorted({-L, L, *[k for k in kinks if -L < k < L]})
    return pts


def hermite_coefficients(phi, K: int, q=1, dps: int = 30, kinks=(), width: float | None = None):
    """``[c_0(q), ..., c_K(q)]`` with ``c_k(q) = E[phi(sqrt(q) X) h_k(X)]`` by composite
    Gauss-Legendre on ``[-L, L]`` split at ``kinks`` (points in the X variable; for piecewise
    activations give their kinks divided by sqrt(q)). Precise (mpmath), not certified.

    Examples
    --------
    The identity at variance ``q = 4`` has ``c_1 = sqrt(q) = 2`` and no other coefficient:

    >>> c = hermite_coefficients(lambda x: x, 2, q=4, dps=15)
    >>> abs(c[0]) < 1e-20, abs(c[1] - 2) < 1e-20, abs(c[2]) < 1e-20
    (True, True, True)
    """
    K = check_int(K, "K", lo=0)
    with mpmath.workdps(dps + 10 + K // 8):
        a = mpmath.sqrt(mpmath.mpf(q))
        L = truncation_radius(dps) + 0.5 * math.sqrt(K)
        # panel width: 24-48-node panels of width 2/a resolve c_0..c_240 of the smooth maps far
        # below 10^-dps (checked against the certified trapezoid coefficients)
        w = width if width is not None else min(2.0, 2.0 / float(a)) * (0.6 if K > 120 else 1.0)
        xs, ws = panel_nodes(_breaks(kinks, L), dps + K // 8, w)
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)
        # The recurrence runs in fixed point, vectorised over the nodes: integers with P
        # fractional bits (the working precision plus guard bits; exact integer products, one
        # floor per operation). The weight f of a node keeps its relative precision (P
        # significant bits, shifted back after the product), as in floating point.
        P = mpmath.mp.prec + 40
        xs_i, fs_i, shifts = [], [], []
        for x, wt in zip(xs, ws, strict=True):
            f = phi(a * x) * wt * mpmath.exp(-x * x / 2) * norm
            if f == 0:
                continue
            s = max(0, -int(mpmath.mag(f)))
            xs_i.append(to_fixed(mpmath.mpf(x)._mpf_, P))
            fs_i.append(to_fixed(mpmath.mpf(f)._mpf_, P + s))
            shifts.append(s)
        X = np.array(xs_i, dtype=object)
        F = np.array(fs_i, dtype=object)
        S = np.array(shifts, dtype=object)
        sq = [to_fixed(mpmath.sqrt(k)._mpf_, P) for k in range(K + 1)]
        inv = [to_fixed((1 / mpmath.sqrt(k))._mpf_, P) if k else 0 for k in range(K + 1)]
        # h_{k+1} = (x h_k - sqrt(k) h_{k-1}) / sqrt(k+1); sums f h_k at scale 2^(2P)
        hm = np.zeros(len(xs_i), dtype=object)
        h = np.full(len(xs_i), 1 << P, dtype=object)
        acc = [int(((F << P) >> S).sum()) if len(xs_i) else 0]
        for k in range(K):
            hm, h = h, ((((X * h) >> P) - ((sq[k] * hm) >> P)) * inv[k + 1]) >> P
            acc.append(int(((F * h) >> S).sum()) if len(xs_i) else 0)
        c = [mpmath.ldexp(mpmath.mpf(v), -2 * P) for v in acc]
    return c


def gaussian_expectation(fn, dps: int = 30, kinks=(), width: float = 1.0):
    """``E fn(X)``, ``X ~ N(0, 1)``, by the same composite rule (precise, not certified).

    ``width`` caps the panels' width: it must resolve ``fn``'s scale (``2 / sqrt(q)`` for
    ``phi(sqrt(q) X)``, as :func:`hermite_coefficients` takes it); a large ``q`` then needs many
    panels and is refused beyond :data:`MAX_PANELS`, never integrated on too coarse a rule.

    >>> print(mpmath.nstr(gaussian_expectation(lambda x: x**4), 15))
    3.0
    >>> q = 10**4  # E tanh(sqrt(q) X)^2, a kink of width 1/sqrt(q) at 0
    >>> print(mpmath.nstr(gaussian_expectation(lambda x: mpmath.tanh(100 * x) ** 2, 30,
    ...                                        width=2 / 100), 20))
    0.9920214824805130433
    """
    with mpmath.workdps(dps + 10):
        L = truncation_radius(dps) + 2
        xs, ws = panel_nodes(_breaks(kinks, L), dps, width)
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)
        terms = (fn(x) * w * mpmath.exp(-x * x / 2) for x, w in zip(xs, ws, strict=True))
        return mpmath.fsum(terms) * norm


def stab_series(c1, c2, rho, m2_1, m2_2):
    """Truncated Hermite series ``sum_{k<=K} c1_k c2_k rho^k`` and the rigorous bound (in exact
    arithmetic) ``|rho|^{K+1} sqrt(R_K(1) R_K(2))`` on the omitted tail, ``R_K = m2 - sum c_k^2``.

    Returns ``(value, tail_bound)`` as mpmath numbers.

    Examples
    --------
    For the identity (``c = [0, 1]``, ``E X^2 = 1``) the series is ``rho`` with nothing left over:

    >>> val, tail = stab_series([0, 1], [0, 1], 0.25, 1, 1)
    >>> val, tail
    (mpf('0.25'), mpf('0.0'))
    """
    if len(c1) != len(c2):
        raise NSTheoryError("coefficient lists must have equal length")
    rho = mpmath.mpf(rho)
    K = len(c1) - 1
    val = mpmath.fsum(a * b * rho**k for k, (a, b) in enumerate(zip(c1, c2, strict=True)))
    r1 = max(mpmath.mpf(0), m2_1 - mpmath.fsum(a * a for a in c1))
    r2 = max(mpmath.mpf(0), m2_2 - mpmath.fsum(b * b for b in c2))
    return val, abs(rho) ** (K + 1) * mpmath.sqrt(r1 * r2)


def ou_operator(f, rho, x, dps: int = 30):
    """The Ornstein-Uhlenbeck / Mehler operator ``U_rho f(x) = E_Z f(rho x + sqrt(1-rho^2) Z)``.

    Eigenfunctions are ``h_k`` with eigenvalue ``rho^k``:

    >>> x = mpmath.mpf("0.7")
    >>> h3 = lambda t: hermite_values(3, t)[3]
    >>> print(mpmath.nstr(ou_operator(h3, 0.5, x) / h3(x), 12))
    0.125
    """
    with mpmath.workdps(dps + 10):
        rho = mpmath.mpf(rho)
        s = mpmath.sqrt(max(mpmath.mpf(0), 1 - rho * rho))
        if s == 0:
            return f(rho * x)
        return gaussian_expectation(lambda z: f(rho * x + s * z), dps)


# --------------------------------------------------------------------------------------------
# certified (arb) coefficients
# --------------------------------------------------------------------------------------------


def gauss_tail_bound(p0, p1, p2, L):
    """Upper bound (arb) on ``int_L^inf (p0 + p1 x + p2 x^2) gamma(x) dx`` for ``p_i >= 0``,
    ``L > 0``, using ``int_L^inf gamma <= gamma(L)/L``, ``int x gamma = gamma(L)`` and
    ``int x^2 gamma = L gamma(L) + int gamma``.

    Examples
    --------
    The bound on ``P(X > 2) = 0.02275...`` is ``gamma(2)/2 = 0.02699...``:

    >>> b = gauss_tail_bound(1, 0, 0, 2)
    >>> bool(b > float(mpmath.erfc(mpmath.sqrt(2)) / 2)) and bool(b < 0.027)
    True
    """
    from flint import arb

    L = arb(L)
    g = (-L * L / 2).exp() / (2 * arb.pi()).sqrt()
    t0 = g / L
    return p0 * t0 + p1 * g + p2 * (L * g + t0)


def cramer_tail_bound(A, B, L):
    """Upper bound (arb) on ``int_{|x|>L} |phi(x) h_k(x)| gamma(x) dx`` for every ``k`` when
    ``|phi(x)| <= A + B |x|``: by Cramér ``|h_k gamma| <= CRAMER e^{-x^2/4}/sqrt(2 pi)``, and
    ``int_L^inf e^{-x^2/4} <= (2/L) e^{-L^2/4}``, ``int_L^inf x e^{-x^2/4} = 2 e^{-L^2/4}``.

    Examples
    --------
    For ``|phi| <= 1`` and ``L = 10`` the tail is at most about ``2.4e-12``:

    >>> b = cramer_tail_bound(1, 0, 10)
    >>> bool(b > float(mpmath.erfc(10 / mpmath.sqrt(2)))) and bool(b < 3e-12)
    True
    """
    from flint import arb

    L = arb(L)
    e = (-L * L / 4).exp()
    return 2 * arb(str(CRAMER)) / (2 * arb.pi()).sqrt() * e * (2 * A / L + 2 * B)


def certified_radius_L(prec: int) -> int:
    """Integer ``L`` with ``e^{-L^2/4} <= 2^{-(prec+10)}``.

    >>> certified_radius_L(53)
    14
    """
    return math.ceil(2 * math.sqrt((prec + 10) * math.log(2)))


def hermite_coefficient_arb(phi_acb, k: int, a, A, B, prec: int):
    """Certified ``c_k = E[phi(a X) h_k(X)]`` (arb ball) for an activation analytic in a
    neighbourhood of the real axis with ``|phi(y)| <= A + B |y|`` on the reals.

    ``acb.integral`` over ``[-L, L]`` (``phi_acb(z, analytic)`` must flag non-analyticity) plus
    the Cramér tail bound for ``|x| > L``. The working precision is raised by ``k`` guard bits
    (``H_k`` is evaluated on complex balls where it is large).

    Examples
    --------
    The identity at scale ``a = 2`` has ``c_1 = 2`` and ``c_3 = 0``:

    >>> from flint import arb
    >>> hermite_coefficient_arb(lambda z, analytic: z, 1, 2, 0, 1, prec=53).contains(arb(2))
    True
    >>> hermite_coefficient_arb(lambda z, analytic: z, 3, 2, 0, 1, prec=53).contains(arb(0))
    True
    """
    from flint import acb, arb

    from nstheory.numerics import arb_precision

    L = certified_radius_L(prec)
    with arb_precision(bits=prec + k + 30):
        a = arb(a) if not isinstance(a, arb) else a
        s2 = arb(2).sqrt()
        norm = arb(2) ** (-arb(k) / 2) / arb.fac_ui(k).sqrt() / (2 * arb.pi()).sqrt()

        def f(z, analytic):
            return phi_acb(a * z, analytic) * (z / s2).hermite_h(k) * (-z * z / 2).exp() * norm

        val = acb.integral(f, -L, L).real
        tail = cramer_tail_bound(A, B * a.abs_upper(), L)
        val = val + arb(0, tail.upper())
    with arb_precision(bits=prec):
        return +val


def gaussian_expectation_arb(fn_acb, p0, p1, p2, prec: int):
    """Certified ``E fn(X)`` for ``fn`` analytic near the real axis with
    ``|fn(x)| <= p0 + p1 |x| + p2 x^2``.

    Examples
    --------
    ``E X^2 = 1`` (growth bound ``|x^2| <= x^2``):

    >>> from flint import arb
    >>> ball = gaussian_expectation_arb(lambda z, analytic: z * z, 0, 0, 1, prec=53)
    >>> ball.contains(arb(1)), float(ball.rad()) < 1e-12
    (True, True)
    """
    from flint import acb, arb

    from nstheory.numerics import arb_precision

    L = certified_radius_L(prec)
    with arb_precision(bits=prec + 30):
        norm = 1 / (2 * arb.pi()).sqrt()
        val = acb.integral(lambda z, an: fn_acb(z, an) * (-z * z / 2).exp() * norm, -L, L).real
        tail = 2 * gauss_tail_bound(p0, p1, p2, L)
        val = val + arb(0, tail.upper())
    with arb_precision(bits=prec):
        return +val
