r"""Certified Hermite coefficients of an analytic activation from one truncated trapezoidal rule.

For ``w(x) = phi(a x) h_k(x) gamma(x)`` analytic in the strip ``|Im x| < d`` the trapezoidal rule
``T_h = h sum_j w(j h)`` over the whole line satisfies (Trefethen & Weideman, SIAM Review 56
(2014), Theorem 5.1)

    |T_h - int w| <= 2 M / (exp(2 pi d / h) - 1),   M >= int |w(x + i y)| dx  for |y| < d.

The bound ``M`` comes in closed form from two facts:

* Mehler's formula at ``(z, conj z)`` (all terms are non-negative) gives, for every
  ``t`` in (0, 1), ``|h_k(x + i y)| <= t^{-k/2} (1 - t^2)^{-1/4}
  exp(x^2 t / (2 (1 + t)) + y^2 t / (2 (1 - t)))``;
* each activation states a bound ``|phi(u + i v)| <= A_s + B_s |u|`` on a strip ``|v| <= D``
  where it is analytic (``StripBound``), so with ``|gamma(x + i y)| = e^{(y^2 - x^2)/2} /
  sqrt(2 pi)`` and ``d = D / a``:

      M_k(t) = t^{-k/2} (1 - t^2)^{-1/4} e^{y^2 / (2 (1 - t))}
               (A_s sqrt(1 + t) + B_s a 2 (1 + t) / sqrt(2 pi)).

The sum is cut at ``|x| <= L``; the nodes beyond contribute at most Cramér's tail bound
(``|h_k(x) gamma(x)| <= 1.0865 e^{-x^2/4} / sqrt(2 pi)`` on the real line). All coefficients
``c_0 .. c_K`` come from a single pass over the nodes: ``exp(x s - s^2/2) = sum_k He_k(x)
s^k / k!`` is one arb power series per node, so the cost is (number of nodes) series
operations in C instead of one adaptive integral per coefficient.

Examples
--------
>>> from flint import arb
>>> from nstheory.gaussian.smooth import get_smooth
>>> c, m2 = hermite_coefficients_trapezoid(get_smooth("tanh"), arb(1), 5, 53)
>>> c[1].rad() < 1e-15  # c_1 = E[tanh(X) X]
True
>>> import mpmath  # Stein: E[tanh(X) X] = E[sech(X)^2], by mpmath's tanh-sinh quadrature
>>> with mpmath.workdps(30):
...     ref = mpmath.quad(lambda x: mpmath.sech(x) ** 2 * mpmath.npdf(x), [-mpmath.inf, 0, 50])
>>> from nstheory.numerics import arb_precision
>>> with arb_precision(bits=200):  # parse the reference without rounding it to 53 bits
...     c[1].contains(arb(mpmath.nstr(ref, 28), "1e-28"))
True
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

from nstheory.errors import NSTheoryError
from nstheory.gaussian.hermite import certified_radius_L, cramer_tail_bound, gauss_tail_bound

#: Most trapezoid nodes one certified evaluation may use (the count grows like ``sqrt(q)``).
MAX_NODES = 1_100_000


@dataclass(frozen=True)
class StripBound:
    """``|phi(u + i v)| <= A + B |u|`` for ``|v| <= D``, ``phi`` analytic on that closed strip.

    The constants are decimal strings: ``D`` rounded down, ``A`` and ``B`` rounded up.

    >>> StripBound(D="1.047", A="1.7321", B="0").D
    '1.047'
    """

    D: str
    A: str
    B: str


@contextlib.contextmanager
def series_context(prec: int, length: int):
    """Set python-flint's precision and power-series length for the block, then restore.

    >>> from flint import ctx
    >>> with series_context(100, 20):
    ...     ctx.prec, ctx.cap
    (100, 20)
    """
    from flint import ctx

    old = ctx.prec, ctx.cap
    ctx.prec, ctx.cap = int(prec), int(length)
    try:
        yield
    finally:
        ctx.prec, ctx.cap = old


def _mehler_bound(k: int, y: float):
    """``t`` (float) nearly minimising ``t^{-k/2} (1-t^2)^{-1/4} e^{y^2/(2(1-t))}``."""
    best, best_t = math.inf, 0.5
    for i in range(1, 400):
        t = i / 400
        v = -k / 2 * math.log(t) - 0.25 * math.log1p(-t * t) + y * y / (2 * (1 - t))
        if v < best:
            best, best_t = v, t
    return best_t, best


def trapezoid_plan(a_upper: float, K: int, prec: int, strip: StripBound):
    """Strip half-width ``d``, step ``h``, Mehler parameter ``t`` and cut-off ``L`` for degree
    ``K`` at ``prec`` bits (floats; the error bound itself is then evaluated in arb).

    >>> d, h, t, L = trapezoid_plan(1.0, 60, 53, StripBound("1.047", "1.7321", "0"))
    >>> round(d, 4), 0 < h < 0.2, L
    (1.047, True, 14)
    """
    D = float(strip.D)
    d = min(D / a_upper, 3.0) if a_upper > 0 else 3.0
    t, log_m = _mehler_bound(K, d)
    log_m += math.log(2 * (float(strip.A) * 2 + float(strip.B) * a_upper * 2) + 1)
    h = 2 * math.pi * d / ((prec + 12) * math.log(2) + log_m + 1)
    L = certified_radius_L(prec)
    return d, h, t, L


def hermite_coefficients_trapezoid(act, a, K: int, prec: int):
    """Certified ``[c_0(q), .., c_K(q)]`` (arb balls, ``q = a^2``) and ``E phi(a X)^2`` for an
    activation with a ``strip`` bound and real-axis growth ``|phi(y)| <= A + B |y|``.

    Coefficients that vanish by parity are exact zeros. Each ball includes the trapezoid
    error bound and the truncation tail; the result is rounded to ``prec`` bits.

    >>> from flint import arb
    >>> from nstheory.gaussian.smooth import get_smooth
    >>> c, m2 = hermite_coefficients_trapezoid(get_smooth("gelu"), arb(1), 4, 53)
    >>> c[1].contains(arb(1) / 2), c[3]  # x Phi(x) = x/2 + even: c_1 = 1/2, c_3 = 0 exactly
    (True, 0)
    """
    from flint import arb, arb_series

    strip: StripBound = act.strip_bound
    a_up = float(a.abs_upper()) * (1 + 2.0**-40)  # float() may round the bound down
    d, h, t, L = trapezoid_plan(a_up, K, prec, strip)
    if L / h > MAX_NODES:  # the step shrinks like 1 / sqrt(q): refuse instead of hanging
        # nodes grow like sqrt(q) (and with the precision): the largest q at this precision
        q_max = a_up**2 * (MAX_NODES / (L / h)) ** 2
        raise NSTheoryError(f"the certified Hermite route for {act.name} at variance q = "
                            f"{a_up ** 2:.3g} needs {L / h:.3g} trapezoid nodes (> "
                            f"{MAX_NODES:.2g}, minutes); at {prec} bits it supports q up to "
                            f"about {q_max:.2g} (more at lower precision)")
    J = int(L / h) + 1
    # guard bits: the node sums cancel down to |c_k| ~ e^{-c sqrt k}, and He_k(x)/k! runs
    # through the oscillatory region; measured radii stay far below 2^-prec with this
    wprec = prec + K // 2 + 40
    with series_context(wprec, K + 1):
        hb = arb(h)
        As, Bs = arb(strip.A), arb(strip.B)
        ab = arb(a_up)
        ta, y = arb(t), arb(d)
        mk = (ta ** (-arb(K) / 2) * (1 - ta * ta) ** (-arb(1) / 4) * (y * y / (2 * (1 - ta))).exp()
              * (As * (1 + ta).sqrt() + Bs * ab * 2 * (1 + ta) / (2 * arb.pi()).sqrt()))
        damp = (2 * arb.pi() * y / hb).exp() - 1
        trap_err = 2 * mk / damp
        m2_strip = (y * y / 2).exp() * (As * As + 2 * As * Bs * ab * (2 / arb.pi()).sqrt()
                                        + Bs * Bs * ab * ab)
        m2_err = 2 * m2_strip / damp
        Lc = hb * J
        tail = cramer_tail_bound(act.A, act.B * ab, Lc)
        m2_tail = 2 * gauss_tail_bound(act.A ** 2, 2 * act.A * act.B * ab, (act.B * ab) ** 2, Lc)
        norm = hb / (2 * arb.pi()).sqrt()
        even, odd = arb_series(0), arb_series(0)
        m2 = arb(0)
        half = arb(-1) / 2
        for j in range(J + 1):
            x = hb * j
            g = (-x * x / 2).exp() * norm
            fp, fm = act.phi_arb(a * x) * g, act.phi_arb(-a * x) * g
            if j == 0:
                fp, fm = fp / 2, fm / 2  # the node 0 is visited once, as +0 and -0
            m2 += (fp * act.phi_arb(a * x) + fm * act.phi_arb(-a * x))
            s = arb_series([0, x, half]).exp()  # He_k(x) / k!
            if act.parity != "odd":
                even += s * (fp + fm)
            odd += s * (fp - fm)
        ev, od = even.coeffs(), odd.coeffs()
        out = []
        fac = arb(1)
        rad = (trap_err + tail).upper()
        for k in range(K + 1):
            if k >= 1:
                fac *= k
            if act.zero_coefficient(k):
                out.append(arb(0))
                continue
            src = ev if k % 2 == 0 else od
            v = src[k] if k < len(src) else arb(0)
            out.append(v * fac.sqrt() + arb(0, rad))
        m2 = m2 + arb(0, (m2_err + m2_tail).upper())
    with series_context(prec, 10):
        return [+v for v in out], +m2


__all__ = [
    "StripBound",
    "hermite_coefficients_trapezoid",
    "series_context",
    "trapezoid_plan",
]
