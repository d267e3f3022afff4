"""Certified enclosures of the permutation-consistency factor ``s_n(r)`` for any ``n``.

``s_n(r) = n E[F(A, B)^(n-1)]`` with ``(A, B)`` standard bivariate normal of correlation ``r``
and ``F`` its CDF (see :mod:`nstheory.attention.consistency`). This module returns an arb ball
that provably contains ``s_n(r)``: a trapezoid rule whose every error term is bounded
rigorously and added to the ball's radius.

The bounds
----------
Write ``c = |r|``, ``sigma^2 = 1 - c`` and ``A = sqrt(c) W + sigma U``,
``B = sgn(r) sqrt(c) W + sigma V`` (``W, U, V`` i.i.d. standard normal), so

    F(a, b) = int phi(w) Phi((a - sqrt(c) w)/sigma) Phi((b - sgn(r) sqrt(c) w)/sigma) dw.

The one fact used for complex arguments: ``|Phi(x + i y)| <= exp(y^2/2) Phi(x)`` (integrate
``phi`` along the horizontal line; ``|phi(t + i y)| = phi(t) exp(y^2/2)``). The trapezoid rule
with step ``h`` on the whole line errs by at most ``2 M / (exp(2 pi alpha / h) - 1)`` for an
integrand analytic in the strip ``|Im z| < alpha`` with ``int |f(x + i y)| dx <= M`` there
(Trefethen & Weideman, SIAM Review 56 (2014), Thm 5.1).

* Inner integral (``F`` at one node): ``M <= exp(alpha^2 (1/2 + c/sigma^2))``; the terms with
  ``|w| > W_max`` add at most ``2 Phi(-W_max)``. Their sum ``delta_F`` becomes the radius of every
  node value of ``F`` (which is also clamped to ``[0, 1]``); ball arithmetic carries it through
  ``F^(n-1)``.
* Outer double integral of ``g = phi_r F^(n-1)`` over ``(a, b)``: with one variable complex,
  ``|phi_r| = phi_r(x, b) exp(y^2 / (2 (1 - r^2)))`` and ``|F| <= exp(y^2/(2 sigma^2)) F``, so
  ``|g(x + i y, b)| <= exp(kappa y^2 / 2) g(x, b)``, ``kappa = 1/(1-r^2) + (n-1)/sigma^2``. The
  tensor rule's error splits into a rule in ``a`` of ``G(a) = int g db`` and rules in ``b`` at
  each node; with ``int int g <= 1/n`` and ``h sum_i G(a_i) <= 1/n + h/sqrt(2 pi)`` (``G <=
  phi Phi^(n-1)``, unimodal and at most ``1/sqrt(2 pi)``) the error of ``s_n = n int int g`` is at
  most ``2 exp(alpha^2 kappa / 2) (2 + n h / sqrt(2 pi)) / (exp(2 pi alpha / h) - 1)``.
* Truncation of the outer grid to ``[L, U]^2`` (``L <= 0``): nodes below ``L`` in one coordinate
  add at most ``beta Phi(L)^n`` and nodes above ``U`` at most ``n beta Phi(-U)`` (``beta = 1 +
  h / sqrt(2 pi (1 - r^2))`` bounds a trapezoid sum of the conditional density).

The steps and cut-offs are chosen from the requested digits (``alpha`` at the optimum of each
bound) and the final radius is whatever the bounds give: it is reported, never assumed.

The rotated rule (``r >= 0.9``)
-------------------------------
In ``(a, b)`` both steps must shrink like ``sigma = sqrt(1 - r)`` (the density's narrow
direction, and the inner integrand's steepness), so the rule above costs ``(1 - r)^(-3/2)``. For
``r >= ROTATED_FROM`` the enclosure instead integrates in ``u = (a + b)/sqrt 2 ~ N(0, 1 + r)``
and ``v = (a - b)/(sqrt 2 sigma) ~ N(0, 1)``, and writes (``t = (sqrt(r) w - u/sqrt 2)/sigma``,
``alpha = v / sqrt 2``)

    F(a, b) = Phi(u/sqrt 2) + (sigma/sqrt r) int phi((u/sqrt 2 + sigma t)/sqrt r) R(t) dt,
    R(t) = Phi(alpha - t) Phi(-alpha - t) - Phi(-t),

the first term being the same integral with ``Phi(-t)`` in place of the product (closed form).
``R`` decays like a Gaussian on both sides (``|R| <= Phi(-t)`` for ``t >= 0``,
``<= 2 Phi(t + |alpha|)`` for ``t <= 0``), so the inner rule needs O(1) steps over an O(1)
range whatever ``r``. Its strip bound: ``|R(x + iy)| <= e^{y^2} (H(x) + Phi(-x))`` gives
``int |integrand| <= 2 exp(y^2 (1 + sigma^2 / (2 r)))``. Outer strip constants: a complex ``u``
moves ``a`` and ``b`` together, so shifting ``w`` gives ``|F| <= exp(y^2 / (4 r)) F``
(``kappa_u = 1/(1 + r) + (n - 1)/(2 r)``); a complex ``v`` moves them apart by
``sigma y / sqrt 2``, ``|F| <= e^{y^2/2} F`` (``kappa_v = n``): neither depends on ``sigma``.
Truncations use ``F <= min(Phi(a), Phi(b)) <= Phi(u / sqrt 2)`` and the Gaussian tails in ``u``
and ``v``. The cost (0.02 s at ``n = 4``, 0.12 s at ``n = 64``, 0.3 s at ``n = 256``, 15
digits) does not depend on ``r`` up to ``1 - 2^-20``.

``s_n`` is increasing in ``r`` on ``[-1, 1]`` (Plackett's identity: every covariance between
the ``A``-differences and the ``B``-differences grows with ``r``), so an enclosure over a range
of ``r`` is the hull of the enclosures at its endpoints (:func:`s_n_certified_range`).

Examples
--------
>>> ball = s_n_certified(8, "0.25", digits=15)
>>> print(ball.str(12, radius=False))
0.209961465307
>>> bool(ball.rad() < 1e-15)
True
>>> from nstheory.attention.consistency import s3_closed_form
>>> from flint import arb
>>> s_n_certified(3, "0.5").overlaps(arb(mpmath.nstr(s3_closed_form("0.5", dps=30), 30)))
True
"""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

