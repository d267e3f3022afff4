"""Deterministic noise stability of one softmax attention layer with identity ``W`` at finite d.

The layer is ``f(X) = softmax(t X X^T) X v`` (query-key matrix ``W = I``, logit scale ``t``:
``1/sqrt(d)``, ``1/d``, 1 or a number) on ``n`` tokens of dimension ``d`` with i.i.d.
``N(0, 1)`` entries, ``Y = rho X + sqrt(1 - rho^2) Z``; the quantity is the **raw stability of
one output coordinate**, ``Stab_rho = E[f_i(X) f_i(Y)]`` for a unit value column ``v`` (times
``||v||^2`` otherwise), the quantity the Monte Carlo of :mod:`nstheory.attention.montecarlo`
estimates. It is computed without sampling, for any ``n >= 1`` and ``d >= 1``:

1. *Rotation invariance.* The law of ``(X, Y)`` is invariant under ``X -> X O``, ``Y -> Y O``
   and ``f(X O) = f(X) O``, so ``E[(f(X).v)(f(Y).v)] = E[f(X).f(Y)] / d``.
2. *Condition on the query pair* ``(p, p') = (x_i, y_i)``. With the Bartlett factor of their
   Gram matrix, ``p = r_1 e_1`` and ``p' = pi_1 e_1 + pi_2 e_2`` where ``r_1^2 ~ chi^2_d``,
   ``pi_1 = rho r_1 + sqrt(1 - rho^2) g``, ``pi_2 = sqrt(1 - rho^2) r_2``, ``g ~ N(0, 1)``,
   ``r_2^2 ~ chi^2_{d-1}``: a three-dimensional outer integral.
3. *The other tokens are i.i.d. given the query pair.* Token ``l``'s logits are
   ``t alpha_l``, ``t beta_l`` with ``alpha_l = p.x_l``, ``beta_l = p'.y_l``; its coordinates
   along ``e_1, e_2`` are standard normals, so ``alpha_l = r_1 xi`` and ``beta_l = rho pi_1 xi
   + sqrt(V) eta`` for two independent standard normals ``(xi, eta)``, and every inner product
   the output needs (``x_l.p'``, ``p.y_l``, ``x_l.y_m``, ``x_l.y_l``) has a conditional
   expectation given ``(xi, eta)`` that is a polynomial of degree <= 2 (the components
   orthogonal to ``e_1, e_2`` average out, leaving ``rho (d - 2)`` in ``x_l.y_l``).
4. *Laplace factorisation of the two normalisations.* With self-relative weights
   ``A_l = e^{t(alpha_l - |p|^2)}``, ``B_l = e^{t(beta_l - |p'|^2)}``,
   ``S_X = 1 + sum A_l`` and ``1 / (S_X S_Y) = int int e^{-s S_X - u S_Y} ds du``, so the
   expectation over the ``n - 1`` i.i.d. tokens becomes powers of per-token two-dimensional
   Gaussian integrals ``E[g(xi, eta) e^{-s A - u B}]``; ``n`` enters only as an exponent.

Quadratures: a chi-square Gauss rule (``chi2_gauss_rule``) for ``r_1^2`` and ``r_2^2`` and
Gauss-Hermite for ``g`` (outer), Gauss-Hermite for ``(xi, eta)`` (inner), and the trapezoid
rule in ``log s`` and ``log u`` (Laplace variables), which converges exponentially in the step
for completely monotone integrands (error ``~ e^{-pi^2 / h}``). The error estimate is the
difference between the requested resolution and a coarser one (fewer nodes in every rule, a
larger step); it is an estimate, not a bound.

Examples
--------
>>> r = stab_identity_finite_d(4, 64, 0.5)  # below the d -> infinity limit rho = 0.5
>>> round(r.value, 6), r.error < 1e-7
(0.497517, True)
>>> r = stab_identity_finite_d(4, 4096, 0.5, scale="linear")  # near the 1/d-scale limit
>>> round(r.value, 5), round(0.5 * (math.e**2 + 3) / (math.e + 3) ** 2, 5)
(0.15896, 0.15886)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_rho

__all__ = ["QuadratureStab", "self_weight_identity_finite_d", "stab_identity_finite_d"]

#: Default resolution (nodes for r1, g, r2, nodes per inner variable, Laplace step) and the
#: coarser one compared with it for the error estimate.
#: For ``d = 1`` there is no ``r2`` and the query pair's law is heavier-tailed: more nodes.
FINE = (24, 20, 10, 32, 0.4)
COARSE = (16, 14, 7, 24, 0.5)
FINE_D1 = (40, 36, 1, 32, 0.4)
COARSE_D1 = (28, 24, 1, 24, 0.5)


def _resolutions(d, resolution, coarse):
    if resolution is None:
        resolution = FINE_D1 if d == 1 else FINE
    if coarse is None:
        coarse = COARSE_D1 if d == 1 else COARSE
    out = []
    for res in (resolution, coarse):
        try:
            ok = (len(res) == 5 and all(int(m) == m and 1 <= m <= 64 for m in res[:4])
                  and 0 < float(res[4]) <= 1)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise NSTheoryError("a resolution is (nodes r1, nodes g, nodes r2, inner nodes, "
                                f"each 1..64, Laplace step in (0, 1]); got {res!r}")
        out.append((*(int(m) for m in res[:4]), float(res[4])))
    return tuple(out)


@dataclass
class QuadratureStab:
    """Result of a deterministic quadrature of one attention layer: :func:`stab_identity_finite_d`,
    :func:`self_weight_identity_finite_d` and
    :func:`~nstheory.attention.quadrature.stab_random_n2_finite_d`.

    Parameters
    ----------
    value : float
        The quantity at the finer resolution.
    error : float
        ``|value - coarse|``: the estimated quadrature error (an estimate, not a bound).
    coarse : float
        The value at the coarser resolution.
    params : dict
        ``n, d, rho, scale, t`` (the numeric logit scale), ``v_norm`` and both resolutions.
    quantity : str
        What was computed.

    Examples
    --------
    >>> r = QuadratureStab(0.5, 1e-9, 0.5, {"n": 2}, "raw Stab")
    >>> r.to_dict()["error"], r.digits
    (1e-09, 8)
    """

    value: float
    error: float
    coarse: float
    params: dict
    quantity: str

    @property
    def digits(self) -> int:
        """Correct significant digits implied by the error estimate (at most 15)."""
        if self.error == 0:
            return 15
        scale = max(abs(self.value), 1e-300)
        return max(0, min(15, math.floor(-math.log10(self.error / scale))))

    def to_dict(self) -> dict:
        return asdict(self)


def _check(n, d, rho, scale, v_norm):
    from nstheory.attention.pattern_moments import logit_scale

    n = check_int(n, "n", lo=1, hi=10**7)
    d = check_int(d, "d", lo=1, hi=1 << 20)
    rho = check_rho(rho)
    t = logit_scale(scale, d)
    try:
        v_norm = float(v_norm)
    except (TypeError, ValueError):
        v_norm = math.nan
    if not (math.isfinite(v_norm) and abs(v_norm) <= 1e150):  # the result scales as v_norm^2
        raise NSTheoryError(f"v_norm must be finite (|v_norm| <= 1e150: the result scales as "
                            f"its square); got {v_norm!r}")
    return n, d, rho, t, v_norm


#: Largest numeric logit scale the identity route accepts: the other tokens' self-relative weight
#: ``A = e^{t(x_i.x_l - |x_i|^2)}`` has ``E[A^2] = E[e^{2 t (t - 1) chi^2_d}]``, at most 1 for
#: ``t <= 1`` (every named scale) and growing without bound above it (near-hard softmax,
#: where the Laplace grid and the inner rules stop converging).
MAX_SCALE = 1.0


def _identity_args(n, d, rho, scale, v_norm):
    """:func:`_check` plus the identity route's own range (``t <= MAX_SCALE``)."""
    n, d, rho, t, v_norm = _check(n, d, rho, scale, v_norm)
    if t > MAX_SCALE:
        raise NSTheoryError(
            f"the identity route needs a logit scale t <= {MAX_SCALE:g} (1/sqrt(d), 1/d and "
            f"'none' all are); got t = {t:.6g}: above it the other tokens' weights relative to "
            "the query's own logit have an unbounded second moment and the softmax is nearly "
            "hard; use the Monte Carlo")
    return n, d, rho, t, v_norm


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise NSTheoryError(f"the {what} quadrature overflowed (non-finite value); use the Monte "
                            "Carlo for this configuration")
    return value


