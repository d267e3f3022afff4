r"""Certified (arb) enclosure of the 1/width-corrected stability of residual and LayerNorm models.

Extends :mod:`~nstheory.propagation.finite_width_enclosure` (plain ``Dense -> relu|identity``
stacks) to every model the float recursion (:mod:`~nstheory.propagation.finite_width`) covers
with ReLU, erf, tanh, GELU, SiLU, softplus or identity activations: LayerNorm (no affine,
``eps = 0``) after a block, residual blocks ``h + Dense(s_out) relu(Dense(s_in) [LN] h)`` with
or without pre-LN, post-LN residual blocks, and transformer blocks with the identity attention
pattern (to all orders in ``1/width`` a per-token value projection, see
:mod:`~nstheory.propagation.finite_width`).

What is enclosed: per block, the mean-field value ``v``, the coefficient ``c`` of ``1/N`` and the
*truncated expansion* ``v + c / N``; the ``O(1/N^2)`` remainder is **not** inside the ball.

The state is one input pair's statistics: the kernel entries ``(K_XX, K_XY, K_YY)`` and the two
channel means ``(m_X, m_Y)`` (LayerNorm subtracts the empirical channel mean, whose ``1/N``
fluctuation shifts the normalised kernel). These five are closed under every rule: the raw
view's coefficient needs nothing else, whatever the number of input pairs per network.

The normalised view with ``P > 1`` input pairs per network (``per_net`` pairs, times the tokens
of an identity-pattern transformer, which never mix) also needs the vertex ``W`` between two
independent pairs seen by the same network (the covariance of the per-network averages is
``V / P + (1 - 1/P) W``), and with it the cross-pair mean kernel ``e``. ``W[i][j]`` pairs a
statistic of one pair with one of the other; its source needs ``E[phi_0^a phi_1^b phi_2^c
phi_3^d]`` over the four-input covariance ``[[q, c, e, e], [c, q, e, e], [e, e, q, c], [e, e, c,
q]]``:

* for ReLU, the two-input ones by :func:`~nstheory.propagation.finite_width_enclosure.
  relu_pair_moment_arb` at correlation ``e / q``, the three-input ones ``E[phi_0 phi_1
  phi_2^k]`` by the one-dimensional certified integral :func:`~nstheory.propagation.
  finite_width_enclosure.relu_cross_moment_arb`; for the identity, Isserlis;
* ``E[phi_0 phi_1 phi_2 phi_3]`` (both statistics ``K_XY``, a four-dimensional integral) is not
  needed by any rule: the Jacobians that would carry it into the statistic's entries have
  exactly-zero coefficients, which the products skip, so it is kept as the ball of all reals
  (were it ever used, the result would be infinite, never silently wrong);
* LayerNorm maps ``e`` like any off-diagonal entry and ``W`` by its Jacobian on both sides;
  a residual block adds the same terms as for ``V`` (the skip-branch covariance and the output
  weights' Isserlis term with the four-input kernels).

GELU, SiLU, softplus: the two-input moments at covariance ``e`` come from the smooth-activation
cross maps, the three-input ones from the same shared-factor integral,
:func:`~nstheory.propagation.smooth_enclosure.gelu_cross_moment_arb` (GELU's Gaussian smoothing
is a closed form plus one Owen ``T`` integral; ~0.1 s) and
:func:`~nstheory.propagation.smooth_enclosure.smooth_cross_moment_arb` (SiLU, softplus: nested
numerical smoothing with strip-bound tails; 1-6 s per moment). Odd activations (erf, tanh,
identity) keep the independent, centred pairs exactly uncorrelated (``e = 0``): every cross
moment factorises, ``W`` has no source and stays 0.

Every ingredient is exact or a ball, with no float constant on the path:

* ReLU: the arc-cosine kernel map with its SymPy gradient and Hessian
  (:func:`~nstheory.propagation.finite_width_enclosure.relu_map_arb`); the channel mean
  ``sqrt(q / (2 pi))`` and its derivatives in closed form (:func:`relu_mean_arb`); the
  moments ``E[relu(u)^a relu(v)^b]``, ``a + b <= 4``: the one-dimensional ones in closed form
  (``E relu(z)^n = 2^(n/2) Gamma((n+1)/2) / (2 sqrt(pi))``), the mixed ones by the certified
  quadrature :func:`~nstheory.propagation.finite_width_enclosure.relu_pair_moment_arb`;
* erf: the Williams arcsine map with SymPy derivatives and the fourth moments by certified
  one-dimensional integrals (:mod:`~nstheory.propagation.erf_enclosure`); its channel means
  and third moments vanish (odd activation);
* tanh, GELU, SiLU, softplus: every ingredient a certified Hermite cross kernel map with its
  rigorous tail, derivatives by Price's theorem and the heat equation
  (:mod:`~nstheory.propagation.smooth_enclosure`);
* LayerNorm: ``(k_ab - m_a m_b) / sqrt((k_aa - m_a^2)(k_bb - m_b^2))`` with its SymPy gradient and
  Hessian lambdified for arb balls (:func:`layernorm_map_arb`);
* values and gradients are evaluated at the midpoints and widened by the mean-value form, so
  the mean-field radius grows only like the map's Lipschitz constant per layer.

Examples
--------
>>> from nstheory.propagation.model import mlp
>>> rows = finite_width_enclosure_blocks(mlp(3, residual=True, layernorm=True), 0.9)
>>> rows[-1].mean_field_normalised        # doctest: +ELLIPSIS
[0.90...
>>> bool(rows[-1].corrected_normalised(128).rad() < 1e-12)
True
"""

