r"""The 1/width correction to noise stability through depth (mean kernel + four-point vertex).

At width ``N`` the empirical post-activation kernel ``K_ab = (1/N) sum_i h_i(x_a) h_i(x_b)`` of a
random network fluctuates. Following the effective-theory expansion of Roberts, Yaida & Hanin
(*The Principles of Deep Learning Theory*, the mean metric and the four-point vertex), write

.. math::
    E K^\ell = g^\ell + \mu^\ell / N + O(N^{-2}),\qquad
    \mathrm{Cov}(K^\ell_{ab}, K^\ell_{cd}) = V^\ell_{(ab)(cd)} / N + O(N^{-2}).

A block ``Dense(sigma2) -> Act(phi)`` makes the next pre-activations, given the previous layer,
i.i.d. over channels and Gaussian with covariance ``sigma2 K``. With ``F`` the kernel map of
``phi``, ``J`` its Jacobian and ``H`` its Hessian (in the kernel entries) at ``sigma2 g``, and
``S`` the four-point source (:mod:`~nstheory.propagation.four_point`):

.. math::
    g' = F(\sigma^2 g),\quad
    \mu' = \sigma^2 J\mu + \tfrac12 \sigma^4 H : V,\quad
    V' = S(\sigma^2 g) + \sigma^4 J V J^T .

The inputs (i.i.d. N(0, 1) entries, as in the Monte Carlo) start it: ``g^0`` the input kernel,
``mu^0 = 0``, ``V^0_{(ab)(cd)} = g_ac g_bd + g_ad g_bc``. A Dense layer not followed by an
activation is realised as the identity activation (its empirical kernel is reported).
``LayerNorm`` is handled by :func:`layernorm_step` (the channel means are carried for it), a
residual MLP block ``h + Dense(Act(Dense([LN] h)))`` by :func:`residual_step`.

**Attention** (transformer blocks, pre-LN, post-LN or without residual): only the identity
query-key pattern with logit scale ``1/sqrt(width)`` (or none) is covered. Its logits are
``sqrt(N) K_ij`` (``K`` the empirical token kernel of the layer's input), so each row puts weight
``O((n - 1) e^{-sqrt(N) (K_ii - K_ij)})`` off the diagonal: below any power of ``1/N``. To all
orders in ``1/N`` the layer is its value projection, a per-token Dense(``gamma2``) layer, and the
``n`` tokens of an input never mix: they are ``n`` independent pairs seen by the same network
(the statistic's ``per_net`` becomes ``per_net * n_tokens``). This rule is ours; at small widths
(``sqrt(N)`` of a few units) the neglected leakage is not small: the sampled correction of
:mod:`~nstheory.propagation.identity_leakage` adds it back.
Random and low-rank query-key patterns raise a clear error: their pattern fluctuates at finite
width (the hard argmax's near-ties) and that rule is not derived.

**The statistic.** :func:`~nstheory.propagation.torch_model.monte_carlo` estimates, over random
networks, the mean of per-network averages over ``per_net`` input pairs and all channels:

* raw view: ``A = mean_p K_p(X, Y)``, whose mean is ``g_c + mu_c / N``;
* normalised view: ``A / sqrt(B_X B_Y)`` with ``B_X = mean_p K_p(X, X)``: a ratio, whose mean
  at ``O(1/N)`` has, besides ``mu``, the delta-method terms of the covariances of
  ``(A, B_X, B_Y)``. Those mix the same-pair vertex (weight ``1/per_net``) and the vertex
  between two independent pairs seen by the same network (weight ``1 - 1/per_net``); this is why
  the recursion carries four inputs.

The ``O(1/N^2)`` remainder is not computed; :class:`FiniteWidthRow` reports the heuristic scale
``(depth / N) |coef| / N`` (the relative error of the first-order term grows like depth / width,
the book's expansion parameter), a size estimate calibrated on measured ReLU residuals, not a
bound. The corrected value is meaningful while depth / width is small.

Provenance: the recursion for Dense + activation layers is the book's (``textbook:
roberts-yaida-hanin``); the four-input bookkeeping, the ratio statistic and the LayerNorm rule
are ours.

Examples
--------
>>> from nstheory.propagation.model import mlp
>>> rows = finite_width_recursion(mlp(2, sigma2=2.0), 0.9)
>>> round(rows[-1].mean_field_normalised, 6), round(rows[-1].coef_normalised, 4)
(0.917741, -0.0566)
>>> round(rows[-1].corrected_normalised(256), 6)
0.91752
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.propagation.four_point import four_point_moments, kernel_entries, stat_entries
from nstheory.propagation.kernel_derivatives import map_derivatives
from nstheory.propagation.model import Act, Attention, Dense, LayerNorm, Model, Residual

ENTRIES = stat_entries()  # 10 kernel entries (a, b), then 4 channel means (a,)
KERNEL = kernel_entries()
IDX = {e: i for i, e in enumerate(ENTRIES)}
NS = len(ENTRIES)
# entry indices used by the statistic: pair 1 = inputs (0, 1), pair 2 = inputs (2, 3)
_XX, _XY, _YY = IDX[(0, 0)], IDX[(0, 1)], IDX[(1, 1)]
_XX2, _YY2 = IDX[(2, 2)], IDX[(3, 3)]


@dataclass
class FiniteWidthRow:
    """One block: mean-field values and the ``1/N`` coefficients of the Monte Carlo statistic.

    The value at width ``N`` is ``mean_field + coef / N`` (``per_net`` input pairs
    per network, as in the Monte Carlo).

    Parameters
    ----------
    layer : int
        Block index, 1-based.
    mean_field_raw, mean_field_q, mean_field_normalised : float
        Infinite-width raw cross-moment, second moment and normalised stability.
    coef_raw, coef_q, coef_normalised : float
        Their ``1/N`` coefficients.

    Examples
    --------
    >>> row = FiniteWidthRow(3, 0.5, 1.0, 0.5, 0.0, 0.0, -0.5)
    >>> row.corrected_normalised(10), row.remainder_scale(10)   # 0.5 - 0.5/10; (3/10) 0.5/10
    (0.45, 0.015)
    """

    layer: int
    mean_field_raw: float
    mean_field_q: float
    mean_field_normalised: float
    coef_raw: float
    coef_q: float
    coef_normalised: float

    def corrected_raw(self, width: int) -> float:
        """``E[h(X) h(Y)]`` at ``width`` to ``O(1/width)``."""
        return self.mean_field_raw + self.coef_raw / width

    def corrected_normalised(self, width: int) -> float:
        """Mean over networks of the per-network cosine, to ``O(1/width)``."""
        return self.mean_field_normalised + self.coef_normalised / width

    def remainder_scale(self, width: int, view: str = "normalised") -> float:
        """:func:`remainder_scale` of this layer's ``view`` coefficient."""
        coef = self.coef_normalised if view == "normalised" else self.coef_raw
        return remainder_scale(self.layer, coef, width)

    def to_dict(self, width: int | None = None) -> dict:
        d = asdict(self)
        if width is not None:
            d.update(width=width, corrected_raw=self.corrected_raw(width),
                     corrected_normalised=self.corrected_normalised(width),
                     remainder_scale_raw=self.remainder_scale(width, "raw"),
                     remainder_scale_normalised=self.remainder_scale(width))
        return d


