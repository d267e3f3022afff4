r"""The identity attention pattern's leakage at finite width, sampled.

The 1/width recursion (:mod:`~nstheory.propagation.finite_width`) treats an attention layer with
the identity query-key pattern as its value projection alone: its logits ``c N K_ij`` (``K`` the
tokens' kernel, ``c = 1/sqrt(N)``) put a weight of order ``(n - 1) e^{-sqrt(N)(K_ii - K_ij)}``
off the diagonal, below every power of ``1/N``. At the widths people run (``sqrt(N)`` of a few
units), once the tokens' cross-correlation ``K_ij`` has grown with depth, that weight is not
small and the tokens mix. This module computes what the mixing does to the stability, block by
block:

* the state of one sample is the ``2n x 2n`` kernel ``K`` of the tokens of ``X`` and ``Y`` (with
  the channel means), and every layer other than attention acts on it by its width -> infinity
  rule (:mod:`~nstheory.propagation.pattern_resolved`);
* at an identity-pattern attention layer of head dimension ``d`` (the width unless the layer
  sets its own), the tokens are taken Gaussian given ``K``, so their empirical Gram matrix is
  Wishart, ``G = V A A^T V^T / d`` with ``V V^T = K`` and ``A`` the Bartlett factor (``chi(d -
  i)`` on the diagonal, standard normals below it; for ``d < 2n`` the ``d`` channels are drawn
  directly); when the attention reads a LayerNorm output the tokens' norms are exact, so ``G``
  is rescaled to the diagonal of ``K`` (only the angles are sampled: the law of the cosines of
  Gaussian vectors). The layer maps ``K`` to ``gamma2 M G M^T`` with ``M`` the two patterns
  ``softmax(c d G_XX)``, ``softmax(c d G_YY)`` (the tokens see their own Gram matrix);
* the same draws are used a second time without the mixing (``K -> gamma2 G``: the tokens never
  mix, which is the recursion's assumption). The per-sample difference of the two states, in the
  raw view (the token-averaged ``C``) and the normalised view (``C / sqrt(Q_X Q_Y)`` per sample),
  averaged over samples, is the **leakage correction**; the common draws make its standard
  error small.

Added to the 1/width-corrected value it gives the ``corrected + leakage`` prediction. Neglected:
products of the leakage with the ``1/N`` terms, the tokens' non-Gaussianity at finite width, and
the pooling of several input pairs per network (the correction is a per-pair average). The rule
is ours (provenance ``new``); against stored Monte Carlo of transformer blocks at widths 32-256
it removes misses of up to 26 standard errors (see the claims
``propagation.finite_width.transformer_identity_leakage*``). It is a statistical route (sampled
patterns), not a certified one.

Examples
--------
Without attention there is nothing to mix, and the correction is exactly zero:

>>> from nstheory.propagation.model import mlp
>>> rows = identity_leakage(mlp(2), 0.9, width=64, samples=100)
>>> [r.normalised.mean for r in rows], [r.offdiag_weight for r in rows]
([0.0, 0.0], [None, None])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.propagation.model import Attention, LayerNorm, Model, Residual, require_zero_eps
from nstheory.stats import Moments


@dataclass
class LeakageRow:
    """The leakage correction after one block.

    Parameters
    ----------
    layer : int
        Block index (1-based).
    raw : Moments
        Per-sample difference (mixing minus no mixing) of the token-averaged raw ``C``.
    normalised : Moments
        The same for the per-sample cosine ``C / sqrt(Q_X Q_Y)``.
    offdiag_weight : float or None
        Mean attention weight off the diagonal in the block's attention layer (over samples,
        queries and both inputs); None for a block without attention.

    Examples
    --------
    >>> from nstheory.propagation.model import attention_stack
    >>> (row,) = identity_leakage(attention_stack(1, "identity", n_tokens=4), 0.9, 16,
    ...                           samples=500)
    >>> d = row.to_dict()
    >>> d["layer"], d["leakage_raw"] == row.raw.mean, 0 < d["offdiag_weight"] < 1
    (1, True, True)
    """

    layer: int
    raw: Moments
    normalised: Moments
    offdiag_weight: float | None

    def to_dict(self) -> dict:
        return {"layer": self.layer,
                "leakage_raw": self.raw.mean, "leakage_raw_stderr": self.raw.stderr,
                "leakage_normalised": self.normalised.mean,
                "leakage_normalised_stderr": self.normalised.stderr,
                "offdiag_weight": self.offdiag_weight}


def wishart_gram(rng, samples: int, p: int, d: int):
    """``samples`` draws of ``Z Z^T`` for ``Z`` a ``p x d`` matrix of standard normals (Wishart
    with ``d`` degrees of freedom): by the Bartlett factor for ``d >= p``, else directly.

    Examples
    --------
    The mean is ``d I``, and ``E[W_11^2] = d^2 + 2d``:

    >>> w = wishart_gram(np.random.default_rng(0), 200_000, 3, 5)
    >>> bool(np.allclose(w.mean(0), 5 * np.eye(3), atol=0.05))
    True
    >>> bool(abs((w[:, 0, 0] ** 2).mean() / 35 - 1) < 0.02)
    True
    """
    ar = np.arange(p)
    if d >= p:
        a = np.tril(rng.standard_normal((samples, p, p)), -1)
        a[:, ar, ar] = np.sqrt(rng.chisquare(d - ar, size=(samples, p)))
    else:
        a = rng.standard_normal((samples, p, d))
    return a @ np.swapaxes(a, -1, -2)


def _square_root(k):
    """A ``V`` with ``V V^T = k`` per sample: Cholesky (fast), or the symmetric square root
    when some ``k`` is singular. Any such ``V`` gives ``V A A^T V^T`` the same law, since the
    standard Wishart matrix ``A A^T`` is invariant under rotations."""
    from nstheory.propagation.pattern_resolved import _sqrt_psd

    try:
        return np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        return _sqrt_psd(k)


class _SharedDraws:
    """The two attention rules, mixing and not, on the same Wishart draws (in layer order);
    ``unit_norms``: the attention's input is a LayerNorm output (exact token norms)."""

    def __init__(self, rng, unit_norms: bool):
        self.rng, self.queue, self.offdiag, self.unit_norms = rng, [], None, unit_norms

    def _gram(self, layer, k, width, wish):
        if layer.mode != "identity":
            raise NSTheoryError("leakage correction: identity pattern needed, got "
                                f"mode {layer.mode!r}")
        d = layer.d if layer.d is not None else width
        if wish is None:
            wish = wishart_gram(self.rng, k.shape[0], k.shape[1], d)
            self.queue.append(wish)
        v = _square_root(k)
        g = v @ wish @ np.swapaxes(v, -1, -2) / d
        if self.unit_norms:  # a LayerNorm output has its norm exactly: only the angles vary
            q = np.sqrt(np.diagonal(k, axis1=1, axis2=2) / np.diagonal(g, axis1=1, axis2=2))
            g = g * q[:, :, None] * q[:, None, :]
        return g, d

    def mixing(self, layer, k, n, width, rng):
        from nstheory.attention.pattern_moments import logit_scale
        from nstheory.propagation.pattern_resolved import _softmax

        g, d = self._gram(layer, k, width, None)
        logits = logit_scale(layer.scale, d) * d * g
        mix = np.zeros_like(k)
        mix[:, :n, :n] = _softmax(logits[:, :n, :n])
        mix[:, n:, n:] = _softmax(logits[:, n:, n:])
        self.offdiag = float(1.0 - np.diagonal(mix, axis1=1, axis2=2).mean())
        return layer.gamma2 * (mix @ g @ np.swapaxes(mix, -1, -2))

    def isolated(self, layer, k, n, width, rng):
        g, _ = self._gram(layer, k, width, self.queue.pop(0))
        return layer.gamma2 * g


