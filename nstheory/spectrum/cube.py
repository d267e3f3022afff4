r"""Eigenvalues of dot-product kernels on the Boolean cube, exactly, precisely and certified.

A kernel ``K(x, y) = Phi(<x, y> / n)`` on the uniform cube ``{-1, 1}^n`` has the monomials
``chi_S(x) = prod_{i in S} x_i`` as eigenfunctions of ``(T f)(x) = E_y[K(x, y) f(y)]``; the
eigenvalue depends only on ``k = |S|`` and has multiplicity ``C(n, k)``:

.. math:: \mu_k = 2^{-n} \sum_x \Phi(\textstyle\sum_i x_i / n)\, \chi_S(x)
          = 2^{-n} \sum_{j=0}^n \Phi(1 - 2j/n)\, K_j(k),

with the Krawtchouk numbers ``K_j(k) = [z^j] (1 - z)^k (1 + z)^{n-k}`` (``j`` = number of
coordinates equal to ``-1``). The sum alternates: ``mu_k`` can be as small as ``2^{-n}`` times
the size of its terms, so a floating-point evaluation loses about ``n`` bits.

How the cancellation is kept under control
------------------------------------------
The transform itself is done **in exact integer arithmetic**. Multiplying by ``C(n, k)`` and
summing over ``k`` gives the generating function

.. math:: G(w) = \sum_k C(n,k)\, 2^n \mu_k\, w^k
          = \sum_j \Phi_j\, C(n,j)\, (1-w)^j (1+w)^{n-j}
          = (1+w)^n P\!\left(\tfrac{1-w}{1+w}\right), \quad P(u) = \sum_j \Phi_j C(n,j) u^j,

a Moebius substitution computed as a Taylor shift, a reversal and a second Taylor shift of an
integer polynomial (FLINT ``fmpz_poly`` compositions), so that no rounding happens in it.

* exact route (:func:`spectrum_exact`): rational values ``Phi_j`` are brought to a common
  denominator; the result is a list of ``Fraction``.
* certified route (:func:`spectrum_arb`): ``Phi_j`` are arb balls computed at a working
  precision of ``bits + n + log2(n) + 40`` bits; their midpoints are rounded to integers on the
  grid ``2^{-p}`` (exact), transformed exactly, and the propagated error is bounded by
  ``2^{-n} sum_j C(n, j) R_j`` with ``R_j`` the ball radius plus the rounding (``|K_j(k)| <=
  C(n, j)``). The working precision is raised until every ball that excludes zero has relative
  radius ``<= 2^{-bits}`` (balls containing zero are resolved to ``2^{-(bits + n)} max|Phi|``).
* precise route (:func:`spectrum_mp`): an independent code path, the direct Krawtchouk sum
  with the integer three-term Krawtchouk recurrence, the values from mpmath put on one integer
  grid and summed exactly; the working precision is raised per degree from an error bound until
  each ``mu_k`` has ``dps`` digits (confirmed by two passes), or is 0 to ``10^{5 - max_dps}``.
* word counting (:func:`spectrum_polynomial_by_words`): for polynomial ``Phi = sum_m a_m t^m``,
  ``E[(sum_i x_i)^m chi_S] = m! [z^m] sinh(z)^k cosh(z)^{n-k}`` counts words of length ``m``
  using each coordinate of ``S`` an odd and every other an even number of times -- a
  **non-negative** combination, which is why nonnegative Taylor coefficients give nonnegative
  eigenvalues (and the weak spectral bias); computed with exact truncated power series.
* Gram matrix (:func:`gram_eigenvalues`): the eigenvalues of the full ``2^n x 2^n`` matrix
  ``K(x, y) / 2^n`` for small ``n`` (numpy ``eigvalsh``), and :func:`gram_monomial_residual`
  which checks ``K chi_S = mu_|S| chi_S`` exactly in rationals.

Examples
--------
>>> from fractions import Fraction
>>> spectrum_polynomial_exact([0, 1, 1, 1], 10)[:5]   # Phi(t) = t + t^2 + t^3
[Fraction(1, 10), Fraction(16, 125), Fraction(1, 50), Fraction(3, 500), Fraction(0, 1)]
>>> spectrum_polynomial_by_words([0, 1, 1, 1], 10)[:5]
[Fraction(1, 10), Fraction(16, 125), Fraction(1, 50), Fraction(3, 500), Fraction(0, 1)]
>>> mu = spectrum_arb(lambda t: t.exp(), 10)
>>> mu[1]
[0.104769374051579 +/- 1.10e-16]
>>> mpmath.nstr(mpmath.sinh(0.1) * mpmath.cosh(0.1) ** 9, 15)   # exp: sinh(1/n)^k cosh(1/n)^(n-k)
'0.104769374051579'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache

import mpmath

from nstheory.errors import NSTheoryError, check_int
from nstheory.progress import progress

#: Largest n accepted by the certified and exact routes.
MAX_N = 10_000


def check_n(n, limit: int = MAX_N) -> int:
    """Validate the cube dimension ``n`` (an integer in ``[1, limit]``).

    >>> check_n(20)
    20
    """
    return check_int(n, "n", lo=1, hi=limit)


def cube_points(n: int) -> list[Fraction]:
    """The ``n + 1`` values ``t_j = 1 - 2j/n`` of ``<x, y>/n`` (``j`` = disagreements).

    >>> cube_points(2)
    [Fraction(1, 1), Fraction(0, 1), Fraction(-1, 1)]
    """
    n = check_n(n)
    return [Fraction(n - 2 * j, n) for j in range(n + 1)]


def multiplicities(n: int) -> list[int]:
    """``C(n, k)`` for ``k = 0..n``: the multiplicity of the degree-``k`` eigenvalue.

    >>> multiplicities(4)
    [1, 4, 6, 4, 1]
    """
    n = check_n(n)
    return [math.comb(n, k) for k in range(n + 1)]


# --------------------------------------------------------------------------------------------
# the exact integer transform
# --------------------------------------------------------------------------------------------


def krawtchouk_transform_int(values: Sequence[int]) -> list[int]:
    """``[w^k] sum_j values[j] C(n, j) (1-w)^j (1+w)^{n-j}`` for ``k = 0..n``, exactly.

    With ``values[j] = 2^p Phi(1 - 2j/n)`` the ``k``-th entry is ``2^{n+p} C(n, k) mu_k``.
    Computed as ``(1+w)^n P((1-w)/(1+w))`` with ``P(u) = sum_j values[j] C(n, j) u^j``:
    ``Q(s) = P(2s - 1)``, ``R(y) = y^n Q(1/y)`` (reversal), ``G(w) = R(1 + w)``, all as FLINT
    integer polynomial compositions (no rounding anywhere).

    >>> krawtchouk_transform_int([1, 0])   # n = 1, Phi = indicator of x = y: (1 + w)
    [1, 1]
    >>> krawtchouk_transform_int([0, 1])   # (1 - w)
    [1, -1]
    """
    from flint import fmpz_poly

    n = len(values) - 1
    if n < 1:
        raise NSTheoryError(f"need at least 2 values (n >= 1), got {len(values)}")
    binom = _binomials(n)
    values = [check_int(v, "values[j]") for v in values]  # integers: 1.5 was truncated to 1
    P = fmpz_poly([v * b for v, b in zip(values, binom, strict=True)])
    qc = [int(c) for c in P(fmpz_poly([-1, 2])).coeffs()]
    qc += [0] * (n + 1 - len(qc))
    gc = [int(c) for c in fmpz_poly(qc[::-1])(fmpz_poly([1, 1])).coeffs()]
    return gc + [0] * (n + 1 - len(gc))


@lru_cache(maxsize=8)
def _binomials(n: int) -> tuple[int, ...]:
    out = [1]
    for j in range(n):
        out.append(out[-1] * (n - j) // (j + 1))
    return tuple(out)


def spectrum_exact(values: Sequence) -> list[Fraction]:
    """Exact ``mu_0..mu_n`` from exact values ``Phi(1 - 2j/n)``, ``j = 0..n`` (ints/Fractions).

    >>> spectrum_exact([Fraction(1), Fraction(-1)])   # n = 1, Phi(t) = t
    [Fraction(0, 1), Fraction(1, 1)]
    """
    vals = [Fraction(v) for v in values]
    n = len(vals) - 1
    check_n(n)
    den = 1
    for v in vals:
        den = den * v.denominator // math.gcd(den, v.denominator)
    ints = [v.numerator * (den // v.denominator) for v in vals]
    G = krawtchouk_transform_int(ints)
    binom = _binomials(n)
    return [Fraction(G[k], binom[k] * den * 2**n) for k in range(n + 1)]


def _poly_exact_values(coeffs: Sequence, n: int) -> list[Fraction]:
    cs = [Fraction(c) for c in coeffs]
    if not cs:
        raise NSTheoryError("a polynomial needs at least one coefficient")
    out = []
    for t in cube_points(n):
        acc = Fraction(0)
        for c in reversed(cs):
            acc = acc * t + c
        out.append(acc)
    return out


def spectrum_polynomial_exact(coeffs: Sequence, n: int) -> list[Fraction]:
    """Exact ``mu_k`` of ``Phi(t) = sum_m coeffs[m] t^m`` (rational coefficients).

    >>> spectrum_polynomial_exact([0, 1], 3)   # Phi(t) = t: only degree 1, mu_1 = 1/n
    [Fraction(0, 1), Fraction(1, 3), Fraction(0, 1), Fraction(0, 1)]
    """
    return spectrum_exact(_poly_exact_values(coeffs, check_n(n)))


# --------------------------------------------------------------------------------------------
# certified route
# --------------------------------------------------------------------------------------------


def _to_grid(ball, p: int):
    """``(M, err)`` with ``M`` an integer and ``|mid(ball) 2^p - M| <= 1/2``; ``err`` = 1/2 or 0."""
    man, exp = ball.mid().man_exp()
    man, exp = int(man), int(exp)
    s = exp + p
    if s >= 0:
        return man << s, 0
    q, r = divmod(man, 1 << (-s))
    if 2 * r >= (1 << (-s)):
        q += 1
    return q, (1 if r else 0)


def spectrum_arb(
    phi: Callable, n: int, bits: int = 53, max_bits: int | None = None
) -> list:
    """Certified balls for ``mu_0..mu_n`` of ``Phi`` given as an arb function of one ball.

    ``phi(t)`` must return a ball containing ``Phi(t)`` at the current arb precision (it is
    called inside :func:`nstheory.numerics.arb_precision` at the working precision). Balls are
    returned at ``bits + 10`` bits; see the module docstring and :func:`spectra_arb`.

    >>> from flint import arb
    >>> mu = spectrum_arb(lambda t: t * t, 4)   # Phi = t^2: mu = (1/4, 0, 1/8, 0, 0)
    >>> [m.contains(v) for m, v in zip(mu, [arb(1) / 4, 0, arb(1) / 8, 0, 0])]
    [True, True, True, True, True]
    """
    return spectra_arb(lambda t: (phi(t),), n, bits, max_bits)[0]


def spectra_arb(
    phis: Callable, n: int, bits: int = 53, max_bits: int | None = None
) -> list[list]:
    """Certified spectra of several kernels evaluated together: ``phis(t)`` returns a tuple of
    balls ``(Phi_1(t), Phi_2(t), ...)``; returns one list of ``n + 1`` balls per kernel.

    Working precision starts at ``bits + n + log2(n) + 40`` and doubles its surplus until every
    ball that excludes zero has relative radius ``<= 2^-bits`` and every ball containing zero
    has radius ``<= 2^{-(bits + n)} max_j |Phi(t_j)|`` (or ``max_bits`` is reached; the balls
    are then still valid enclosures, only wider). :func:`resolved` says which degrees met the
    relative target.

    A ball that is not finite at some cube point (an evaluation of ``Phi`` that lost all of its
    precision there) is treated like an unresolved one: the precision is raised; if it is still
    not finite at ``max_bits``, :class:`~nstheory.errors.NSTheoryError` says to raise
    ``max_bits``.

    >>> nngp, ntk = spectra_arb(lambda t: (t, 2 * t), 3)
    >>> ntk[1]
    [0.666666666666667 +/- ...]
    """
    from flint import arb

    from nstheory.numerics import arb_precision

    n = check_n(n)
    bits = check_int(bits, "bits", lo=8, hi=1_000_000)
    extra = n + math.ceil(math.log2(n + 1)) + 40
    max_bits = max_bits or (bits + 4 * extra + 256)
    binom = _binomials(n)
    while True:
        work = bits + extra
        with arb_precision(bits=work):
            pts = [arb(n - 2 * j) / n for j in range(n + 1)]
            rows = [tuple(phis(t)) for t in progress(
                pts, desc=f"spectrum: kernels at {work} bits", unit="pt", delay=2)]
            outs, ok = [], True
            for col in progress(range(len(rows[0])), desc=f"spectrum: exact transforms at "
                                f"{work} bits", unit="kernel", delay=2):
                out, good = _certified_transform([r[col] for r in rows], n, bits, work, binom)
                outs.append(out)
                ok = ok and good
        if ok or work >= max_bits:
            if any(out is None for out in outs):
                raise NSTheoryError(
                    f"Phi is not finite at some cube point even at {work} working bits "
                    f"(max_bits = {max_bits}): its evaluation loses all of its precision there; "
                    "pass a larger max_bits (or bits)")
            with arb_precision(bits=bits + 10):
                return [[+m for m in out] for out in outs]
        extra *= 2


def _certified_transform(vals, n, bits, work, binom):
    from flint import arb

    if not all(v.is_finite() for v in vals):  # precision lost in Phi: raise it
        return None, False
    # the largest |value| as an exact arb point (floats overflow beyond 1e308, e.g. sw2 = 1e300)
    vmax = arb(0)
    for v in vals:
        m = v.abs_upper()  # an exact point: comparisons decide
        if m > vmax:
            vmax = m
    if vmax == 0:
        vmax = arb(1)
    man, exp = vmax.mid().man_exp()
    p = work - (int(exp) + int(man).bit_length() - 1)  # floor(log2 vmax)
    ints, errs = [], []
    for v in vals:
        M, e = _to_grid(v, p)
        ints.append(M)
        errs.append(v.rad() + (arb(2) ** (-p - 1) if e else 0))
    G = krawtchouk_transform_int(ints)
    # propagated error: 2^{-n} sum_j C(n, j) R_j, an upper bound (|K_j(k)| <= C(n, j))
    E = (sum((b * r for b, r in zip(binom, errs, strict=True)), arb(0)) / arb(2) ** n).upper()
    scale = arb(2) ** (n + p)
    out = [arb(G[k]) / (binom[k] * scale) + arb(0, E) for k in range(n + 1)]
    zero_tol = arb(2) ** (-(bits + n)) * vmax
    ok = all((m.rad() <= zero_tol) if m.contains(0) else
             (m.rad() <= abs(m.mid()) * arb(2) ** (-bits)) for m in out)
    return out, ok


def resolved(ball, bits: int = 53) -> bool:
    """True when ``ball`` excludes zero and has relative radius ``<= 2^-bits``.

    >>> from flint import arb
    >>> resolved(arb(1) / 3, bits=40), resolved(arb(0, 1e-30))
    (True, False)
    """
    from flint import arb

    if ball.contains(0):
        return False
    return bool(ball.rad() <= abs(ball.mid()) * arb(2) ** (-bits))


# --------------------------------------------------------------------------------------------
# precise route: direct Krawtchouk sum (an independent code path)
# --------------------------------------------------------------------------------------------


def krawtchouk_rows(n: int):
    """Yield, for ``k = 0..n``, the integer row ``(Kraw_k(j))_j = [z^k] (1-z)^j (1+z)^{n-j}``
    via the three-term recurrence ``(k+1) K_{k+1} = (n - 2j) K_k - (n - k + 1) K_{k-1}``.

    >>> [list(r) for r in krawtchouk_rows(2)]
    [[1, 1, 1], [2, 0, -2], [1, -1, 1]]
    """
    n = check_n(n)
    prev = None
    cur = [1] * (n + 1)
    for k in range(n + 1):
        yield cur
        if k == n:
            break
        if prev is None:
            nxt = [n - 2 * j for j in range(n + 1)]
        else:
            nxt = [((n - 2 * j) * c - (n - k + 1) * q) // (k + 1)
                   for j, (c, q) in enumerate(zip(cur, prev, strict=True))]
        prev, cur = cur, nxt


def _scaled_values(phi: Callable, n: int, bits: int, binom: Sequence[int]):
    """``Phi(t_j) C(n, j)`` for ``j = 0..n`` at ``bits`` bits as integers on one grid ``2^e``.

    ``phi`` is evaluated at ``bits`` bits, and again at ``bits + 32`` bits at up to 65 of the
    points (``t = 1, -1`` and a spread in between): the two values must agree to ``2^{12 -
    bits}`` relative (a check that ``phi`` is accurate at the working precision). Returns ``(W,
    e, ntrunc)``: ``|W_j 2^e - v_j C(n, j)| <= 2^e / 2`` for the ``ntrunc`` values lying more
    than ``2^{bits + n + 64}`` grid steps below the largest one, and ``0`` (exact) for every
    other value ``v_j``.
    """
    with mpmath.workprec(bits):
        vals = [mpmath.mpf(phi(mpmath.mpf(n - 2 * j) / n)) for j in range(n + 1)]
    for j in sorted({0, n, *range(0, n + 1, max(1, n // 64))}):
        with mpmath.workprec(bits + 32):
            v, lo = mpmath.mpf(phi(mpmath.mpf(n - 2 * j) / n)), vals[j]
            if not (mpmath.isfinite(v) and mpmath.isfinite(lo)):
                raise NSTheoryError(f"phi returned a non-finite value {lo} at t = {1 - 2 * j / n}")
            if abs(v - lo) > mpmath.ldexp(abs(v), 12 - bits):
                raise NSTheoryError(
                    f"spectrum_mp: phi at t = {1 - 2 * j / n} differs by "
                    f"{mpmath.nstr(abs(v - lo) / abs(v), 3)} (relative) between {bits} and "
                    f"{bits + 32} bits: it is not accurate to the working precision")
    parts = []
    for j, v in enumerate(vals):
        if not mpmath.isfinite(v):
            raise NSTheoryError(f"phi returned a non-finite value {v} at t = {1 - 2 * j / n}")
        man, exp = v.man_exp  # man is |mantissa|
        parts.append(((-1 if v < 0 else 1) * int(man) * binom[j], int(exp)))
    tops = [exp + m.bit_length() for m, exp in parts if m]
    if not tops:
        return [0] * (n + 1), 0, 0
    e = max(tops) - (bits + n + 64)
    W, ntrunc = [], 0
    for m, exp in parts:
        if exp >= e:
            W.append(m << (exp - e))
        else:
            sh = e - exp
            W.append((m + (1 << (sh - 1))) >> sh)  # nearest integer
            ntrunc += 1
    return W, e, ntrunc


def spectrum_mp(phi: Callable, n: int, dps: int = 30, max_dps: int | None = None) -> list:
    """``mu_0..mu_n`` in mpmath by the direct Krawtchouk sum, to about ``dps`` digits each.

    ``phi`` takes and returns mpmath numbers and must be accurate, relative to its value, at the
    current ``mp.prec``: it is called at the raised working precision and, at up to 65 of the
    points, again at 32 more bits; the two values must agree to ``2^{12 - prec}`` (this catches
    a ``phi`` whose error does not shrink with the precision, not one that returns the same
    inaccurate value at every precision). Uses ``mu_k = 2^{-n} sum_j Phi_j C(n, j) Kraw_k(j) /
    C(n, k)`` (the symmetry ``C(n,j) K_j(k) = C(n,k) Kraw_k(j)``) with the integer three-term
    Krawtchouk recurrence.
    The values ``Phi_j C(n, j)`` are put on one integer grid and every sum is formed **exactly**
    in integers, so its only error is that of the values: ``|err_k| <= 2^{12 - prec} sum_j
    |Phi_j C(n, j) Kraw_k(j)|`` (plus the grid's rounding,
    also bounded). The working precision is raised per degree:

    * the first pass is at ``dps + 0.302 n + log10(n) + 12`` digits (``mu_k`` is typically
      ``2^{-n}`` times its terms); a degree whose bound gives ``dps + 2`` digits is accepted;
    * a degree whose bound already shows its leading digits gets the precision it needs in one
      step;
    * a degree still at the rounding floor (a true zero, or a value smaller than the bound)
      doubles the surplus ``work - dps``, up to ``max_dps`` (default ``dps + 20 +
      ceil(n log10(2n))``: enough for ``exp(a t)``, ``a >= 1/2``, whose smallest eigenvalue is
      about ``(a / n)^n``).

    A degree still at the floor at ``max_dps`` is returned as exactly ``0``: then ``|mu_k| <
    10^{5 - max_dps} max_j |Phi(t_j)|``. :class:`~nstheory.errors.NSTheoryError` when a degree
    cannot reach ``dps`` digits within ``max_dps`` digits, or ``phi`` fails the accuracy check.

    >>> [mpmath.nstr(m, 12) for m in spectrum_mp(mpmath.exp, 10)[:3]]
    ['1.05118372699', '0.104769374052', '0.0104421534098']
    >>> mu = spectrum_mp(mpmath.exp, 300, dps=15)   # exp: sinh(1/n)^k cosh(1/n)^(n-k)
    >>> mpmath.nstr(mu[300], 12), mpmath.nstr(mpmath.sinh(mpmath.mpf(1) / 300) ** 300, 12)
    ('7.30911607194e-744', '7.30911607194e-744')
    >>> spectrum_mp(lambda t: t ** 3, 6)[4:]   # degrees above 3 vanish: exact zeros
    [mpf('0.0'), mpf('0.0'), mpf('0.0')]
    """
    n = check_n(n, limit=2000)
    dps = check_int(dps, "dps", lo=1, hi=100_000)
    if max_dps is None:
        max_dps = dps + 20 + math.ceil(n * math.log10(2 * n))
    max_dps = check_int(max_dps, "max_dps", lo=dps, hi=1_000_000)
    binom = _binomials(n)
    work = min(dps + 12 + math.ceil(math.log10(n + 1) + 0.30103 * n), max_dps)
    out: list = [None] * (n + 1)
    todo = set(range(n + 1))
    target = 10 ** (dps + 2)
    row_need: dict[int, int] = {}  # digits that suffice for a degree whose size is known
    while todo:
        bits = math.ceil(work * 3.3219280948873623) + 8
        W, e, ntrunc = _scaled_values(phi, n, bits, binom)
        need = work
        at_cap = work >= max_dps
        cut: dict[int, list[int]] = {}  # W truncated to fewer bits, for degrees needing fewer
        with mpmath.workprec(bits + 16):
            for k, row in enumerate(krawtchouk_rows(n)):
                if k not in todo:
                    continue
                sh = 0
                if k in row_need and not at_cap:  # known size: only the bits it needs
                    sh = (bits - math.ceil(row_need[k] * 3.3219280948873623) - 80) // 256 * 256
                if sh > 0:
                    if sh not in cut:
                        cut[sh] = [w >> sh for w in W]  # each within one unit (floor)
                    Wk, bk, grid = cut[sh], bits - sh, sum(map(abs, row))
                else:
                    Wk, bk, grid, sh = W, bits, 0, 0
                terms = list(map(int.__mul__, Wk, row))
                s = sum(terms)
                size = sum(map(abs, terms))
                if size == 0 and ntrunc == 0 and sh == 0:  # every value is exactly 0
                    out[k] = mpmath.mpf(0)
                    todo.discard(k)
                    continue
                # error bound in grid units: the values' (relative 2^(12 - bits)), the grid's
                err = (size >> (bk - 12)) + 1 + ntrunc * binom[k] + grid
                scale = mpmath.ldexp(1, e + sh - n) / binom[k]
                if abs(s) >= err * target:
                    out[k] = mpmath.mpf(s) * scale
                    todo.discard(k)
                elif abs(s) > 100 * err:  # leading digits known: the precision needed
                    if at_cap:
                        raise NSTheoryError(
                            f"spectrum_mp: mu_{k} needs more than max_dps = {max_dps} digits "
                            f"for {dps} correct digits; raise max_dps")
                    lost = math.ceil(mpmath.log10(mpmath.mpf(err) / abs(s)))  # in [-dps-2, -2]
                    digits = work - math.floor(sh / 3.33)  # the precision of this sum
                    row_need[k] = max(row_need.get(k, 0), digits + 3 + dps + lost)
                    need = max(need, row_need[k])
                elif at_cap:  # at the floor at the largest precision: zero to that floor
                    out[k] = mpmath.mpf(0)
                    todo.discard(k)
                else:
                    need = max(need, work + max(work - dps, 10))
        work = min(need, max_dps)
    with mpmath.workdps(dps):
        return [+m for m in out]


# --------------------------------------------------------------------------------------------
# word counting for polynomial Phi (nonnegative combination)
# --------------------------------------------------------------------------------------------


def _series_mul(a: list, b: list, D: int) -> list:
    out = [Fraction(0)] * (D + 1)
    for i, x in enumerate(a):
        if x:
            for j in range(D + 1 - i):
                out[i + j] += x * b[j]
    return out


def _series_pow(a: list, e: int, D: int) -> list:
    res = [Fraction(1)] + [Fraction(0)] * D
    base = a
    while e:
        if e & 1:
            res = _series_mul(res, base, D)
        e >>= 1
        if e:
            base = _series_mul(base, base, D)
    return res


def word_counts(n: int, k: int, m: int) -> int:
    """``E_x[(sum_i x_i)^m x_1 ... x_k] = m! [z^m] sinh(z)^k cosh(z)^{n-k}``: the number of
    words in ``[n]^m`` using each of the first ``k`` letters an odd number of times and every
    other letter an even number of times.

    >>> word_counts(3, 1, 3)   # words of length 3 over {1,2,3}: x1 odd, x2, x3 even
    7
    """
    n = check_n(n)
    k = check_int(k, "k", lo=0, hi=n)
    m = check_int(m, "m", lo=0, hi=2000)  # exact series of m + 1 rational terms
    sh = [Fraction(1, math.factorial(i)) if i % 2 else Fraction(0) for i in range(m + 1)]
    ch = [Fraction(0) if i % 2 else Fraction(1, math.factorial(i)) for i in range(m + 1)]
    s = _series_mul(_series_pow(sh, k, m), _series_pow(ch, n - k, m), m)
    val = s[m] * math.factorial(m)
    assert val.denominator == 1
    return int(val)


def spectrum_polynomial_by_words(coeffs: Sequence, n: int) -> list[Fraction]:
    """Exact ``mu_k = sum_m a_m n^{-m} words(n, k, m)`` of a polynomial ``Phi = sum_m a_m t^m``.

    Every term is ``a_m`` times a non-negative number; degrees ``k > deg Phi`` and ``k`` of the
    other parity than every ``m`` vanish.

    >>> spectrum_polynomial_by_words([1, 0, 1], 2)   # Phi = 1 + t^2
    [Fraction(3, 2), Fraction(0, 1), Fraction(1, 2)]
    """
    n = check_n(n, limit=2000)
    cs = [Fraction(c) for c in coeffs]
    D = len(cs) - 1
    if D < 0:
        raise NSTheoryError("a polynomial needs at least one coefficient")
    out = []
    for k in range(n + 1):
        tot = Fraction(0)
        for m in range(k, D + 1, 2):
            if cs[m]:
                tot += cs[m] * Fraction(word_counts(n, k, m), n**m)
        out.append(tot)
    return out


# --------------------------------------------------------------------------------------------
# the Gram matrix route (small n)
# --------------------------------------------------------------------------------------------


def _cube(n: int):
    import numpy as np

    idx = np.arange(2**n)
    return 1 - 2 * ((idx[:, None] >> np.arange(n)[None, :]) & 1)  # bit i of index -> x_{i+1}


def gram_eigenvalues(phi_float: Callable, n: int):
    """Sorted (descending) eigenvalues of the ``2^n x 2^n`` matrix ``Phi(<x, y>/n) / 2^n``
    (float64, numpy ``eigvalsh``); ``n <= 12``.

    >>> import numpy as np
    >>> [round(float(v), 12) + 0.0 for v in gram_eigenvalues(lambda t: t, 3)]   # mu_1 = 1/3, x3
    [0.333333333333, 0.333333333333, 0.333333333333, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    import numpy as np

    n = check_n(n, limit=12)
    X = _cube(n).astype(np.float64)
    K = np.asarray(phi_float(X @ X.T / n), dtype=np.float64) / 2**n
    ev = np.linalg.eigvalsh((K + K.T) / 2)
    return np.sort(ev)[::-1] + 0.0


def gram_monomial_residual(values: Sequence, n: int) -> tuple[list[Fraction], bool]:
    """Exact check that every monomial is an eigenvector of the Gram operator.

    ``values[j] = Phi(1 - 2j/n)`` (exact). For every ``S`` computes ``(T chi_S)(x) =
    2^{-n} sum_y Phi(<x,y>/n) chi_S(y)`` in rationals and checks it equals ``lambda chi_S(x)``
    for all ``x`` with one ``lambda`` per ``S``; returns (``lambda`` per degree, all equal within
    each degree and eigen-equation exact). ``n <= 8``.

    >>> gram_monomial_residual([1, 0, 1], 2)   # Phi = t^2 on n = 2: mu = (1/2, 0, 1/2)
    ([Fraction(1, 2), Fraction(0, 1), Fraction(1, 2)], True)
    """
    import numpy as np

    n = check_n(n, limit=8)
    vals = [Fraction(v) for v in values]
    if len(vals) != n + 1:
        raise NSTheoryError(f"need n + 1 = {n + 1} values, got {len(vals)}")
    X = _cube(n)
    N = 2**n
    dis = (n - X @ X.T) // 2  # number of disagreeing coordinates
    by_degree: dict[int, Fraction] = {}
    ok = True
    for S in range(N):
        mask = [(S >> i) & 1 for i in range(n)]
        chi = np.prod(np.where(np.array(mask, bool)[None, :], X, 1), axis=1)
        deg = sum(mask)
        lam = None
        for xi in range(N):
            tot = sum(vals[int(dis[xi, y])] * int(chi[y]) for y in range(N)) / N
            ratio = tot * int(chi[xi])  # chi = +-1
            if lam is None:
                lam = ratio
            elif ratio != lam:
                ok = False
        if deg in by_degree and by_degree[deg] != lam:
            ok = False
        by_degree.setdefault(deg, lam)
    return [by_degree[k] for k in range(n + 1)], ok


__all__ = [
    "MAX_N",
    "check_n",
    "cube_points",
    "gram_eigenvalues",
    "gram_monomial_residual",
    "krawtchouk_rows",
    "krawtchouk_transform_int",
    "multiplicities",
    "resolved",
    "spectra_arb",
    "spectrum_arb",
    "spectrum_exact",
    "spectrum_mp",
    "spectrum_polynomial_by_words",
    "spectrum_polynomial_exact",
    "word_counts",
]
