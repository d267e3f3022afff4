r"""Activations and their Gaussian maps rho -> E[phi(U) phi(V)] in three views.

``U ~ N(0, q1)``, ``V ~ N(0, q2)`` with ``corr(U, V) = rho`` (so ``Cov(U, V) = rho sqrt(q1 q2)``).
Every activation offers

* ``raw``: the paper's uncentred second moment ``E[phi(U) phi(V)]`` (mpmath, any ``dps``);
* ``raw_arb``: a certified python-flint ball containing the raw map for *every* point of the
  input balls (``rho`` is clipped to [-1, 1], ``q`` to [0, inf));
* ``raw_float``: a vectorised float64 evaluation (plots);
* ``mean``/``mean_arb`` = ``E phi(U)`` and ``second_moment``/``second_moment_arb`` =
  ``E phi(U)^2``;
* ``value(view=...)`` with the views

  - ``raw``  = ``E[phi(U) phi(V)]`` (paper's Stab, uncentred);
  - ``cov``  = ``E[phi(U) phi(V)] - E phi(U) E phi(V)`` (centred covariance);
  - ``corr`` = ``E[phi(U) phi(V)] / sqrt(E phi(U)^2 E phi(V)^2)`` (normalised, uncentred: the
    C-map of signal-propagation papers; for ReLU at equal variances it is ``2 kappa(rho)``).

Monotonicity (``increasing_in_rho``). By Price's theorem
``d/dc E[phi(U) phi(V)] = E[phi'(U) phi'(V)]`` with ``c = Cov(U, V)``; when ``phi`` is monotone
(weakly, in the distributional sense) ``phi'(U) phi'(V) >= 0``, so the raw map is non-decreasing
in ``rho`` on [-1, 1] for *all* ``q1, q2``. ``increasing_in_rho`` is True when this applies,
i.e. for the monotone activations (relu, leaky_relu with slope >= 0, sign, erf, tanh, softplus,
identity), and False when monotonicity is not guaranteed: abs (its raw map is even in rho, so
genuinely non-monotone), gelu and silu (``phi'`` changes sign; certified enclosures then evaluate
the series on the whole rho ball instead of at its endpoints).
For equal variances every map is ``sum_k c_k^2 rho^k``, non-decreasing on [0, 1] in any case.

Closed forms (derived in :mod:`nstheory.gaussian.symbolic`):

* (a, b)-ReLU ``phi(x) = a min(x, 0) + b max(x, 0)``:
  ``sqrt(q1 q2) [(a - b)^2 kappa(rho) + a b rho]`` with the ReLU map
  ``kappa(rho) = (sqrt(1 - rho^2) + rho (pi - arccos rho)) / (2 pi)``;
* sign (Sheppard): ``(2/pi) arcsin rho``;
* erf (Williams): ``(2/pi) arcsin(2 c / sqrt((1 + 2 q1)(1 + 2 q2)))``;
* identity: ``c``.

GELU (``x Phi(x)``), tanh, SiLU and softplus have no closed form: see
:mod:`nstheory.gaussian.smooth` (Hermite series with rigorous tail bounds, certified by arb).

Examples
--------
>>> relu = get_activation("relu")
>>> print(mpmath.nstr(relu.raw(0.5, dps=30), 25))
0.3044988905221146790444983
>>> relu.raw_arb(0.5, 1, 1)
[0.304498890522115 +/- 5.39e-16]
>>> float(relu.value(0.5, view="corr"))
0.6089977810442293
>>> print(mpmath.nstr(get_activation("sign").raw(0.5), 30))
0.333333333333333333333333333333
>>> get_activation("swish")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
nstheory.errors.NSTheoryError: unknown activation 'swish'; known: abs, erf, gelu, ...
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cached_property, lru_cache

import mpmath
import numpy as np

from nstheory.errors import NSTheoryError, check_choice, check_int, check_positive, check_rho
from nstheory.gaussian._backend import (
    clip_endpoints,
    clip_nonneg,
    monotone_image,
    sqrt_nonneg,
    to_arb,
)

VIEWS = ("raw", "cov", "corr")


def check_view(view: str) -> str:
    """Return ``view`` if it is one of ``raw``, ``cov``, ``corr``.

    >>> check_view("cov")
    'cov'
    """
    check_choice(view, VIEWS, "view")
    return view


def check_dps(dps) -> int:
    """Validate a decimal precision (an integer >= 1).

    >>> check_dps(30)
    30
    """
    return check_int(dps, "dps", lo=1)


def map_arguments(rho, q1=1, q2=1, dps: int = 30):
    """Validated ``(rho, q1, q2, dps)`` of a Gaussian map evaluator, the numbers as ``mpf`` at
    the current precision (strings and Fractions exactly, numpy scalars by their value).

    ``rho`` must lie in ``[-1, 1]``, the variances be finite and ``> 0``, ``dps`` an integer
    ``>= 1``; a clear error otherwise (NaN and infinities included).

    >>> map_arguments("0.5", 2, 1, 20)
    (mpf('0.5'), mpf('2.0'), mpf('1.0'), 20)
    >>> map_arguments(0.5, q1=float("nan"))
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: q1 must be a finite number > 0, got nan
    """

    def mp(x, name):
        if isinstance(x, np.generic):
            x = x.item()
        if isinstance(x, Fraction):
            return mpmath.mpf(x.numerator) / x.denominator
        try:
            return mpmath.mpf(x.strip() if isinstance(x, str) else x)
        except (TypeError, ValueError):
            raise NSTheoryError(f"{name} must be a real number, got {x!r}") from None

    dps = check_dps(dps)
    r = mp(rho, "rho")
    if not (mpmath.isfinite(r) and -1 <= r <= 1):
        raise NSTheoryError(f"rho must lie in [-1, 1], got {rho!r}")
    qs = []
    for q, name in ((q1, "q1"), (q2, "q2")):
        v = mp(q, name)
        if not (mpmath.isfinite(v) and v > 0):
            raise NSTheoryError(f"{name} must be a finite number > 0, got {q!r}")
        qs.append(v)
    return r, qs[0], qs[1], dps


def correlation_from_covariance(q1, q2, c):
    """``rho = c / sqrt(q1 q2)``, checking ``q1, q2 > 0`` and ``c^2 <= q1 q2``.

    >>> correlation_from_covariance(1, 4, 1)
    0.5
    >>> correlation_from_covariance(1, 1, 2)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: covariance c = 2 violates c^2 <= q1 q2 = 1
    """
    check_positive(q1, "q1")
    check_positive(q2, "q2")
    if c * c > q1 * q2:
        raise NSTheoryError(f"covariance c = {c} violates c^2 <= q1 q2 = {q1 * q2}")
    r = c / math.sqrt(q1 * q2) if isinstance(q1 * q2, int | float) else c / mpmath.sqrt(q1 * q2)
    return max(-1.0, min(1.0, r)) if isinstance(r, float) else r


# --------------------------------------------------------------------------------------------
# the ReLU map kappa in each number system
# --------------------------------------------------------------------------------------------


def kappa_mp(rho):
    """``kappa(rho) = E[ReLU(X) ReLU(Y)]`` for unit variances, in mpmath.

    >>> print(mpmath.nstr(kappa_mp(mpmath.mpf(0)), 15))
    0.159154943091895
    """
    rho = mpmath.mpf(rho)
    s = mpmath.sqrt(max(mpmath.mpf(0), (1 - rho) * (1 + rho)))
    return (s + rho * (mpmath.pi - mpmath.acos(rho))) / (2 * mpmath.pi)


def kappa_arb(rho):
    """Certified ``kappa`` over a ball ``rho`` (clipped to [-1, 1]; kappa is increasing).

    >>> kappa_arb(to_arb(1)).contains(to_arb(0.5))
    True
    """
    lo, hi = clip_endpoints(to_arb(rho), -1, 1)
    return monotone_image(_kappa_point, lo, hi)


def _is_int_one(q) -> bool:
    return type(q) is int and q == 1


@lru_cache(maxsize=1)
def _ONE():
    """A shared exact arb 1 (identity marks the default unit variance)."""
    from flint import arb

    return arb(1)


def _kappa_point(r):
    from flint import arb

    pi = arb.pi()
    return (((1 - r) * (1 + r)).nonnegative_part().sqrt() + r * (pi - r.acos())) / (pi + pi)


def kappa_np(rho):
    """Vectorised float64 ``kappa``.

    >>> kappa_np(np.array([-1.0, 0.0, 1.0]))
    array([0.        , 0.15915494, 0.5       ])
    """
    r = np.asarray(rho, dtype=np.float64)
    if not np.all(np.abs(r) <= 1 + 1e-12):  # rounding only; also catches NaN
        raise NSTheoryError(f"kappa_np: rho must lie in [-1, 1] (up to rounding), got "
                            f"{r[~(np.abs(r) <= 1 + 1e-12)].ravel()[:3].tolist() if r.ndim else r}")
    r = np.clip(r, -1.0, 1.0)
    return (np.sqrt((1 - r) * (1 + r)) + r * (np.pi - np.arccos(r))) / (2 * np.pi)


# --------------------------------------------------------------------------------------------
# the Activation interface
# --------------------------------------------------------------------------------------------


class Activation:
    """An activation ``phi`` with its Gaussian maps; see the module docstring.

    Subclasses implement ``_raw_mp(rho, q1, q2)`` (mpmath, at the current ``mp.dps``),
    ``_raw_arb(rho, q1, q2)`` (arb balls, ``rho`` a ball, ``q1``, ``q2`` balls >= 0),
    ``_raw_np`` (float64 arrays), the moments, and ``phi_mp`` / ``phi_np`` / ``phi_acb``.

    Examples
    --------
    Every route of the ReLU map gives ``E ReLU(U)^2 = q/2`` at ``rho = 1``, and the normalised
    (``corr``) view is 1 there:

    >>> relu = get_activation("relu")
    >>> isinstance(relu, Activation), relu.raw(1, q1=4, q2=4, dps=20)
    (True, mpf('2.0'))
    >>> relu.raw_arb(1).contains(to_arb("0.5")), relu.raw_float([1.0, -1.0]).tolist()
    (True, [0.5, 0.0])
    >>> abs(relu.value(1, view="corr", dps=20) - 1) < 1e-20
    True
    """

    name: str = ""
    increasing_in_rho: bool = True
    closed_form: bool = True
    #: the map is positively homogeneous of degree 2 jointly in (sqrt q1, sqrt q2)
    homogeneous: bool = False

    def __repr__(self) -> str:
        return f"<Activation {self.name}>"

    # ---- point evaluations of phi ---------------------------------------------------------
    def phi_mp(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def phi_np(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def derivative_mp(self, x):
        """``phi'(x)`` in mpmath (numerical differentiation unless overridden)."""
        return mpmath.diff(self.phi_mp, x)

    # ---- the raw map ------------------------------------------------------------------------
    def raw(self, rho, q1=1, q2=1, dps: int = 30):
        """``E[phi(U) phi(V)]`` as an mpmath ``mpf`` computed at ``dps`` digits (+ guard)."""
        check_dps(dps)
        rho = check_rho(rho)
        check_positive(q1, "q1")
        check_positive(q2, "q2")
        with mpmath.workdps(dps + 10):
            val = self._raw_mp(_mpf(rho), _mpf(q1), _mpf(q2))
        return val

    def raw_arb(self, rho, q1=1, q2=1):
        """A ball containing ``E[phi(U) phi(V)]`` for every point of the input balls, at the
        current arb precision (use :func:`nstheory.numerics.arb_precision`)."""
        r = to_arb(rho)
        if not (r.rad() == 0 and r.is_finite() and -1 <= r <= 1):
            clip_endpoints(r, -1, 1)  # validates balls (raises if outside [-1, 1] or NaN)
        a1 = _ONE() if _is_int_one(q1) else clip_nonneg(to_arb(q1), "q1")
        a2 = _ONE() if _is_int_one(q2) else clip_nonneg(to_arb(q2), "q2")
        return self._raw_arb(r, a1, a2)

    def raw_float(self, rho, q1=1.0, q2=1.0):
        """Vectorised float64 ``E[phi(U) phi(V)]`` (broadcasts over ``rho``, ``q1``, ``q2``)."""
        r = np.asarray(rho, dtype=np.float64)
        if np.any(np.abs(r) > 1) or np.any(np.isnan(r)):
            raise NSTheoryError("rho must lie in [-1, 1] (got values outside or NaN)")
        q1a, q2a = np.asarray(q1, dtype=np.float64), np.asarray(q2, dtype=np.float64)
        if np.any(~(q1a > 0)) or np.any(~(q2a > 0)):
            worst = float(np.nanmin(np.concatenate([q1a.ravel(), q2a.ravel()])))
            raise NSTheoryError(f"q1 and q2 must be > 0 (smallest given: {worst!r}; a 0 here "
                                "is often a second moment that underflowed in float64, e.g. "
                                "a tiny weight variance through many layers)")
        return self._raw_np(r, q1a, q2a)

    # ---- moments ------------------------------------------------------------------------------
    def mean(self, q=1, dps: int = 30):
        """``E phi(U)``, ``U ~ N(0, q)``, mpmath."""
        check_dps(dps)
        check_positive(q, "q")
        with mpmath.workdps(dps + 10):
            val = self._mean_mp(_mpf(q))
        return val

    def second_moment(self, q=1, dps: int = 30):
        """``E phi(U)^2``, ``U ~ N(0, q)``, mpmath."""
        check_dps(dps)
        check_positive(q, "q")
        with mpmath.workdps(dps + 10):
            val = self._m2_mp(_mpf(q))
        return val

    def second_moment_bound(self, q: float) -> float:
        """An upper bound of ``E phi(U)^2`` valid for every ``U ~ N(0, q')``, ``0 <= q' <= q``.

        Almost-sure ranges for concentration bounds over random Gram matrices (e.g. of the
        pattern-resolved mean field). Each activation uses a growth bound on ``|phi|``; the
        base class has none and raises.

        Examples
        --------
        For ReLU the bound is the exact ``q / 2`` (increasing in ``q``); a bounded activation
        gives its squared bound:

        >>> get_activation("relu").second_moment_bound(3.0)
        1.5
        >>> get_activation("tanh").second_moment_bound(3.0)
        1.0
        """
        raise NSTheoryError(f"no second-moment bound is known for the activation {self.name}")

    def mean_arb(self, q=1):
        """Ball containing ``E phi(U)`` for every ``q`` in the ball ``q``."""
        return self._mean_arb(clip_nonneg(to_arb(q), "q"))

    def second_moment_arb(self, q=1):
        """Ball containing ``E phi(U)^2`` for every ``q`` in the ball ``q``."""
        return self._m2_arb(clip_nonneg(to_arb(q), "q"))

    # ---- views ---------------------------------------------------------------------------------
    def value(self, rho, q1=1, q2=1, view: str = "raw", dps: int = 30):
        """The map in the given view (``raw``, ``cov`` or ``corr``), mpmath."""
        check_view(view)
        raw = self.raw(rho, q1, q2, dps)
        if view == "raw":
            return raw
        with mpmath.workdps(dps + 10):
            if view == "cov":
                out = raw - self.mean(q1, dps + 5) * self.mean(q2, dps + 5)
            else:
                m2 = self.second_moment(q1, dps + 5) * self.second_moment(q2, dps + 5)
                out = raw / mpmath.sqrt(m2)
        return out

    def value_arb(self, rho, q1=1, q2=1, view: str = "raw"):
        """Certified ball of the map in the given view."""
        check_view(view)
        raw = self.raw_arb(rho, q1, q2)
        if view == "raw":
            return raw
        if view == "cov":
            return raw - self.mean_arb(q1) * self.mean_arb(q2)
        return raw / sqrt_nonneg(self.second_moment_arb(q1) * self.second_moment_arb(q2))

    def value_float(self, rho, q1=1.0, q2=1.0, view: str = "raw"):
        """Vectorised float64 map in the given view."""
        check_view(view)
        raw = self.raw_float(rho, q1, q2)
        if view == "raw":
            return raw
        if view == "cov":
            return raw - self._mean_np(np.asarray(q1, float)) * self._mean_np(np.asarray(q2, float))
        m2 = self._m2_np(np.asarray(q1, float)) * self._m2_np(np.asarray(q2, float))
        return raw / np.sqrt(m2)

    # float moments default to mpmath (cheap scalar calls; overridden for closed forms)
    def _mean_np(self, q):
        return np.vectorize(lambda v: float(self.mean(float(v), 17)))(q)

    def _m2_np(self, q):
        return np.vectorize(lambda v: float(self.second_moment(float(v), 17)))(q)