from __future__ import annotations

from functools import cache

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.propagation.finite_width import _steps
from nstheory.propagation.finite_width_enclosure import (
    ENCLOSED,
    EnclosureRow,
    _row,
    _spread,
    ball_lambdify,
    mean_value_widen,
    relu_map_arb,
    relu_pair_moment_arb,
)
from nstheory.propagation.model import Model, require_zero_eps
from nstheory.propagation.smooth_enclosure import SMOOTH_ENCLOSED

#: the tracked statistics of one input pair: kernel entries, then channel means
PAIR_ENTRIES = ("XX", "XY", "YY", "X", "Y")
_XX, _XY, _YY, _MX, _MY = range(5)
_KERNEL = (_XX, _XY, _YY)
_N = len(PAIR_ENTRIES)
#: activations covered here
BLOCK_ENCLOSED = (*ENCLOSED, "erf", *SMOOTH_ENCLOSED)
#: odd activations: independent centred inputs stay uncorrelated (cross-pair kernel 0 exactly)
_ODD = ("identity", "erf", "tanh")
#: activations whose three-input moments are enclosed (the cross-pair vertex at ``e != 0``)
CROSS_ENCLOSED = ("relu", "gelu", "silu", "softplus", "identity")
#: those whose three-input moments are nested numerical integrals (seconds per block)
SLOW_CROSS = ("silu", "softplus")
#: the number of input-X and input-Y factors of each statistic (a monomial in h(X), h(Y))
_COUNTS = ((2, 0), (1, 1), (0, 2), (1, 0), (0, 1))


def _zeros(n=_N):
    from flint import arb

    return [arb(0) for _ in range(n)]


def _zero_matrix():
    return [_zeros() for _ in range(_N)]


def _matmul(A, B):
    return [[sum((A[i][k] * B[k][j] for k in range(_N)), _zeros(1)[0]) for j in range(_N)]
            for i in range(_N)]


def _transpose(A):
    return [[A[j][i] for j in range(_N)] for i in range(_N)]


def _sandwich(J, V):
    """``J V J^T``."""
    return _matmul(_matmul(J, V), _transpose(J))


def _vertex(moments, F):
    """``N Cov`` of the statistics of i.i.d. channels: ``E[s_i s_j] - F_i F_j``."""
    return [[moments[tuple(a + b for a, b in zip(_COUNTS[i], _COUNTS[j], strict=True))]
             - F[i] * F[j] for j in range(_N)] for i in range(_N)]


def _gaussian_moments(q, c):
    """``E[u^a v^b]``, ``2 <= a + b <= 4``, for centred Gaussians (variances ``q``, covariance
    ``c``): Isserlis; the odd ones vanish."""
    from flint import arb

    z = arb(0)
    return {(2, 0): q, (1, 1): c, (0, 2): q, (3, 0): z, (2, 1): z, (1, 2): z, (0, 3): z,
            (4, 0): 3 * q * q, (3, 1): 3 * q * c, (1, 3): 3 * q * c,
            (2, 2): q * q + 2 * c * c, (0, 4): 3 * q * q}


def relu_mean_arb(q):
    """The ReLU channel mean ``E relu(sqrt(q) z) = sqrt(q / (2 pi))`` and its first and second
    derivatives in ``q`` (arb balls; mean-value widened like
    :func:`~nstheory.propagation.finite_width_enclosure.relu_map_arb`).

    Examples
    --------
    >>> from flint import arb
    >>> m, d1, d2 = relu_mean_arb(arb(2))
    >>> m.overlaps(1 / arb.pi().sqrt()), d1.overlaps(1 / (4 * arb.pi().sqrt()))
    (True, True)
    """
    from flint import arb

    def parts(x):
        m = (x / (2 * arb.pi())).sqrt()
        return m, m / (2 * x), -m / (4 * x * x)

    m, d1, _ = parts(arb(q.mid()))
    _, d1b, d2b = parts(q)
    m, (d1,) = mean_value_widen((q,), m, [d1], [d1b], [[d2b]])
    return m, d1, d2b


