r"""Certified Gaussian maps of analytic activations near ``rho = +-1``: a Taylor expansion at the
end point with Price's theorem for the derivatives and a rigorous remainder.

With ``F(rho) = E[phi(a X) phi(b Y)]``, ``corr(X, Y) = rho``, Price's theorem gives
``F^{(n)}(rho) = (a b)^n E[phi^{(n)}(U) phi^{(n)}(V)]``; at ``rho = sigma = +-1`` the pair is
``(a X, sigma b X)``, so every derivative is a one-dimensional Gaussian integral, and

    F(rho) = sum_{n < N} (a b)^n T_n (rho - sigma)^n / n! + R_N,
    T_n = E[phi^{(n)}(a X) phi^{(n)}(sigma b X)],
    |R_N| <= |rho - sigma|^N (a b)^N sqrt(S_N(a) S_N(b)) / N!,   S_N(a) = E[phi^{(N)}(a X)^2]

(Taylor's remainder with Cauchy-Schwarz on ``F^{(N)}`` at the intermediate point). Each
``T_n`` and ``S_N`` is a rigorous ``acb.integral`` over ``[-L, L]`` of the product of Taylor
coefficients of ``phi`` (arb power series), plus a Gaussian tail bound from Cauchy's estimate
``|phi^{(n)}(x)| <= n! (A_s + B_s D + B_s |x|) / D^n`` on the activation's strip. Near the ends
the Hermite series needs about ``prec / (1 - |rho|)`` terms; this needs a handful.

Examples
--------
>>> from flint import arb
>>> from nstheory.gaussian.smooth import get_smooth
>>> act = get_smooth("tanh")
>>> ball = endpoint_expansion(act, arb("0.999"), arb(1), arb(1), 53)
>>> float(ball.rad()) < 1e-15
True
>>> ball.overlaps(arb("0.393986"))  # just below E tanh(X)^2 = 0.394294...
False
"""

from __future__ import annotations

import math
from typing import ClassVar

from nstheory.gaussian.hermite import certified_radius_L, gauss_tail_bound
from nstheory.gaussian.trapezoid import series_context

#: most Taylor terms tried at an end point
N_MAX = 40


def _cauchy_growth(act, n: int, a_up: float):
    """``(P, Q)`` with ``|phi^{(n)}(a x)| <= P + Q |x|`` on the real line (floats, rounded up
    generously)."""
    if n == 0:
        return act.A, act.B * a_up
    sb = act.strip_bound
    D, As, Bs = float(sb.D), float(sb.A), float(sb.B)
    scale = math.factorial(n) / D**n * (1 + 1e-9)
    return scale * (As + Bs * D), scale * Bs * a_up


def _taylor_values(act, z, n: int):
    """``phi^{(n)}(z)`` for a complex ball ``z`` from an acb power series of ``phi(z + s)``."""
    from flint import acb_series

    w = acb_series([z, 1])
    coeffs = act.phi_series(w).coeffs()
    c = coeffs[n] if n < len(coeffs) else 0 * z
    return c * math.factorial(n)


class _EndpointCache:
    _store: ClassVar[dict] = {}

    @classmethod
    def get(cls, key, make):
        if key not in cls._store:
            cls._store[key] = make()
        return cls._store[key]


def _key(x):
    return (x.mid().str(radius=False, more=True), float(x.rad()))


def derivative_product(act, n: int, a, b, prec: int):
    """Certified ``E[phi^{(n)}(a X) phi^{(n)}(b X)]`` (``a``, ``b`` real balls, ``b`` may be
    negative).

    >>> from flint import arb
    >>> from nstheory.gaussian.smooth import get_smooth
    >>> t1 = derivative_product(get_smooth("silu"), 1, arb(1), arb(1), 53)
    >>> import mpmath  # E[silu'(X)^2] by mpmath's tanh-sinh quadrature (independent)
    >>> d = lambda x: get_smooth("silu").derivative_mp(x)
    >>> ref = mpmath.quad(lambda x: d(x) ** 2 * mpmath.npdf(x), [-mpmath.inf, 0, mpmath.inf])
    >>> t1.overlaps(arb(mpmath.nstr(ref, 15), 1e-14)), float(t1.rad()) < 1e-15
    (True, True)
    """
    from flint import acb, arb

    from nstheory.numerics import arb_precision

    def make():
        L = certified_radius_L(prec)
        au, bu = float(a.abs_upper()), float(b.abs_upper())
        pa, qa = _cauchy_growth(act, n, au)
        pb, qb = _cauchy_growth(act, n, bu)
        with arb_precision(bits=prec + 30), series_context(prec + 30, n + 1):
            norm = 1 / (2 * arb.pi()).sqrt()

            if n == 0:
                def f(z, an):
                    return act.phi_acb(a * z, an) * act.phi_acb(b * z, an) * (-z * z / 2).exp()
            else:
                def f(z, an):
                    return (_taylor_values(act, a * z, n) * _taylor_values(act, b * z, n)
                            * (-z * z / 2).exp())

            val = acb.integral(f, -L, L).real * norm
            tail = 2 * gauss_tail_bound(pa * pb, pa * qb + pb * qa, qa * qb, L)
            val = val + arb(0, tail.upper())
        with arb_precision(bits=prec):
            return +val

    return _EndpointCache.get(("T", act.name, n, _key(a), _key(b), prec), make)


