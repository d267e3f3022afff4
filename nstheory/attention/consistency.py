"""The permutation-consistency factor ``s_n(r)`` of random attention (Theorem 5.3, reconstructed).

Let ``(A_l, B_l)``, ``l = 1..n``, be i.i.d. standard bivariate normal pairs with correlation
``r``. Then

    s_n(r) = P(argmax_l A_l = argmax_l B_l) = n E[F_r(A, B)^(n-1)],   (A, B) ~ phi_r,

where ``F_r`` is the bivariate normal CDF (condition on the winning pair; the other ``n - 1``
pairs must lie below it in both coordinates, independently). In the reconstruction of the
noise-stability paper (Haris et al., §2.4 as we read it) the factor of random attention is
``s(rho) ~ s_n(rho^2)``.

Routes implemented here
-----------------------
* :func:`s_n_quadrature` -- the general evaluator (any ``n``, ``-1 <= r <= 1``). For
  ``c = |r|`` write ``A = sqrt(c) W + sqrt(1-c) U`` and ``B = ±sqrt(c) W + sqrt(1-c) V`` with
  ``W, U, V`` independent standard normals; then

      F_r(a, b) = int phi(w) Phi((a - sqrt(c) w)/sqrt(1-c)) Phi((b ∓ sqrt(c) w)/sqrt(1-c)) dw.

  On a tensor grid ``a, b in {x_i}`` and a grid ``{w_j}`` this is a *matrix product*
  ``F = P_a diag(omega) P_b^T``, so the whole double integral costs one ``(N x M) (M x N)``
  product (done with python-flint's ``arb_mat`` at the working precision: arb here is used as
  fast multiprecision arithmetic, not as a certificate) and one weighted sum over the grid.
  Both integrals use the trapezoid rule, which converges geometrically for these entire,
  Gaussian-decaying integrands; the step sizes and truncation points are chosen from the
  requested digits (``F^(n-1) <= Phi(a)^(n-1)`` lets the lower limit rise with ``n``). The
  result is returned as an mpmath number. Agreement with the closed forms for ``n = 2, 3`` and
  with a finer grid is checked in ``proofs_check/attention_consistency.py``.
* :func:`s2_closed_form` -- Sheppard: ``s_2(r) = 1/2 + arcsin(r)/pi``.
* :func:`s3_closed_form` -- a closed form for ``n = 3`` (new, derived in
  :mod:`nstheory.attention.theory` by Plackett's identity: the derivative of the 4-variate
  orthant probability in ``r`` reduces to bivariate orthant probabilities):

      s_3(r) = 1/3 + 3/(4 pi) (asin r + asin(r/2)) + 3/(4 pi^2) (asin(r)^2 - asin(r/2)^2).

* :func:`s_n_arb` -- certified arb enclosures from the closed forms (``n <= 3``).
* :func:`s_n` -- the dispatcher other modules should call (closed form where one exists,
  quadrature otherwise).

Examples
--------
>>> from nstheory.attention.consistency import s_n, s_n_arb
>>> print(mpmath.nstr(s_n(2, 0.25, dps=20), 15))
0.580430623255166
>>> print(mpmath.nstr(s_n(8, 0.25), 15))
0.209961465306622
>>> s_n(5, 0) == mpmath.mpf(1) / 5
True
>>> ball = s_n_arb(3, 0.25, dps=30)
>>> print(ball.str(15, radius=False))
0.427234336565525
>>> bool(ball.rad() < 1e-30)
True
"""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

import mpmath

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.numerics import arb_precision, bits_for_digits
from nstheory.validate import check_real

__all__ = [
    "MAX_SECONDS",
    "grid_seconds",
    "quadrature_grid",
    "s2_closed_form",
    "s3_closed_form",
    "s_n",
    "s_n_arb",
    "s_n_quadrature",
]

_NORMAL = NormalDist()