def _mpf(x):
    if isinstance(x, mpmath.mpf):
        return x
    from fractions import Fraction

    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    if isinstance(x, str):
        return mpmath.mpf(x)
    return mpmath.mpf(x)


# --------------------------------------------------------------------------------------------
# closed-form families
# --------------------------------------------------------------------------------------------


def _exact_real(x):
    """A decimal string (``"0.1"``, ``"1/3"``, ``"1e-3"``) as its exact Fraction; numbers
    unchanged."""
    if isinstance(x, str):
        try:
            x = Fraction(x.strip())
        except (ValueError, ZeroDivisionError):
            raise NSTheoryError(f"expected a real number, got {x!r}") from None
    return x


def _float_or_int(x):
    return float(x) if isinstance(x, Fraction) else x


def _mp_exact(x):
    """``x`` as an mpf at the working precision (a Fraction rounded once, at that precision)."""
    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    return mpmath.mpf(x)


class ABReLU(Activation):
    """``phi(x) = a min(x, 0) + b max(x, 0)``: relu (0, 1), leaky relu (slope, 1), abs (-1, 1).

    Raw map ``sqrt(q1 q2) [(a - b)^2 kappa(rho) + a b rho]``.

    >>> print(mpmath.nstr(ABReLU(-1, 1, "abs").raw(0), 25))   # (E|X|)^2 = 2/pi
    0.6366197723675813430755351
    """

    homogeneous = True

    def __init__(self, a, b, name: str):
        # decimal strings and fractions are kept exact (0.1 is not the binary double 0.1) for
        # the mpmath and arb routes, rounded to floats for the float routes
        self._a, self._b = _exact_real(a), _exact_real(b)
        self.a, self.b, self.name = _float_or_int(self._a), _float_or_int(self._b), name
        self.increasing_in_rho = self.a * self.b >= 0 or (self.a == 0 and self.b == 0)

    def phi_mp(self, x):
        x = mpmath.mpf(x)
        return _mp_exact(self._b) * x if x > 0 else _mp_exact(self._a) * x

    def phi_np(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x > 0, self.b * x, self.a * x)

    def derivative_mp(self, x):
        return _mp_exact(self._b) if x > 0 else _mp_exact(self._a)

    def slopes_mp(self):
        """``(a, b)`` as mpf at the working precision (exact decimals rounded once).

        >>> ABReLU("0.1", 1, "leaky_relu").slopes_mp()[0] == mpmath.mpf(1) / 10
        True
        """
        return _mp_exact(self._a), _mp_exact(self._b)

    def phi_acb(self, z, analytic):  # pragma: no cover - piecewise: never integrate across 0
        raise NSTheoryError(f"{self.name} is not analytic at 0; use its closed form")

    def coefficients(self, backend: str = "float"):
        """``((a - b)^2, a b)``, the coefficients of the raw and derivative maps, as floats,
        mpf (``backend="mp"``, exact decimals rounded at the working precision) or arb balls
        (``"arb"``).

        A slope typed as ``"0.1"`` is 1/10, not the binary double nearest it:

        >>> from flint import arb
        >>> from nstheory.numerics import arb_precision
        >>> with arb_precision(bits=128):
        ...     ab = ABReLU("0.1", 1, "leaky_relu").coefficients("arb")[1]
        ...     ab.contains(arb(1) / 10), ab.contains(0.1)
        (True, False)
        """
        a, b = self.a, self.b
        if backend == "arb":
            a, b = to_arb(self._a), to_arb(self._b)
        elif backend == "mp":
            a, b = _mp_exact(self._a), _mp_exact(self._b)
        return (a - b) ** 2, a * b

    def _raw_mp(self, rho, q1, q2):
        k2, ab = self.coefficients("mp")
        return mpmath.sqrt(q1 * q2) * (k2 * kappa_mp(rho) + ab * rho)

    def _raw_arb(self, rho, q1, q2):
        # g(r) = (a-b)^2 kappa(r) + a b r is convex (kappa'' >= 0): its range over [lo, hi] is
        # spanned by the endpoint values and, if inside, the critical point r* where
        # kappa'(r*) = -ab/(a-b)^2, i.e. r* = -cos(2 pi ab / (a-b)^2).
        if self.a == 0 and self.b == 1:  # ReLU fast path: kappa is increasing
            if rho.rad() == 0:
                out = _kappa_point(rho)
            else:
                out = monotone_image(_kappa_point, *clip_endpoints(rho, -1, 1))
            if q1 is _ONE() and q2 is _ONE():  # exact unit variances (the default)
                return out
            return sqrt_nonneg(q1 * q2) * out
        from flint import arb

        k2, ab = self.coefficients("arb")
        lo, hi = clip_endpoints(rho, -1, 1)

        def g(r):
            return k2 * _kappa_point(r) + ab * r

        out = monotone_image(g, lo, hi)
        if self.a != self.b and self.a * self.b < 0:
            rstar = -(2 * arb.pi() * ab / k2).cos()
            if rstar.overlaps(lo.union(hi)):
                rlo, rhi = clip_endpoints(rstar, -1, 1)
                out = out.union(g(rlo.union(rhi)))
        return sqrt_nonneg(q1 * q2) * out

    def _raw_np(self, rho, q1, q2):
        a, b = self.a, self.b
        return np.sqrt(q1 * q2) * ((a - b) ** 2 * kappa_np(rho) + a * b * rho)

    def _mean_mp(self, q):
        return (_mp_exact(self._b) - _mp_exact(self._a)) * mpmath.sqrt(q / (2 * mpmath.pi))

    def second_moment_bound(self, q: float) -> float:
        """See :meth:`Activation.second_moment_bound`."""
        return float((self.a ** 2 + self.b ** 2) / 2) * float(q)  # exact, increasing

    def _m2_mp(self, q):
        return (_mp_exact(self._a) ** 2 + _mp_exact(self._b) ** 2) * q / 2

    def _mean_arb(self, q):
        from flint import arb

        return (to_arb(self._b) - to_arb(self._a)) * sqrt_nonneg(q / (2 * arb.pi()))

    def _m2_arb(self, q):
        return (to_arb(self._a) ** 2 + to_arb(self._b) ** 2) * q / 2

    def _mean_np(self, q):
        return (self.b - self.a) * np.sqrt(q / (2 * np.pi))

    def _m2_np(self, q):
        return (self.a**2 + self.b**2) * q / 2


