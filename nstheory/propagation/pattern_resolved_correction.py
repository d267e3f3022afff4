r"""The ``1/width`` correction of the pattern-resolved mean field (random-``W`` attention).

The pattern-resolved mean field (:mod:`~nstheory.propagation.pattern_resolved`) keeps the
random softmax patterns of random query-key attention at head dimension ``d`` = width, but
takes every channel sum at infinite width. At width ``N`` each weight matrix instead makes the
tokens' empirical Gram matrix ``K`` (``2n x 2n``: the tokens of ``X`` then of ``Y``) and channel
means ``m`` fluctuate: given the layer's input, the output is an average over ``N`` i.i.d.
channels, so ``K = K_inf + delta`` with ``E delta = 0`` and ``Cov delta = S / N``, ``S`` the
covariance of one channel's contribution. Later layers are non-linear in ``(K, m)``
(activations through the next Gram matrix, LayerNorm, the softmax pattern, the normalised
statistic), so the mean of a block's statistic ``G`` shifts by

.. math::
    E\,G = G_\infty + \frac{1}{N} \sum_l \tfrac12\, E\big[\xi_l^\top \nabla^2 G_l\, \xi_l\big]
    + O(N^{-2}),

one term per weight matrix ``l`` (independent zero-mean sources: cross terms vanish), with
``G_l`` the map from layer ``l``'s output to the statistic and ``xi_l`` one channel's
deviation. The sources, given the layer's input state at infinite width:

* ``Dense(sigma2)`` [+ activation ``phi``]: a channel ``z ~ N(0, sigma2 K)``; deviation
  ``phi(z) phi(z)^T - E[...]`` and ``phi(z) - E phi(z)`` (an activation right after a Dense
  or attention layer acts on Gaussian channels, so the pair is one source);
* random-``W`` attention: the pattern given ``K`` is exact at any width (the logits ``t H W
  H^T`` have the law of ``t N L W' L^T``, ``L L^T = K``, ``W'`` a ``2n x 2n`` standard normal
  matrix); the value projection gives ``z = M v``, ``v ~ N(0, gamma2 K)``, ``M`` the pattern;
* a residual branch's last layer also correlates with the skip stream: the cross term
  ``h_c b_c^T + b_c h_c^T`` with ``E h_c h_c^T = K_skip`` (only second moments enter);
* the inputs themselves (``N`` channels of ``N(0, K_0)``).

Each sample draws the patterns' ``W'`` and one deviation per source, and evaluates the
second directional derivatives of all blocks' statistics by antithetic pairs of perturbed
passes (every source at once, ``+-step xi_l``). The cross terms between sources have mean zero,
so ``(G_+ + G_- - 2 G_0) / (2 step^2)`` is an unbiased estimate of the coefficient of ``1/N``
(up to the ``O(step^2)`` of the finite difference: steps ``1e-3`` and ``1e-4`` agree to
``1e-4`` of the coefficient). The route is statistical (sampled patterns and deviations,
standard errors over samples), independent of the torch Monte Carlo's code path, and on models
without attention it reproduces the deterministic ``1/width`` recursion
(:mod:`~nstheory.propagation.finite_width`).

How the patterns are differentiated (``estimator``):

* ``pathwise``: the perturbed passes keep ``W'``, so each pattern follows its own Gram matrix
  through the Cholesky factor. At large ``d`` the softmax is nearly hard (logit spread
  ``~ sqrt(d)``), its curvature near ties is ``O(d)``, and this estimator's variance grows with
  the width (standard deviation of one sample's block-4 coefficient, post-LN, four blocks:
  ~21 at width 32, ~1100 at width 256, heavy-tailed).
* ``likelihood-ratio``: the perturbed passes keep the unperturbed pass's logits instead and
  carry the ratio ``w = prod_layers p_{K'}(D) / p_K(D)`` of their density: ``D``, the
  ``2n(n - 1)`` logits a pattern depends on (within ``X`` and within ``Y``, each minus its
  row's last: softmax ignores a shift common to a row), is Gaussian given the Gram matrix with
  ``Cov(M_ab - M_al, M_cd - M_cl') = K_ac (K_bd - K_bl' - K_ld + K_ll')``. Then
  ``(w_+ G_+ + w_- G_- - 2 G_0) / (2 step^2)`` estimates the same coefficient, with a variance
  that does not grow with ``d`` (it grows with the number of attention layers instead: the
  weights' spread); ``(w_+ + w_- - 2) / (2 step^2)`` has mean zero (each weight has mean one)
  and serves as a control variate.
* ``combined``: both (five passes); the pathwise estimate is regressed on the two mean-zero
  differences (pathwise minus likelihood-ratio, and the weights' control variate), with the
  regression coefficients fitted on the same samples (an ``O(1/samples)`` bias) -- never
  worse than either estimator alone, up to that fit. Measured per-sample standard deviations
  of the block-4 coefficient (post-LN, four blocks, two runs, ``BENCHMARKS.md``): pathwise
  ~20 at width 32, 25-180 at 64, 200-420 at 128, 800-1100 at 256 (heavy-tailed: its own
  standard error moves from run to run); combined ~20, ~45, ~74, ~80.
* ``auto`` (the default): ``combined`` from width :data:`AUTO_COMBINED_WIDTH` on (where the
  pathwise tails start to matter; it costs ~3x the pathwise one), ``pathwise`` below and for
  models without attention or with more than 8 tokens (the densities' size).

Two views per block: ``raw`` (mean over tokens of ``K_{X_i Y_i}``; its mean does not depend
on how many input pairs share a network) and ``normalised``, the Monte Carlo's per-network
ratio ``C / sqrt(Q_X Q_Y)`` of ``C, Q`` averaged over the tokens and the network's
``per_net`` input pairs. With one pair per network the ratio is taken per sample. With more,
its mean also depends on how the pairs' statistics covary through the weights they share
(the patterns of one network's pairs share ``W``; every layer's channels are shared), so
each sample holds **two** input pairs of one network (a ``4n x 4n`` state: shared patterns
``W'`` and shared channel deviations), and the statistic is the ratio's second-order
expansion about a pilot run's mean ``mu`` (:class:`_Pooled`): with ``d_i = v_i - mu`` for
the pairs' ``v = (C, Q_X, Q_Y)``, ``f(mu) + grad f . (d_1 + d_2)/2 + 1/2 [(1/m)(d_1' H d_1
+ d_2' H d_2)/2 + (1 - 1/m) d_1' H d_2]``, whose mean is, by exchangeability, that of the
expansion at the average of ``m = per_net`` pairs. The expansion's own error at infinite
width was measured on four pre-LN random-``W`` blocks: below ``1e-5`` against the exact
pooled ratio of independent pairs for ``m`` = 1 to 100; without attention the pooled
coefficient reproduces the deterministic recursion's same-pair and cross-pair vertices.
The two-pair state costs eight times the one-pair state per sample.

Examples
--------
>>> from nstheory.propagation.model import transformer
>>> rows = pattern_resolved_correction(transformer(1, "random"), 0.9, 32, samples=2000, seed=1)
>>> r = rows[0].normalised
>>> r.coef < 0, abs(r.corrected - (r.mean_field + r.coef / 32)) < 1e-12
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.propagation.model import (
    Act,
    Attention,
    Dense,
    LayerNorm,
    Model,
    Residual,
    require_zero_eps,
)
from nstheory.propagation.pattern_resolved import (
    CHUNK_ENTRIES,
    MAX_STATE_ENTRIES,
    _act,
    _initial,
    _layernorm,
    _mix,
    pattern_work,
)

#: Default finite-difference step of the second directional derivatives (relative to the
#: O(1) channel deviations).
STEP = 1e-4
#: Work factor over the pattern-resolved route: three passes, plus the source draws.
WORK_FACTOR = 4
#: Largest work ``WORK_FACTOR x samples x layers x (2n)^3`` accepted (about five minutes of one
#: core; 400 000 samples of four transformer blocks with 4 tokens take ~50 s).
MAX_CORRECTION_WORK = 5e10
#: Samples of the pilot run giving the expansion points of the pooled normalised statistic
#: (``per_net > 1``), and the offset of its seed.
PILOT_SAMPLES = 20_000
PILOT_SEED_OFFSET = 7_000_001
#: Estimators of the coefficient (module docstring).
ESTIMATORS = ("auto", "pathwise", "likelihood-ratio", "combined")
#: ``estimator="auto"`` uses ``"combined"`` from this width on, ``"pathwise"`` below it.
AUTO_COMBINED_WIDTH = 64
#: Most row-differenced logits ``2n(n - 1)`` per attention layer the likelihood-ratio
#: estimator accepts (``n <= 8`` tokens; one Cholesky factor of that size per layer, pass
#: and sample).
MAX_RATIO_LOGITS = 112


@dataclass(frozen=True)
class ViewCorrection:
    """One view of one block: the pattern-resolved mean field, the ``1/width`` coefficient and
    the corrected value ``mean_field + coef / width``, each with its standard error over the
    samples (the corrected value's from the per-sample sums, so correlations are included).

    Examples
    --------
    >>> v = ViewCorrection(0.75, 1e-4, -0.3, 0.02, 0.74, 2e-4)
    >>> v.to_dict()["coef"]
    -0.3
    """

    mean_field: float
    mean_field_stderr: float
    coef: float
    coef_stderr: float
    corrected: float
    corrected_stderr: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CorrectedBlock:
    """Result of :func:`pattern_resolved_correction` for one block.

    Parameters
    ----------
    block : int
        Block index (1 = first).
    width : int
        The width ``N`` (also the head dimension).
    samples : int
        Independent samples.
    raw, normalised : ViewCorrection
        The raw view and the normalised view with one input pair per network.
    estimator : str, optional
        The coefficient's estimator (``pathwise``, ``likelihood-ratio`` or ``combined``).
    per_net : int, optional
        Input pairs per network of the normalised view.

    Examples
    --------
    >>> v = ViewCorrection(0.75, 1e-4, -0.3, 0.02, 0.74, 2e-4)
    >>> sorted(CorrectedBlock(1, 32, 100, v, v).to_dict())
    ['block', 'estimator', 'normalised', 'per_net', 'raw', 'samples', 'width']
    """

    block: int
    width: int
    samples: int
    raw: ViewCorrection
    normalised: ViewCorrection
    estimator: str = "pathwise"
    per_net: int = 1

    def to_dict(self) -> dict:
        return {"block": self.block, "width": self.width, "samples": self.samples,
                "estimator": self.estimator, "per_net": self.per_net,
                "raw": self.raw.to_dict(), "normalised": self.normalised.to_dict()}


def _outer(z):
    return z[..., :, None] * z[..., None, :]


def _cholesky(k):
    """Cholesky factors of the Gram matrices ``k``, or a clear error where one is singular."""
    try:
        return np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        raise NSTheoryError(
            "the 1/width correction met a singular token Gram matrix: at infinite width the "
            "tokens have collapsed (e.g. attention without a residual stream averages them "
            "into copies of one another), so the expansion in 1/width around that state does "
            "not exist (at finite width the channels' fluctuations dominate it)") from None


def _channel(k, rng):
    """One channel ``z ~ N(0, k)`` per sample (``k``: samples x D x D, positive definite)."""
    e = rng.standard_normal(k.shape[:-1])
    return np.einsum("sij,sj->si", _cholesky(k), e)


class _Passes:
    """The unperturbed pass (index 0 of the leading axis), then ``+step`` / ``-step`` pairs:
    pathwise passes (their patterns follow their own Gram matrices) and likelihood-ratio
    passes (they keep the unperturbed pass's logits and carry the log density ratio
    ``logw`` of those logits under their own Gram matrices)."""

    def __init__(self, k, m, step, pathwise: bool, ratio: bool):
        pairs = int(pathwise) + int(ratio)
        self.sign = np.array([0.0] + [1.0, -1.0] * pairs)
        self.path = [1, 2] if pathwise else []
        self.ratio = [3, 4] if pathwise and ratio else [1, 2] if ratio else []
        self.k = np.stack([k] * len(self.sign))
        self.m = np.stack([m] * len(self.sign))
        self.logw = np.zeros((len(self.sign), k.shape[0]))
        self.step = step

    def inject(self, dk, dm):
        self.k += (self.step * self.sign)[:, None, None, None] * dk
        self.m += (self.step * self.sign)[:, None, None] * dm

    def map(self, fn):
        """Apply ``fn(k, m) -> (k, m)`` (samples first) to all passes at once."""
        p, s = self.k.shape[:2]
        k, m = fn(self.k.reshape(-1, *self.k.shape[2:]), self.m.reshape(-1, self.m.shape[-1]))
        self.k, self.m = k.reshape(p, s, *k.shape[1:]), m.reshape(p, s, m.shape[-1])


def _logit_pairs(n: int, tokens: int):
    """Query and key indices of the logits the patterns depend on: within each group of ``n``
    of the ``tokens`` (``X``, ``Y``, a second pair's ``X``, ...), each logit minus its row's
    last one (softmax ignores a shift common to a row)."""
    q = np.repeat(np.arange(tokens), n - 1)
    key = np.concatenate([np.tile(np.arange(g, g + n - 1), n) for g in range(0, tokens, n)])
    last = key // n * n + n - 1
    return q, key, last


def _logit_log_density(k, logits, n: int):
    """Log density (up to a constant) of the patterns' row-differenced logits (``2n(n - 1)``
    per input pair) of ``logits`` (the unscaled ``L W' L^T``) when ``L L^T = k``: the logits
    are Gaussian with
    ``Cov(M_ab, M_cd) = k_ac k_bd``, so the differences ``M_ab - M_al`` have covariance
    ``k_ac (k_bd - k_b,l' - k_l,d + k_l,l')``."""
    q, key, last = _logit_pairs(n, k.shape[-1])
    diffs = logits[:, q, key] - logits[:, q, last]
    b, d, lb, ld = key[:, None], key[None, :], last[:, None], last[None, :]
    kt = k[:, b, d] - k[:, b, ld] - k[:, lb, d] + k[:, lb, ld]
    chol = _cholesky(k[:, q[:, None], q[None, :]] * kt)
    sol = np.linalg.solve(chol, diffs[..., None])[..., 0]
    return -np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(-1) - 0.5 * (sol * sol).sum(-1)


def _check_layers(layers, width: int) -> None:
    prev = None
    for layer in layers:
        if isinstance(layer, Act) and not isinstance(prev, (Dense, Attention)):
            raise NSTheoryError("the 1/width correction needs every activation right after a "
                                "Dense or attention layer (it acts on Gaussian channels)")
        if isinstance(layer, Attention):
            if layer.mode != "random":
                raise NSTheoryError("the pattern-resolved 1/width correction covers random-W "
                                    f"attention only, got mode {layer.mode!r}")
            if layer.d not in (None, width):
                raise NSTheoryError(f"attention head dimension d = {layer.d} differs from the "
                                    f"width {width}: the finite-width networks have d = width")
        if isinstance(layer, Residual):  # its branch ends with a Dense or attention layer
            _check_layers(layer.branch, width)
        if not isinstance(layer, (Dense, Act, LayerNorm, Attention, Residual)):
            raise NSTheoryError(f"unknown layer {layer!r}")
        prev = layer


def _source(p: _Passes, gauss_cov, act, mix, skip, rng):
    """Draw one channel of a weight matrix -- ``z ~ N(0, gauss_cov)`` (from the unperturbed
    input), then ``mix z`` and ``phi`` where given -- and inject its deviation, with the cross
    term against a skip stream of Gram matrix ``skip``; ``p`` already holds the layer's
    infinite-width output."""
    z = _channel(gauss_cov, rng)
    if mix is not None:
        z = np.einsum("sij,sj->si", mix, z)
    if act is not None:
        from nstheory.propagation.maps import activation

        z = activation(act.name).phi_np(z)
    dk = _outer(z) - p.k[0]
    if skip is not None:
        hc = _channel(skip, rng)
        dk = dk + hc[:, :, None] * z[:, None, :] + z[:, :, None] * hc[:, None, :]
    p.inject(dk, z - p.m[0])


def _layers(layers, p: _Passes, n: int, width: int, rng, skip=None) -> None:
    """Run ``layers`` on the three passes, drawing patterns and sources; ``skip`` is the skip
    stream's (unperturbed) Gram matrix when ``layers`` is a residual branch."""
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        act = nxt if isinstance(nxt, Act) else None
        last_skip = skip if i + (2 if act else 1) == len(layers) else None
        if isinstance(layer, Dense):
            kin = p.k[0]  # the passes are replaced below, not changed in place
            p.map(lambda k, m, s2=layer.sigma2: (s2 * k, np.zeros_like(m)))
            if act is not None:
                p.map(lambda k, m, a=act: _act(a, k, m))
            _source(p, layer.sigma2 * kin, act, None, last_skip, rng)
        elif isinstance(layer, Attention):
            from nstheory.attention.pattern_moments import logit_scale

            kin = p.k[0]  # the passes are replaced below, not changed in place
            w = rng.standard_normal(kin.shape)
            c = logit_scale(layer.scale, width) * width
            own = [0, *p.path]  # the passes whose patterns follow their own Gram matrices
            chol = _cholesky(p.k[own])
            logits = np.empty_like(p.k)
            logits[own] = chol @ w[None] @ np.swapaxes(chol, -1, -2)
            if p.ratio:  # the ratio passes keep the unperturbed logits, reweighted
                base = _logit_log_density(kin, logits[0], n)
                for j in p.ratio:
                    logits[j] = logits[0]
                    p.logw[j] += _logit_log_density(p.k[j], logits[0], n) - base
            mix = _mix(c * logits, n)
            p.k = layer.gamma2 * (mix @ p.k @ np.swapaxes(mix, -1, -2))
            p.m = np.zeros_like(p.m)
            if act is not None:
                p.map(lambda k, m, a=act: _act(a, k, m))
            _source(p, layer.gamma2 * kin, act, mix[0], last_skip, rng)
        elif isinstance(layer, LayerNorm):
            p.map(_layernorm)
        elif isinstance(layer, Residual):
            k_skip, m_skip = p.k.copy(), p.m.copy()
            _layers(layer.branch, p, n, width, rng, skip=k_skip[0])
            p.k, p.m = k_skip + p.k, m_skip + p.m
        i += 2 if act is not None else 1


def _pair_moments(k, n: int, pair: int = 0):
    """``(C, Q_X, Q_Y)`` of one input pair (token averages), stacked on the last axis."""
    idx = 2 * n * pair + np.arange(n)
    return np.stack([k[..., idx, n + idx].mean(axis=-1), k[..., idx, idx].mean(axis=-1),
                     k[..., n + idx, n + idx].mean(axis=-1)], axis=-1)


def _statistics(k, n: int, pooled=None):
    """Raw ``C`` and the normalised statistic: ``C / sqrt(Q_X Q_Y)`` for one input pair per
    network, or with ``pooled`` (a :class:`_Pooled`) its quadratic surrogate for the
    per-network ratio over ``per_net`` pairs, from two pairs that share the network."""
    v = _pair_moments(k, n)
    if pooled is None:
        return v[..., 0], v[..., 0] / np.sqrt(v[..., 1] * v[..., 2])
    w = _pair_moments(k, n, 1)
    return 0.5 * (v[..., 0] + w[..., 0]), pooled.surrogate(v, w)


@dataclass(frozen=True)
class _Pooled:
    """The per-network normalised statistic over ``m`` input pairs, ``f(v) = C / sqrt(Q_X
    Q_Y)`` of the pair-averaged ``v = (C, Q_X, Q_Y)``, by its second-order expansion about
    ``mu``: with two pairs ``v_1``, ``v_2`` of one network and ``d_i = v_i - mu``,

    ``S = f(mu) + grad f . ((d_1 + d_2) / 2) + 1/2 [(1/m) (d_1' H d_1 + d_2' H d_2) / 2
    + (1 - 1/m) d_1' H d_2]``

    has, by exchangeability of the pairs, the mean of ``f``'s expansion at the average of
    ``m`` pairs (their own spread enters with ``1/m``, the shared network's with
    ``1 - 1/m``)."""

    m: int
    mu: tuple

    def surrogate(self, v, w):
        c, a, b = self.mu
        r = 1.0 / math.sqrt(a * b)
        grad = np.array([r, -0.5 * c * r / a, -0.5 * c * r / b])
        hess = np.array([[0.0, -0.5 * r / a, -0.5 * r / b],
                         [-0.5 * r / a, 0.75 * c * r / a ** 2, 0.25 * c * r / (a * b)],
                         [-0.5 * r / b, 0.25 * c * r / (a * b), 0.75 * c * r / b ** 2]])
        d1, d2 = v - np.array(self.mu), w - np.array(self.mu)

        def quad(x, y):
            return np.einsum("...i,ij,...j->...", x, hess, y)

        own = 0.5 * (quad(d1, d1) + quad(d2, d2))
        return (c * r + (0.5 * (d1 + d2)) @ grad
                + 0.5 * (own / self.m + (1 - 1 / self.m) * quad(d1, d2)))


def _expansion_points(model: Model, rho: float, width: int, samples: int, seed: int):
    """Per block, ``(C, Q, Q)`` of the pattern-resolved mean field (a pilot run of its own
    seed, at most ``samples``, fewer where the pattern-resolved route's work cap needs): the
    points the pooled statistic is expanded about."""
    from nstheory.propagation.pattern_resolved import MAX_WORK, pattern_resolved_mc

    samples = max(2, min(samples, int(MAX_WORK // pattern_work(model, 1))))
    pilot = pattern_resolved_mc(model, rho, samples=samples, seed=seed, width=width,
                                with_q=True)
    return [(c.mean, q.mean, q.mean) for c, q in pilot]


def pattern_resolved_correction(model: Model, rho: float, width: int, samples: int = 100_000,
                                seed: int = 0, chunk: int = 20_000, step: float = STEP,
                                estimator: str = "auto", per_net: int = 1,
                                show_progress: bool = False) -> list[CorrectedBlock]:
    """Pattern-resolved mean field and its ``1/width`` correction per block (module docstring).

    Parameters
    ----------
    model : Model
        Dense, activation (right after a Dense or attention layer), LayerNorm, random-``W``
        attention and residual layers.
    rho : float
        Input correlation, ``|rho| < 1`` (the Gram matrices must be positive definite: the
        route differentiates through their Cholesky factors; a model whose tokens collapse
        at infinite width, such as random-``W`` attention blocks without a residual stream,
        is refused with a clear error).
    width : int
        The width ``N`` (``>= 2``), also the attention head dimension.
    samples : int, optional
        Independent samples (``>= 2``).
    seed : int, optional
        Seed of numpy's generator.
    chunk : int, optional
        Samples processed at once (capped to bound memory).
    step : float, optional
        Finite-difference step, in ``(0, 0.01]``.
    estimator : str, optional
        How the patterns' dependence on the Gram matrices is differentiated (module
        docstring): ``"pathwise"``, ``"likelihood-ratio"``, ``"combined"`` (both, mixed by
        regression: never worse than either, 5/3 the passes), or ``"auto"``: combined from
        width :data:`AUTO_COMBINED_WIDTH` on (where the pathwise estimator's variance grows
        with the width), pathwise below it and for models without attention.
    per_net : int, optional
        Input pairs per network of the normalised view (``>= 1``; above 1, two pairs share
        each sample: see the module docstring).
    show_progress : bool, optional
        A progress bar over the chunks.

    Returns
    -------
    list of CorrectedBlock
        One per block.

    Examples
    --------
    Without attention the coefficient is the deterministic recursion's (a He ReLU layer, one
    input pair per network: ``-0.1808`` at ``rho = 0.9``, about a third of it from the inputs'
    own fluctuation and the rest from the layer's channels):

    >>> from nstheory.propagation.model import mlp
    >>> (r,) = pattern_resolved_correction(mlp(1), 0.9, 64, samples=20000, seed=0)
    >>> abs(r.normalised.coef - (-0.1808)) < 5 * r.normalised.coef_stderr
    True
    >>> pattern_resolved_correction(mlp(1), 1.0, 64)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: the 1/width correction needs |rho| < 1, got 1.0
    """
    require_zero_eps(model, "the pattern-resolved finite-width correction")
    from nstheory.progress import progress
    from nstheory.validate import parse_real

    rho = check_rho(rho)
    rho = float(parse_real(rho, "rho")) if isinstance(rho, str) else float(rho)
    if not abs(rho) < 1:
        raise NSTheoryError(f"the 1/width correction needs |rho| < 1, got {rho}")
    width = check_int(width, "width", lo=2)
    samples = check_int(samples, "samples", lo=2)
    seed = check_int(seed, "seed", lo=0)
    chunk = check_int(chunk, "chunk", lo=1)
    given = step
    try:
        step = float(parse_real(step, "step"))
    except NSTheoryError:
        step = math.nan
    if not 0 < step <= 0.01:
        raise NSTheoryError(f"step must lie in (0, 0.01], got {given!r}")
    for block in model.blocks:
        _check_layers(block, width)
    per_net = check_int(per_net, "per_net", lo=1)
    pairs = 1 if per_net == 1 else 2
    n = model.n_tokens
    tokens = 2 * pairs * n
    if 3 * tokens ** 2 > MAX_STATE_ENTRIES:
        raise NSTheoryError(f"the 1/width correction keeps three {tokens} x {tokens} Gram "
                            f"matrices per sample: more than {MAX_STATE_ENTRIES:,} entries; use "
                            f"at most {1154 // pairs} tokens")
    estimator = _resolve_estimator(estimator, model, width)
    work = correction_work(model, samples, width, estimator, per_net)
    if work > MAX_CORRECTION_WORK:
        raise NSTheoryError(f"the 1/width correction with {samples} samples ({estimator}) would "
                            f"do {work:.3g} units of work > {MAX_CORRECTION_WORK:.0e} (about "
                            "five minutes); use fewer samples, tokens or layers")
    pooled = [None] * model.depth
    if pairs > 1:
        pooled = [_Pooled(per_net, mu) for mu in _expansion_points(
            model, rho, width, PILOT_SAMPLES, seed + PILOT_SEED_OFFSET)]
    passes = 3 if estimator != "combined" else 5
    chunk = max(1, min(chunk, CHUNK_ENTRIES // (passes * tokens ** 2)))
    acc = [{view: _Joint() for view in ("raw", "normalised")} for _ in model.blocks]
    rng = np.random.default_rng(seed)
    starts = range(0, samples, chunk)
    for start in progress(starts, desc="1/width correction", enabled=show_progress):
        size = min(chunk, samples - start)
        k0, m0 = _initial(n, float(rho), size, pairs)
        p = _Passes(k0, m0, step, pathwise=estimator != "likelihood-ratio",
                    ratio=estimator != "pathwise")
        z = _channel(k0, rng)  # the inputs' own N channels
        p.inject(_outer(z) - k0, z)
        for bi, block in enumerate(model.blocks):
            _layers(list(block), p, n, width, rng)
            for view, vals in zip(("raw", "normalised"), _statistics(p.k, n, pooled[bi]),
                                  strict=True):
                acc[bi][view].add(_estimates(p, vals))
    out = []
    for bi, a in enumerate(acc, start=1):
        views = [a[view].view(width) for view in ("raw", "normalised")]
        out.append(CorrectedBlock(bi, width, samples, *views, estimator=estimator,
                                  per_net=per_net))
    return out


def correction_work(model: Model, samples: int, width: int, estimator: str = "auto",
                    per_net: int = 1) -> float:
    """Work units of :func:`pattern_resolved_correction`: :data:`WORK_FACTOR` x the
    pattern-resolved route's ``samples x layers x (2n)^3`` for the pathwise estimator; 5/3 of
    that (five passes) plus ``samples x attention layers x (2n(n - 1))^3`` (the logits'
    densities) when the likelihood ratio is used; with ``per_net > 1`` two input pairs share
    each sample (``2n -> 4n``, ``2n(n - 1) -> 4n(n - 1)``: eight times the work).

    Examples
    --------
    One block of four tokens (six layers, one of them attention): ``4 x 6 x 8^3`` at width 32
    (pathwise), ``5/3`` of that plus ``24^3`` at width 256 (combined):

    >>> from nstheory.propagation.model import transformer
    >>> m = transformer(1, "random")
    >>> correction_work(m, 1, 32), correction_work(m, 1, 256)
    (12288.0, 34304.0)
    >>> correction_work(m, 1, 32, per_net=20)
    98304.0
    """
    estimator = _resolve_estimator(estimator, model, width)
    scale = 8 if per_net > 1 else 1
    work = WORK_FACTOR * pattern_work(model, samples) * scale
    if estimator == "pathwise":
        return work
    n = model.n_tokens
    return work * 5 / 3 + samples * _attention_layers(model) * (2 * n * (n - 1)) ** 3 * scale


def _attention_layers(model: Model) -> int:
    def count(layers):
        return sum(count(x.branch) if isinstance(x, Residual) else isinstance(x, Attention)
                   for x in layers)

    return sum(count(block) for block in model.blocks)


def _resolve_estimator(estimator, model: Model, width: int) -> str:
    if estimator not in ESTIMATORS:
        raise NSTheoryError(f"estimator must be one of {', '.join(ESTIMATORS)}; got "
                            f"{estimator!r}")
    n = model.n_tokens
    fits = 2 * n * (n - 1) <= MAX_RATIO_LOGITS
    if estimator == "auto":
        use = fits and _attention_layers(model) > 0 and width >= AUTO_COMBINED_WIDTH
        return "combined" if use else "pathwise"
    if estimator != "pathwise" and not fits:
        raise NSTheoryError(f"the {estimator} estimator differentiates the density of "
                            f"2n(n - 1) = {2 * n * (n - 1)} logits per attention layer; it "
                            f"handles at most {MAX_RATIO_LOGITS} (n <= 8 tokens): use "
                            "estimator='pathwise'")
    return estimator


def _estimates(p: _Passes, vals):
    """Per sample: the unperturbed statistic, the coefficient's target estimate and the
    control variates (mean zero) of the passes' estimator, as columns."""
    h2 = 2 * p.step * p.step
    cols = [vals[0]]
    if p.path:
        cols.append((vals[1] + vals[2] - 2 * vals[0]) / h2)
    if p.ratio:
        i, j = p.ratio
        wi, wj = np.exp(p.logw[i]), np.exp(p.logw[j])
        ratio = (wi * vals[i] + wj * vals[j] - 2 * vals[0]) / h2
        weights = (wi + wj - 2) / h2  # mean zero: each weight has mean one
        cols += [cols[1] - ratio, weights] if p.path else [ratio, weights]
    out = np.stack(cols, axis=1)
    if not np.all(np.isfinite(out)):
        raise NSTheoryError("the 1/width correction overflowed (non-finite values); the "
                            "model's moments are out of float range")
    return out


class _Joint:
    """Count, means and summed deviation products of the columns ``(G, T, X...)`` (Chan's
    merge): the statistic, the coefficient's target estimate and its control variates."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, None, None

    def add(self, rows) -> None:
        nb, mb = len(rows), rows.mean(axis=0)
        dev = rows - mb
        if self.n == 0:
            self.n, self.mean, self.m2 = nb, mb, dev.T @ dev
            return
        n, delta = self.n + nb, mb - self.mean
        self.m2 = self.m2 + dev.T @ dev + np.outer(delta, delta) * self.n * nb / n
        self.mean = self.mean + delta * nb / n
        self.n = n

    def view(self, width: int) -> ViewCorrection:
        """The regression-adjusted coefficient ``mean(T - c X)`` (``c`` minimising its
        variance) and the corrected value ``mean(G + (T - c X) / width)``."""
        cov = self.m2 / (self.n - 1)
        c = (np.linalg.lstsq(cov[2:, 2:], cov[2:, 1], rcond=None)[0] if len(cov) > 2
             else np.zeros(0))
        a_coef = np.concatenate([[0.0, 1.0], -c])
        a_corr = np.concatenate([[1.0, 1.0 / width], -c / width])

        def se(a):
            return math.sqrt(max(float(a @ cov @ a), 0.0) / self.n)

        return ViewCorrection(float(self.mean[0]), math.sqrt(cov[0, 0] / self.n),
                              float(a_coef @ self.mean), se(a_coef), float(a_corr @ self.mean),
                              se(a_corr))

__all__ = ["AUTO_COMBINED_WIDTH", "ESTIMATORS", "MAX_CORRECTION_WORK", "MAX_RATIO_LOGITS", "STEP",
           "WORK_FACTOR", "CorrectedBlock", "ViewCorrection", "correction_work",
           "pattern_resolved_correction"]
