r"""Certified (arb) ingredients of the 1/width recursion for tanh, GELU, SiLU and softplus.

None of these activations has a closed-form kernel map, so every ingredient is a *cross kernel
map*: for ``(u, v)`` centred Gaussian with variances ``q`` and covariance ``c``, ``r = c / q``,
and functions ``f, g`` of at most polynomial growth,

.. math::
    E[f(u) g(v)] = \sum_{k \le K} c_k(f; q)\, c_k(g; q)\, r^k + \text{tail},\qquad
    |\text{tail}| \le |r|^{K+1} \sqrt{E f(u)^2\, E g(v)^2},

with ``c_k(f; q) = E[f(\sqrt q X) h_k(X)]`` the normalised Hermite coefficients (Mehler's
formula; the tail by Cauchy-Schwarz on the Hermite remainder, ``R_K(f) <= E f^2``).

**Which functions.** Every function needed is a polynomial in ``x`` and a few *generators*
closed under differentiation: ``T = tanh x`` (``T' = 1 - T^2``); ``Phi, phi`` the normal cdf and
density for GELU ``= x Phi(x)`` (``Phi' = phi``, ``phi' = -x phi``); ``s = sigma(x)`` for SiLU
``= x s`` (``s' = s - s^2``); for softplus ``log(1 + e^x) = x s + H`` with ``s`` the logistic
and ``H = -s log s - (1 - s) log(1 - s)`` the binary entropy of ``s`` (``log(1 + e^x) =
-log(1 - s)`` and ``x = log(s / (1 - s))``), bounded by ``log 2`` and even, with ``H' = -x (s -
s^2)``: softplus grows like ``x``, but its growth is carried by the power of ``x``, not by a
base. So powers ``phi^a`` and all derivatives are exact finite sums ``sum_m a_m x^i B_m(x)`` of
*bases* ``B_m`` = monomials in the generators, built with exact rational arithmetic
(:func:`derivative`, :func:`power`).

**Coefficients.** Each base ``B`` is bounded and analytic on a strip, so its coefficients
``c_0..c_{K+i}`` come from one certified truncated trapezoidal rule
(:func:`~nstheory.gaussian.trapezoid.hermite_coefficients_trapezoid`). The strip bounds:

* ``|tanh(u + i v)|^2 = (cosh 2u - cos 2v) / (cosh 2u + cos 2v) <= 3`` for ``|v| <= pi / 3``,
  so ``|T^j| <= 3^{j/2}`` on ``|v| <= 1.047``;
* ``|Phi(u + i v)| <= e^{v^2/2} Phi(u) <= e^{v^2/2}`` (integrate the density along the
  horizontal line) and ``|phi(u + i v)| = e^{(v^2 - u^2)/2} / sqrt(2 pi)``, so
  ``|Phi^j phi^l| <= e^{(j + l) D^2 / 2} (2 pi)^{-l/2}`` on ``|v| <= D = 2`` (a wider strip
  than ``D = 1`` halves the trapezoid's nodes; the larger bound costs only its logarithm);
* ``sigma(z) = (1 + tanh(z/2)) / 2`` and the tanh bound give ``|sigma| <= (1 + sqrt 3) / 2``
  on ``|v| <= 2 pi / 3``.
* softplus, on ``|v| <= D = 2 pi / 3`` (``s`` has poles and ``log(1 + e^z)`` branch points at
  ``+-i pi``): for ``u >= 0`` put ``w = e^{-z}``, ``|w| = e^{-u} <= 1``; as ``cos v >= -1/2``,
  ``|1 + t w|^2 >= 1 - t e^{-u} + t^2 e^{-2u} >= 3/4`` for ``t`` in ``[0, 1]``. So ``|s| =
  1 / |1 + w| <= 2 / sqrt 3``; and ``H = log(1 + w) + z w / (1 + w)`` (principal log, ``Re(1 +
  w) >= 1/2``; on the real line this is ``log(1 + e^x) - x s``) with ``|log(1 + w)| =
  |int_0^1 w / (1 + t w) dt| <= (2 / sqrt 3) e^{-u}`` gives ``|H| <= (2 / sqrt 3)(1 + u + D)
  e^{-u} <= (2 / sqrt 3)(1 + D) < 3.5732``. For ``u <= 0``, ``s(z) = e^z / (1 + e^z)`` with
  ``|e^z| <= 1`` gives the same bound on ``s``, and ``H(z) = H(-z)`` (``H`` is even) the one on
  ``H``. Hence ``|s^m H^j| <= 1.1548^m 3.5732^j`` on the strip, and ``<= (log 2)^j`` on the real
  line.

The factor ``x^i`` is applied exactly to the coefficient vector (``x h_k = sqrt(k+1) h_{k+1}
+ sqrt(k) h_{k-1}``, so ``c_k(y g) = sqrt(q) (sqrt(k+1) c_{k+1}(g) + sqrt(k) c_{k-1}(g))``),
which keeps the trapezoid's integrands bounded for GELU's polynomially growing powers.
``E f^2`` in the tail is bounded by Minkowski: ``sqrt(E f^2) <= sum |a_m| sup|B_m|
q^{i/2} sqrt((2i - 1)!!)``; ``K`` is chosen so the tail is below ``2^-(prec + 10)``.

**The recursion's ingredients** (Price's theorem and the heat equation:
``dE/dq_1 = E[f''(u) g(v)] / 2``, ``dE/dc = E[f'(u) g'(v)]``):

* ``F = E[phi phi]``, ``dF/dq_1 = E[phi'' phi] / 2``, ``dF/dc = E[phi' phi']``,
  ``d^2F/dq_1^2 = E[phi'''' phi] / 4``, ``d^2F/dq_1 dq_2 = E[phi'' phi''] / 4``,
  ``d^2F/dq_1 dc = E[phi''' phi'] / 2``, ``d^2F/dc^2 = E[phi'' phi'']``;
* ``E phi^2 = c_0(phi^2)`` with ``q``-derivatives ``c_0((phi^2)'') / 2`` and
  ``c_0((phi^2)'''') / 4``; the channel mean ``c_0(phi)``, ``c_0(phi'') / 2``,
  ``c_0(phi'''') / 4``;
* the moments ``E[phi(u)^a phi(v)^b]``, ``2 <= a + b <= 4``: cross maps of ``phi^a`` and
  ``phi^b`` (``c_0`` of ``phi^{a+b}`` when ``b = 0``); those odd in total for an odd
  activation are exact zeros.

The Hessian, ``d^2 E phi^2 / dq^2``, the mean's second derivative and the moments are
evaluated on the arb balls ``(q, c)`` directly (interval evaluation); the value, the gradient,
``E phi^2``, the mean and their first derivatives at the midpoints, widened by the mean-value
form with the next derivative on the balls (interval evaluation alone overestimates the input
radii's effect by a factor of a few per layer).

Examples
--------
>>> from flint import arb
>>> ing = smooth_ingredients("tanh", arb(1), arb(0))
>>> ing.value.contains(0), ing.mean                   # odd: E tanh = 0 and F(q, q, 0) = 0
(True, 0)
>>> float(ing.grad[2].mid()) > 0                      # dF/dc = E[tanh'(u) tanh'(v)] > 0
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from nstheory.errors import NSTheoryError, check_choice, check_int
from nstheory.propagation.finite_width_enclosure import mean_value_widen

#: activations covered here
SMOOTH_ENCLOSED = ("tanh", "gelu", "silu", "softplus")

# generator bookkeeping: a term is ((i, e), coefficient), i the power of x, e the generator
# exponents (softplus: e = (exponent of s, exponent of H)); a function is a dict
# {(i, e): Fraction}
_GENERATORS = {"tanh": 1, "gelu": 2, "silu": 1, "softplus": 2}
#: the activation itself
_PHI = {"tanh": {(0, (1,)): Fraction(1)}, "gelu": {(1, (1, 0)): Fraction(1)},
        "silu": {(1, (1,)): Fraction(1)},
        "softplus": {(1, (1, 0)): Fraction(1), (0, (0, 1)): Fraction(1)}}
#: upper bounds of log 2 and of the softplus strip bounds on s and H (module docstring)
_LOG2_UP, _S_STRIP, _H_STRIP = 0.6931472, 1.1548, 3.5732


def _add(out, key, coef):
    v = out.get(key, 0) + coef
    if v:
        out[key] = v
    else:
        out.pop(key, None)


def derivative(name: str, f: dict) -> dict:
    """Exact derivative of a function given as ``{(i, e): coef}`` (``x^i`` times a monomial in
    the generators of ``name``).

    Examples
    --------
    ``tanh' = 1 - tanh^2``:

    >>> sorted(derivative("tanh", {(0, (1,)): 1}).items())
    [((0, (0,)), 1), ((0, (2,)), -1)]

    ``softplus' = s``: with softplus ``= x s + H`` (exponents of ``(s, H)``), the terms of
    ``(x s)' = s + x s - x s^2`` and ``H' = -x s + x s^2`` cancel but one:

    >>> derivative("softplus", power("softplus", 1))
    {(0, (1, 0)): Fraction(1, 1)}
    """
    out: dict = {}
    for (i, e), a in f.items():
        if i:
            _add(out, (i - 1, e), a * i)
        if name == "tanh":
            (j,) = e
            if j:
                _add(out, (i, (j - 1,)), a * j)
                _add(out, (i, (j + 1,)), -a * j)
        elif name == "silu":
            (j,) = e
            if j:
                _add(out, (i, (j,)), a * j)
                _add(out, (i, (j + 1,)), -a * j)
        elif name == "softplus":  # s' = s - s^2, H' = -x (s - s^2)
            m, j = e
            if m:
                _add(out, (i, (m, j)), a * m)
                _add(out, (i, (m + 1, j)), -a * m)
            if j:
                _add(out, (i + 1, (m + 1, j - 1)), -a * j)
                _add(out, (i + 1, (m + 2, j - 1)), a * j)
        else:  # gelu: Phi' = phi, phi' = -x phi
            j, m = e
            if j:
                _add(out, (i, (j - 1, m + 1)), a * j)
            if m:
                _add(out, (i + 1, (j, m)), -a * m)
    return out


def product(f: dict, g: dict) -> dict:
    """Exact product of two functions in the ``{(i, e): coef}`` form.

    >>> product({(1, (1,)): 2}, {(0, (2,)): 3})
    {(1, (3,)): 6}
    """
    out: dict = {}
    for (i, e), a in f.items():
        for (j, d), b in g.items():
            _add(out, (i + j, tuple(x + y for x, y in zip(e, d, strict=True))), a * b)
    return out


def power(name: str, a: int) -> dict:
    """``phi^a`` for the activation ``name`` (``a >= 0``).

    >>> power("gelu", 2)
    {(2, (2, 0)): Fraction(1, 1)}
    """
    out = {(0, (0,) * _GENERATORS[name]): Fraction(1)}
    for _ in range(a):
        out = product(out, _PHI[name])
    return out


def _parity(name, f):
    """+1 (even), -1 (odd) or 0 (neither) of ``f``."""
    ps = set()
    for i, e in f:
        if name == "tanh":
            ps.add((-1) ** (i + e[0]))
        elif name in ("gelu", "softplus") and e[0] == 0:   # phi^m, H^j: even
            ps.add((-1) ** i)
        else:
            return 0
    return ps.pop() if len(ps) == 1 else 0


class _Base:
    """Adapter: one generator monomial as an 'activation' for the trapezoid rule."""

    def __init__(self, name, e):
        from nstheory.gaussian.trapezoid import StripBound

        self.name, self.e = f"{name}{e}", e
        self.kind = name
        if name == "tanh":
            (j,) = e
            self.parity = "odd" if j % 2 else "even"
            self.A, self.B = 1.0, 0.0
            self.strip_bound = StripBound(D="1.047", A=repr(3.0 ** (j / 2) * (1 + 1e-9)), B="0")
        elif name == "silu":
            (j,) = e
            self.parity = "none"
            self.A, self.B = 1.0, 0.0
            self.strip_bound = StripBound(D="2.094", A=repr(1.36603**j * (1 + 1e-9)), B="0")
        elif name == "softplus":
            m, j = e
            self.parity = "even" if m == 0 else "none"
            self.A, self.B = _LOG2_UP**j, 0.0
            bound = _S_STRIP**m * _H_STRIP**j
            self.strip_bound = StripBound(D="2.094", A=repr(bound * (1 + 1e-9)), B="0")
        else:
            j, m = e
            self.parity = "even" if j == 0 else "none"
            self.A, self.B = 0.39895**m, 0.0   # sup_R Phi^j phi^l <= (2 pi)^{-l/2}
            bound = 7.3890561**(j + m) * 0.39895**m   # e^{2(j+l)} (2 pi)^{-l/2}, D = 2
            self.strip_bound = StripBound(D="2", A=repr(bound * (1 + 1e-9)), B="0")

    def zero_coefficient(self, k):
        if self.parity == "odd":
            return k % 2 == 0
        if self.parity == "even":
            return k % 2 == 1
        return False

    def phi_arb(self, x):
        from flint import arb

        if self.kind == "tanh":
            return x.tanh() ** self.e[0]
        if self.kind == "silu":
            return (1 / (1 + (-x).exp())) ** self.e[0]
        if self.kind == "softplus":
            m, j = self.e
            y = abs(x)   # H is even: H(x) = log(1 + e^-y) + y e^-y / (1 + e^-y), no cancellation
            w = (-y).exp()
            return (1 / (1 + (-x).exp())) ** m * (w.log1p() + y * w / (1 + w)) ** j
        j, m = self.e
        big = (-x / arb(2).sqrt()).erfc() / 2
        small = (-x * x / 2).exp() / (2 * arb.pi()).sqrt()
        return big ** j * small ** m


def _sup(name, e):
    """Upper bound (float) of ``|B_e|`` on the real line."""
    if name == "gelu":
        return 0.39895 ** e[1]
    if name == "softplus":
        return _LOG2_UP ** e[1]
    return 1.0


_CACHE: dict = {}


def _base_coefficients(name, e, q, K, prec):
    """Certified ``c_0..c_K`` of the base ``e`` at variance ``q`` (cached per call pattern)."""
    from flint import arb

    if all(x == 0 for x in e):
        return [arb(1)] + [arb(0)] * K
    from nstheory.gaussian.trapezoid import hermite_coefficients_trapezoid

    key = (name, e, q.mid().str(radius=False, more=True), q.rad().str(radius=False, more=True),
           prec)
    have = _CACHE.get(key)
    if have is None or len(have) < K + 1:
        if len(_CACHE) > 512:
            _CACHE.clear()
        have = hermite_coefficients_trapezoid(_Base(name, e), q.sqrt(), max(K, 8), prec)[0]
        _CACHE[key] = have
    return have[:K + 1]


def coefficients(name: str, f: dict, q, K: int, prec: int = 53, floor: int = 0):
    """Certified Hermite coefficients ``c_0..c_K`` of ``f(sqrt(q) X)`` (arb balls); the
    bases' trapezoid rules are run to degree at least ``floor`` (cached for later calls).

    Examples
    --------
    ``c_0`` of ``tanh^2`` is ``E tanh(X)^2``; mpmath's quadrature agrees:

    >>> import mpmath
    >>> from flint import arb
    >>> c = coefficients("tanh", power("tanh", 2), arb(1), 4)
    >>> ref = mpmath.quad(lambda x: mpmath.tanh(x) ** 2 * mpmath.npdf(x), [-mpmath.inf, 0, 60])
    >>> c[0].overlaps(arb(float(ref), 1e-15)), c[1]
    (True, 0)
    """
    from flint import arb

    check_choice(name, SMOOTH_ENCLOSED, "activation")
    K = check_int(K, "K", lo=0)
    if not q > 0:
        raise NSTheoryError(f"coefficients need a variance q certified > 0; got {q}")
    a = q.sqrt()
    out = [arb(0)] * (K + 1)
    for (i, e), coef in f.items():
        c = _base_coefficients(name, e, q, max(K + i, floor), prec)[:K + i + 1]
        for _ in range(i):   # multiply by y = sqrt(q) x
            n = len(c) - 1
            c = [a * ((arb(k + 1).sqrt() * c[k + 1] if k + 1 <= n else 0)
                      + (arb(k).sqrt() * c[k - 1] if k else 0)) for k in range(n)]
        num = arb(coef.numerator) / coef.denominator
        out = [o + num * v for o, v in zip(out, c[:K + 1], strict=True)]
    return out


def _l2_bound(name, f, q):
    """Minkowski bound on ``sqrt(E f(sqrt(q) X)^2)`` (arb upper bound)."""
    from flint import arb

    tot = arb(0)
    for (i, e), coef in f.items():
        dfact = 1
        for k in range(1, 2 * i, 2):
            dfact *= k
        tot += (abs(arb(coef.numerator) / coef.denominator) * arb(_sup(name, e))
                * q.abs_upper() ** (arb(i) / 2) * arb(dfact).sqrt())
    return tot.upper()


def _degree(rmax, bound, prec):
    """Smallest ``K`` with ``rmax^{K+1} bound <= 2^-(prec+10)`` (capped)."""
    import math

    if rmax <= 0:
        return 1
    need = (prec + 10) * math.log(2) + math.log(max(bound, 1e-300))
    return max(1, min(4000, math.ceil(need / -math.log(rmax))))


def cross_map(name: str, f: dict, g: dict, q, c, prec: int = 53, floor: int = 0):
    """Certified ``E[f(u) g(v)]``, ``(u, v)`` of variances ``q`` and covariance ``c``
    (arb balls, ``|c| < q`` certified), by the Hermite series with its rigorous tail
    (``floor``: see :func:`coefficients`).

    Examples
    --------
    At ``c = 0`` the expectation factorises: ``E tanh^2 E tanh^2`` for ``f = g = tanh^2``:

    >>> from flint import arb
    >>> t2 = power("tanh", 2)
    >>> e2 = coefficients("tanh", t2, arb(1), 1)[0]
    >>> cross_map("tanh", t2, t2, arb(1), arb(0)).overlaps(e2 * e2)
    True
    """
    from flint import arb

    check_choice(name, SMOOTH_ENCLOSED, "activation")
    pf, pg = _parity(name, f), _parity(name, g)
    if pf * pg == -1:
        return arb(0)   # one odd, one even: exactly zero
    r = c / q
    rmax = float(r.abs_upper())
    if not rmax < 1:
        raise NSTheoryError(f"the correlation ball {r} is not certified inside (-1, 1)")
    bf, bg = _l2_bound(name, f, q), _l2_bound(name, g, q)
    K = _degree(rmax, float(bf * bg), prec)
    cf = coefficients(name, f, q, K, prec, floor)
    cg = cf if f == g else coefficients(name, g, q, K, prec, floor)
    val = arb(0)
    for k in range(K, -1, -1):
        val = val * r + cf[k] * cg[k]
    tail = r.abs_upper() ** (K + 1) * bf * bg
    return val + arb(0, tail.upper())


@dataclass
class SmoothIngredients:
    """The kernel map ``F(q1, q2, c)`` at ``(q, q, c)`` with gradient and Hessian in
    ``(q1, q2, c)``, ``E phi^2`` with two ``q``-derivatives, the channel mean with two
    ``q``-derivatives and the moments ``E[phi(u)^a phi(v)^b]`` (dict, ``2 <= a + b <= 4``).

    >>> SmoothIngredients(0, [0] * 3, [[0] * 3] * 3, 1, 0, 0, 0, 0, 0, {}).f2
    1
    """

    value: object
    grad: list
    hess: list
    f2: object
    f2_d1: object
    f2_d2: object
    mean: object
    mean_d1: object
    mean_d2: object
    moments: dict


def smooth_ingredients(name: str, q, c, prec: int = 53) -> SmoothIngredients:
    """All certified ingredients of one ``Dense -> name`` step at pre-activation variance
    ``q`` and covariance ``c`` (arb balls); see the module docstring for the identities.

    Examples
    --------
    GELU: ``E phi`` at ``q = 1`` is ``1 / (2 sqrt(pi))`` (Stein's identity):

    >>> from flint import arb
    >>> ing = smooth_ingredients("gelu", arb(1), arb("0.5"))
    >>> ing.mean.overlaps(1 / (2 * arb.pi().sqrt())), bool(ing.mean.rad() < 1e-14)
    (True, True)
    """
    from flint import arb

    if name not in SMOOTH_ENCLOSED:
        raise NSTheoryError(f"smooth enclosure covers {'/'.join(SMOOTH_ENCLOSED)}; got {name!r}")
    prec = check_int(prec, "prec", lo=20)
    if not (q > 0 and abs(c) < q):
        raise NSTheoryError(f"smooth ingredients need q > 0 and |c| < q certified; got {q}, {c}")
    ing = _ingredients(name, q, c, prec, full=True)
    if q.rad() == 0 and c.rad() == 0:
        return ing
    # mean-value form: value and first derivatives at the midpoints, widened by the next
    # derivative on the balls (interval evaluation alone overestimates the radius)
    mid = _ingredients(name, arb(q.mid()), arb(c.mid()), prec, full=False)
    ing.value, ing.grad = mean_value_widen((q, q, c), mid.value, mid.grad, ing.grad, ing.hess)
    ing.f2, (ing.f2_d1,) = mean_value_widen((q,), mid.f2, [mid.f2_d1], [ing.f2_d1],
                                            [[ing.f2_d2]])
    if ing.mean != 0:
        ing.mean, (ing.mean_d1,) = mean_value_widen((q,), mid.mean, [mid.mean_d1],
                                                    [ing.mean_d1], [[ing.mean_d2]])
    ing.moments[(1, 1)] = ing.value
    ing.moments[(2, 0)] = ing.moments[(0, 2)] = ing.f2
    return ing


def _ingredients(name, q, c, prec, full):
    """:func:`smooth_ingredients` on the balls as given (interval evaluation); ``full=False``
    computes only the value, gradient, ``E phi^2``, the mean and their first derivatives."""
    from flint import arb

    d = [_PHI[name]]
    for _ in range(4):
        d.append(derivative(name, d[-1]))
    p = {a: power(name, a) for a in range(5)}
    pairs = [(d[0], d[0]), (d[2], d[0]), (d[1], d[1])]
    if full:
        pairs += [(d[4], d[0]), (d[3], d[1]), (d[2], d[2]), (p[2], p[1]), (p[3], p[1]),
                  (p[2], p[2])]
    # one degree for the whole step, so each base's trapezoid rule runs once
    rmax = float((c / q).abs_upper())
    floor = max(_degree(rmax, float(_l2_bound(name, f, q) * _l2_bound(name, g, q)), prec)
                for f, g in pairs) + max(i for f, _ in pairs for i, _ in f)

    def cm(f, g):
        return cross_map(name, f, g, q, c, prec, floor)

    def c0(f):
        return coefficients(name, f, q, 0, prec)[0]   # low degrees: no floor

    nan = arb("nan")
    val = cm(d[0], d[0])
    g_q = cm(d[2], d[0]) / 2
    grad = [g_q, g_q, cm(d[1], d[1])]
    s = [p[2]]
    for _ in range(4):
        s.append(derivative(name, s[-1]))
    odd = _parity(name, d[0]) == -1
    mean = arb(0) if odd else c0(d[0])
    m1 = arb(0) if odd else c0(d[2]) / 2
    f2, f2_d1 = c0(s[0]), c0(s[2]) / 2
    if not full:
        return SmoothIngredients(val, grad, None, f2, f2_d1, nan, mean, m1, nan, {})
    h_qq = cm(d[4], d[0]) / 4
    h_qc = cm(d[3], d[1]) / 2
    h_cc = cm(d[2], d[2])
    hess = [[h_qq, h_cc / 4, h_qc], [h_cc / 4, h_qq, h_qc], [h_qc, h_qc, h_cc]]
    m2 = arb(0) if odd else c0(d[4]) / 4
    mom = {(1, 1): val, (2, 0): f2, (0, 2): f2}
    for a in (3, 4):
        mom[(a, 0)] = mom[(0, a)] = c0(p[a])
    for a, b in ((2, 1), (3, 1), (2, 2)):
        mom[(a, b)] = mom[(b, a)] = cm(p[a], p[b])
    return SmoothIngredients(val, grad, hess, f2, f2_d1, c0(s[4]) / 4, mean, m1, m2, mom)


def _gelu_inner(x, s, k: int, prec: int):
    """``E[gelu(x + s n)^k]``, ``k = 1, 2`` (``x`` an arb or acb ball, ``s > 0``).

    ``k = 1``: ``x Phi(x/r) + (s^2/r) phi(x/r)``, ``r = sqrt(1 + s^2)``. ``k = 2``: with ``u(x) =
    E Phi(Y)^2`` (``Y = x + s n``), the heat identities ``E[(Y - x) f(Y)] = s^2 u'``,
    ``E[(Y - x)^2 f(Y)] = s^2 u + s^4 u''`` give ``E[Y^2 Phi(Y)^2] = x^2 u + 2 x s^2 u' + s^2 u +
    s^4 u''``; ``u = P(U_1 <= Y, U_2 <= Y) = Phi(h) - 2 T(h, kappa)`` (Owen's identity for the
    bivariate orthant at ``h = x/r``, correlation ``s^2/r^2``, ``kappa = 1/sqrt(1 + 2 s^2)``),
    ``u' = 2 phi(h) Phi(kappa h) / r``, ``u'' = 2 phi(h) (kappa phi(kappa h) - h Phi(kappa h)) /
    r^2``, and Owen's ``T(h, kappa) = (1/2 pi) int_0^kappa e^{-h^2 (1 + t^2)/2} / (1 + t^2) dt`` by
    ``acb.integral`` (entire in ``h``; a finite interval, no tail)."""
    from flint import acb, arb

    rt2, sq2pi = arb(2).sqrt(), (2 * arb.pi()).sqrt()

    def cdf(z):
        return (-z / rt2).erfc() / 2

    def pdf(z):
        return (-z * z / 2).exp() / sq2pi

    r = (1 + s * s).sqrt()
    h = x / r
    if k == 1:
        return x * cdf(h) + s * s / r * pdf(h)
    kap = 1 / (1 + 2 * s * s).sqrt()
    tol = arb(2) ** -(prec + 24)   # far below the outer integral's tolerance
    owen = acb.integral(lambda t, _: (-h * h * (1 + t * t) / 2).exp() / (1 + t * t), 0, kap,
                        rel_tol=tol, abs_tol=tol) / (2 * arb.pi())
    if not isinstance(x, acb):
        owen = owen.real
    u = cdf(h) - 2 * owen
    du = 2 * pdf(h) * cdf(kap * h) / r
    d2u = 2 * pdf(h) * (kap * pdf(kap * h) - h * cdf(kap * h)) / (r * r)
    s2 = s * s
    return x * x * u + 2 * x * s2 * du + s2 * u + s2 * s2 * d2u


def _cross_midpoints(q, c, e, who: str):
    """The balls ``q, c, e``, their midpoints (``0 < c < q``, ``|e| <= c`` checked) and the
    ``shift`` that moved ``e``'s midpoint onto ``|e| = c`` if rounding put it past: ``e = c`` is a
    real case (a pair of independent inputs); the caller adds ``shift`` to ``e``'s spread."""
    from flint import arb

    q, c, e = arb(q), arb(c), arb(e)
    qm, cm, em = arb(q.mid()), arb(c.mid()), arb(e.mid())
    if not (0 < cm < qm and abs(e).lower() <= cm):
        raise NSTheoryError(f"{who} needs 0 < c < q and |e| <= c; got q={q}, c={c}, e={e}")
    shift = abs(em) - cm if abs(em) > cm else arb(0)
    return q, c, e, qm, cm, (em - shift if em > 0 else em + shift), shift


def gelu_cross_moment_arb(k: int, q, c, e, prec: int = 53):
    """``E[gelu(z0) gelu(z1) gelu(z2)^k]``, ``k = 1, 2``, for Gaussians of variance ``q`` with
    ``cov(z0, z1) = c`` and ``cov(z0, z2) = cov(z1, z2) = e`` (midpoints ``0 < c < q``, ``|e| <=
    c``).

    The three-input source of the vertex between two independent input pairs seen by the same
    network, as :func:`~nstheory.propagation.finite_width_enclosure.relu_cross_moment_arb` for
    ReLU: with the pair's shared factor ``a = sqrt(c) u``, ``z0, z1 = a + s n_{0,1}`` (``s^2 =
    q - c``) and ``z2 = (e/c) a + s_2 n_2`` (``s_2^2 = q - e^2/c``) are independent given ``u``,
    so ``E = int gamma(u) m_1(sqrt(c) u; s)^2 m_k((e/c) sqrt(c) u; s_2) du`` with the inner
    expectations of :func:`_gelu_inner` (closed form, and for ``k = 2`` one Owen ``T``
    integral: a nested ``acb.integral``). Tail for ``|u| >= L >= 3``: ``m_1 <= sqrt(q)(|u| + 1)``,
    ``m_k <= q^(k/2)(|u|^k + 1)`` (``|gelu(y)| <= |y|``), so the integrand is at most ``4
    q^((2+k)/2) |u|^(2+k) gamma(u)``. The ball arguments are taken at their midpoints and the
    result widened by Price's theorem with ``|gelu'| <= 1.13``, ``|gelu''| <= 0.8``: ``|dE/dc|
    <= 1.3 Q^(k/2)``, ``|dE/de| <= 5.2 Q^(k/2)``, ``|dE/dq| <= 4 Q^((1+k)/2)``, ``Q = max(q, 1)``.

    Examples
    --------
    With ``e = 0`` the third factor is independent, ``E[gelu(z0) gelu(z1)] E gelu(z2)``:

    >>> from flint import arb
    >>> ball = gelu_cross_moment_arb(1, arb(1), arb(1) / 2, arb(0))
    >>> pair = smooth_ingredients("gelu", arb(1), arb(1) / 2)
    >>> ball.overlaps(pair.value * pair.mean), bool(ball.rad() < 1e-13)
    (True, True)
    """
    from flint import acb, arb

    from nstheory.gaussian.hermite import certified_radius_L
    from nstheory.numerics import arb_precision
    from nstheory.propagation.finite_width_enclosure import _spread, _tail_bound

    if k not in (1, 2):
        raise NSTheoryError(f"gelu_cross_moment_arb needs k in (1, 2), got {k}")
    L = max(3, certified_radius_L(prec + 4 * (k + 2)))
    with arb_precision(bits=prec + 30):
        q, c, e, qm, cm, em, shift = _cross_midpoints(q, c, e, "gelu_cross_moment_arb")
        s, sc = (qm - cm).sqrt(), cm.sqrt()
        slope, s2 = em / sc, (qm - em * em / cm).sqrt()
        inv2pi = 1 / (2 * arb.pi()).sqrt()

        def f(z, analytic):
            if k == 2 and analytic and z.rad() > 1:
                # a wide ball would send the inner Owen integral to its evaluation limit; a
                # non-finite value makes acb.integral bisect instead
                return acb("nan")
            m1 = _gelu_inner(sc * z, s, 1, prec)
            return (-z * z / 2).exp() * inv2pi * m1 * m1 * _gelu_inner(slope * z, s2, k, prec)

        tol = arb(2) ** -(prec + 8)
        val = acb.integral(f, -L, L, rel_tol=tol, abs_tol=tol).real
        val += arb(0, (8 * qm ** (arb(2 + k) / 2) * _tail_bound(2 + k, 0, L)).upper())
        big = max(q.upper(), arb(1))
        widen = (4 * big ** (arb(1 + k) / 2) * _spread(q).upper()
                 + big ** (arb(k) / 2) * (arb("1.3") * _spread(c).upper()
                                           + arb("5.2") * (_spread(e).upper() + shift)))
        val += arb(0, widen.upper())
    with arb_precision(bits=prec):
        return +val


#: bounds for :func:`smooth_cross_moment_arb`, per activation: the strip half-width ``D`` and
#: ``(A, B)`` with ``|phi(z)| <= A + B |z|`` on ``|Im z| <= D`` (the module docstring's strip
#: bounds: ``|sigma| <= (1 + sqrt 3)/2``; softplus ``|s| <= 1.1548``, ``|H| <= 3.5732``; GELU
#: ``|Phi| <= e^{D^2/2}``), ``A0`` with ``|phi(x)| <= A0 + |x|`` on the reals, and bounds
#: ``D1 >= |phi'|``, ``D2 >= |phi''|`` on the reals (silu' in [-0.100, 1.100], silu'' in
#: [-0.100, 0.500]; softplus' = sigma, softplus'' = sigma (1 - sigma) <= 1/4; gelu' in
#: [-0.129, 1.129], |gelu''| = |phi(x) (2 - x^2)| <= 2 phi(0))
_CROSS_BOUNDS = {"silu": dict(D="2.09", A="0", B="1.3661", A0="0", D1="1.1", D2="0.5"),
                 "softplus": dict(D="2.09", A="3.5733", B="1.1548", A0="0.69315", D1="1",
                                  D2="0.25"),
                 "gelu": dict(D="1", A="0", B="1.6488", A0="0", D1="1.13", D2="0.8")}


def _phi_acb(name: str):
    """The activation on acb balls (``analytic``: flag a touched branch cut)."""
    from flint import arb

    if name == "silu":
        return lambda z, analytic: z / (1 + (-z).exp())
    if name == "softplus":
        return lambda z, analytic: (1 + z.exp()).log(analytic=analytic)
    if name == "gelu":
        rt2 = arb(2).sqrt()
        return lambda z, analytic: z * (-z / rt2).erfc() / 2
    raise NSTheoryError(f"no cross-moment bounds for {name!r}")  # pragma: no cover


def _smoothed_power(phi, x, sigma, j, L, tol, A, B, eval_limit=None):
    """``E[phi(x + sigma n)^j]`` (``j = 1, 2``) for an acb ball ``x`` with ``|Im x| <= D``:
    ``acb.integral`` on ``[-L, L]`` plus the tail from ``|phi(z)| <= A + B |z|`` on the strip,
    ``int_{|n| > L} (alpha + beta |n|)^j gamma(n) dn`` with ``alpha = A + B |x|``, ``beta = B
    sigma``."""
    from flint import acb, arb

    inv = 1 / (2 * arb.pi()).sqrt()

    def g(n, analytic):
        v = phi(x + sigma * n, analytic)
        return (v if j == 1 else v * v) * (-n * n / 2).exp() * inv

    val = acb.integral(g, -L, L, rel_tol=tol, abs_tol=tol, eval_limit=eval_limit)
    Lb = arb(L)
    tail_p = (Lb / arb(2).sqrt()).erfc() / 2
    dens = (-Lb * Lb / 2).exp() * inv
    alpha, beta = A + B * abs(x).upper(), B * sigma
    if j == 1:
        t = 2 * (alpha * tail_p + beta * dens)
    else:
        t = 2 * (alpha * alpha * tail_p + 2 * alpha * beta * dens
                 + beta * beta * (Lb * dens + tail_p))
    t = t.upper()
    return val + acb(arb(0, t), arb(0, t))


def smooth_cross_moment_arb(name: str, k: int, q, c, e, prec: int = 53):
    """``E[phi(z0) phi(z1) phi(z2)^k]``, ``k = 1, 2``, for SiLU, softplus (or GELU) and
    Gaussians of variance ``q`` with ``cov(z0, z1) = c``, ``cov(z0, z2) = cov(z1, z2) = e``
    (midpoints ``0 < c < q``, ``|e| <= c``).

    The shared-factor integral of :func:`gelu_cross_moment_arb`, with both inner Gaussian
    smoothings ``m_j(x) = E[phi(x + s n)^j]`` computed by a nested ``acb.integral`` (no closed
    form for these activations) whose tails use the strip bound ``|phi(z)| <= A + B |z|`` of
    :data:`_CROSS_BOUNDS`; the outer integrand is flagged non-analytic (so bisected) on balls
    wider than 1 or reaching outside the strip. The outer tail for ``|u| >= L >= 3`` from
    ``|phi(x)| <= A0 + |x|``: ``m_1 <= A0 + sqrt(q)(|u| + 1)``, ``m_k <= 2^(k-1) (A0^k + q^(k/2)
    (|u| + 1)^k)``. Midpoints, then Price's theorem with Hölder (``M = A0 + 1.17 sqrt(q)``
    bounds ``(E|phi|^p)^(1/p)``, ``p <= 3``): ``|dE/dc| <= D1^2 M^k``, ``|dE/de| <= 2k D1^2
    M^k``, ``|dE/dq| <= (1 + k/2) D2 M^(1+k) + k(k-1)/2 D1^2 M^k``. About 1-3 s.

    Examples
    --------
    >>> from flint import arb
    >>> a = smooth_cross_moment_arb("gelu", 1, arb(1), arb(1) / 2, arb(1) / 4)
    >>> a.overlaps(gelu_cross_moment_arb(1, arb(1), arb(1) / 2, arb(1) / 4))
    True
    """
    from flint import acb, arb

    from nstheory.numerics import arb_precision
    from nstheory.propagation.finite_width_enclosure import _spread, _tail_bound

    if k not in (1, 2):
        raise NSTheoryError(f"smooth_cross_moment_arb needs k in (1, 2), got {k}")
    b = {key: arb(v) for key, v in _CROSS_BOUNDS[name].items()}
    phi = _phi_acb(name)
    # Gaussian weights: e^{-L^2/2} <= 2^-(prec + 16) for the outer rule, 2^-(prec + 12) for the
    # inner ones (their tails are bounded explicitly; a longer interval only costs nodes)
    L = max(3, math.ceil(math.sqrt(2 * (prec + 16 + 2 * k) * math.log(2))))
    L_in = max(3, math.ceil(math.sqrt(2 * (prec + 12) * math.log(2))))
    with arb_precision(bits=prec + 30):
        q, c, e, qm, cm, em, shift = _cross_midpoints(q, c, e, "smooth_cross_moment_arb")
        s, sc = (qm - cm).sqrt(), cm.sqrt()
        slope, s2 = em / sc, (qm - em * em / cm).sqrt()
        reach = max(sc, abs(slope)).upper()
        inv2pi = 1 / (2 * arb.pi()).sqrt()
        tol_in, tol_out, tol_bound = (arb(2) ** -(prec + 14), arb(2) ** -(prec + 8),
                                      arb(2) ** -20)

        def f(z, analytic):
            # the inner tails need |Im x| <= D certified (the strip bound)
            if analytic and (z.rad() > 1 or not abs(z.imag) * reach < b["D"]):
                return acb("nan")
            # on a ball (analytic: the outer rule's error bound) a magnitude is enough, so the
            # inner integrals run coarse; at the rule's nodes they run to the tolerance
            tol, lim = (tol_bound, 4000) if analytic else (tol_in, None)
            m1 = _smoothed_power(phi, sc * z, s, 1, L_in, tol, b["A"], b["B"], lim)
            mk = _smoothed_power(phi, slope * z, s2, k, L_in, tol, b["A"], b["B"], lim)
            return (-z * z / 2).exp() * inv2pi * m1 * m1 * mk

        val = acb.integral(f, -L, L, rel_tol=tol_out, abs_tol=tol_out).real
        # outer tail: with |u| >= 3, (|u| + 1) <= 4|u|/3 and 1 <= |u|/3
        rq = qm.sqrt()
        c1 = b["A0"] / 3 + rq * 4 / 3
        ck = (b["A0"] / 3 + rq * 4 / 3) if k == 1 else 2 * (b["A0"] ** 2 / 9 + qm * 16 / 9)
        val += arb(0, (2 * c1 * c1 * ck * _tail_bound(2 + k, 0, L)).upper())
        M = b["A0"] + arb("1.17") * q.upper().sqrt()
        d1sq = b["D1"] * b["D1"]
        widen = (d1sq * M ** k * (_spread(c).upper() + 2 * k * (_spread(e).upper() + shift))
                 + ((1 + arb(k) / 2) * b["D2"] * M ** (1 + k)
                    + arb(k * (k - 1)) / 2 * d1sq * M ** k) * _spread(q).upper())
        val += arb(0, widen.upper())
    with arb_precision(bits=prec):
        return +val


__all__ = ["SMOOTH_ENCLOSED", "SmoothIngredients", "coefficients", "cross_map", "derivative",
           "gelu_cross_moment_arb", "power", "product", "smooth_cross_moment_arb",
           "smooth_ingredients"]