def remainder_scale(layer: int, coef: float, width: int) -> float:
    """Heuristic size of the ``O(1/width^2)`` remainder after the ``1/width`` correction,
    ``(layer / width) |coef| / width`` (not a bound).

    Measured (rho = 0.9, normalised view) wherever the Monte Carlo resolved the residual
    ``|MC - corrected|``: 0.3-0.75 of it for ReLU MLPs (widths 16-64, depths 4-20, 20 pairs
    per network; 0.94-1.02 with one pair per network at width 64, layers 8-10, and twice it,
    of the other sign, at layer 1), 0.8-4.7 of it for a GELU MLP with ``sigma2 = 2`` (widths
    32-256, layers 6-10), 0.52-0.80 of it (the Monte Carlo above the corrected value) for
    random query-key transformer blocks (pre- and post-LN, one pair per network, widths 16-32,
    blocks 2-4, wherever resolved): an order-of-magnitude guide only.

    Parameters
    ----------
    layer : int
        Layer or block index (1-based).
    coef : float
        The ``1/width`` coefficient.
    width : int
        The width.

    Returns
    -------
    float

    Examples
    --------
    >>> remainder_scale(3, -0.5, 10)   # (3/10) 0.5/10
    0.015
    """
    return (layer / width) * abs(coef) / width