def _outer_rule(m1: int, mg: int, m2: int, d: int):
    """Flattened nodes ``(r1, g, r2)`` and probability weights of the query pair's Bartlett
    factor. ``r1 = sqrt(chi^2_d) >= 0`` by the chi-square Gauss rule: the integrand is even in
    ``r1`` once the symmetric rules for ``g``, ``xi``, ``eta`` have been applied, hence a
    smooth function of ``r1^2``."""
    from numpy.polynomial.hermite_e import hermegauss

    from nstheory.attention.quadrature import chi2_gauss_rule

    x1, w1 = chi2_gauss_rule(m1, d)
    g, wg = hermegauss(mg)
    wg = wg / math.sqrt(2 * math.pi)
    if d >= 2:
        x2, w2 = chi2_gauss_rule(m2, d - 1)
    else:  # one dimension: p' is parallel to p
        x2, w2 = np.zeros(1), np.ones(1)
    r1, gg, r2 = (a.ravel() for a in np.meshgrid(np.sqrt(x1), g, np.sqrt(x2), indexing="ij"))
    w = np.einsum("a,b,c->abc", w1, wg, w2).ravel()
    keep = w > 1e-14 * w.max()  # the dropped product weights sum to ~2e-14
    return r1[keep], gg[keep], r2[keep], w[keep]