class Sign(Activation):
    """``sign(x)``; Sheppard: ``E[sgn U sgn V] = (2/pi) arcsin rho`` for every ``q1, q2 > 0``.

    >>> print(mpmath.nstr(Sign().raw(-0.5), 20))
    -0.33333333333333333333
    """

    name = "sign"

    def phi_mp(self, x):
        return mpmath.sign(x)

    def phi_np(self, x):
        return np.sign(np.asarray(x, dtype=np.float64))

    def derivative_mp(self, x):  # pragma: no cover - a delta at 0
        raise NSTheoryError("sign has no pointwise derivative (a delta at 0)")

    def _raw_mp(self, rho, q1, q2):
        return 2 * mpmath.asin(rho) / mpmath.pi

    def _raw_arb(self, rho, q1, q2):
        from flint import arb

        lo, hi = clip_endpoints(rho, -1, 1)
        return monotone_image(lambda r: 2 * r.asin() / arb.pi(), lo, hi)

    def _raw_np(self, rho, q1, q2):
        return np.broadcast_to(2 * np.arcsin(rho) / np.pi, np.broadcast(rho, q1, q2).shape).copy()

    def _mean_mp(self, q):
        return mpmath.mpf(0)

    def second_moment_bound(self, q: float) -> float:
        """See :meth:`Activation.second_moment_bound`."""
        return 1.0

    def _m2_mp(self, q):
        return mpmath.mpf(1)

    def _mean_arb(self, q):
        from flint import arb

        return arb(0)

    def _m2_arb(self, q):
        from flint import arb

        return arb(1)

    def _mean_np(self, q):
        return np.zeros_like(q, dtype=np.float64)

    def _m2_np(self, q):
        return np.ones_like(q, dtype=np.float64)