def _attention_after_layernorm(layer, prev_is_ln: bool) -> bool:
    """Whether the attention in ``layer`` (an Attention or a Residual around one) reads a
    LayerNorm output; ``prev_is_ln``: the layer before ``layer`` is a LayerNorm."""
    if isinstance(layer, Residual):
        for sub in layer.branch:
            if isinstance(sub, Attention):
                return prev_is_ln
            prev_is_ln = isinstance(sub, LayerNorm)
        return False
    return prev_is_ln


def _views(k, n):
    idx = np.arange(n)
    c = k[:, idx, n + idx].mean(axis=1)
    qx = k[:, idx, idx].mean(axis=1)
    qy = k[:, n + idx, n + idx].mean(axis=1)
    return c, c / np.sqrt(qx * qy)


def _has_attention(layer) -> bool:
    if isinstance(layer, Attention):
        return True
    return isinstance(layer, Residual) and any(_has_attention(x) for x in layer.branch)


def _attention_modes(layer):
    if isinstance(layer, Attention):
        yield layer.mode
    elif isinstance(layer, Residual):
        for x in layer.branch:
            yield from _attention_modes(x)


def has_identity_attention(model: Model) -> bool:
    """Whether ``model`` has an attention layer with the identity query-key pattern.

    >>> from nstheory.propagation.model import attention_stack, mlp
    >>> has_identity_attention(attention_stack(2, "identity")), has_identity_attention(mlp(2))
    (True, False)
    """
    return any(mode == "identity" for block in model.blocks for layer in block
               for mode in _attention_modes(layer))