def choose_terms(act, delta: float, a_up: float, b_up: float, prec: int) -> int | None:
    """Smallest ``N`` whose a-priori remainder (Cauchy estimates for ``S_N``) is below
    ``2^-(prec+4)`` at distance ``delta`` from the end point, or ``None`` if over ``N_MAX``.

    >>> from nstheory.gaussian.smooth import get_smooth
    >>> choose_terms(get_smooth("tanh"), 1e-6, 1.0, 1.0, 53)
    4
    >>> choose_terms(get_smooth("tanh"), 0.5, 1.0, 1.0, 53) is None
    True
    """
    if delta == 0:
        return 1
    target = (prec + 4) * math.log(2)
    for N in range(1, N_MAX + 1):
        pa, qa = _cauchy_growth(act, N, a_up)
        pb, qb = _cauchy_growth(act, N, b_up)
        s = math.sqrt((pa + qa * 1.6) ** 2 * (pb + qb * 1.6) ** 2)  # E (P + Q|X|)^2 <~
        log_r = N * math.log(delta * a_up * b_up) + math.log(s) - math.lgamma(N + 1)
        if log_r < -target:
            return N
    return None


def endpoint_expansion(act, r, q1, q2, prec: int, N: int | None = None):
    """Certified ``E[phi(U) phi(V)]`` for every ``rho`` in the ball ``r`` by the Taylor
    expansion at the nearer end point (``q1``, ``q2`` balls >= 0); ``N`` terms (chosen from
    the precision when not given).

    >>> from flint import arb
    >>> from nstheory.gaussian.smooth import get_smooth
    >>> sp = get_smooth("softplus")
    >>> b = endpoint_expansion(sp, arb(-1), arb(1), arb(1), 53)
    >>> import mpmath  # E[softplus(X) softplus(-X)] by tanh-sinh quadrature (independent)
    >>> f = lambda x: sp.phi_mp(x) * sp.phi_mp(-x) * mpmath.npdf(x)
    >>> b.overlaps(arb(mpmath.nstr(mpmath.quad(f, [-mpmath.inf, 0, mpmath.inf]), 15), 1e-14))
    True
    """
    from flint import arb

    from nstheory.gaussian._backend import sqrt_nonneg

    sigma = 1 if float(r.mid()) >= 0 else -1
    a, b = sqrt_nonneg(q1), sqrt_nonneg(q2)
    dist = r - sigma
    up = 1 + 2.0**-40  # float() may round an upper bound down
    delta = float(dist.abs_upper()) * up
    au, bu = float(a.abs_upper()) * up, float(b.abs_upper()) * up
    if N is None:
        N = choose_terms(act, delta, max(au, 1e-300), max(bu, 1e-300), prec)
        if N is None:
            N = N_MAX
    wprec = prec + 20
    sb = b * sigma
    total = arb(0)
    ab = a * b
    for n in range(N - 1, -1, -1):  # Horner in the ball (rho - sigma)
        t = derivative_product(act, n, a, sb, wprec)
        total = total * dist + t * ab**n / math.factorial(n)
    if delta > 0:
        sa = derivative_product(act, N, a, a, wprec)
        ssb = sa if (a.mid() == b.mid() and a.rad() == b.rad()) else derivative_product(
            act, N, b, b, wprec)
        rem = (arb(delta) ** N * ab.abs_upper() ** N * sqrt_nonneg(sa * ssb).upper()
               / math.factorial(N))
        total = total + arb(0, rem.upper())
    return total


__all__ = ["N_MAX", "choose_terms", "derivative_product", "endpoint_expansion"]