@dataclass
class KernelState:
    """Mean-field kernel ``g``, its ``1/N`` shift ``mu`` and the vertex ``V``.

    The entries are the kernel entries of two input pairs plus the channel means;
    ``V`` is ``N`` times the covariance of the empirical statistics.

    Parameters
    ----------
    g : numpy.ndarray
        Mean-field statistics.
    mu : numpy.ndarray
        Their ``1/N`` shift.
    V : numpy.ndarray
        The four-input vertex (a symmetric matrix).

    Examples
    --------
    >>> import numpy as np
    >>> st = input_state(0.5)
    >>> st.g.shape == st.mu.shape, st.V.shape == (st.g.size, st.g.size)
    (True, True)
    >>> bool(np.allclose(st.V, st.V.T)), bool(np.all(st.mu == 0))
    (True, True)
    """

    g: np.ndarray
    mu: np.ndarray
    V: np.ndarray


def input_state(rho: float) -> KernelState:
    """Two independent pairs of N(0, 1) inputs, each pair with correlation ``rho``.

    >>> st = input_state(0.5)
    >>> float(st.V[IDX[(0, 0)], IDX[(0, 0)]]), float(st.V[IDX[(0, 1)], IDX[(0, 1)]])
    (2.0, 1.25)
    """
    g4 = np.array([[1, rho, 0, 0], [rho, 1, 0, 0], [0, 0, 1, rho], [0, 0, rho, 1]], float)
    g = np.array([g4[e] if len(e) == 2 else 0.0 for e in ENTRIES])
    return KernelState(g, np.zeros(NS), _gaussian_vertex(g4))


def _gaussian_vertex(g4) -> np.ndarray:
    """``N Cov`` of the statistics of Gaussian inputs: Isserlis for kernel entries, ``g_ab``
    between channel means, 0 between a mean and a kernel entry (odd moments)."""
    v = np.zeros((NS, NS))
    for i, ei in enumerate(ENTRIES):
        for j, ej in enumerate(ENTRIES):
            if len(ei) == 2 and len(ej) == 2:
                (a, b), (c, d) = ei, ej
                v[i, j] = g4[a, c] * g4[b, d] + g4[a, d] * g4[b, c]
            elif len(ei) == 1 and len(ej) == 1:
                v[i, j] = g4[ei[0], ej[0]]
    return v


def _structure(g: np.ndarray) -> tuple[float, float, float]:
    """``(q, c, e)`` of a symmetric four-input kernel (checked)."""
    q, c, e = g[_XX], g[_XY], g[IDX[(0, 2)]]
    same = [(IDX[(1, 1)], q), (IDX[(2, 2)], q), (IDX[(3, 3)], q), (IDX[(2, 3)], c)]
    same += [(IDX[p], e) for p in ((0, 3), (1, 2), (1, 3))]
    tol = 1e-9 * max(1.0, abs(q))
    if any(abs(g[i] - v) > tol for i, v in same):
        raise NSTheoryError("internal: four-input kernel lost its symmetric structure")
    return q, c, e


def activation_step(name: str, sigma2: float, st: KernelState,
                    derivatives=map_derivatives) -> KernelState:
    """One ``Dense(sigma2) -> Act(name)`` step of the recursion (module docstring).

    Parameters
    ----------
    name : str
        Activation name.
    sigma2 : float
        Weight variance of the dense layer.
    st : KernelState
        The state before the step.
    derivatives : callable, optional
        ``derivatives(name, q, c)`` supplies the kernel map's :class:`MapDerivatives`.

    Examples
    --------
    A He-initialised ReLU step keeps ``Q = 1``, maps ``rho = 1/2`` to the arc-cosine
    value and the independent pairs' cross-moment to ``1 / pi``:

    >>> import math
    >>> g = activation_step("relu", 2.0, input_state(0.5)).g
    >>> arccos = (math.sqrt(0.75) + (math.pi - math.acos(0.5)) * 0.5) / math.pi
    >>> math.isclose(g[0], 1.0), math.isclose(g[1], arccos), math.isclose(g[2], 1 / math.pi)
    (True, True, True)
    """
    return _activation_step(name, sigma2, st, derivatives)[0]