def identity_leakage(model: Model, rho: float, width: int, samples: int = 20_000,
                     seed: int = 0, chunk: int = 5_000, exact_ln_norms: bool = True,
                     show_progress: bool = False) -> list[LeakageRow]:
    """Per-block leakage correction of the identity attention pattern at ``width``.

    Parameters
    ----------
    model : Model
        The stack; its attention layers must use the identity query-key pattern.
    rho : float
        Input correlation in ``[-1, 1]``.
    width : int
        Width (the head dimension of attention layers without their own ``d``).
    samples : int, optional
        Sampled token Gram matrices (``>= 2``).
    seed : int, optional
        Seed of numpy's generator.
    chunk : int, optional
        Samples processed at once.
    exact_ln_norms : bool, optional
        Tokens read from a LayerNorm output have their norms exactly (only their angles are
        sampled); ``False`` samples every attention input as Gaussian tokens (the first form of
        the correction, kept for its registered test).
    show_progress : bool, optional
        A progress bar over the chunks (stderr).

    Returns
    -------
    list of LeakageRow

    Examples
    --------
    One attention layer on i.i.d. tokens: at width 4 the pattern leaks visibly and the mixing
    lowers the stability (a query's output averages other tokens, whose noise is independent);
    at width 4096 the leak is gone:

    >>> from nstheory.propagation.model import attention_stack
    >>> (small,) = identity_leakage(attention_stack(1, "identity", n_tokens=4), 0.9, 4,
    ...                             samples=4000)
    >>> small.offdiag_weight > 0.1, small.normalised.mean < 0
    (True, True)
    >>> (wide,) = identity_leakage(attention_stack(1, "identity", n_tokens=4), 0.9, 4096,
    ...                            samples=200)
    >>> abs(wide.normalised.mean) < 1e-12
    True
    >>> identity_leakage(attention_stack(1, "random", n_tokens=4), 0.9, 64, samples=10)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: leakage correction: identity pattern needed, got mode 'random'
    """
    require_zero_eps(model, "the identity-pattern leakage correction")
    from nstheory.propagation.pattern_resolved import _apply, _initial

    check_rho(rho)
    width = check_int(width, "width", lo=1)
    samples = check_int(samples, "samples", lo=2)
    chunk = check_int(chunk, "chunk", lo=1)
    n = model.n_tokens
    rng = np.random.default_rng(seed)
    nb = len(model.blocks)
    raw = [Moments(0, 0.0, 0.0) for _ in range(nb)]
    norm = [Moments(0, 0.0, 0.0) for _ in range(nb)]
    offdiag: list[list[float]] = [[] for _ in range(nb)]
    from nstheory.progress import progress

    for start in progress(range(0, samples, chunk), desc="leakage samples",
                          enabled=show_progress):
        size = min(chunk, samples - start)
        k1, m1 = _initial(n, float(rho), size)
        k0, m0 = k1.copy(), m1.copy()
        prev_is_ln = False  # the inputs: i.i.d. N(0, 1) entries, norms not fixed
        for bi, block in enumerate(model.blocks):
            for layer in block:
                draws = _SharedDraws(rng, exact_ln_norms and _attention_after_layernorm(
                    layer, prev_is_ln))
                prev_is_ln = isinstance(layer, LayerNorm)
                k1, m1 = _apply(layer, k1, m1, n, width, None, draws.mixing)
                k0, m0 = _apply(layer, k0, m0, n, width, None, draws.isolated)
                if _has_attention(layer):
                    offdiag[bi].append(draws.offdiag)
            (c1, r1), (c0, r0) = _views(k1, n), _views(k0, n)
            raw[bi] = raw[bi].merge(Moments.from_values(c1 - c0))
            norm[bi] = norm[bi].merge(Moments.from_values(r1 - r0))
    return [LeakageRow(i + 1, raw[i], norm[i],
                       float(np.mean(offdiag[i])) if offdiag[i] else None)
            for i in range(nb)]


__all__ = ["LeakageRow", "has_identity_attention", "identity_leakage", "wishart_gram"]