def _relu_moments(q, c, val, prec):
    """``E[relu(u)^a relu(v)^b]``, ``2 <= a + b <= 4``, variances ``q``, covariance ``c``;
    ``val`` the enclosed kernel map ``E[relu(u) relu(v)]``."""
    from flint import arb

    r = c / q
    if not (r < 1 and r > -1):
        raise NSTheoryError(f"the correlation ball {r} is not certified inside (-1, 1)")
    # at the midpoint, widened by a bound on |dM/dr| (Price: dM_jk/dr = jk E[relu^(j-1)(u)
    # relu^(k-1)(v)], relu^0 read as 1{> 0}): 2 E relu <= 1, 3 E relu^2 = 3/2, 4 E relu relu <= 2
    rm, dr = arb(r.mid()), _spread(r)
    m21 = relu_pair_moment_arb(2, 1, rm, prec) + dr
    m31 = relu_pair_moment_arb(3, 1, rm, prec) + arb(3) / 2 * dr
    m22 = relu_pair_moment_arb(2, 2, rm, prec) + 2 * dr
    q32 = q * q.sqrt()
    q2 = q * q
    # E relu(z)^3 = 2 / sqrt(2 pi), E relu(z)^4 = 3 / 2
    third = q32 * 2 / (2 * arb.pi()).sqrt()
    return {(2, 0): q / 2, (1, 1): val, (0, 2): q / 2, (3, 0): third, (0, 3): third,
            (2, 1): q32 * m21, (1, 2): q32 * m21, (4, 0): q2 * 3 / 2, (0, 4): q2 * 3 / 2,
            (3, 1): q2 * m31, (1, 3): q2 * m31, (2, 2): q2 * m22}


class _State:
    """``g``, ``mu`` (lists of 5 balls) and ``V`` (5 x 5 balls) of one input pair; ``e`` (the
    mean-field kernel between inputs of two independent pairs) and ``W`` (5 x 5: ``N Cov`` of a
    statistic of one pair and a statistic of the other), or ``None`` where not tracked."""

    __slots__ = ("V", "W", "e", "g", "mu")

    def __init__(self, g, mu, V, e=None, W=None):
        self.g, self.mu, self.V, self.e, self.W = g, mu, V, e, W


def _input_state(rho, cross: bool):
    """The inputs' state; ``cross``: track two independent pairs (needed with more than one
    pair per network): independent Gaussian inputs, so no cross kernel and no cross vertex."""
    from flint import arb

    g = [arb(1), rho, arb(1), arb(0), arb(0)]
    V = _vertex(_gaussian_moments(g[_XX], g[_XY]), g)
    return _State(g, _zeros(), V, arb(0), _zero_matrix()) if cross else _State(g, _zeros(), V)


def _unknown():
    """The ball of every real number (an entry that is not enclosed)."""
    from flint import arb

    return arb(0, float("inf"))


def _cross_sandwich(A, W, B):
    """``A W B^T`` skipping the exactly-zero entries of ``A`` and ``B``: an entry of ``W`` that
    is not enclosed (:func:`_unknown`) then only reaches the products that really use it."""
    from flint import arb

    out = _zero_matrix()
    for i in range(_N):
        for j in range(_N):
            acc = arb(0)
            for k in range(_N):
                if A[i][k].is_zero():
                    continue
                for m in range(_N):
                    if not B[j][m].is_zero():
                        acc += A[i][k] * W[k][m] * B[j][m]
            out[i][j] = acc
    return out


def _identity_matrix():
    from flint import arb

    return [[arb(int(i == j)) for j in range(_N)] for i in range(_N)]