def _activation_step(name, sigma2, st, derivatives):
    """:func:`activation_step` and the Jacobian ``J`` of the conditional mean of the output
    statistics in the pre-activation kernel ``G = sigma2 K``."""
    G = sigma2 * st.g
    q, c, e = _structure(G)
    # odd activations keep independent pairs uncorrelated, LayerNorm centres them: a rounding
    # residue of a vanishing covariance is zero
    if abs(e) <= 1e-12 * q:
        e = 0.0
    if abs(c) <= 1e-12 * q:
        c = 0.0
    if not (0 <= e <= c < q):
        raise NSTheoryError(f"finite-width rules need 0 <= cross-pair <= pair covariance < q "
                            f"(rho in [0, 1)); got q={q:.6g}, c={c:.6g}, e={e:.6g}")
    S = four_point_moments(name, q, c, e)[1]
    dc, de = derivatives(name, q, c), derivatives(name, q, e)
    # the mean-field kernel from the derivative route's (closed-form or 160-node) map value,
    # more accurate than the nested quadrature, whose error enters S only at O(1/N)
    pair, cross, diag, mean, arg_pair, arg_cross = _layout()
    s4 = sigma2**2
    F = np.empty(NS)
    J = np.zeros((NS, NS))
    hv = np.empty(NS)
    # channel means E phi: functions of G_aa
    F[mean] = dc.f1
    J[mean, diag] = dc.f1_d1
    hv[mean] = dc.f1_d2 * s4 * st.V[diag, diag]
    # diagonal entries E phi^2: functions of G_aa
    F[diag] = dc.f2
    J[diag, diag] = dc.f2_d1
    hv[diag] = dc.f2_d2 * s4 * st.V[diag, diag]
    # off-diagonal entries: functions of (G_aa, G_bb, G_ab); within-pair at c, cross-pair at e
    for rows, args, d in ((pair, arg_pair, dc), (cross, arg_cross, de)):
        F[rows] = d.value
        J[rows[:, None], args] = d.grad
        sub = st.V[args[:, :, None], args[:, None, :]]
        hv[rows] = s4 * np.einsum("kij,ij->k", sub, np.asarray(d.hess))
    mu_new = sigma2 * (J @ st.mu) + 0.5 * hv
    V_new = S + s4 * (J @ st.V @ J.T)
    return KernelState(F, mu_new, V_new), J


@cache
def _layout():
    """Index arrays of the statistics: within-pair and cross-pair off-diagonal entries,
    diagonal entries, channel means (aligned with their diagonal), and the ``(aa, bb, ab)``
    arguments of each off-diagonal entry."""
    pair = [IDX[(0, 1)], IDX[(2, 3)]]
    cross = [IDX[e] for e in KERNEL if e[0] != e[1] and e not in ((0, 1), (2, 3))]
    diag = [IDX[(a, a)] for a in range(4)]
    mean = [IDX[(a,)] for a in range(4)]

    def args(rows):
        return np.array([[IDX[(ENTRIES[i][0],) * 2], IDX[(ENTRIES[i][1],) * 2], i]
                         for i in rows])

    return (np.array(pair), np.array(cross), np.array(diag), np.array(mean), args(pair),
            args(cross))


@cache
def _layernorm_map():
    """Lambdified value, gradient and Hessian of the LayerNorm'ed kernel entry
    ``(k_ab - m_a m_b) / sqrt((k_aa - m_a^2)(k_bb - m_b^2))`` in ``(k_ab, k_aa, k_bb, m_a,
    m_b)`` (SymPy)."""
    import sympy as sp

    kab, kaa, kbb, ma, mb = xs = sp.symbols("k_ab k_aa k_bb m_a m_b", real=True)
    f = (kab - ma * mb) / sp.sqrt((kaa - ma**2) * (kbb - mb**2))
    grad = [sp.diff(f, x) for x in xs]
    hess = [[sp.diff(f, x, y) for y in xs] for x in xs]
    return sp.lambdify(xs, [f, grad, hess], "math")