import mpmath

from nstheory.attention.consistency import MAX_SECONDS, grid_seconds
from nstheory.errors import NSTheoryError, check_int
from nstheory.numerics import arb_precision, bits_for_digits

__all__ = ["ROTATED_FROM", "certified_grid", "rotated_grid", "s_n_certified",
           "s_n_certified_range"]

_NORMAL = NormalDist()


def _exact_arb(r):
    """``r`` (float, int, Fraction, decimal string, mpf or exact arb) as an exact arb, plus its
    float value."""
    from flint import arb

    if isinstance(r, arb):
        if r.rad() != 0:
            raise NSTheoryError("s_n_certified needs an exact r; use s_n_certified_range for "
                                "a ball")
        return r, float(r)
    if isinstance(r, Fraction):
        return arb(r.numerator) / r.denominator, float(r)
    if isinstance(r, mpmath.mpf):
        man, exp = r.man_exp
        return arb(int(man)) * arb(2) ** int(exp), float(r)
    if isinstance(r, str):
        try:
            f = float(r)
        except ValueError:
            raise NSTheoryError(f"r must be a number, got {r!r}") from None
        if not math.isfinite(f):
            raise NSTheoryError(f"r must be finite, got {r!r}")
        return arb(r), f
    if isinstance(r, (int, float)):
        if not math.isfinite(float(r)):
            raise NSTheoryError(f"r must be finite, got {r!r}")
        return arb(r), float(r)
    raise NSTheoryError(f"r must be a float, int, Fraction, decimal string, mpf or arb; got {r!r}")


