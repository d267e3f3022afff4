"""Pattern-resolved mean field: infinite width, random softmax patterns kept (sampled).

The scalar mean-field rules (:mod:`nstheory.propagation.rules`) average the tokens' Gram
matrix before the next attention layer. That is exact for the first attention layer (its input
tokens are i.i.d.), but an attention pattern is an ``O(1)`` random object that does not
concentrate as the width grows: after it, the tokens' Gram matrix is random (two queries that
attended to the same key become nearly identical), and the next pattern depends on it
non-linearly. This module keeps that randomness. The state of one sample is the ``2n x 2n``
Gram matrix ``K`` (per-channel averages, tokens of ``X`` then of ``Y``) and the channel means
``m``; every layer acts on it by its exact width -> infinity rule *given* ``K``:

* ``Dense(sigma2)``: ``K -> sigma2 K``, ``m -> 0`` (Gaussian given ``K``);
* ``Act(phi)``: ``K_ab -> E phi(u_a) phi(u_b)`` with ``u ~ N(0, K)`` (the activation's raw
  map), ``m_a -> E phi(u_a)``;
* ``LayerNorm``: ``K_ab -> (K_ab - m_a m_b) / sqrt(v_a v_b)``, ``v_a = K_aa - m_a^2``;
* random-``W`` attention at head dimension ``d`` (= the width): the logits are
  ``c d V_a^T W' V_b`` with ``V V^T = K`` and ``W'`` a ``2n x 2n`` matrix of i.i.d. N(0, 1)
  entries (the projection of ``W`` on the tokens' span), so a pattern ``A`` (queries of ``X``
  on keys of ``X``) and ``B`` (of ``Y``) is sampled exactly; then
  ``K -> gamma2 M K M^T`` with ``M = diag(A, B)``;
* ``Residual``: skip and branch moments add.

Only the patterns (through ``W'`` of each attention layer) are sampled; widths are integrated
out analytically. The estimate is the width -> infinity value at the given ``d``, with a
standard error over independent samples: a statistical route, not a certified one.

Examples
--------
>>> from nstheory.propagation.model import attention_stack
>>> res = pattern_resolved_mc(attention_stack(2, "random", n_tokens=4, d=256), 0.9,
...                           samples=2000, seed=1)
>>> len(res), res[0].n
(2, 2000)
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
from nstheory.stats import Moments

#: Entries of the ``(2n)^2`` Gram matrices of one chunk of samples (about 16 MB per array; a few
#: such arrays are alive at once).
CHUNK_ENTRIES = 2_000_000
#: Largest ``2n x 2n`` state accepted (n up to 2000 tokens: 128 MB per matrix).
MAX_STATE_ENTRIES = 16_000_000
#: Largest work ``samples x layers x (2n)^3`` accepted (about a minute of one core).
MAX_WORK = 1e10


def pattern_work(model: Model, samples: int) -> float:
    """The work ``samples x layers x (2n)^3`` of the pattern-resolved route (an eigen-
    decomposition and matrix products of ``2n x 2n`` matrices per layer and sample).

    Examples
    --------
    >>> from nstheory.propagation.model import attention_stack
    >>> pattern_work(attention_stack(6, "random", n_tokens=4, d=256), 200_000)
    614400000.0
    """
    def count(layers):
        return sum(count(x.branch) if isinstance(x, Residual) else 1 for x in layers)

    layers = sum(count(block) for block in model.blocks)
    return float(samples) * layers * (2 * model.n_tokens) ** 3


def _check_size(model: Model, samples: int) -> None:
    n2 = (2 * model.n_tokens) ** 2
    if n2 > MAX_STATE_ENTRIES:
        raise NSTheoryError(f"the pattern-resolved route keeps a {2 * model.n_tokens} x "
                            f"{2 * model.n_tokens} Gram matrix per sample: more than "
                            f"{MAX_STATE_ENTRIES:,} entries; use at most 2000 tokens")
    work = pattern_work(model, samples)
    if work > MAX_WORK:
        raise NSTheoryError(f"the pattern-resolved route with {samples} samples would do "
                            f"{work:.3g} units of work (samples x layers x (2n)^3) > "
                            f"{MAX_WORK:.0e} (about a minute); use fewer samples, tokens or "
                            "layers")


def _initial(n: int, rho: float, samples: int, pairs: int = 1):
    """Input Gram matrices of ``pairs`` independent input pairs (tokens of ``X_1``, ``Y_1``,
    ``X_2``, ... in groups of ``n``) and zero channel means, ``samples`` copies."""
    pair = np.block([[np.eye(n), rho * np.eye(n)], [rho * np.eye(n), np.eye(n)]])
    k = np.kron(np.eye(pairs), pair)
    return (np.broadcast_to(k, (samples, *k.shape)).copy(),
            np.zeros((samples, 2 * n * pairs)))


def _sqrt_psd(k):
    lam, u = np.linalg.eigh(k)
    return u * np.sqrt(np.clip(lam, 0.0, None))[:, None, :]


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _attention(layer: Attention, k, n: int, width: int, rng):
    from nstheory.attention.pattern_moments import logit_scale

    if layer.mode != "random":
        raise NSTheoryError("the pattern-resolved route supports random-W attention only, "
                            f"got mode {layer.mode!r}")
    d = layer.d if layer.d is not None else width
    c = logit_scale(layer.scale, d)
    v = _sqrt_psd(k)  # (S, 2n, 2n), rows = tokens
    w = rng.standard_normal(k.shape)
    mix = _mix(c * d * (v @ w @ np.swapaxes(v, -1, -2)), n)
    return layer.gamma2 * (mix @ k @ np.swapaxes(mix, -1, -2))


def _mix(logits, n: int):
    """The block-diagonal pattern ``diag(A, B, ...)`` from square logits (leading axes kept):
    within each group of ``n`` tokens (queries of ``X`` on keys of ``X``, of ``Y`` on ``Y``,
    of a second pair's ``X`` on its keys, ...)."""
    mix = np.zeros_like(logits)
    for g in range(0, logits.shape[-1], n):
        mix[..., g:g + n, g:g + n] = _softmax(logits[..., g:g + n, g:g + n])
    return mix


def _act(layer: Act, k, m):
    from nstheory.propagation.maps import activation
    from nstheory.propagation.recurrence import _mean_sign

    act = activation(layer.name)
    q = np.diagonal(k, axis1=1, axis2=2)
    qa = np.broadcast_to(q[:, :, None], k.shape)
    qb = np.broadcast_to(q[:, None, :], k.shape)
    den = np.sqrt(qa * qb)
    r = np.clip(np.divide(k, den, out=np.zeros_like(k), where=den > 0), -1.0, 1.0)
    k2 = np.asarray(act.raw_float(r, qa, qb), dtype=float)
    m2 = np.asarray(act.raw_float(np.zeros_like(q), q, q), dtype=float)  # (E phi(u_a))^2
    return k2, _mean_sign(act, 1.0) * np.sqrt(np.clip(m2, 0.0, None))


def _layernorm(k, m):
    v = np.diagonal(k, axis1=1, axis2=2) - m * m
    s = np.sqrt(np.clip(v, 1e-300, None))
    return (k - m[:, :, None] * m[:, None, :]) / (s[:, :, None] * s[:, None, :]), np.zeros_like(m)


def _apply(layer, k, m, n, width, rng, attention=None):
    """One layer's width -> infinity rule given the Gram matrices ``k`` (samples first) and
    channel means ``m``; ``attention(layer, k, n, width, rng)`` replaces the random-``W``
    pattern rule (another module samples the identity pattern at finite width with it)."""
    if isinstance(layer, Dense):
        return layer.sigma2 * k, np.zeros_like(m)
    if isinstance(layer, Act):
        return _act(layer, k, m)
    if isinstance(layer, LayerNorm):
        return _layernorm(k, m)
    if isinstance(layer, Attention):
        return (attention or _attention)(layer, k, n, width, rng), np.zeros_like(m)
    if isinstance(layer, Residual):
        kb, mb = k, m
        for sub in layer.branch:
            kb, mb = _apply(sub, kb, mb, n, width, rng, attention)
        return k + kb, m + mb
    raise NSTheoryError(f"unknown layer {layer!r}")


def _block_states(model: Model, rho: float, samples: int, seed: int, width: int, chunk: int,
                  multiple: int = 1):
    """Yield ``(block index, Gram matrices after that block)``, chunk by chunk, all drawn from
    one numpy generator seeded by ``seed``; chunks shrink to bound memory, staying multiples
    of ``multiple``. A progress bar counts the blocks done (deep models take minutes)."""
    from nstheory.progress import progress

    n = model.n_tokens
    _check_size(model, samples)
    cap = max(multiple, CHUNK_ENTRIES // (2 * n) ** 2 // multiple * multiple)
    chunk = min(chunk, cap)
    rng = np.random.default_rng(seed)
    chunks = -(-samples // chunk)
    with progress(total=chunks * len(model.blocks), desc="pattern-resolved samples",
                  unit="block", delay=2.0) as bar:
        for start in range(0, samples, chunk):
            size = min(chunk, samples - start)
            k, m = _initial(n, rho, size)
            for bi, block in enumerate(model.blocks):
                for layer in block:
                    k, m = _apply(layer, k, m, n, width, rng)
                bar.update(1)
                yield bi, k


def pattern_resolved_mc(model: Model, rho: float, samples: int = 100_000, seed: int = 0,
                        width: int = 256, chunk: int = 20_000, with_q: bool = False,
                        normalised_per: int | None = None):
    """Per-block raw stability ``C`` of the pattern-resolved mean field (see module docstring).

    Parameters
    ----------
    model : Model
        The architecture (attention layers must be ``mode="random"``).
    rho : float
        Input correlation.
    samples : int, optional
        Independent pattern samples (``>= 2``).
    seed : int, optional
        Seed of numpy's generator.
    width : int, optional
        Head dimension for attention layers without their own ``d``.
    chunk : int, optional
        Samples processed at once.
    with_q : bool, optional
        Also return the second moment ``Q``.
    normalised_per : int, optional
        Instead, the normalised view pooled like the Monte Carlo's per-network statistic:
        consecutive groups of this many samples (input pairs), per group
        ``sum C / sqrt(sum Q_X sum Q_Y)``, Moments over the groups (``samples`` must be a
        multiple of it, and ``chunk`` too).

    Returns
    -------
    list
        One :class:`~nstheory.stats.Moments` (over samples, or over groups) per block, or
        ``(C, Q)`` pairs.

    Examples
    --------
    Without attention nothing is random: a He ReLU layer gives the arc-cosine value exactly,
    with zero spread:

    >>> import math
    >>> from nstheory.propagation.model import Model, Dense, Act
    >>> (c,) = pattern_resolved_mc(Model(((Dense(2.0), Act("relu")),), n_tokens=2), 0.5,
    ...                            samples=10)
    >>> exact = (math.sqrt(0.75) + (math.pi - math.acos(0.5)) * 0.5) / math.pi
    >>> abs(c.mean - exact) < 1e-14, c.stderr < 1e-14
    (True, True)

    Pooled in groups of 20 pairs, the normalised view of that layer is the cosine, exact again:

    >>> (r,) = pattern_resolved_mc(Model(((Dense(2.0), Act("relu")),), n_tokens=2), 0.5,
    ...                            samples=40, chunk=20, normalised_per=20)
    >>> r.n, abs(r.mean - exact) < 1e-14
    (2, True)
    """
    require_zero_eps(model, "the pattern-resolved route")
    check_rho(rho)
    samples = check_int(samples, "samples", lo=2)
    width = check_int(width, "width", lo=1, hi=1 << 20)  # head dimension of layers without d
    chunk = check_int(chunk, "chunk", lo=1)
    if normalised_per is not None:
        per = check_int(normalised_per, "normalised_per", lo=1)
        if samples % per or chunk % per or samples // per < 2:
            raise NSTheoryError(f"samples ({samples}) and chunk ({chunk}) must be multiples of "
                                f"normalised_per ({per}), with at least 2 groups")
    n = model.n_tokens
    acc_c = [Moments(0, 0.0, 0.0) for _ in model.blocks]
    acc_q = [Moments(0, 0.0, 0.0) for _ in model.blocks]
    idx = np.arange(n)
    for bi, k in _block_states(model, float(rho), samples, seed, width, chunk,
                               normalised_per or 1):
        c = k[:, idx, n + idx].mean(axis=1)
        if normalised_per is not None:
            def pooled(v):
                return v.reshape(-1, normalised_per).sum(axis=1)

            qx = pooled(k[:, idx, idx].mean(axis=1))
            qy = pooled(k[:, n + idx, n + idx].mean(axis=1))
            c = pooled(c) / np.sqrt(qx * qy)
        acc_c[bi] = acc_c[bi].merge(Moments.from_values(c))
        if with_q:
            acc_q[bi] = acc_q[bi].merge(Moments.from_values(
                0.5 * (k[:, idx, idx] + k[:, n + idx, n + idx]).mean(axis=1)))
    if with_q:
        return list(zip(acc_c, acc_q, strict=True))
    return acc_c


def _q_bound(layer, q: float) -> float:
    """Almost-sure bound of every diagonal entry of ``K`` after ``layer`` when it is ``<= q``
    before (the rules of :func:`_apply`)."""
    from nstheory.propagation.maps import activation

    if isinstance(layer, Dense):
        return layer.sigma2 * q
    if isinstance(layer, Act):
        return activation(layer.name).second_moment_bound(q)
    if isinstance(layer, LayerNorm):
        return 1.0  # (K_aa - m_a^2) / v_a
    if isinstance(layer, Attention):
        return layer.gamma2 * q  # rows of M are convex weights: a^T K a <= max_l K_ll
    if isinstance(layer, Residual):
        qb = q
        for sub in layer.branch:
            qb = _q_bound(sub, qb)
        return q + qb
    raise NSTheoryError(f"unknown layer {layer!r}")


def second_moment_bounds(model: Model) -> list[float]:
    """Per block, an almost-sure bound ``B`` of every token's second moment ``K_aa`` in the
    pattern-resolved mean field, whatever the sampled patterns; so ``|C| <= B``.

    Parameters
    ----------
    model : Model
        The architecture.

    Returns
    -------
    list of float
        One bound per block (inputs have ``K_aa = 1``).

    Examples
    --------
    A He ReLU layer keeps unit second moments; a random-W attention layer mixes tokens with
    convex weights, so it cannot raise the largest one:

    >>> from nstheory.propagation.model import attention_stack
    >>> [round(b, 9) for b in second_moment_bounds(attention_stack(2, "random", n_tokens=4,
    ...                                                                  d=64))]
    [1.0, 1.0]
    """
    out, q = [], 1.0
    for block in model.blocks:
        for layer in block:
            q = _q_bound(layer, q)
        out.append(q * (1 + 1e-12))  # float evaluation of the rules: a relative allowance
    return out


@dataclass(frozen=True)
class PatternEnclosure:
    """An interval holding the pattern-resolved mean-field stability of one block with
    probability ``>= 1 - delta`` (simultaneously over the model's blocks).

    Parameters
    ----------
    lo, hi : float
        The interval, intersected with ``[-bound, bound]``.
    mean, stderr : float
        The sample mean over patterns and its standard error.
    samples : int
        Independent pattern samples.
    delta : float
        Failure probability, simultaneous over all blocks of the model.
    bound : float
        Almost-sure bound of ``|C|`` (:func:`second_moment_bounds`).

    Examples
    --------
    >>> e = PatternEnclosure(0.44, 0.45, 0.445, 0.0006, 200_000, 1e-6, 1.0)
    >>> e.to_dict()["hi"], e.hi - e.lo < 0.02
    (0.45, True)
    """

    lo: float
    hi: float
    mean: float
    stderr: float
    samples: int
    delta: float
    bound: float

    def to_dict(self) -> dict:
        """A JSON-ready dict (the field names above).

        >>> sorted(PatternEnclosure(0.0, 1.0, 0.5, 0.1, 10, 0.1, 1.0).to_dict())[:3]
        ['bound', 'delta', 'hi']
        """
        return asdict(self)


def pattern_resolved_enclosure(model: Model, rho: float, samples: int = 200_000, seed: int = 0,
                               width: int = 256, delta: float = 1e-6,
                               chunk: int = 20_000) -> list[PatternEnclosure]:
    """Per block, an interval that holds the pattern-resolved mean-field raw stability ``C``
    (the width -> infinity value at the attention's ``d``) with probability ``>= 1 - delta``.

    The per-sample values are bounded almost surely, ``|C| <= B``
    (:func:`second_moment_bounds`), so the empirical Bernstein inequality (Maurer & Pontil
    2009, Theorem 4) applies: with ``L = log(4 blocks / delta)``, ``V`` the unbiased sample
    variance and ``R = 2B``, each side fails with probability ``<= delta / (2 blocks)`` for

    ``|E C - mean| <= sqrt(2 V L / n) + 7 R L / (3 (n - 1))``.

    Unlike a normal-approximation confidence interval this needs no asymptotics and no
    variance assumption; its price is the factor ``sqrt(2 L)`` (about 5.8 at ``delta = 1e-6``
    and six blocks) in place of 1.96, and the range term. The sampled quantity is exact given
    the patterns (the rules of this module, evaluated in float64), so the interval's only
    failure mode is the stated probability.

    Parameters
    ----------
    model : Model
        The architecture (attention layers must be ``mode="random"``).
    rho : float
        Input correlation.
    samples : int, optional
        Independent pattern samples (``>= 2``).
    seed : int, optional
        Seed of numpy's generator.
    width : int, optional
        Head dimension for attention layers without their own ``d``.
    delta : float, optional
        Failure probability in ``(0, 1)``, simultaneous over the blocks.
    chunk : int, optional
        Samples processed at once.

    Returns
    -------
    list of PatternEnclosure
        One per block.

    Examples
    --------
    Without attention every sample is the exact arc-cosine value: the interval is that value
    plus the range term only, and it contains it:

    >>> import math
    >>> from nstheory.propagation.model import Model, Dense, Act
    >>> (e,) = pattern_resolved_enclosure(Model(((Dense(2.0), Act("relu")),), n_tokens=2),
    ...                                   0.5, samples=1000)
    >>> exact = (math.sqrt(0.75) + (math.pi - math.acos(0.5)) * 0.5) / math.pi
    >>> e.lo <= exact <= e.hi, round(e.hi - e.lo, 4)
    (True, 0.142)
    """
    require_zero_eps(model, "the pattern-resolved enclosure")
    check_rho(rho)
    samples = check_int(samples, "samples", lo=2)
    chunk = check_int(chunk, "chunk", lo=1)
    if not (isinstance(delta, float | int) and 0.0 < delta < 1.0):
        raise NSTheoryError(f"delta must lie in (0, 1), got {delta!r}")
    n = model.n_tokens
    bounds = second_moment_bounds(model)
    acc = [Moments(0, 0.0, 0.0) for _ in model.blocks]
    idx = np.arange(n)
    for bi, k in _block_states(model, float(rho), samples, seed, width, chunk):
        c = k[:, idx, n + idx].mean(axis=1)
        worst = float(np.max(np.abs(c)))
        if not worst <= bounds[bi]:  # also catches NaN
            raise NSTheoryError(f"block {bi + 1}: a sampled stability {worst!r} exceeds its "
                                f"almost-sure bound {bounds[bi]!r} (the rules are not what "
                                "the bound assumes)")
        acc[bi] = acc[bi].merge(Moments.from_values(c))
    log_term = math.log(4 * len(model.blocks) / delta)
    out = []
    for m, b in zip(acc, bounds, strict=True):
        half = (math.sqrt(2 * m.variance * log_term / m.n)
                + 7 * (2 * b) * log_term / (3 * (m.n - 1)))
        out.append(PatternEnclosure(max(m.mean - half, -b), min(m.mean + half, b), m.mean,
                                    m.stderr, m.n, float(delta), b))
    return out