def _cross_source(name, Q, C, E, F, prec):
    """``(S, e)``: ``S[i][j] = E[s_i(pair 1) s_j(pair 2)] - F_i F_j`` for pre-activation
    variances ``Q``, within-pair covariance ``C`` and cross-pair covariance ``E``, and the next
    cross-pair kernel ``e = E[phi_0 phi_2]``; ``None`` for an activation whose cross moments are
    not enclosed. ``E[phi_0 phi_1 phi_2 phi_3]`` (both statistics ``XY``: a four-dimensional
    integral) is left :func:`_unknown`; no rule needs it."""
    from flint import arb

    from nstheory.propagation.finite_width_enclosure import relu_cross_moment_arb

    if E.is_zero():   # independent pairs: every cross moment factorises, S = 0 exactly, and
        # E[phi(u) phi(v)] = (E phi)^2, 0 if phi is odd
        return _zero_matrix(), arb(0) if name in _ODD else F[_MX] * F[_MX]
    if name not in CROSS_ENCLOSED:
        return None
    cov = [[Q, C, E, E], [C, Q, E, E], [E, E, Q, C], [E, E, C, Q]]
    if name != "identity" and not (C < Q and abs(E).lower() <= C.upper()):
        raise NSTheoryError(f"cross-pair moments need |e| <= c < q; got q={Q}, c={C}, e={E}")
    if name == "relu":
        r, t = C / Q, E / Q
        pair = {(1, 1): relu_map_arb(Q, E)[0]}
        for p1, p2 in ((2, 1), (2, 2)):
            pair[(p2, p1)] = pair[(p1, p2)] = (Q ** (arb(p1 + p2) / 2)
                                               * relu_pair_moment_arb(p1, p2, t, prec))

        def triple(p):
            return Q ** (arb(2 + p) / 2) * relu_cross_moment_arb(p, r, t, prec)
    elif name != "identity":   # GELU, SiLU, softplus (the identity uses Isserlis below)
        from nstheory.propagation.smooth_enclosure import (
            gelu_cross_moment_arb,
            smooth_cross_moment_arb,
            smooth_ingredients,
        )

        pair = smooth_ingredients(name, Q, E, prec).moments

        def triple(p):
            if name == "gelu":   # closed-form smoothing: fast
                return gelu_cross_moment_arb(p, Q, C, E, prec)
            return smooth_cross_moment_arb(name, p, Q, C, E, prec)

    @cache
    def moment(one, two):
        if one == (1, 1) and two == (1, 1):
            return _unknown()
        if (1, 1) in (one, two):
            return triple(sum(two if one == (1, 1) else one))
        return pair[(sum(one), sum(two))]

    S = _zero_matrix()
    for i in range(_N):
        for j in range(_N):
            one, two = _COUNTS[i], _COUNTS[j]
            if name == "identity":
                m = _isserlis(cov, [0] * one[0] + [1] * one[1] + [2] * two[0] + [3] * two[1])
            else:   # by symmetry only the powers on each side matter
                m = moment((1, 1) if one == (1, 1) else (sum(one), 0),
                           (1, 1) if two == (1, 1) else (sum(two), 0))
            S[i][j] = m - F[i] * F[j]
    return S, E if name == "identity" else pair[(1, 1)]


def _isserlis(cov, idx):
    """``E prod_k z_{idx[k]}`` for a centred Gaussian vector (at most four factors)."""
    from flint import arb

    if len(idx) % 2:
        return arb(0)
    if len(idx) == 2:
        return cov[idx[0]][idx[1]]
    a, b, c, d = idx
    return cov[a][b] * cov[c][d] + cov[a][c] * cov[b][d] + cov[a][d] * cov[b][c]