def _laplace_floor(k, d, t, m1, z, wz):
    """Lower end of the Laplace grid: ``-24 - log(1 + k sqrt(E[A^2]))`` with the other tokens'
    self-relative weight ``A`` (the same law on the ``Y`` side), so that the truncated part
    stays ~1e-10 of the normalisations that carry the probability."""
    from nstheory.attention.quadrature import chi2_gauss_rule

    x, wx = chi2_gauss_rule(m1, d)
    r = np.sqrt(x)[:, None]
    m2 = float(wx @ (np.exp(2 * t * (r * z[None, :] - r * r)) @ wz))
    return -24.0 - math.log1p(k * math.sqrt(m2))


def _stab_at(n, d, rho, t, resolution, chunk=8):
    """``E[f(X).f(Y)] / d`` at one resolution."""
    from numpy.polynomial.hermite_e import hermegauss

    from nstheory.attention.softmax_conditional import conditional_output_products

    if n == 1:  # the query attends to itself only: f(X) = x_i
        return rho
    m1, mg, m2, m_in, h = resolution
    r1, g, r2, wout = _outer_rule(m1, mg, m2, d)
    z, wz = hermegauss(m_in)
    wz = wz / math.sqrt(2 * math.pi)
    lo = _laplace_floor(n - 1, d, t, m1, z, wz)
    sig = math.sqrt(max(0.0, 1.0 - rho * rho))
    pi1 = rho * r1 + sig * g  # p' = pi1 e_1 + pi2 e_2 in the frame of (p, p')
    pi2 = sig * r2
    zero = np.zeros_like(r1)
    total = 0.0
    for lo_ in range(0, r1.size, chunk):
        sl = slice(lo_, lo_ + chunk)
        vals = conditional_output_products(
            n, d, rho, t, r1=r1[sl], pi1=pi1[sl], pi2=pi2[sl], off_x=r1[sl] ** 2,
            off_y=pi1[sl] ** 2 + pi2[sl] ** 2, p1=r1[sl], p2=zero[sl], q1=pi1[sl], q2=pi2[sl],
            xy=r1[sl] * pi1[sl], inner_nodes=m_in, h=h, lo=lo)
        total += float(wout[sl] @ vals)
    return total / d