def certified_grid(n: int, r: float, digits: int) -> dict:
    """Steps and cut-offs of :func:`s_n_certified` for a target absolute error ``10^-digits``.

    Returns ``h`` and ``L, U, nx`` (outer grid ``L + i h``, ``i = 0..nx``), ``hw`` and ``jw``
    (inner nodes ``j hw``, ``|j| <= jw``) and the strip parameters ``kappa`` (outer) and
    ``kappa_w`` (inner).

    >>> g = certified_grid(64, 0.25, 15)
    >>> g["L"] <= 0 < g["U"], g["nx"] > 50
    (True, True)
    """
    c = abs(r)
    sig2 = 1 - c
    eps = 10.0 ** (-digits)
    kappa = 1 / (1 - r * r) + (n - 1) / sig2
    lam = digits * math.log(10) + math.log(16 + 2 * n)
    h = math.pi * math.sqrt(2 / (kappa * lam))
    L = min(0.0, _NORMAL.inv_cdf((eps / 16) ** (1.0 / n)))
    U = -_NORMAL.inv_cdf(eps / (16 * n))
    nx = max(4, math.ceil((U - L) / h))
    U = L + nx * h
    kappa_w = 0.5 + c / sig2
    lam_w = digits * math.log(10) + math.log(16 * n * n)
    hw = math.pi / math.sqrt(kappa_w * lam_w)
    wmax = -_NORMAL.inv_cdf(eps / (16 * n * n))
    jw = max(2, math.ceil(wmax / hw))
    return {"h": h, "L": L, "U": U, "nx": nx, "hw": hw, "jw": jw, "kappa": kappa,
            "kappa_w": kappa_w}


def _trapezoid_bound(M_log, alpha, h):
    """``2 exp(M_log) / (exp(2 pi alpha / h) - 1)`` in arb."""
    from flint import arb

    return 2 * M_log.exp() / ((2 * arb.pi() * alpha / h).exp() - 1)


def s_n_certified(n: int, r, digits: int = 15, *, max_seconds=MAX_SECONDS):
    """Certified arb ball containing ``s_n(r)`` (any ``n >= 1``, ``-1 <= r <= 1``).

    Parameters
    ----------
    n : int
        Number of pairs (tokens), ``1 <= n <= 256``.
    r : float, int, Fraction, decimal string, mpf or exact arb
        Pair correlation; taken at its exact value (a decimal string at its decimal value).
    digits : int
        Target absolute accuracy ``10^-digits`` (1..30); the ball's radius is the rigorous total
        of all error bounds and rounding, typically below that target.
    max_seconds : float or None
        Refuse (:class:`~nstheory.errors.NSTheoryError`) a grid predicted to take longer
        (default :data:`~nstheory.attention.consistency.MAX_SECONDS`; ``None``: no limit).

    Returns
    -------
    flint.arb
        A ball containing ``s_n(r)`` (exact for ``n = 1`` and ``r in {-1, 0, 1}``). Cost:
        ~0.02--0.5 s for ``n <= 64`` at 15 digits for ``r >= -0.9`` (the rotated rule,
        ``r >= 0.9``, costs the same at every ``r`` up to ``1 - 2^-20``); as ``r -> -1`` the
        tensor rule grows like ``(1 + r)^(-3/2)`` (5 s at ``n = 64``, ``r = -0.99``).

    Examples
    --------
    >>> from flint import arb
    >>> s_n_certified(2, "0.5").overlaps(arb(2) / 3)
    True
    >>> print(s_n_certified(5, 0).str(10, radius=False))
    0.2000000000
    """
    from flint import arb

    n = check_int(n, "n", lo=1, hi=256)
    digits = check_int(digits, "digits", lo=1, hi=30)
    prec = bits_for_digits(digits + 8) + 2 * n.bit_length()
    with arb_precision(bits=prec):
        R, rf = _exact_arb(r)  # a decimal string is read at the working precision
        if not -1 <= rf <= 1 or not (R.lower() >= -1 and R.upper() <= 1):
            raise NSTheoryError(f"r must lie in [-1, 1]; got {r!r}")
        if n == 1 or R == 1:
            return arb(1)
        if R == 0:
            return arb(1) / n
        if R == -1:
            return arb(0)
        if abs(rf) > 1 - 2.0**-20:
            raise NSTheoryError(f"s_n_certified needs |r| <= 1 - 2^-20 (the bounds degenerate as "
                                f"|r| -> 1); got r = {r!r}")
        if rf >= ROTATED_FROM:
            return _rotated_rule(n, R, rotated_grid(n, rf, digits))
        return _tensor_rule(n, R, rf, digits, max_seconds)


