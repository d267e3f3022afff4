"""Precision management and the comparison of numbers between routes.

* :func:`arb_precision` sets python-flint's working precision inside a ``with`` block and
  always restores it: library code never leaves the global precision changed.
* :func:`agreement_digits` counts the decimal digits on which two high-precision values agree.
* :func:`ball_bounds` turns an arb ball into outward-rounded decimal strings ``(lo, hi)``.

Examples
--------
>>> from flint import arb, ctx
>>> before = ctx.prec
>>> with arb_precision(bits=200):
...     ctx.prec
200
>>> ctx.prec == before
True
>>> round(agreement_digits("3.14159265358979", "3.14159265359"), 1)
13.2
>>> ball_bounds(arb(1) / 3, digits=10)
('0.3333333333', '0.3333333334')
"""

from __future__ import annotations

import contextlib
import decimal
import math
import numbers
from collections.abc import Iterator
from fractions import Fraction

import mpmath

from nstheory.errors import NSTheoryError, check_int

#: Decimal digits per bit of binary precision.
DIGITS_PER_BIT = math.log10(2)


def bits_for_digits(dps: int, guard: int = 10) -> int:
    """Binary precision needed for ``dps`` decimal digits plus ``guard`` guard bits.

    >>> bits_for_digits(15)
    60
    """
    dps = check_int(dps, "dps", lo=1)
    return math.ceil(dps / DIGITS_PER_BIT) + check_int(guard, "guard", lo=0)


@contextlib.contextmanager
def arb_precision(bits: int | None = None, dps: int | None = None) -> Iterator[int]:
    """Set python-flint's ``ctx.prec`` for the block and restore it afterwards.

    Give either ``bits`` or ``dps`` (decimal digits; guard bits are added). Yields the
    precision in bits.

    Examples
    --------
    The same computation is sharper at higher precision, and the old precision comes back:

    >>> from flint import arb, ctx
    >>> before = ctx.prec
    >>> with arb_precision(dps=50) as bits:
    ...     third = arb(1) / 3
    >>> bits, float(third.rad()) < 1e-50, ctx.prec == before
    (177, True, True)
    >>> with arb_precision(bits=64, dps=20):
    ...     pass
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: give exactly one of bits= or dps= to arb_precision
    """
    from flint import ctx

    if (bits is None) == (dps is None):
        raise NSTheoryError("give exactly one of bits= or dps= to arb_precision")
    if bits is None:
        bits = bits_for_digits(dps)
    if bits < 2:
        raise NSTheoryError(f"arb precision must be >= 2 bits, got {bits}")
    old = ctx.prec
    ctx.prec = int(bits)
    try:
        yield int(bits)
    finally:
        ctx.prec = old


@contextlib.contextmanager
def long_int_strings(digits: int) -> Iterator[None]:
    """Allow int <-> decimal-string conversions of up to ``digits`` digits in the block (Python's
    default limit is 4300, below the longest numbers the library prints or parses, e.g. 5000-digit
    values); the previous limit comes back afterwards.

    Examples
    --------
    >>> with long_int_strings(6000):
    ...     len(str(10 ** 5000))
    5001
    """
    import sys

    old = sys.get_int_max_str_digits()
    raise_it = old != 0 and old < digits
    if raise_it:
        sys.set_int_max_str_digits(digits)
    try:
        yield
    finally:
        if raise_it:
            sys.set_int_max_str_digits(old)


#: Longest numerator or denominator (decimal digits) :func:`rational_json` writes out; a longer
#: exact value (e.g. ``rho^n`` for a ``rho`` typed with hundreds of digits) is reported by its
#: size and its float.
MAX_EXACT_DIGITS = 10000


def rational_digits(x) -> int:
    """Decimal digits of the longer of the numerator and denominator of the rational ``x``
    (an upper estimate from their bit lengths, without converting them).

    >>> from fractions import Fraction
    >>> rational_digits(Fraction(1, 10 ** 5000))  # 10^5000 has 5001 digits
    5001
    """
    return math.ceil(max(abs(x.numerator).bit_length(), x.denominator.bit_length()) * 0.30103)