#: Default cap on the predicted run time (seconds) of one trapezoid-rule evaluation of
#: ``s_n(r)`` (:func:`s_n_quadrature` and the certified rule): both grids grow like
#: ``(1 - |r|)^(-3/2)`` as ``|r| -> 1`` (about 15 s at ``n = 4``, ``r = 0.999``; about a day at
#: ``r = 1 - 10^-5``), so a run that would take longer is refused up front, not started.
MAX_SECONDS = 120.0
#: Seconds per 10^9 operations of the ``(nx x nw) (nw x nx)`` arb matrix product, and per 10^6
#: terms of the ``nx x nx`` outer sum: measured on a 2-core development machine (the product
#: took 11-15 s per 10^9, the sum 0.2 s per 10^6).
_SECONDS_PER_GIGA_OP = 15.0
_SECONDS_PER_MEGA_TERM = 0.3


def grid_seconds(n: int, r: float, nx: int, nw: int, max_seconds=MAX_SECONDS,
                 route: str = "quadrature") -> float:
    """Predicted seconds of a trapezoid rule for ``s_n(r)`` with ``nx + 1`` outer and ``nw + 1``
    inner nodes per coordinate; raises :class:`~nstheory.errors.NSTheoryError` when it exceeds
    ``max_seconds`` (``None``: no limit).

    Examples
    --------
    >>> round(grid_seconds(4, 0.25, 200, 100), 3)
    0.073
    >>> try:
    ...     grid_seconds(4, 0.99999, 20000, 20000)
    ... except NSTheoryError as exc:
    ...     print(str(exc)[:63])
    s_n(r) at n = 4, r = 0.99999 by the quadrature: a grid of 20001
    """
    nx1, nw1 = nx + 1, nw + 1
    seconds = (_SECONDS_PER_GIGA_OP * nx1 * nx1 * nw1 * 1e-9
               + _SECONDS_PER_MEGA_TERM * nx1 * nx1 * 1e-6)
    if max_seconds is None:
        return seconds
    try:
        limit = float(max_seconds)
    except (TypeError, ValueError):
        limit = math.nan
    if not limit > 0:
        raise NSTheoryError(f"max_seconds must be a positive number or None; got {max_seconds!r}")
    if seconds > limit:
        raise NSTheoryError(
            f"s_n(r) at n = {n}, r = {r:.10g} by the {route}: a grid of {nx1} x {nx1} points "
            f"with {nw1} inner nodes would take about {_duration(seconds)} (limit "
            f"{limit:g} s). The grids grow like (1 - |r|)^(-3/2) as |r| -> 1: ask for fewer "
            "digits, or allow the time (max_seconds; --max-seconds on the command line)")
    return seconds


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


#: Most tokens of :func:`s_n` (its grids are placed by the maximum of ``n`` normals; checked
#: to 1e15, where s_n(0.25) is ~3e-6; at 1e308 the placement failed).
MAX_N = 10**15


def _check_n_r(n, r):
    n = check_int(n, "n", lo=1, hi=MAX_N)
    check_rho(r, "r")
    return n


def _to_mpf(r) -> mpmath.mpf:
    if isinstance(r, Fraction):
        return mpmath.mpf(r.numerator) / r.denominator
    return mpmath.mpf(r)


def _to_arb(r):
    """Exact conversion of a float / int / Fraction / decimal string / mpf / arb to arb."""
    from flint import arb

    if isinstance(r, arb):
        return r
    if isinstance(r, Fraction):
        return arb(r.numerator) / r.denominator
    if isinstance(r, mpmath.mpf):
        man, exp = r.man_exp
        return arb(int(man)) * arb(2) ** int(exp)
    if isinstance(r, (int, float, str)):
        return arb(r)
    raise NSTheoryError(f"r must be a float, int, Fraction, decimal string, mpf or arb; got {r!r}")


def _trivial(n: int, r) -> mpmath.mpf | None:
    """Exact values: n = 1, r = 0 (1/n), r = 1 (1), r = -1 (0 for n >= 2); a decimal string
    by its exact value (``"0"`` is 0; ``"0.999999999999999999"`` is not 1)."""
    if n == 1:
        return mpmath.mpf(1)
    if isinstance(r, str):
        r = Fraction(r.strip())
    if r == 0:
        return mpmath.mpf(1) / n
    if r == 1:
        return mpmath.mpf(1)
    if r == -1:
        return mpmath.mpf(0)  # B = -A: argmax B = argmin A != argmax A (ties have prob. 0)
    return None


