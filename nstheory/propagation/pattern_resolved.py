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

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.propagation.model import Act, Attention, Dense, LayerNorm, Model, Residual
from nstheory.stats import Moments


def _initial(n: int, rho: float, samples: int):
    k = np.zeros((2 * n, 2 * n))
    k[:n, :n] = np.eye(n)
    k[n:, n:] = np.eye(n)
    k[:n, n:] = rho * np.eye(n)
    k[n:, :n] = rho * np.eye(n)
    return np.broadcast_to(k, (samples, 2 * n, 2 * n)).copy(), np.zeros((samples, 2 * n))


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
    logits = c * d * (v @ w @ np.swapaxes(v, -1, -2))
    mix = np.zeros_like(k)
    mix[:, :n, :n] = _softmax(logits[:, :n, :n])
    mix[:, n:, n:] = _softmax(logits[:, n:, n:])
    return layer.gamma2 * (mix @ k @ np.swapaxes(mix, -1, -2))


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
    check_rho(rho)
    samples = check_int(samples, "samples", lo=2)
    chunk = check_int(chunk, "chunk", lo=1)
    if normalised_per is not None:
        per = check_int(normalised_per, "normalised_per", lo=1)
        if samples % per or chunk % per or samples // per < 2:
            raise NSTheoryError(f"samples ({samples}) and chunk ({chunk}) must be multiples of "
                                f"normalised_per ({per}), with at least 2 groups")
    n = model.n_tokens
    rng = np.random.default_rng(seed)
    acc_c = [Moments(0, 0.0, 0.0) for _ in model.blocks]
    acc_q = [Moments(0, 0.0, 0.0) for _ in model.blocks]
    idx = np.arange(n)
    for start in range(0, samples, chunk):
        size = min(chunk, samples - start)
        k, m = _initial(n, float(rho), size)
        for bi, block in enumerate(model.blocks):
            for layer in block:
                k, m = _apply(layer, k, m, n, width, rng)
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