def rational_json(x) -> dict:
    """JSON form of an exact rational: ``{"exact": "p/q", "float": x}``, or, beyond
    :data:`MAX_EXACT_DIGITS` digits, ``"exact": None`` with ``"exact_omitted"`` saying why.

    Examples
    --------
    >>> from fractions import Fraction
    >>> rational_json(Fraction(1, 3))
    {'exact': '1/3', 'float': 0.3333333333333333}
    >>> rational_json(Fraction(1, 10 ** 20000))["exact_omitted"]
    'exact rational with about 20001-digit terms (over 10000), not printed'
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise NSTheoryError(f"rational_json takes a rational or a float, got {x!r}")
    if not isinstance(x, numbers.Rational):  # a float: its exact binary value
        if not math.isfinite(x):
            raise NSTheoryError(f"rational_json takes a finite number, got {x!r}")
        x = Fraction(x)
    digits = rational_digits(x)
    if digits > MAX_EXACT_DIGITS:
        return {"exact": None, "exact_omitted": f"exact rational with about {digits}-digit "
                f"terms (over {MAX_EXACT_DIGITS}), not printed", "float": float(x)}
    with long_int_strings(digits + 10):
        return {"exact": str(x), "float": float(x)}


def agreement_digits(a, b, cap: float = 1e6) -> float:
    """Number of agreeing significant decimal digits of ``a`` and ``b``.

    Computed as ``-log10(|a - b| / max(|a|, |b|))`` in mpmath at a precision high enough for
    the inputs (strings keep all their digits). Returns ``cap`` when the two are identical;
    when both are zero returns ``cap``; when exactly one is zero, returns the absolute
    agreement ``-log10(|a - b|)``.

    Examples
    --------
    ``pi`` and ``355/113`` differ by ``2.67e-7``, so they agree on ``-log10(2.67e-7 / pi) = 7.07``
    significant digits; identical values give ``cap``:

    >>> round(agreement_digits(mpmath.pi, mpmath.mpf(355) / 113), 2)
    7.07
    >>> agreement_digits("0.5", "0.50"), agreement_digits(0, "1e-12")
    (1000000.0, 12.0)

    A non-finite value agrees with nothing, itself included:

    >>> agreement_digits(float("nan"), mpmath.pi), agreement_digits(float("inf"), "inf")
    (0.0, 0.0)
    """
    longest = max(60, len(str(a)) + 5, len(str(b)) + 5)
    with mpmath.workdps(longest), long_int_strings(longest):
        x, y = mpmath.mpf(a), mpmath.mpf(b)
        if not (mpmath.isfinite(x) and mpmath.isfinite(y)):
            return 0.0  # NaN or inf agrees with nothing (min(cap, nan) was the cap)
        diff = abs(x - y)
        if diff == 0:
            return cap
        scale = max(abs(x), abs(y))
        if x == 0 or y == 0:
            scale = mpmath.mpf(1)
        return float(min(cap, -mpmath.log10(diff / scale)))


def ball_bounds(ball, digits: int = 20) -> tuple[str, str]:
    """Outward-rounded decimal strings ``(lo, hi)`` that enclose an arb ``ball``.

    The strings have ``digits`` significant digits; ``lo`` is rounded toward -inf and ``hi``
    toward +inf (exactly, in decimal arithmetic), so ``[lo, hi]`` contains every point of the
    ball.

    Examples
    --------
    The bounds enclose the ball, rounded outward:

    >>> from flint import arb
    >>> lo, hi = ball_bounds(arb.pi(), digits=6)
    >>> lo, hi
    ('3.14159', '3.14160')
    >>> ball_bounds(arb("nan"))
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: cannot bound a non-finite ball nan
    """
    if not ball.is_finite():
        raise NSTheoryError(f"cannot bound a non-finite ball {ball}")
    # lower()/upper() round to the working precision: use enough bits to keep them exact-ish
    bits = max(64, int(ball.mid().bits()) + 64, bits_for_digits(digits))
    with arb_precision(bits=bits):
        lo, hi = ball.lower(), ball.upper()
    return (
        exact_decimal_str(lo, digits, decimal.ROUND_FLOOR),
        exact_decimal_str(hi, digits, decimal.ROUND_CEILING),
    )


def exact_decimal_str(point, digits: int, rounding=decimal.ROUND_HALF_EVEN) -> str:
    """Decimal string of the exact binary number ``point`` (an arb with zero radius, an
    mpmath ``mpf`` or a float) to ``digits`` significant digits with the given rounding.

    >>> exact_decimal_str(0.1, 5, decimal.ROUND_CEILING)
    '0.10001'
    """
    if isinstance(point, numbers.Rational):  # an int or Fraction: rounded exactly
        with decimal.localcontext() as c:
            c.prec, c.rounding = check_int(digits, "digits", lo=1), rounding
            d = decimal.Decimal(point.numerator) / decimal.Decimal(point.denominator)
        return "0" if d == 0 else _format_decimal(d)
    if isinstance(point, float):
        d = decimal.Decimal(point)
    elif not (isinstance(point, mpmath.mpf) or hasattr(point, "mid")):
        raise NSTheoryError(f"exact_decimal_str takes a float, an mpf, an arb point or a "
                            f"rational, got {type(point).__name__}")
    else:
        if isinstance(point, mpmath.mpf):
            sign, man, exp, _ = point._mpf_  # mpf.man_exp drops the sign of negatives
            man = -man if sign else man
        else:  # arb point
            man, exp = point.mid().man_exp()
        man, exp = int(man), int(exp)
        with decimal.localcontext() as c:  # digits of man from its bits (no str(): 4300 cap)
            c.prec = man.bit_length() * 30103 // 100000 + 2 + abs(exp) + 10
            d = decimal.Decimal(man) * decimal.Decimal(2) ** exp
    if d == 0:
        return "0"
    with decimal.localcontext() as c:
        c.prec = digits
        c.rounding = rounding
        d = +d
    return _format_decimal(d)


def _format_decimal(d: decimal.Decimal) -> str:
    exponent = d.adjusted()
    if -6 <= exponent < 21:
        return format(d, "f")
    return format(d, "e").replace("e+", "e")


def mp_str(x, digits: int) -> str:
    """Format an mpmath number with ``digits`` significant digits.

    >>> mp_str(mpmath.pi, 10)
    '3.141592654'
    """
    return mpmath.nstr(x, digits, strip_zeros=False, min_fixed=-6, max_fixed=8)