def layernorm_step(st: KernelState) -> KernelState:
    """LayerNorm (no affine) as a smooth map of the empirical statistics: each kernel entry
    becomes ``(K_ab - m_a m_b) / sqrt(v_a v_b)``, ``v_a = K_aa - m_a^2``; diagonal entries are 1
    and channel means 0 exactly. The ``1/N`` terms follow by the delta method (``mu' = D mu +
    H : V / 2``, ``V' = D V D^T``). This rule is ours (not in the book).

    >>> from nstheory.propagation.model import mlp
    >>> st = layernorm_step(kernel_states(mlp(1), 0.5)[-1])
    >>> round(float(st.g[IDX[(0, 0)]]), 12), round(float(st.V[IDX[(0, 0)], IDX[(0, 0)]]), 12)
    (1.0, 0.0)
    """
    return _layernorm(st)[0]


def _layernorm(st: KernelState):
    """:func:`layernorm_step` and its Jacobian ``D`` in the input statistics."""
    fn = _layernorm_map()
    g = np.zeros(NS)
    D = np.zeros((NS, NS))
    mu = np.zeros(NS)
    for i, ent in enumerate(ENTRIES):
        if len(ent) == 1:
            continue  # channel mean: exactly 0
        a, b = ent
        if a == b:
            g[i] = 1.0
            continue
        args = [i, IDX[(a, a)], IDX[(b, b)], IDX[(a,)], IDX[(b,)]]
        val, grad, hess = fn(*(float(st.g[k]) for k in args))
        g[i] = val
        D[i, args] = grad
        mu[i] = D[i] @ st.mu + 0.5 * float(np.sum(np.asarray(hess) *
                                                  st.V[np.ix_(args, args)]))
    return KernelState(g, mu, D @ st.V @ D.T), D


def residual_step(st: KernelState, name: str, sigma2: float, sigma2_out: float,
                  layernorm: bool = False, derivatives=map_derivatives) -> KernelState:
    """``h -> h + W2 phi(W1 [LN] h)`` with ``W1 ~ N(0, sigma2/N)``, ``W2 ~ N(0, sigma2_out/N)``
    (our rule, not the book's). With ``b = W2 phi``, the output statistics are
    ``K + B + X + X^T`` and ``m + m_b`` where ``B = b.b/N`` and ``X_ab = h(a).b(b)/N``. Given
    everything but ``W2``: ``E B = sigma2_out K_phi``, ``E X = E m_b = 0``, and ``N Cov``
    ``(B_ab, B_cd) = sigma2_out^2 (K_phi,ac K_phi,bd + K_phi,ad K_phi,bc)``,
    ``(X_ab, X_cd) = sigma2_out K_ac K_phi,bd``, ``(m_b,a, m_b,c) = sigma2_out K_phi,ac``,
    ``(m_b,a, X_cd) = sigma2_out m_c K_phi,ad``; ``B`` is uncorrelated with ``X`` and ``m_b``.
    The skip and the branch covary through the branch's conditional mean:
    ``N Cov(s, K_phi) = V T^T`` with ``T`` the chained Jacobian (LayerNorm, then the kernel map).

    >>> from nstheory.propagation.model import mlp
    >>> st = residual_step(input_state(0.5), "relu", 2.0, 1.0)
    >>> round(float(st.g[IDX[(0, 0)]]), 12)   # Q' = Q + E relu(sqrt(2) u)^2 = 2
    2.0

    ``name=None`` is the linear branch ``h + W [LN] h`` (an attention sub-block with the
    identity pattern: the value projection alone); without LN, ``Q' = (1 + sigma2_out) Q``:

    >>> st = residual_step(input_state(0.5), None, 1.0, 0.5)
    >>> round(float(st.g[IDX[(0, 0)]]), 12), round(float(st.g[IDX[(0, 1)]]), 12)
    (1.5, 0.75)
    """
    x, Jin = (st, np.eye(NS)) if not layernorm else _layernorm(st)
    if name is None:  # linear branch [LN ->] Dense(sigma2_out): the branch input is x itself
        phi, T = x, Jin
    else:
        phi, J = _activation_step(name, sigma2, x, derivatives)
        T = sigma2 * J @ Jin
    C = st.V @ T.T
    nk = len(KERNEL)
    E = np.zeros((NS, NS))
    E[:nk, :nk] = np.eye(nk)
    s2 = sigma2_out
    g = st.g + s2 * E @ phi.g
    mu = st.mu + s2 * E @ phi.mu
    V = st.V + s2 * (C @ E.T + E @ C.T) + s2 * s2 * (E @ phi.V @ E.T) + \
        _branch_output_vertex(st.g, phi.g, s2)
    return KernelState(g, mu, V)