def _tensor_rule(n: int, R, rf: float, digits: int, max_seconds):
    """The tensor rule in ``(a, b)`` (see the module docstring) for an exact ``R`` in
    ``(-1, 1)``, at the working precision."""
    from flint import arb, arb_mat

    g = certified_grid(n, rf, digits)
    grid_seconds(n, rf, g["nx"], 2 * g["jw"], max_seconds, "certified trapezoid rule")
    pi = arb.pi()
    sqrt2pi = (2 * pi).sqrt()
    c = abs(R)
    sig2 = 1 - c
    sig = sig2.sqrt()
    sqc = c.sqrt()
    sgn = 1 if rf > 0 else -1

    # ---- inner rule: F at all outer node pairs, as one matrix product ----------------
    hw = arb(g["hw"])
    jw = g["jw"]
    ws = [hw * j for j in range(-jw, jw + 1)]
    omega = [hw * (-(w * w) / 2).exp() / sqrt2pi for w in ws]
    h = arb(g["h"])
    L = arb(g["L"])
    xs = [L + h * i for i in range(g["nx"] + 1)]
    pa = arb_mat([[_Phi((x - sqc * w) / sig) for w in ws] for x in xs])
    pbT = arb_mat([[_Phi((x - sgn * sqc * w) / sig) * om for x in xs]
                   for w, om in zip(ws, omega, strict=True)])
    F = pa * pbT
    # any alpha > 0 is valid; the strip constants are enclosed in arb (not the floats)
    kw = arb(1) / 2 + c / sig2
    alpha_w = arb(math.pi / (g["hw"] * g["kappa_w"]))
    wmax = hw * jw
    delta_F = _trapezoid_bound(alpha_w * alpha_w * kw, alpha_w, hw) + 2 * _Phi(-wmax)
    # ---- outer rule --------------------------------------------------------------------
    one_m_r2 = 1 - R * R
    ex2 = [(-(x * x) / (2 * one_m_r2)).exp() for x in xs]
    k_coef = R / one_m_r2
    unit = arb(0).union(arb(1))
    nx1 = len(xs)
    total = arb(0)
    for i in range(nx1):
        row = arb(0)
        kstart = i if sgn > 0 else 0
        for k in range(kstart, nx1):
            f = (F[i, k] + arb(0, delta_F)).intersection(unit)
            term = ex2[k] * (k_coef * xs[i] * xs[k]).exp() * f ** (n - 1)
            if sgn > 0 and k != i:
                term = 2 * term
            row += term
        total += ex2[i] * row
    value = total * n * h * h / (2 * pi * one_m_r2.sqrt())
    kappa = 1 / one_m_r2 + (n - 1) / sig2
    alpha = arb(2 * math.pi / (g["h"] * g["kappa"]))
    e_disc = _trapezoid_bound(alpha * alpha * kappa / 2, alpha, h) * (2 + n * h / sqrt2pi)
    beta = 1 + h / (sqrt2pi * one_m_r2.sqrt())
    U = xs[-1]
    e_trunc = 2 * beta * (_Phi(L) ** n + n * _Phi(-U))
    err = (e_disc + e_trunc).abs_upper()
    return (value + arb(0, err)).intersection(unit)


def _Phi(z):
    """The standard normal CDF of an arb ball."""
    from flint import arb

    return (-z / arb(2).sqrt()).erfc() / 2


#: From this correlation on, :func:`s_n_certified` uses the rotated rule
#: (:func:`rotated_grid`), whose cost does not depend on ``r``.
ROTATED_FROM = 0.9