class Erf(Activation):
    """``erf(x)``; Williams: ``(2/pi) arcsin(2 c / sqrt((1 + 2 q1)(1 + 2 q2)))``,
    ``c = rho sqrt(q1 q2)``.

    >>> print(mpmath.nstr(Erf().raw(1), 15))   # E erf(X)^2 = (2/pi) arcsin(2/3)
    0.46455905439754
    """

    name = "erf"

    def phi_mp(self, x):
        return mpmath.erf(x)

    def phi_np(self, x):
        from scipy.special import erf

        return erf(np.asarray(x, dtype=np.float64))

    def derivative_mp(self, x):
        return 2 * mpmath.exp(-mpmath.mpf(x) ** 2) / mpmath.sqrt(mpmath.pi)

    def phi_acb(self, z, analytic):
        return z.erf()

    # Near |t| = 1 (|rho| = 1 at large variance) asin is ill-conditioned and 1 - |t| is lost in
    # rounding t; there (|t| >= 1/2) the maps use asin(x) = pi/2 - 2 asin(sqrt((1 - x) / 2))
    # with 1 - |t| = (1 + 2 q1 + 2 q2 + 4 q1 q2 (1 - |rho|)(1 + |rho|)) / (den (den + 2 |rho| g)),
    # den = sqrt((1 + 2 q1)(1 + 2 q2)), g = sqrt(q1 q2): sums of nonnegative terms only.
    def _raw_mp(self, rho, q1, q2):
        r = max(-1, min(1, rho))
        g, den = mpmath.sqrt(q1 * q2), mpmath.sqrt((1 + 2 * q1) * (1 + 2 * q2))
        t = 2 * r * g / den
        if abs(t) < 0.5:
            return 2 * mpmath.asin(t) / mpmath.pi
        a = abs(r)
        gap = (1 + 2 * q1 + 2 * q2 + 4 * q1 * q2 * (1 - a) * (1 + a)) / (den * (den + 2 * a * g))
        v = 1 - 4 * mpmath.asin(mpmath.sqrt(gap / 2)) / mpmath.pi
        return v if r > 0 else -v

    def _raw_arb(self, rho, q1, q2):
        from flint import arb

        lo, hi = clip_endpoints(rho, -1, 1)
        r = lo.union(hi) if lo != hi else lo
        t = 2 * r * sqrt_nonneg(q1 * q2) / ((1 + 2 * q1) * (1 + 2 * q2)).sqrt()
        tlo, thi = clip_endpoints(t, -1, 1, name="erf argument")
        return monotone_image(lambda u: 2 * u.asin() / arb.pi(), tlo, thi)

    def _raw_np(self, rho, q1, q2):
        r = np.clip(np.asarray(rho, dtype=np.float64), -1.0, 1.0)
        g, den = np.sqrt(q1 * q2), np.sqrt((1 + 2 * q1) * (1 + 2 * q2))
        t = 2 * r * g / den
        a = np.abs(r)
        gap = (1 + 2 * q1 + 2 * q2 + 4 * q1 * q2 * (1 - a) * (1 + a)) / (den * (den + 2 * a * g))
        far = np.sign(r) * (1 - 4 * np.arcsin(np.sqrt(np.clip(gap, 0, 1) / 2)) / np.pi)
        return np.where(np.abs(t) < 0.5, 2 * np.arcsin(np.clip(t, -1, 1)) / np.pi, far)

    def _mean_mp(self, q):
        return mpmath.mpf(0)

    def second_moment_bound(self, q: float) -> float:
        """See :meth:`Activation.second_moment_bound`."""
        return 1.0  # |erf| < 1

    def _m2_mp(self, q):
        return self._raw_mp(mpmath.mpf(1), q, q)

    def _mean_arb(self, q):
        from flint import arb

        return arb(0)

    def _m2_arb(self, q):
        from flint import arb

        lo, hi = clip_endpoints(2 * q / (1 + 2 * q), 0, 1, name="erf argument")
        return monotone_image(lambda u: 2 * u.asin() / arb.pi(), lo, hi)

    def _mean_np(self, q):
        return np.zeros_like(q, dtype=np.float64)

    def _m2_np(self, q):
        return self._raw_np(1.0, q, q)


