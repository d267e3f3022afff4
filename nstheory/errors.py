"""The toolkit's error type and the input checks every module shares.

Bad input raises :class:`NSTheoryError` (a ``ValueError``) whose message names the offending
argument and its value; nothing in nstheory fails silently with a NaN.

Examples
--------
>>> check_rho(0.5)
0.5
>>> check_rho(1.5)
Traceback (most recent call last):
...
nstheory.errors.NSTheoryError: rho must lie in [-1, 1], got 1.5
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Real


class NSTheoryError(ValueError):
    """Raised for invalid input; the message names the problem.

    A ``ValueError`` subclass; the command line turns it into exit code 2.

    Examples
    --------
    >>> try:
    ...     check_positive(-1.0, "--sigma")
    ... except NSTheoryError as exc:
    ...     print(isinstance(exc, ValueError), "--sigma" in str(exc))
    True True
    """


#: Largest decimal exponent a number written as text may carry: ``1e-99999999`` read exactly
#: would build a hundred-million-digit integer (minutes) before any range check could refuse it.
MAX_TEXT_EXPONENT = 10_000


def fraction_of_text(text: str, name: str) -> Fraction:
    """The exact rational a decimal, exponent or ``p/q`` string denotes.

    Raises
    ------
    NSTheoryError
        If the text is not such a number, or its exponent exceeds
        :data:`MAX_TEXT_EXPONENT` in size.

    Examples
    --------
    >>> fraction_of_text(" 1e-3 ", "x"), fraction_of_text("3/4", "x")
    (Fraction(1, 1000), Fraction(3, 4))
    >>> fraction_of_text("1e-99999999", "--rho")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --rho: exponent beyond 10000 in '1e-99999999' is not supported
    """
    t = text.strip()
    exp = t.lower().partition("e")[2].lstrip("+-")
    digits = exp.lstrip("0")
    if exp.isdigit() and (len(digits) > len(str(MAX_TEXT_EXPONENT))
                          or int(digits or 0) > MAX_TEXT_EXPONENT):
        raise NSTheoryError(f"{name}: exponent beyond {MAX_TEXT_EXPONENT} in {text!r} is not "
                            "supported")
    try:
        return Fraction(t)
    except (ValueError, ZeroDivisionError):
        raise NSTheoryError(f"{name} must be a finite real number, got {text!r}") from None


def _as_real(name: str, value) -> Real:
    if isinstance(value, str):  # the command line's number forms: 0.5, 1e-3, 1/2
        try:
            value = float(fraction_of_text(value, name))
        except OverflowError:
            raise NSTheoryError(f"{name} must be a finite real number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, Real | Fraction):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise NSTheoryError(f"{name} must be a real number, got {value!r}") from None
    if isinstance(value, float) and math.isnan(value):
        raise NSTheoryError(f"{name} must be a real number, got NaN")
    return value


def check_rho(rho, name: str = "rho"):
    """Return ``rho`` unchanged if it is a real number in [-1, 1], else raise.

    Accepts floats, ints, Fractions, mpmath ``mpf``, anything ``float()`` understands and the
    command line's strings (``"0.5"``, ``"1/2"``). A string is returned unchanged, so that
    high-precision callers can read it exactly (``nstheory.validate.parse_real`` gives its
    float).

    >>> check_rho("1/2")
    '1/2'
    """
    try:
        import mpmath

        if isinstance(rho, mpmath.mpf):
            if not (-1 <= rho <= 1):
                raise NSTheoryError(f"{name} must lie in [-1, 1], got {rho}")
            return rho
    except ImportError:  # pragma: no cover - mpmath is a hard dependency
        pass
    r = _as_real(name, rho)
    if not (-1 <= r <= 1):
        raise NSTheoryError(f"{name} must lie in [-1, 1], got {rho}")
    return rho


def check_probability(p, name: str = "p"):
    """Return ``p`` if it lies in [0, 1], else raise :class:`NSTheoryError`.

    >>> check_probability(0.25)
    0.25
    """
    r = _as_real(name, p)
    if not (0 <= r <= 1):
        raise NSTheoryError(f"{name} must lie in [0, 1], got {p}")
    return p


def check_positive(x, name: str):
    """Return ``x`` if it is a real number > 0, else raise.

    >>> check_positive(2, "q1")
    2
    """
    r = _as_real(name, x)
    if not r > 0 or (isinstance(r, float) and math.isinf(r)):
        raise NSTheoryError(f"{name} must be a finite number > 0, got {x}")
    return x


def check_choice(value, choices, name: str):
    """Return ``value`` if it is one of ``choices``, else raise naming the valid ones.

    >>> check_choice("cov", ("raw", "cov", "corr"), "view")
    'cov'
    >>> check_choice("x", ("raw", "cov"), "view")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: view must be one of raw, cov; got 'x'
    """
    if value not in choices:
        raise NSTheoryError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def check_int(x, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``x`` as an int if it is integral and within ``[lo, hi]``, else raise.

    >>> check_int(3, "n", lo=1), check_int("1e3", "n")
    (3, 1000)
    """
    if isinstance(x, bool):
        raise NSTheoryError(f"{name} must be an integer, got {x!r}")
    if not isinstance(x, int):
        try:  # the command line's forms too: "12", "1e3"
            q = Fraction(x.strip()) if isinstance(x, str) else Fraction(x)
            if q.denominator != 1:
                raise ValueError
            x = int(q)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            raise NSTheoryError(f"{name} must be an integer, got {x!r}") from None
    if lo is not None and x < lo:
        raise NSTheoryError(f"{name} must be >= {lo}, got {x}")
    if hi is not None and x > hi:
        raise NSTheoryError(f"{name} must be <= {hi}, got {x}")
    return x


def parse_seeds(text: str, max_count: int = 10_000, name: str = "--seeds") -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5"`` -> [0, 2, 5]; seeds in [0, 2**32 - 1], at
    most ``max_count`` of them, no duplicates.

    >>> parse_seeds("0-2,7")
    [0, 1, 2, 7]
    """
    out: list[int] = []
    hi = 2**32 - 1
    try:
        for part in str(text).split(","):
            if "-" in part.strip()[1:]:
                a, b = part.strip().split("-")
                a, b = int(a), int(b)
                if a < 0 or b < a or b > hi or b - a >= max_count:
                    raise ValueError
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
            if len(out) > max_count:
                raise ValueError
    except ValueError:
        raise NSTheoryError(f"{name} must look like 0-4 or 0,2,5 (seeds in [0, {hi}], at most "
                            f"{max_count}); got {text!r}") from None
    if not out or min(out) < 0 or max(out) > hi or len(set(out)) != len(out):
        raise NSTheoryError(f"{name} must name distinct seeds in [0, {hi}], got {text!r}")
    return out


_VALIDATE = ("MAX_SEED", "arg_input_file", "arg_int", "arg_nonempty", "arg_output_dir",
             "arg_output_file", "arg_real", "arg_rho", "arg_seed", "arg_seeds",
             "check_input_file", "check_integer", "check_output_dir", "check_output_file",
             "check_real", "check_seed", "load_torch_file", "parse_int_list", "parse_real")


def __getattr__(name):  # the validators of nstheory.validate, re-exported here
    if name in _VALIDATE:
        from nstheory import validate

        return getattr(validate, name)
    raise AttributeError(f"module 'nstheory.errors' has no attribute {name!r}")