def rotated_grid(n: int, r: float, digits: int) -> dict:
    """Steps and ranges of the rotated rule of :func:`s_n_certified` (``0 < r < 1``) for a
    target absolute error ``10^-digits``.

    Returns the outer nodes ``u_i = L + i h_u`` (``i = 0..nu``) and ``v_k = k h_v``
    (``k = 0..nv``), the inner nodes ``t_j = j h_t`` (``j = jlo..jhi``) and the strip
    constants ``kappa_u``, ``kappa_v``, ``kappa_t``. None of the node counts depends on ``r``.

    Examples
    --------
    >>> a, b = rotated_grid(16, 0.99, 15), rotated_grid(16, 1 - 2**-20, 15)
    >>> (a["nu"], a["nv"], a["jhi"] - a["jlo"]) == (b["nu"], b["nv"], b["jhi"] - b["jlo"])
    True
    """
    eps = 10.0 ** (-digits)
    kappa_u = 1 / (1 + r) + (n - 1) / (2 * r)
    kappa_v = float(n)
    h_u = math.pi * math.sqrt(2 / (kappa_u * (digits * math.log(10) + math.log(16 + 2 * n))))
    h_v = math.pi * math.sqrt(2 / (kappa_v * (digits * math.log(10)
                                              + math.log(16 * n * (2 + n)))))
    tail = eps / (64 * n)
    z = -_NORMAL.inv_cdf(tail)
    L = min(0.0, math.sqrt(2) * _NORMAL.inv_cdf(tail ** (1.0 / max(1, n - 1))))
    nu = max(4, math.ceil((math.sqrt(1 + r) * z - L) / h_u))
    nv = max(2, math.ceil(z / h_v))
    eps_f = eps / (64 * n * n)
    kappa_t = 1 + (1 - r) / (2 * r)
    h_t = math.pi / math.sqrt(kappa_t * math.log(16 / eps_f))
    z_t = -_NORMAL.inv_cdf(eps_f / 64)
    alpha_max = nv * h_v / math.sqrt(2)
    return {"L": L, "h_u": h_u, "nu": nu, "h_v": h_v, "nv": nv, "h_t": h_t,
            "jlo": -math.ceil((alpha_max + z_t) / h_t), "jhi": math.ceil(z_t / h_t),
            "kappa_u": kappa_u, "kappa_v": kappa_v, "kappa_t": kappa_t}


def _rotated_rule(n: int, R, g: dict):
    """The rotated rule (see the module docstring) for an exact ``R`` in ``(0, 1)``, at the
    working precision."""
    from flint import arb, arb_mat

    pi = arb.pi()
    sqrt2 = arb(2).sqrt()
    sqrt2pi = (2 * pi).sqrt()
    sig = (1 - R).sqrt()
    sqr = R.sqrt()
    s1 = (1 + R).sqrt()

    def phi(z):
        return (-(z * z) / 2).exp() / sqrt2pi

    h_u, h_v, h_t = arb(g["h_u"]), arb(g["h_v"]), arb(g["h_t"])
    L = arb(g["L"])
    us = [L + h_u * i for i in range(g["nu"] + 1)]
    vs = [h_v * k for k in range(g["nv"] + 1)]
    ts = [h_t * j for j in range(g["jlo"], g["jhi"] + 1)]
    # ---- inner: F(a, b) = Phi(u / sqrt 2) + (sig / sqr) int phi((u/sqrt2 + sig t) / sqr) R dt,
    # R(t) = Phi(v/sqrt2 - t) Phi(-v/sqrt2 - t) - Phi(-t); all (u, v) at once, one product
    weight = arb_mat([[phi((u / sqrt2 + sig * t) / sqr) for t in ts] for u in us])
    rest = arb_mat([[_Phi(v / sqrt2 - t) * _Phi(-v / sqrt2 - t) - ref for v in vs]
                    for t, ref in ((t, _Phi(-t)) for t in ts)])
    corr = weight * rest
    coef = h_t * sig / sqr
    # |R(x + iy)| <= e^{y^2} (H(x) + Phi(-x)) and |phi(. + i sig y / sqr)| <= phi e^{sig^2 y^2 /
    # (2 R)}, so int |integrand| <= 2 e^{kappa_t y^2}; any y > 0 is valid
    kt = 1 + (1 - R) / (2 * R)
    y_t = arb(math.pi / (g["kappa_t"] * g["h_t"]))
    delta_f = 4 * (kt * y_t * y_t).exp() / ((2 * pi * y_t / h_t).exp() - 1)
    # omitted inner nodes: |R| <= Phi(-t) above, <= 2 Phi(t + alpha_max) below; the weight is
    # at most sig / (sqr sqrt(2 pi))
    x_hi = ts[-1] + h_t
    y_lo = ts[0] - h_t + vs[-1] / sqrt2
    delta_f += sig / (sqr * sqrt2pi) * (h_t * _Phi(-x_hi) + phi(x_hi)
                                        + 2 * (h_t * _Phi(y_lo) + phi(y_lo)))
    unit = arb(0).union(arb(1))
    radius = arb(0, delta_f.abs_upper())
    # the v rule is symmetric (F(a, b) = F(b, a)): nodes k > 0 count twice
    v_weights = [phi(v) if k == 0 else 2 * phi(v) for k, v in enumerate(vs)]
    total = arb(0)
    for i, u in enumerate(us):
        base = _Phi(u / sqrt2)
        row = arb(0)
        for k, wv in enumerate(v_weights):
            row += wv * (base + coef * corr[i, k] + radius).intersection(unit) ** (n - 1)
        total += phi(u / s1) * row
    value = total * n * h_u * h_v / s1
    # ---- outer errors: trapezoid in u (of int G dv) and in v (at each u), truncations
    ku, kv = arb(1) / (1 + R) + arb(n - 1) / (2 * R), arb(n)
    y_u = arb(2 * math.pi / (g["kappa_u"] * g["h_u"]))
    y_v = arb(2 * math.pi / (g["kappa_v"] * g["h_v"]))
    beta_u = 1 + h_u / (sqrt2pi * s1)  # >= h_u sum_i phi_{1+r}(u_i) over the whole line
    beta_v = 1 + h_v / sqrt2pi
    e_u = 2 * (ku * y_u * y_u / 2).exp() / ((2 * pi * y_u / h_u).exp() - 1)
    e_v = n * beta_u * 2 * (kv * y_v * y_v / 2).exp() / ((2 * pi * y_v / h_v).exp() - 1)
    x_v = vs[-1] + h_v
    t_v = n * beta_u * 2 * (h_v * phi(x_v) + _Phi(-x_v))
    x_u = us[-1] + h_u
    t_hi = n * beta_v * (h_u * phi(x_u / s1) / s1 + _Phi(-x_u / s1))
    x_l = us[0] - h_u  # below it F^(n-1) <= _Phi(u / sqrt 2)^(n-1)
    t_lo = n * beta_v * _Phi(x_l / sqrt2) ** (n - 1) * (h_u * phi(x_l / s1) / s1 + _Phi(x_l / s1))
    err = (e_u + e_v + t_v + t_hi + t_lo).abs_upper()
    return (value + arb(0, err)).intersection(unit)