class Identity(Activation):
    """``phi(x) = x``: the raw map is the covariance ``c = rho sqrt(q1 q2)``.

    >>> Identity().raw(0.5, 4, 1)
    mpf('1.0')
    """

    name = "identity"
    homogeneous = True

    def phi_mp(self, x):
        return mpmath.mpf(x)

    def phi_np(self, x):
        return np.asarray(x, dtype=np.float64)

    def derivative_mp(self, x):
        return mpmath.mpf(1)

    def phi_acb(self, z, analytic):
        return z

    def _raw_mp(self, rho, q1, q2):
        return rho * mpmath.sqrt(q1 * q2)

    def _raw_arb(self, rho, q1, q2):
        lo, hi = clip_endpoints(rho, -1, 1)
        r = lo.union(hi) if lo != hi else lo
        return r * sqrt_nonneg(q1 * q2)

    def _raw_np(self, rho, q1, q2):
        return rho * np.sqrt(q1 * q2)

    def _mean_mp(self, q):
        return mpmath.mpf(0)

    def second_moment_bound(self, q: float) -> float:
        """See :meth:`Activation.second_moment_bound`."""
        return float(q)

    def _m2_mp(self, q):
        return q

    def _mean_arb(self, q):
        from flint import arb

        return arb(0)

    def _m2_arb(self, q):
        return q

    def _mean_np(self, q):
        return np.zeros_like(q, dtype=np.float64)

    def _m2_np(self, q):
        return np.asarray(q, dtype=np.float64)