def _activation(name, s2, st, prec):
    """``Dense(s2) -> Act(name)``: the new state and the Jacobian ``J`` of the conditional mean
    of the output statistics in the pre-activation kernel ``G = s2 K``."""
    from flint import arb

    Q, C = s2 * st.g[_XX], s2 * st.g[_XY]   # K_XX = K_YY exactly (the model is symmetric)
    s4 = s2 * s2
    J = _zero_matrix()
    hv = _zeros()
    V = st.V
    if name == "relu":
        val, grad, hess = relu_map_arb(Q, C)
        m, m1, m2 = relu_mean_arb(Q)
        F = [Q / 2, val, Q / 2, m, m]
        J[_XX][_XX] = J[_YY][_YY] = arb(1) / 2
        J[_MX][_XX] = J[_MY][_YY] = m1
        # the map's arguments (q1, q2, c) are the entries (XX, YY, XY)
        args = (_XX, _YY, _XY)
        for k in range(3):
            J[_XY][args[k]] = grad[k]
        hv[_XY] = s4 * sum(hess[i][j] * V[args[i]][args[j]] for i in range(3) for j in range(3))
        hv[_MX] = m2 * s4 * V[_XX][_XX]
        hv[_MY] = m2 * s4 * V[_YY][_YY]
        mom = _relu_moments(Q, C, val, prec)
    elif name == "erf":
        from nstheory.propagation.erf_enclosure import erf_map_arb, erf_moments_arb

        if not abs(C) < Q:
            raise NSTheoryError(f"the correlation ball {C / Q} is not certified inside (-1, 1)")
        val, grad, hess, f2, f2d1, f2d2 = erf_map_arb(Q, C)
        F = [f2, val, f2, arb(0), arb(0)]   # erf is odd: channel means 0 exactly
        J[_XX][_XX] = J[_YY][_YY] = f2d1
        args = (_XX, _YY, _XY)
        for k in range(3):
            J[_XY][args[k]] = grad[k]
        hv[_XX] = f2d2 * s4 * V[_XX][_XX]
        hv[_YY] = f2d2 * s4 * V[_YY][_YY]
        hv[_XY] = s4 * sum(hess[i][j] * V[args[i]][args[j]] for i in range(3) for j in range(3))
        z = arb(0)
        mom = {(2, 0): f2, (1, 1): val, (0, 2): f2, (3, 0): z, (2, 1): z, (1, 2): z, (0, 3): z,
               **erf_moments_arb(Q, C, prec)}
    elif name in SMOOTH_ENCLOSED:
        from nstheory.propagation.smooth_enclosure import smooth_ingredients

        ing = smooth_ingredients(name, Q, C, prec)
        F = [ing.f2, ing.value, ing.f2, ing.mean, ing.mean]
        J[_XX][_XX] = J[_YY][_YY] = ing.f2_d1
        J[_MX][_XX] = J[_MY][_YY] = ing.mean_d1
        args = (_XX, _YY, _XY)
        for k in range(3):
            J[_XY][args[k]] = ing.grad[k]
        hv[_XX] = ing.f2_d2 * s4 * V[_XX][_XX]
        hv[_YY] = ing.f2_d2 * s4 * V[_YY][_YY]
        hv[_MX] = ing.mean_d2 * s4 * V[_XX][_XX]
        hv[_MY] = ing.mean_d2 * s4 * V[_YY][_YY]
        hv[_XY] = s4 * sum(ing.hess[i][j] * V[args[i]][args[j]]
                           for i in range(3) for j in range(3))
        mom = ing.moments
    elif name == "identity":
        F = [Q, C, Q, arb(0), arb(0)]
        for k in _KERNEL:
            J[k][k] = arb(1)
        mom = _gaussian_moments(Q, C)
    else:
        raise NSTheoryError(f"the arb enclosure covers {'/'.join(BLOCK_ENCLOSED)} activations "
                            f"only; got {name!r}")
    JV = _sandwich(J, V)
    mu = [s2 * sum((J[i][k] * st.mu[k] for k in range(_N)), arb(0)) + hv[i] / 2
          for i in range(_N)]
    S = _vertex(mom, F)
    e = W = None
    cross = None if st.W is None else _cross_source(name, Q, C, s2 * st.e, F, prec)
    if cross is not None:
        Sx, e = cross
        JWJ = _cross_sandwich(J, st.W, J)
        W = [[Sx[i][j] + s4 * JWJ[i][j] for j in range(_N)] for i in range(_N)]
    return _State(F, mu, [[S[i][j] + s4 * JV[i][j] for j in range(_N)] for i in range(_N)],
                  e, W), J


@cache
def _layernorm_fn():
    """SymPy value, gradient and Hessian of the LayerNorm'ed kernel entry in
    ``(k_ab, k_aa, k_bb, m_a, m_b)``, lambdified for arb balls (:func:`~nstheory.propagation.
    finite_width_enclosure.ball_lambdify`)."""
    import sympy as sp

    xs = sp.symbols("k_ab k_aa k_bb m_a m_b", real=True)
    kab, kaa, kbb, ma, mb = xs
    f = (kab - ma * mb) / sp.sqrt((kaa - ma**2) * (kbb - mb**2))
    grad = [sp.diff(f, x) for x in xs]
    hess = [[sp.diff(g, y) for y in xs] for g in grad]
    return ball_lambdify(xs, [f, grad, hess], {"sqrt": lambda x: x.sqrt()}, "LayerNorm map")


def layernorm_map_arb(kab, kaa, kbb, ma, mb):
    """LayerNorm'ed kernel entry ``(k_ab - m_a m_b) / sqrt((k_aa - m_a^2)(k_bb - m_b^2))``, its
    gradient and Hessian in ``(k_ab, k_aa, k_bb, m_a, m_b)`` (arb balls; SymPy derivatives).

    Value and gradient are taken at the midpoints and widened by the mean-value form (the next
    derivative on the whole box times the radii); the Hessian is evaluated on the balls.

    Examples
    --------
    Without channel means the map is the cosine ``k_ab / sqrt(k_aa k_bb)``, whose derivative
    in ``k_aa`` is ``-k_ab / (2 k_aa^(3/2) k_bb^(1/2))``:

    >>> from flint import arb
    >>> val, grad, hess = layernorm_map_arb(arb(1), arb(4), arb(1), arb(0), arb(0))
    >>> val.contains(arb(1) / 2), grad[1].contains(-arb(1) / 16)
    (True, True)
    """
    from flint import arb

    fn = _layernorm_fn()
    xs = (kab, kaa, kbb, ma, mb)
    val, grad, _ = fn(*(arb(x.mid()) for x in xs))
    _, gb, hess = fn(*xs)
    hess = [[arb(h) for h in row] for row in hess]   # SymPy's zero derivatives come back as 0
    val, grad = mean_value_widen(xs, val, grad, gb, hess)
    return val, grad, hess


