"""The d -> infinity law of a stack of random hard-argmax attention layers: a copy chain.

In the hard-argmax limit (random ``W`` with i.i.d. N(0, 1) entries and scale ``1/sqrt d``: the
logits have standard deviation of order ``sqrt d``) every output token of a layer is a *copy*
of one input token, mapped by the value projection. After ``L`` layers of an attention-only
stack (no residual, no LayerNorm) token ``k`` of the output is ``M^T x_{sigma(k)}`` for one
original input token ``sigma(k)`` and the product ``M`` of the value matrices, so

    C_L = E[h(X)_ij h(Y)_ij] = gamma2^L rho P(sigma_X(i) = sigma_Y(i)).

The maps evolve as a Markov chain. At each layer the logit of query ``k`` at key ``m`` is
``G[sigma(k), sigma(m)]`` with ``G`` an ``n x n`` matrix indexed by *original* tokens: entries
are independent for ``X`` (and for ``Y``), and ``corr(G_X[a, b], G_Y[a', b']) = rho^2`` when
``a = a'`` and ``b = b'`` (``cov(x_a^T W x_b, y_a^T W y_b) = (x_a . y_a)(x_b . y_b)``), else 0.
Copies of one token have identical logits; softmax splits its weight between them, which
yields the same vector, so ties do not matter. The first step reproduces Theorem 5.3's
``s_n(rho^2)``; later steps do **not** follow ``s_n`` of the tokens' correlation (copies make
fewer distinct choices), which is why the mean-field point recurrence with ``s_n(r^2)`` and
``t = 1/n`` departs from Monte Carlo of real stacks beyond the first layer.

:func:`copy_chain_stability` samples the chain (cheap: ``n^2`` normals per layer and sample).
It is a Monte Carlo of the d -> infinity limit model, not of a finite-width network.

>>> res = copy_chain_stability(4, 0.9, 2, gamma2=0.9, samples=4000, seed=1)
>>> len(res), abs(res[0].mean - 0.5345128) < 5 * res[0].stderr
(2, True)
"""

from __future__ import annotations

import math

import numpy as np

from nstheory.errors import check_int, check_positive, check_rho
from nstheory.stats import Moments

__all__ = ["copy_chain_stability"]


def copy_chain_stability(n: int, rho: float, depth: int, gamma2: float = 1.0,
                         samples: int = 100_000, seed: int = 0,
                         chunk: int = 50_000) -> list[Moments]:
    """Per-layer Monte Carlo of ``C_L`` for an attention-only stack of random hard-argmax
    layers in the d -> infinity limit (see the module docstring).

    Parameters
    ----------
    n : int
        Tokens (>= 2).
    rho : float
        Input correlation of ``X`` and ``Y`` (all entries).
    depth : int
        Number of attention layers.
    gamma2 : float
        Squared value-column norm of every layer.
    samples, seed, chunk : sample size, seed of a numpy ``default_rng``, samples per batch.

    Returns
    -------
    list of Moments
        One per layer: moments of ``gamma2^L rho 1[sigma_X(i) = sigma_Y(i)]`` averaged over
        the ``n`` query tokens ``i`` (per sample), raw view.

    Examples
    --------
    >>> m = copy_chain_stability(2, 0.5, 1, samples=4000, seed=0)[0]
    >>> abs(m.mean - 0.5 * (0.5 + math.asin(0.25) / math.pi)) < 5 * m.stderr
    True
    """
    n = check_int(n, "n", lo=2, hi=64)
    check_rho(rho)
    depth = check_int(depth, "depth", lo=1, hi=1000)
    check_positive(gamma2, "gamma2")
    samples = check_int(samples, "samples", lo=2)
    chunk = check_int(chunk, "chunk", lo=1)
    rng = np.random.default_rng(seed)
    r2 = rho * rho
    c2 = math.sqrt(max(0.0, 1 - r2 * r2))
    out = [Moments() for _ in range(depth)]
    done = 0
    while done < samples:
        b = min(chunk, samples - done)
        done += b
        sx = np.tile(np.arange(n), (b, 1))
        sy = sx.copy()
        rows = np.arange(b)[:, None, None]
        for layer in range(depth):
            z1 = rng.standard_normal((b, n, n))
            gx = z1
            gy = r2 * z1 + c2 * rng.standard_normal((b, n, n))
            lx = gx[rows, sx[:, :, None], sx[:, None, :]]  # query k, key m: G[s(k), s(m)]
            ly = gy[rows, sy[:, :, None], sy[:, None, :]]
            sx = np.take_along_axis(sx, lx.argmax(-1), 1)
            sy = np.take_along_axis(sy, ly.argmax(-1), 1)
            agree = (sx == sy).mean(axis=1)
            out[layer] = out[layer].merge(
                Moments.from_values(gamma2 ** (layer + 1) * rho * agree))
    return out