def stab_identity_finite_d(n: int, d: int, rho: float, scale="sqrt", *, v_norm: float = 1.0,
                           resolution=None, coarse=None) -> QuadratureStab:
    """Raw ``Stab_rho(f_ij) = E[f_ij(X) f_ij(Y)]`` of one softmax attention layer with identity
    query-key matrix, exactly in ``d`` up to a quadrature error that is estimated.

    Parameters
    ----------
    n, d : int
        Tokens (1 to 10^7; the cost does not depend on n) and channels (``>= 1``).
    rho : float
        Gaussian noise correlation in ``[-1, 1]`` on all ``n d`` coordinates.
    scale : ``"sqrt"`` (``1/sqrt(d)``), ``"linear"`` (``1/d``), ``"none"`` or a number.
    v_norm : float
        ``||(W_V)_{:,j}||``; the result scales as its square.
    resolution, coarse : tuple, optional
        ``(nodes for r1, g, r2, inner nodes, Laplace step)`` of the reported value and of the
        coarser evaluation whose difference is the error estimate (defaults :data:`FINE`,
        :data:`COARSE`; :data:`FINE_D1`, :data:`COARSE_D1` for ``d = 1``). About 3 s at the
        defaults for ``d >= 2``, whatever ``n``.

    Returns
    -------
    QuadratureStab

    Examples
    --------
    One token attends to itself: ``Stab = rho`` exactly; independent copies give 0:

    >>> round(stab_identity_finite_d(1, 8, 0.3).value, 15)
    0.3
    >>> abs(stab_identity_finite_d(2, 8, 0.0).value) < 1e-12
    True
    >>> r = stab_identity_finite_d(2, 4, 0.5, scale="none")
    >>> round(r.value, 5), r.error < 1e-5
    (0.48626, True)

    A numeric scale above 1 (logits stronger than unscaled) is refused, not mis-integrated:

    >>> try:
    ...     stab_identity_finite_d(4, 1, 0.5, scale=16.0)
    ... except NSTheoryError as exc:
    ...     print(str(exc)[:57])
    the identity route needs a logit scale t <= 1 (1/sqrt(d),
    """
    n, d, rho, t, v_norm = _identity_args(n, d, rho, scale, v_norm)
    resolution, coarse = _resolutions(d, resolution, coarse)
    fine = _finite(_stab_at(n, d, rho, t, resolution), "identity-W Stab")
    rough = _finite(_stab_at(n, d, rho, t, coarse), "identity-W Stab")
    v2 = v_norm * v_norm
    params = dict(n=n, d=d, rho=rho, scale=scale, t=t, v_norm=v_norm,
                  resolution=list(resolution), coarse_resolution=list(coarse))
    return QuadratureStab(v2 * fine, v2 * abs(fine - rough), v2 * rough, params,
                        "raw Stab E[f_ij(X) f_ij(Y)], identity W, deterministic quadrature")


def _self_weight_at(n, d, t, resolution):
    from numpy.polynomial.hermite_e import hermegauss

    from nstheory.attention.quadrature import chi2_gauss_rule
    from nstheory.attention.softmax_conditional import laplace_rule

    if n == 1:
        return 1.0
    m1, _, _, m_in, h = resolution
    x, wx = chi2_gauss_rule(m1, d)
    z, wz = hermegauss(m_in)
    wz = wz / math.sqrt(2 * math.pi)
    s, ws = laplace_rule(h, lo=_laplace_floor(n - 1, d, t, m1, z, wz))
    r = np.sqrt(x)[:, None]
    A = np.exp(t * (r * z[None, :] - r * r))  # (P, Z)
    Z = np.einsum("psz,z->ps", np.exp(-s[None, :, None] * A[:, None, :]), wz)
    return float(np.einsum("p,ps,s->", wx, Z ** (n - 1), ws))


def self_weight_identity_finite_d(n: int, d: int, scale="sqrt", *, resolution=None,
                                  coarse=None) -> QuadratureStab:
    """The mean self-weight ``w = E[a_ii]`` of identity-``W`` softmax attention at finite ``d``
    (``a_ii = 1 / (1 + sum_l e^{t(x_i.x_l - |x_i|^2)})``), by the Laplace factorisation of
    :func:`stab_identity_finite_d` (a two-dimensional integral for every ``n``).

    Examples
    --------
    >>> self_weight_identity_finite_d(1, 16).value
    1.0
    >>> r = self_weight_identity_finite_d(4, 1024)
    >>> 1 - r.value < 1e-8, r.error < 1e-7
    (True, True)
    """
    n, d, _, t, _ = _identity_args(n, d, 0.0, scale, 1.0)
    resolution, coarse = _resolutions(d, resolution, coarse)
    fine = _finite(_self_weight_at(n, d, t, resolution), "self-weight")
    rough = _finite(_self_weight_at(n, d, t, coarse), "self-weight")
    params = dict(n=n, d=d, scale=scale, t=t, resolution=list(resolution),
                  coarse_resolution=list(coarse))
    return QuadratureStab(fine, abs(fine - rough), rough, params,
                        "mean self-weight E[a_ii], identity W, deterministic quadrature")