def _layernorm(st):
    """LayerNorm of the state (delta method) and its Jacobian ``D``."""
    from flint import arb

    for k in (_XX, _YY):
        if not st.g[k] - st.g[_MX + (k == _YY)] ** 2 > 0:
            raise NSTheoryError("LayerNorm needs a channel variance certified > 0")
    args = (_XY, _XX, _YY, _MX, _MY)
    val, grad, hess = layernorm_map_arb(*(st.g[k] for k in args))
    D = _zero_matrix()
    for i, k in enumerate(args):
        D[_XY][k] = grad[i]
    mu = _zeros()
    mu[_XY] = (sum((grad[i] * st.mu[k] for i, k in enumerate(args)), arb(0))
               + sum(hess[i][j] * st.V[args[i]][args[j]] for i in range(5) for j in range(5))
               / 2)
    g = [arb(1), val, arb(1), arb(0), arb(0)]   # diagonal exactly 1, means exactly 0
    e = W = None
    if st.W is not None:   # the cross entry normalised by the same map; no source term
        e = layernorm_map_arb(st.e, st.g[_XX], st.g[_YY], st.g[_MX], st.g[_MY])[0]
        W = _cross_sandwich(D, st.W, D)
    return _State(g, mu, _sandwich(D, st.V), e, W), D


def _residual(st, act, s_in, s_out, ln, prec):
    """``h -> h + W2 act(W1 [LN] h)`` (``act=None``: the linear branch ``h + W [LN] h``), the
    same rule as :func:`~nstheory.propagation.finite_width.residual_step`."""

    if ln:
        x, Jin = _layernorm(st)
    else:
        x, Jin = st, _identity_matrix()
    if act is None:
        phi, T = x, Jin
    else:
        phi, J = _activation(act, s_in, x, prec)
        T = [[s_in * t for t in row] for row in _matmul(J, Jin)]
    s2 = s_out
    kern = set(_KERNEL)

    def combine(V, C, out, Vphi):
        return [[V[i][j] + out[i][j]
                 + s2 * ((C[i][j] if j in kern else 0) + (C[j][i] if i in kern else 0))
                 + (s2 * s2 * Vphi[i][j] if i in kern and j in kern else 0)
                 for j in range(_N)] for i in range(_N)]

    C = _matmul(st.V, _transpose(T))   # N Cov(skip statistics, branch conditional mean)
    g = [st.g[i] + (s2 * phi.g[i] if i in kern else 0) for i in range(_N)]
    mu = [st.mu[i] + (s2 * phi.mu[i] if i in kern else 0) for i in range(_N)]
    V = combine(st.V, C, _branch_output_vertex(st.g, phi.g, s2), phi.V)
    e = W = None
    if phi.W is not None:   # the same rule between two independent pairs (W is symmetric)
        e = st.e + s2 * phi.e
        Cx = _cross_sandwich(_identity_matrix(), st.W, T)
        W = combine(st.W, Cx, _branch_output_vertex(st.g, phi.g, s2, (st.e, phi.e)), phi.W)
    return _State(g, mu, V, e, W)


def _kernel4(g, e):
    """The four-input kernel of two pairs (inputs 0, 1 and 2, 3) with cross entries ``e``."""
    xx, xy, yy = g[_XX], g[_XY], g[_YY]
    return [[xx, xy, e, e], [xy, yy, e, e], [e, e, xx, xy], [e, e, xy, yy]]