def _branch_output_vertex(g, gphi, s2):
    """``N Cov`` of ``B + X + X^T`` and ``m_b`` given the rest (see :func:`residual_step`)."""
    k = np.zeros((4, 4))
    kp = np.zeros((4, 4))
    for a, b in KERNEL:
        k[a, b] = k[b, a] = g[IDX[(a, b)]]
        kp[a, b] = kp[b, a] = gphi[IDX[(a, b)]]
    m = np.array([g[IDX[(a,)]] for a in range(4)])
    out = np.zeros((NS, NS))
    for i, ei in enumerate(ENTRIES):
        for j, ej in enumerate(ENTRIES):
            if len(ei) == 2 and len(ej) == 2:
                (a, b), (c, d) = ei, ej
                out[i, j] = (s2 * s2 * (kp[a, c] * kp[b, d] + kp[a, d] * kp[b, c])
                             + s2 * (k[a, c] * kp[b, d] + k[a, d] * kp[b, c]
                                     + k[b, c] * kp[a, d] + k[b, d] * kp[a, c]))
            elif len(ei) == 1 and len(ej) == 1:
                out[i, j] = s2 * kp[ei[0], ej[0]]
            else:
                (a,), (c, d) = (ei, ej) if len(ei) == 1 else (ej, ei)
                out[i, j] = s2 * (m[c] * kp[a, d] + m[d] * kp[a, c])
    return out


def _check_attention(layer) -> None:
    """Only the identity query-key pattern with logit scale ``1/sqrt(width)`` or none is
    covered: its logits ``x_i.x_j / sqrt(N)`` put weight ``O(n e^{-sqrt(N) (K_ii - K_ij)})`` off
    the diagonal, exponentially small in ``sqrt(width)``, so the layer is its value projection
    (a per-token Dense layer) up to terms beyond every power of ``1/width``."""
    if layer.mode != "identity" or layer.scale not in ("sqrt", "none"):
        raise NSTheoryError(
            "finite-width rules cover attention with the identity query-key pattern and logit "
            f"scale sqrt or none only; got mode={layer.mode!r}, scale={layer.scale!r} (the "
            "pattern's own finite-width fluctuations for random or low-rank W are not derived)")


def _steps(model: Model):
    """The model as a list of blocks of ``(activation name, sigma2)`` steps."""
    blocks = []
    for block in model.blocks:
        steps, pending = [], None
        for layer in block:
            if isinstance(layer, Attention):
                _check_attention(layer)
                if pending is not None:
                    steps.append(("identity", pending))
                pending = layer.gamma2  # the value projection, a Dense layer per token
            elif isinstance(layer, Dense):
                if pending is not None:
                    steps.append(("identity", pending))
                pending = layer.sigma2
            elif isinstance(layer, Act):
                if pending is None:
                    raise NSTheoryError("finite-width rules need each activation right after a "
                                        "Dense layer")
                steps.append((layer.name, pending))
                pending = None
            elif isinstance(layer, Residual):
                if pending is not None:
                    steps.append(("identity", pending))
                    pending = None
                steps.append(("residual", _residual_spec(layer)))
            elif isinstance(layer, LayerNorm):
                if pending is not None:
                    steps.append(("identity", pending))
                    pending = None
                if layer.eps:
                    raise NSTheoryError("finite-width LayerNorm rule needs eps = 0")
                steps.append(("layernorm", None))
            else:
                raise NSTheoryError(
                    f"finite-width rules cover Dense, activation, attention, LayerNorm and "
                    f"residual layers only; got {type(layer).__name__}")
        if pending is not None:
            steps.append(("identity", pending))
        blocks.append(steps)
    return blocks