def s2_closed_form(r, dps: int = 20) -> mpmath.mpf:
    """Sheppard's closed form ``s_2(r) = 1/2 + arcsin(r)/pi`` in mpmath.

    >>> print(s2_closed_form(0.25, dps=15))
    0.580430623255166
    """
    check_rho(float(r), "r")
    dps = check_int(dps, "dps", lo=1)
    with mpmath.workdps(dps + 5):
        v = mpmath.mpf(1) / 2 + mpmath.asin(_to_mpf(r)) / mpmath.pi
    with mpmath.workdps(dps):
        return +v


def s3_closed_form(r, dps: int = 20) -> mpmath.mpf:
    """Closed form of ``s_3(r)`` (Plackett reduction; see the module docstring).

    >>> print(s3_closed_form(1))
    1.0
    >>> print(s3_closed_form(0.25, dps=15))
    0.427234336565525
    """
    check_rho(float(r), "r")
    dps = check_int(dps, "dps", lo=1)
    with mpmath.workdps(dps + 5):
        x = _to_mpf(r)
        a, b = mpmath.asin(x), mpmath.asin(x / 2)
        pi = mpmath.pi
        v = mpmath.mpf(1) / 3 + 3 * (a + b) / (4 * pi) + 3 * (a * a - b * b) / (4 * pi * pi)
    with mpmath.workdps(dps):
        return +v


def s_n_arb(n: int, r, prec: int | None = None, dps: int | None = None):
    """Certified arb enclosure of ``s_n(r)`` for ``n <= 3`` (closed forms in ball arithmetic).

    ``r`` may be an arb ball (the enclosure then covers every ``r`` in the ball; both closed
    forms are increasing in ``r``). The precision is ``prec`` bits, or ``dps`` digits, default
    53 + 10 bits; the global flint precision is restored afterwards.

    Raises :class:`NSTheoryError` for ``n >= 4``: no certified enclosure is implemented there
    (the quadrature route has no rigorous error bound); use :func:`s_n` (precise, not
    certified).

    >>> from flint import arb
    >>> s_n_arb(2, 0.5).overlaps(arb(2) / 3)
    True
    >>> s_n_arb(4, 0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: s_n_arb: certified enclosures exist only for n <= 3 ...
    """
    from flint import arb

    n = check_int(n, "n", lo=1)
    if n > 3:
        raise NSTheoryError(
            f"s_n_arb: certified enclosures exist only for n <= 3 (closed forms); got n = {n}. "
            "Use s_n (precise quadrature, not certified) for larger n."
        )
    if prec is None:
        prec = bits_for_digits(dps) if dps is not None else 63
    with arb_precision(bits=prec):
        x = _to_arb(r)
        if not (x.lower() >= -1 and x.upper() <= 1):
            raise NSTheoryError(f"r must lie in [-1, 1]; got {x}")
        if n == 1:
            return arb(1)
        a = x.asin()
        pi = arb.pi()
        if n == 2:
            return arb(1) / 2 + a / pi
        b = (x / 2).asin()
        return arb(1) / 3 + 3 * (a + b) / (4 * pi) + 3 * (a * a - b * b) / (4 * pi * pi)