def s_n_certified_range(n: int, r_ball, digits: int = 15, *, max_seconds=MAX_SECONDS):
    """A ball containing ``s_n(r)`` for every ``r`` in the arb ball ``r_ball`` (a number: that
    point; clipped to ``[-1, 1]``): the hull of the enclosures at its two endpoints (``s_n``
    is increasing). Endpoints above ``1 - 2^-20`` or below ``-(1 - 2^-7)`` are moved outwards
    (to those points or to ``+-1``), which keeps the cost bounded; ``max_seconds`` as for
    :func:`s_n_certified`.

    >>> from flint import arb
    >>> b = s_n_certified_range(4, arb("0.25", "0.01"))
    >>> b.contains(s_n_certified(4, "0.25")), float(b.rad()) > 1e-3
    (True, True)
    """
    from flint import arb

    if not isinstance(r_ball, arb):  # a number: the degenerate ball at it
        r_ball = _exact_arb(r_ball)[0]
    if not r_ball.is_finite():
        raise NSTheoryError(f"r ball must be finite, got {r_ball}")
    lo = max(r_ball.lower(), arb(-1))
    hi = min(r_ball.upper(), arb(1))
    if lo > hi:
        raise NSTheoryError(f"r ball {r_ball} misses [-1, 1]")
    with arb_precision(bits=bits_for_digits(digits + 8) + 2 * int(n).bit_length()):
        lo, hi = _clip_exact(lo, upper=False), _clip_exact(hi, upper=True)
        a = s_n_certified(n, lo, digits, max_seconds=max_seconds)
        if hi == lo:
            return a
        b = s_n_certified(n, hi, digits, max_seconds=max_seconds)
        return a.union(b)


def _clip_exact(x, upper: bool):
    """An exact arb endpoint kept where :func:`s_n_certified` is defined and fast (``r`` up to
    ``1 - 2^-20``, the rotated rule; down to ``-(1 - 2^-7)``, the tensor rule's cost growing
    below): moved to a point where ``s_n`` is no smaller (``upper``) or no larger (lower end),
    by monotonicity."""
    from flint import arb

    top = arb(1) - arb(2) ** -20
    bottom = arb(2) ** -7 - 1
    if x > top:
        return arb(1) if upper else top
    if x < bottom:
        return bottom if upper else arb(-1)
    return x
