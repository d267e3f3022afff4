"""Conversions between number types and the clipping helpers the certified maps share.

Examples
--------
>>> from flint import arb
>>> lo, hi = clip_endpoints(arb("0.5", "0.75"), -1, 1)
>>> float(lo) < -0.25, float(hi)
(True, 1.0)
>>> [float(v) for v in clip_endpoints(arb(1), -1, 1)]
[1.0, 1.0]
"""

from __future__ import annotations

from fractions import Fraction

import mpmath

from nstheory.errors import NSTheoryError


def to_arb(x):
    """A python-flint ``arb`` ball containing ``x`` (arb, mpf, float, int, Fraction or str).

    Floats, ints and ``mpf`` are converted exactly (up to the working precision); strings are
    parsed by arb (decimal strings become balls containing the decimal number).
    """
    from flint import arb

    if isinstance(x, arb):
        return x
    if isinstance(x, bool):
        raise NSTheoryError(f"expected a real number, got {x!r}")
    if isinstance(x, int | float):
        return arb(x)
    if isinstance(x, Fraction):
        return arb(x.numerator) / x.denominator
    if isinstance(x, mpmath.mpf):
        if not mpmath.isfinite(x):
            raise NSTheoryError(f"expected a finite real number, got {x}")
        sign, man, exp, _ = x._mpf_  # note: mpf.man_exp drops the sign of negative numbers
        v = arb(int(man)) * arb(2) ** int(exp)
        return -v if sign else v
    if isinstance(x, str):
        return arb(x)
    try:
        return arb(float(x))
    except (TypeError, ValueError):
        raise NSTheoryError(f"expected a real number, got {x!r}") from None


def clip_endpoints(ball, lo: float, hi: float, name: str = "rho"):
    """Exact endpoints ``(a, b)`` of ``ball ∩ [lo, hi]`` as zero-radius arb points.

    Raises :class:`NSTheoryError` if the ball is not finite or misses ``[lo, hi]``.
    """
    from flint import arb

    if not ball.is_finite():
        raise NSTheoryError(f"{name} must be a finite ball, got {ball}")
    a, b = ball.lower(), ball.upper()
    alo, ahi = arb(lo), arb(hi)
    if a > ahi or b < alo:
        raise NSTheoryError(f"{name} ball {ball} lies outside [{lo}, {hi}]")
    a = alo if a < alo else a
    b = ahi if b > ahi else b
    return a, b


def clip_nonneg(ball, name: str = "q"):
    """The ball ``ball ∩ [0, inf)``; an error if it is entirely negative or not finite."""
    from flint import arb

    if not ball.is_finite():
        raise NSTheoryError(f"{name} must be a finite ball, got {ball}")
    if ball.upper() < 0:
        raise NSTheoryError(f"{name} must be >= 0, got {ball}")
    if ball.lower() >= 0:
        return ball
    return arb(0).union(ball.upper())


def monotone_image(fn, lo, hi, increasing: bool = True):
    """Enclosure of ``fn`` over ``[lo, hi]`` for a monotone ``fn`` (evaluated at endpoints)."""
    if lo == hi:
        return fn(lo)
    return fn(lo).union(fn(hi))


def sqrt_nonneg(x):
    """Square root of a ball known to represent a non-negative quantity (negative parts of
    the ball, which come only from rounding, are discarded)."""
    return x.nonnegative_part().sqrt()