class Polynomial(Activation):
    """``phi(x) = sum_j a_j x^j``: an exact finite Hermite (Mehler) sum.

    ``phi(sqrt(q) X) = sum_k c_k(q) h_k(X)`` with
    ``c_k(q) = sqrt(k!) sum_{m >= 0} a_{k+2m} q^{(k+2m)/2} (k+2m)! / (m! 2^m k!)`` (from
    ``x^j = sum_m j! / (m! 2^m (j-2m)!) He_{j-2m}(x)``), so
    ``E[phi(U) phi(V)] = sum_k c_k(q1) c_k(q2) rho^k`` exactly.

    >>> p = Polynomial((1, 0, -2, 1))          # 1 - 2 x^2 + x^3
    >>> mpmath.nstr(p.raw("0.3", "0.5", "0.8"), 15)
    '1.01203509307215'
    """

    increasing_in_rho = False
    homogeneous = False

    def __init__(self, coeffs):
        coeffs = tuple(coeffs)
        if not coeffs:
            raise NSTheoryError("a polynomial needs at least one coefficient")
        try:  # decimal strings exact (Fractions), rounded only at the working precision
            self._exact = tuple(a if isinstance(a, mpmath.mpf) else
                                _exact_real(a if isinstance(a, str) else str(a))
                                for a in coeffs)
        except (TypeError, ValueError, NSTheoryError):
            raise NSTheoryError(f"polynomial coefficients must be numbers, got {coeffs}") from None
        self._raw_coeffs = coeffs
        self.name = "polynomial"

    @property
    def coeffs(self) -> tuple:
        """The coefficients as mpf at the working precision."""
        return tuple(_mp_exact(a) for a in self._exact)

    def __repr__(self) -> str:
        return f"<Activation polynomial {list(self._raw_coeffs)}>"

    @property
    def degree(self) -> int:
        return len(self.coeffs) - 1

    def _c_mp(self, q):
        """Hermite coefficients ``c_k(q)``, ``k = 0..degree`` (mpmath)."""
        out = []
        coeffs = self.coeffs
        for k in range(self.degree + 1):
            total = mpmath.mpf(0)
            for m in range((self.degree - k) // 2 + 1):
                j = k + 2 * m
                if coeffs[j] == 0:
                    continue
                ratio = mpmath.factorial(j) / (mpmath.factorial(m) * 2**m * mpmath.factorial(k))
                total += coeffs[j] * mpmath.sqrt(q) ** j * ratio
            out.append(total * mpmath.sqrt(mpmath.factorial(k)))
        return out

    def phi_mp(self, x):
        return mpmath.polyval(self.coeffs[::-1], x)

    def phi_np(self, x):
        return np.polyval([float(a) for a in self.coeffs[::-1]], np.asarray(x, np.float64))

    def phi_acb(self, z, analytic):
        total = 0 * z
        for a in self._arb_coeffs()[::-1]:
            total = total * z + a
        return total

    def _arb_coeffs(self):
        from flint import arb

        return [arb(int(a)) if a == int(a) else to_arb(a) for a in self._exact]

    def derivative_mp(self, x):
        return mpmath.polyval([j * a for j, a in enumerate(self.coeffs)][1:][::-1], x)

    def _raw_mp(self, rho, q1, q2):
        c1, c2 = self._c_mp(q1), self._c_mp(q2)
        return mpmath.fsum(a * b * rho**k for k, (a, b) in enumerate(zip(c1, c2, strict=True)))

    def _c_arb(self, q):
        from flint import arb

        coeffs = self._arb_coeffs()
        out = []
        for k in range(self.degree + 1):
            total = arb(0)
            for m in range((self.degree - k) // 2 + 1):
                j = k + 2 * m
                if coeffs[j] == 0:
                    continue
                ratio = arb(math.factorial(j)) / (math.factorial(m) * 2**m * math.factorial(k))
                total += coeffs[j] * sqrt_nonneg(q) ** j * ratio
            out.append(total * arb(math.factorial(k)).sqrt())
        return out

    def _raw_arb(self, rho, q1, q2):
        from flint import arb

        lo, hi = clip_endpoints(rho, -1, 1)
        r = lo.union(hi) if lo != hi else lo
        c1, c2 = self._c_arb(q1), self._c_arb(q2)
        total = arb(0)
        for k in range(len(c1) - 1, -1, -1):  # Horner in the ball r: sound for any sign pattern
            total = total * r + c1[k] * c2[k]
        return total

    def _raw_np(self, rho, q1, q2):
        out = np.zeros(np.broadcast(rho, q1, q2).shape)
        for k in range(self.degree + 1):
            ck1 = np.vectorize(lambda v, k=k: float(self._c_mp(mpmath.mpf(float(v)))[k]))(q1)
            ck2 = np.vectorize(lambda v, k=k: float(self._c_mp(mpmath.mpf(float(v)))[k]))(q2)
            out = out + ck1 * ck2 * rho**k
        return out

    def _mean_mp(self, q):
        return self._c_mp(q)[0]

    def second_moment_bound(self, q: float) -> float:
        """See :meth:`Activation.second_moment_bound`."""
        # Minkowski: ||sum a_j U^j||_2 <= sum |a_j| sqrt(E U^(2j)), E U^(2j) = (2j-1)!! q^j
        return float(sum(abs(float(a)) * math.sqrt(float(mpmath.fac2(2 * j - 1)) * float(q) ** j)
                         for j, a in enumerate(self.coeffs)) ** 2)

    def _m2_mp(self, q):
        return mpmath.fsum(c * c for c in self._c_mp(q))

    def _mean_arb(self, q):
        return self._c_arb(q)[0]

    def _m2_arb(self, q):
        return sum((c * c for c in self._c_arb(q)[1:]), self._c_arb(q)[0] ** 2)


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------

NAMES = (
    "abs", "erf", "gelu", "identity", "leaky_relu", "polynomial", "relu", "sign", "silu",
    "softplus", "tanh",
)


class _Registry:
    @cached_property
    def smooth(self):
        from nstheory.gaussian import smooth

        return smooth


_REG = _Registry()


def get_activation(name: str, **params) -> Activation:
    """The activation called ``name`` (see ``NAMES``); ``leaky_relu`` takes ``slope=0.01``,
    ``polynomial`` takes ``coeffs=(a_0, a_1, ...)`` (ascending powers).

    >>> get_activation("leaky_relu", slope=0.1).a
    0.1
    """
    if name == "relu":
        act = ABReLU(0, 1, "relu")
    elif name == "leaky_relu":
        slope = params.pop("slope", 0.01)
        act = ABReLU(slope, 1, "leaky_relu")
    elif name == "abs":
        act = ABReLU(-1, 1, "abs")
    elif name == "sign":
        act = Sign()
    elif name == "erf":
        act = Erf()
    elif name == "identity":
        act = Identity()
    elif name == "polynomial":
        if "coeffs" not in params:
            raise NSTheoryError("polynomial needs coeffs=(a_0, a_1, ...) in ascending powers")
        act = Polynomial(params.pop("coeffs"))
    elif name in ("gelu", "tanh", "silu", "softplus"):
        act = _REG.smooth.get_smooth(name)
    else:
        raise NSTheoryError(f"unknown activation {name!r}; known: {', '.join(NAMES)}")
    if params:
        raise NSTheoryError(f"unknown parameters for {name}: {sorted(params)}")
    return act