def _branch_output_vertex(g, gphi, s2, cross=None):
    """``N Cov`` of ``B + X + X^T`` and the branch's channel means given the rest (see
    :func:`~nstheory.propagation.finite_width.residual_step`); with ``cross = (e, e_phi)``
    (the skip's and the branch's cross-pair kernels) between a statistic of one pair and one
    of an independent pair seen by the same network."""
    from flint import arb

    e, ephi = cross if cross is not None else (arb(0), arb(0))
    k, kp = _kernel4(g, e), _kernel4(gphi, ephi)
    m = [g[_MX], g[_MY]] * 2
    shift = 2 if cross is not None else 0   # the column statistic's inputs
    ids = [[0] * a + [1] * b for a, b in _COUNTS]   # the inputs of each statistic
    out = _zero_matrix()
    for i in range(_N):
        for j in range(_N):
            ei, ej = ids[i], [x + shift for x in ids[j]]
            if len(ei) == 2 and len(ej) == 2:
                (a, b), (c, d) = ei, ej
                out[i][j] = (s2 * s2 * (kp[a][c] * kp[b][d] + kp[a][d] * kp[b][c])
                             + s2 * (k[a][c] * kp[b][d] + k[a][d] * kp[b][c]
                                     + k[b][c] * kp[a][d] + k[b][d] * kp[a][c]))
            elif len(ei) == 1 and len(ej) == 1:
                out[i][j] = s2 * kp[ei[0]][ej[0]]
            else:
                (a,), (c, d) = (ei, ej) if len(ei) == 1 else (ej, ei)
                out[i][j] = s2 * (m[c] * kp[a][d] + m[d] * kp[a][c])
    return out


def finite_width_enclosure_blocks(model: Model, rho: float, prec: int = 53,
                                  per_net: int = 1) -> list[EnclosureRow]:
    """Arb enclosures of the 1/width recursion after every block, for models with
    ReLU/erf/tanh/GELU/SiLU/softplus/identity activations, LayerNorm, residual blocks (with or
    without pre-LN) and identity-pattern attention.

    Parameters
    ----------
    model : Model
        Any model the float recursion covers whose activations are ``relu``, ``erf``,
        ``tanh``, ``gelu``, ``silu``, ``softplus`` or ``identity``.
    rho : float
        Input correlation in ``[0, 1)``.
    prec : int, optional
        Working precision in bits (at least 20).

    Returns
    -------
    list of EnclosureRow
        ``coef_raw`` for any number of input pairs per network; ``coef_normalised`` for
        ``per_net`` pairs per network (times the tokens: each is one more pair).

    Raises
    ------
    NSTheoryError
        For other activations or layers, ``rho`` outside ``[0, 1)``, a correlation that
        reaches 1 within the ball, or a channel variance not certified positive.

    Examples
    --------
    LayerNorm of the N(0, 1) inputs makes ``K_XY`` the sample (Pearson) correlation of ``N``
    pairs, whose mean is ``rho - rho (1 - rho^2) / (2 N) + O(1/N^2)`` (Fisher, 1915); after a
    Dense(1) layer the layer's weights add a second sample, ``-rho (1 - rho^2) / N``:

    >>> from flint import arb
    >>> from nstheory.propagation.model import Dense, LayerNorm, Model
    >>> row = finite_width_enclosure_blocks(Model(((LayerNorm(),),)), 0.5)[0]
    >>> row.coef_raw.contains(arb(-3) / 16), bool(row.coef_raw.rad() < 1e-14)
    (True, True)
    >>> row = finite_width_enclosure_blocks(Model(((Dense(1.0), LayerNorm()),)), 0.5)[0]
    >>> row.coef_raw.contains(arb(-3) / 8)
    True
    """
    require_zero_eps(model, "the finite-width enclosure")
    from flint import arb

    from nstheory.numerics import arb_precision

    prec = check_int(prec, "prec", lo=20)
    per_net = check_int(per_net, "per_net", lo=1)
    check_rho(rho)
    if not 0 <= rho < 1:
        raise NSTheoryError(f"finite-width enclosure needs rho in [0, 1), got {rho}")
    # identity-pattern attention: the tokens never mix, each is one more pair per network
    pairs = per_net * model.n_tokens
    blocks = _steps(model)
    for steps in blocks:
        for name, spec in steps:
            act = spec[1] if name == "residual" else name
            if act not in (*BLOCK_ENCLOSED, None, "layernorm"):
                raise NSTheoryError(f"the arb enclosure covers {'/'.join(BLOCK_ENCLOSED)} "
                                    f"activations only; got {act!r}")
    out = []
    with arb_precision(bits=prec):
        st = _input_state(arb(rho), cross=pairs > 1)
        for li, steps in enumerate(blocks, start=1):
            for name, spec in steps:
                if name == "layernorm":
                    st = _layernorm(st)[0]
                elif name == "residual":
                    ln, act, s_in, s_out = spec
                    st = _residual(st, act, arb(s_in), arb(s_out), ln, prec)
                else:
                    st = _activation(name, arb(spec), st, prec)[0]
            out.append(_row(li, st.g, st.mu, st.V, st.W, pairs))
    return out