def quadrature_grid(n: int, r: float, digits: int, refine: float = 1.0) -> dict:
    """Truncation points and step sizes used by :func:`s_n_quadrature`.

    ``digits`` is the target accuracy (absolute error ``10^-digits``); ``refine < 1`` shrinks
    the steps (for a self-convergence check). Returns a dict with ``lower``, ``upper`` (outer
    grid, both coordinates), ``nx`` (outer intervals), ``wmax``, ``nw`` (inner grid).

    >>> g = quadrature_grid(8, 0.25, 20)
    >>> g["lower"] < 0 < g["upper"], g["nx"] > 50
    (True, True)
    """
    digits = check_int(digits, "digits", lo=1)
    # refine <= 1 refines; up to 2 the designed steps still hold (s_2 exact to 2/3 at 2), far
    # beyond they silently lose the value (refine = 100 gave 0.51 for 2/3)
    refine = check_real(refine, "refine", lo=0, hi=2, lo_open=True)
    eps = 10.0 ** (-digits)
    c = abs(r)
    # a < L contributes at most Phi(L)^n (F^(n-1) <= Phi(a)^(n-1)); a > U at most n P(A > U).
    lower = _NORMAL.inv_cdf((eps / 8) ** (1.0 / n))
    upper = -_NORMAL.inv_cdf(eps / (8 * n))
    wmax = -_NORMAL.inv_cdf(eps / (8 * n))
    logterm = math.sqrt(digits * math.log(10))
    # outer: the density's narrowest direction has width sqrt(1 - |r|) (half of it is the
    # step that keeps the designed digits up to |r| = 0.999, checked against the closed forms
    # for n = 2, 3; the full width lost 6-8 digits at |r| = 0.99); F^(n-1) switches on over a
    # width ~ 1/upper.
    hx = refine * 2 * math.pi * min(math.sqrt(1 - c) / 2, 1 / upper) / logterm
    # inner: Phi((a - sqrt(c) w)/sqrt(1-c)) is a smoothed step of width sqrt((1-c)/c) in w.
    hw = refine * math.pi * min(1.0, math.sqrt((1 - c) / (2 * c))) / logterm
    nx = max(8, math.ceil((upper - lower) / hx))
    nw = max(8, math.ceil(2 * wmax / hw))
    return {"lower": lower, "upper": upper, "nx": nx, "wmax": wmax, "nw": nw}