def _residual_spec(layer) -> tuple:
    """``(layernorm, activation, sigma2, sigma2_out)`` of a residual branch
    ``[LayerNorm ->] Dense -> Act -> Dense`` or ``[LayerNorm ->] Attention`` (identity pattern:
    activation ``None``, the value projection's ``gamma2`` as ``sigma2_out``)."""
    br = list(layer.branch)
    ln = bool(br) and isinstance(br[0], LayerNorm)
    if ln:
        if br[0].eps:
            raise NSTheoryError("finite-width LayerNorm rule needs eps = 0")
        br = br[1:]
    if len(br) == 1 and isinstance(br[0], Attention):
        _check_attention(br[0])
        return ln, None, 1.0, br[0].gamma2
    if not (len(br) == 3 and isinstance(br[0], Dense) and isinstance(br[1], Act)
            and isinstance(br[2], Dense)):
        raise NSTheoryError("finite-width residual rule covers branches [LayerNorm ->] Dense -> "
                            f"activation -> Dense or [LayerNorm ->] Attention only; got "
                            f"{layer.branch!r}")
    return ln, br[1].name, br[0].sigma2, br[2].sigma2


def statistic_coefficients(st: KernelState, per_net: int) -> tuple[float, float, float]:
    """``1/N`` coefficients ``(raw, q, normalised)`` of the Monte Carlo statistic for a state.

    ``per_net`` input pairs share a network: the covariance of the per-network
    averages is ``(V_same / per_net + (1 - 1/per_net) V_cross) / N``. The normalised
    view's coefficient is the ratio's first-order shift plus its second-order
    delta-method terms (``f = A / sqrt(B_X B_Y)``: ``f_{A B} = -1/(2 b^2)``,
    ``f_{BB} = 3a/(4 b^3)``, ``f_{B_X B_Y} = a/(4 b^3)``).

    Examples
    --------
    At the input the normalised statistic is the sample cosine of ``N`` Gaussian
    pairs, whose mean is ``rho - rho (1 - rho^2) / (2 N) + O(1/N^2)`` (Fisher):

    >>> raw, q, norm = statistic_coefficients(input_state(0.5), per_net=1)
    >>> float(raw), float(q), round(float(norm), 12), -0.5 * 0.75 / 2
    (0.0, 0.0, -0.1875, -0.1875)
    """
    P = per_net
    a, b = st.g[_XY], st.g[_XX]
    V = st.V

    def cov(i, j, i2, j2):
        return V[i, j] / P + (1 - 1 / P) * V[i2, j2]

    c_ab = cov(_XY, _XX, _XY, _XX2)          # Cov(A, B_X) (= Cov(A, B_Y) by symmetry)
    c_bb = cov(_XX, _XX, _XX, _XX2)          # Var(B_X)
    c_bxby = cov(_XX, _YY, _XX, _YY2)        # Cov(B_X, B_Y)
    mu_a, mu_b = st.mu[_XY], st.mu[_XX]
    first = (mu_a - (a / b) * mu_b) / b
    second = -c_ab / b**2 + 0.75 * a / b**3 * c_bb + 0.25 * a / b**3 * c_bxby
    return mu_a, mu_b, first + second


def finite_width_recursion(model: Model, rho: float, per_net: int = 100,
                           derivatives=map_derivatives) -> list[FiniteWidthRow]:
    """Mean-field values and ``1/width`` coefficients after every block (index 0 = block 1).

    ``per_net``: input pairs per random network in the statistic (as in the Monte Carlo).
    ``rho`` must lie in ``[0, 1)``. ``derivatives``: the kernel-map derivative route
    (default the symbolic one; :func:`~nstheory.propagation.kernel_derivatives.
    numerical_map_derivatives` gives the independent finite-difference route).

    >>> from nstheory.propagation.model import mlp
    >>> r = finite_width_recursion(mlp(1, act="identity", sigma2=1.0), 0.5, per_net=1)[0]
    >>> r.coef_raw, r.coef_q   # a linear layer: E K = g exactly
    (0.0, 0.0)
    """
    per_net = check_int(per_net, "per_net", lo=1)
    rows = []
    # with the identity attention pattern the tokens of an input never mix: the statistic's
    # sums over tokens are sums over n_tokens independent pairs seen by the same network
    pairs = per_net * model.n_tokens
    for li, st in enumerate(kernel_states(model, rho, derivatives), start=1):
        raw, cq, cn = statistic_coefficients(st, pairs)
        a, b = float(st.g[_XY]), float(st.g[_XX])
        rows.append(FiniteWidthRow(li, a, b, a / b, float(raw), float(cq), float(cn)))
    return rows