def enclosure_columns(model: Model, rho: float, width: int, per_net: int,
                      max_depth: int = 200, digits: int = 12, max_smooth_depth: int = 30,
                      max_cross_depth: int = 60, max_slow_cross_depth: int = 3):
    """Outward-rounded decimal bounds for the finite-width table, or a reason why none.

    Covers every model of :func:`finite_width_enclosure_blocks` (plain, residual, LayerNorm and
    identity-pattern transformer blocks with ReLU/erf/tanh/GELU/SiLU/softplus/identity
    activations).

    Parameters
    ----------
    model : Model
        The architecture.
    rho : float
        Input correlation in ``[0, 1)``.
    width : int
        Channels ``N`` (at least 2).
    per_net : int
        Input pairs per random network in the statistic (at least 1).
    max_depth : int, optional
        Deeper models are skipped (the enclosure costs about 10 ms per block).
    digits : int, optional
        Significant digits of the bounds.
    max_smooth_depth : int, optional
        The depth limit for models with tanh/GELU/SiLU/softplus activations (about 0.1 s per
        block; more where the correlation nears 1).
    max_cross_depth : int, optional
        With more than one input pair per network (``per_net > 1`` or several tokens), the
        normalised view's enclosure needs the cross-pair vertex (about 0.1 s per ReLU or GELU
        block); deeper models get the raw view only.
    max_slow_cross_depth : int, optional
        The same limit for models with SiLU or softplus blocks (several seconds per block).

    Returns
    -------
    tuple
        ``(rows, note)``: ``rows`` a list of dicts per block with ``corrected_raw_arb`` and
        ``corrected_normalised_arb`` (``[lo, hi]`` strings; the normalised one ``None`` with
        several pairs per network beyond ``max_cross_depth`` or ``max_slow_cross_depth``), or
        ``None`` when the model is not covered (``note`` says why).

    Examples
    --------
    >>> from nstheory.propagation.model import mlp
    >>> rows, note = enclosure_columns(mlp(2, residual=True, layernorm=True), 0.9, 64, 1)
    >>> len(rows), len(rows[0]["corrected_normalised_arb"])
    (2, 2)
    >>> len(enclosure_columns(mlp(2), 0.9, 64, per_net=10)[0][0]["corrected_normalised_arb"])
    2
    >>> enclosure_columns(mlp(61), 0.9, 64, per_net=10)[0][1]["corrected_normalised_arb"]
    """
    from nstheory.numerics import ball_bounds

    width = check_int(width, "width", lo=2)
    per_net = check_int(per_net, "per_net", lo=1)
    if model.depth > max_depth:
        return None, f"arb enclosure skipped: depth {model.depth} > {max_depth}"
    acts = {spec[1] if name == "residual" else name
            for steps in _steps(model) for name, spec in steps}
    if acts & set(SMOOTH_ENCLOSED) and model.depth > max_smooth_depth:
        return None, (f"arb enclosure skipped: depth {model.depth} > {max_smooth_depth} "
                      "(tanh/GELU/SiLU/softplus blocks cost about 0.1 s each)")
    several = per_net * model.n_tokens > 1
    limit = max_slow_cross_depth if acts & set(SLOW_CROSS) else max_cross_depth
    cross = several and model.depth <= limit
    try:
        enc = finite_width_enclosure_blocks(model, rho, per_net=per_net if cross else 1)
    except NSTheoryError as exc:
        return None, f"arb enclosure not available: {exc}"
    rows = [{"corrected_raw_arb": list(ball_bounds(r.corrected_raw(width), digits)),
             "corrected_normalised_arb": (
                 list(ball_bounds(r.corrected_normalised(width), digits))
                 if r.coef_normalised is not None and (cross or not several) else None)}
            for r in enc]
    note = ("arb: certified enclosure (53-bit balls) of the truncated expansion mean field + "
            "coef/width; the O(1/width^2) remainder is NOT inside it; the float64 columns carry "
            "the four-point quadrature's error (~1e-5 of the coefficient at depth 20), so they "
            "may lie just outside the ball")
    if several and not cross:
        note += (f"; the normalised view with several input pairs per network is enclosed up to "
                 f"depth {limit} only here (its cross-pair vertex costs about 0.1 s per ReLU or "
                 "GELU block and several seconds per SiLU or softplus block; "
                 "finite_width_enclosure_blocks(..., per_net=P) has no limit)")
    return rows, note


__all__ = ["BLOCK_ENCLOSED", "PAIR_ENTRIES", "enclosure_columns", "finite_width_enclosure_blocks",
           "layernorm_map_arb", "relu_mean_arb"]