def s_n_quadrature(n: int, r, dps: int = 20, refine: float = 1.0, *,
                   max_seconds=MAX_SECONDS) -> mpmath.mpf:
    """``s_n(r)`` by the matrix-product trapezoid quadrature (see the module docstring).

    Accurate to about ``dps`` significant digits (the grid is designed for ``dps + 3``);
    ``refine < 1`` uses finer steps. Exact values are returned for ``n = 1`` and
    ``r in {-1, 0, 1}``. Typical cost: 0.05--0.3 s for ``n <= 64`` at 20 digits (more as
    ``|r| -> 1``, where the density concentrates on the diagonal: a run predicted to take longer
    than ``max_seconds``, default :data:`MAX_SECONDS`, is refused; ``None`` lifts the limit).

    >>> print(mpmath.nstr(s_n_quadrature(2, 0.25, dps=18), 15))
    0.580430623255166
    """
    from flint import arb, arb_mat

    n = _check_n_r(n, r)
    trivial = _trivial(n, r)
    if trivial is not None:
        return trivial
    check_int(dps, "dps", lo=1, hi=200)
    rf = float(r)
    if abs(rf) > 1 - 1e-6:
        raise NSTheoryError(
            f"s_n_quadrature needs |r| <= 1 - 1e-6 (the density degenerates onto a line); got "
            f"r = {r!r}"
        )
    digits = dps + 3
    g = quadrature_grid(n, rf, digits, refine)
    lower, upper, nx, wmax, nw = g["lower"], g["upper"], g["nx"], g["wmax"], g["nw"]
    # Commensurate steps: with sqrt|r| hw = m hx the inner integrand's argument
    # (x_i -+ sqrt|r| w_j) / sqrt(1 - |r|) depends on i -+ m j only, so the (nx+1) x (nw+1)
    # table of Phi needs about nx + m nw values instead of their product. hw only shrinks
    # (and the w range only grows), so the designed accuracy holds; where no m >= 1 fits, the
    # table is filled directly.
    m = math.floor((2 * wmax / nw) * math.sqrt(abs(rf)) / ((upper - lower) / nx))
    if m >= 1:
        nw = math.ceil(2 * wmax * math.sqrt(abs(rf)) / (m * (upper - lower) / nx))
    grid_seconds(n, rf, nx, nw, max_seconds, "matrix-product trapezoid quadrature")
    with arb_precision(bits=bits_for_digits(dps + 10) + n.bit_length()):
        R = _to_arb(r)
        c = abs(R)
        sqc = c.sqrt()
        inv_sig = 1 / (1 - c).sqrt()
        sqrt2 = arb(2).sqrt()
        hx = (arb(upper) - arb(lower)) / nx
        hw = m * hx / sqc if m >= 1 else 2 * arb(wmax) / nw
        half_w = hw * nw / 2  # >= wmax
        xs = [arb(lower) + hx * i for i in range(nx + 1)]
        ws = [-half_w + hw * j for j in range(nw + 1)]

        def Phi(z):
            return (-z / sqrt2).erfc() / 2

        def table(sign):
            """Phi((x_i - sign sqrt|r| w_j) / sqrt(1 - |r|)) for every (i, j)."""
            if m < 1:
                return [[Phi((x - sign * sqc * w) * inv_sig) for w in ws] for x in xs]
            start = arb(lower) + sign * sqc * half_w  # the argument at i = j = 0, times sigma
            shift = -sign * m  # the argument's index is i + shift * j
            lo_t = min(0, shift * nw)
            vals = [Phi((start + hx * t) * inv_sig) for t in range(lo_t, nx + max(0, shift * nw)
                                                                   + 1)]
            return [[vals[i + shift * j - lo_t] for j in range(nw + 1)] for i in range(nx + 1)]

        pa = table(1)
        omega = [(-(w * w) / 2).exp() * hw / (2 * arb.pi()).sqrt() for w in ws]
        pb = pa if rf > 0 else table(-1)
        Pa = arb_mat(pa)
        PbT = arb_mat([[pb[k][j] * omega[j] for k in range(nx + 1)] for j in range(nw + 1)])
        F = Pa * PbT
        one_m_r2 = 1 - R * R
        den = 2 * one_m_r2
        ex2 = [(-(x * x) / den).exp() for x in xs]
        k_coef = R / one_m_r2
        total = arb(0)
        symmetric = rf > 0
        for i in range(nx + 1):
            xi = xs[i]
            row = arb(0)
            kstart = i if symmetric else 0
            # exp(k_coef x_i x_k) along the uniform grid is geometric in k: one exp per row
            e = (k_coef * xi * xs[kstart]).exp()
            ratio = (k_coef * xi * hx).exp()
            for k in range(kstart, nx + 1):
                f = F[i, k] if n == 2 else F[i, k] ** (n - 1)
                term = ex2[k] * e * f
                if symmetric and k != i:
                    term = 2 * term
                row += term
                e *= ratio
            total += ex2[i] * row
        res = total * n * hx * hx / (2 * arb.pi() * one_m_r2.sqrt())
        mid = res.mid()
        man, exp = mid.man_exp()
    with mpmath.workdps(dps):
        return mpmath.mpf(int(man)) * mpmath.mpf(2) ** int(exp)


def s_n(n: int, r, dps: int = 20, *, max_seconds=MAX_SECONDS) -> mpmath.mpf:
    """``s_n(r) = P(argmax of n i.i.d. bivariate-normal pairs with correlation r coincides)``.

    Closed forms for ``n <= 3`` (Sheppard; the Plackett form for ``n = 3``), the quadrature of
    :func:`s_n_quadrature` otherwise. Returns an mpmath number with ``dps`` digits.
    Reconstruction of Theorem 5.3: the factor of random attention is ``s_n(rho^2)``.
    ``max_seconds`` caps the quadrature's predicted run time (see :func:`s_n_quadrature`).

    >>> print(mpmath.nstr(s_n(4, 0.25), 15, strip_zeros=False))
    0.345404274151170
    >>> print(s_n(2, 1), s_n(3, -1), s_n(1, 0.3))
    1.0 0.0 1.0
    """
    n = _check_n_r(n, r)
    trivial = _trivial(n, r)
    if trivial is not None:
        return trivial
    if n == 2:
        return s2_closed_form(r, dps)
    if n == 3:
        return s3_closed_form(r, dps)
    return s_n_quadrature(n, r, dps, max_seconds=max_seconds)