def kernel_states(model: Model, rho: float, derivatives=map_derivatives) -> list[KernelState]:
    """The :class:`KernelState` after every block (``rho`` in ``[0, 1)``).

    >>> from nstheory.propagation.model import mlp
    >>> st = kernel_states(mlp(3, act="identity", sigma2=1.0), 0.5)[-1]
    >>> round(float(st.V[IDX[(0, 0)], IDX[(0, 0)]]), 9)   # deep linear net: 2 (depth + 1)
    8.0
    """
    check_rho(rho)
    if not 0 <= rho < 1:
        raise NSTheoryError(f"finite-width rules need rho in [0, 1), got {rho}")
    st = input_state(float(rho))
    out = []
    for steps in _steps(model):
        for name, sigma2 in steps:
            if name == "layernorm":
                st = layernorm_step(st)
            elif name == "residual":
                ln, act, s_in, s_out = sigma2
                st = residual_step(st, act, s_in, s_out, ln, derivatives)
            else:
                st = activation_step(name, sigma2, st, derivatives)
        out.append(st)
    return out


def mean_field_only(model: Model, rho: float) -> list[float]:
    """The normalised mean-field values alone (the baseline of the benchmark): the same
    two-input kernel map iterated without the vertex.

    >>> from nstheory.propagation.model import mlp
    >>> round(mean_field_only(mlp(2), 0.9)[-1], 6)
    0.917741
    """
    from nstheory.propagation.maps import activation

    q, c, m = 1.0, float(rho), 0.0
    out = []

    def in_range(block):
        if not (1e-300 < q < 1e300 and math.isfinite(c)):
            raise NSTheoryError(f"the second moment leaves the float range by block {block} "
                                f"(q = {q:.3g}): the stack's scale grows or decays without "
                                "bound (change sigma2, reduce the depth or add LayerNorm)")

    for block, steps in enumerate(_steps(model), 1):
        for name, sigma2 in steps:
            in_range(block)
            if name == "layernorm":
                q, c, m = 1.0, (c - m * m) / (q - m * m), 0.0
                continue
            if name == "residual":
                ln, act_name, s_in, s_out = sigma2
                qx, cx = (1.0, (c - m * m) / (q - m * m)) if ln else (q, c)
                if act_name is None:  # linear branch (identity-pattern attention)
                    q, c = q + s_out * qx, c + s_out * cx
                    continue
                act = activation(act_name)
                Q, C = s_in * qx, s_in * cx
                q = q + s_out * float(act.raw_float(1.0, Q, Q))
                c = c + s_out * float(act.raw_float(C / Q, Q, Q))
                continue
            act = activation(name)
            Q, C = sigma2 * q, sigma2 * c
            q, c = float(act.raw_float(1.0, Q, Q)), float(act.raw_float(C / Q, Q, Q))
            m = 0.0 if name == "identity" else float(act.mean(Q, 17))
        in_range(block)
        out.append(c / q)
    return out


def breakdown_ratio(coef: float, mean_field: float, width: int) -> float:
    """The relative first-order correction ``|coef| / (width |mean field|)``: the expansion is
    trustworthy while it is small (it grows like depth / width).

    >>> breakdown_ratio(-2.0, 1.0, 100)
    0.02
    """
    check_int(width, "width", lo=1)
    return abs(coef) / (width * max(abs(mean_field), 1e-300))


def depth_to_width(depth: int, width: int) -> float:
    """The book's expansion parameter ``depth / width``.

    >>> depth_to_width(20, 256)
    0.078125
    """
    return check_int(depth, "depth", lo=1) / check_int(width, "width", lo=1)


__all__ = ["FiniteWidthRow", "KernelState", "activation_step", "breakdown_ratio",
           "depth_to_width", "finite_width_recursion", "input_state", "kernel_states",
           "mean_field_only", "remainder_scale", "statistic_coefficients"]


