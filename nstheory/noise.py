"""Noise models shared by every route: rho-correlated Gaussians and token resampling.

Gaussian (the noise-stability paper's noise; see docs/conventions.md):
``Y = rho X + sqrt(1 - rho^2) Z`` with ``Z`` independent standard normal, applied to *all*
coordinates at once.

Token resampling on ``[U]^n`` (the regularizer's noise): each symbol is kept with probability
``q``; otherwise it is redrawn uniformly from ``[U]`` -- either from all ``U`` symbols
(``exclude_current=False``, so the redraw may return the same symbol) or from the other
``U - 1`` (``exclude_current=True``). The effective correlation (the eigenvalue of the noise
operator on every mean-zero Efron-Stein component) is ``q`` in the first case and
``(q U - 1) / (U - 1)`` in the second. The regularizer's "rho" maps to ``q = (1 + rho) / 2``,
so its rho is *not* the Gaussian rho: always report both.

Examples
--------
>>> from fractions import Fraction
>>> effective_token_correlation(Fraction(5, 8), 113, exclude_current=False)
Fraction(5, 8)
>>> float(effective_token_correlation(regularizer_keep_prob(0.25), 113, exclude_current=True))
0.6216517857142857
"""

from __future__ import annotations

import math

from nstheory.errors import NSTheoryError, check_int, check_probability, check_rho


def regularizer_keep_prob(rho):
    """Keep probability ``q = (1 + rho) / 2`` used by the noise-stability regularizer.

    Parameters
    ----------
    rho : number
        The regularizer's rho in ``[-1, 1]``.

    Returns
    -------
    number
        ``q``, of the type of ``rho``.

    Examples
    --------
    >>> regularizer_keep_prob(0.05)
    0.525
    """
    check_rho(rho)
    return (1 + rho) / 2


def effective_token_correlation(keep_prob, vocab: int, exclude_current: bool):
    """Eigenvalue of the token-resampling noise operator on mean-zero functions of one symbol.

    ``q`` when the redraw is uniform on all ``vocab`` symbols, ``(q U - 1) / (U - 1)`` when it
    must differ from the current symbol. Exact for Fractions.

    Parameters
    ----------
    keep_prob : float or Fraction
        Probability ``q`` of keeping the current symbol.
    vocab : int
        Alphabet size ``U >= 2``.
    exclude_current : bool
        Whether the redraw avoids the current symbol.

    Returns
    -------
    float or Fraction
        The effective correlation.

    Examples
    --------
    On a binary alphabet, redrawing the other symbol is a bit flip with probability
    ``1 - q``, whose correlation is ``2q - 1``:

    >>> from fractions import Fraction
    >>> q = Fraction(3, 4)
    >>> effective_token_correlation(q, 2, True) == 2 * q - 1
    True
    >>> effective_token_correlation(q, 50, False)
    Fraction(3, 4)
    >>> effective_token_correlation(Fraction(1, 50), 50, True)   # q = 1/U: independent
    Fraction(0, 1)
    """
    check_probability(keep_prob, "keep_prob")
    U = check_int(vocab, "vocab", lo=2)
    if not exclude_current:
        return keep_prob
    return (keep_prob * U - 1) / (U - 1)


def correlated_gaussian(x, rho: float, generator=None):
    """Return ``Y = rho x + sqrt(1 - rho^2) Z`` for a torch tensor ``x`` (same shape).

    Parameters
    ----------
    x : torch.Tensor
        The clean input.
    rho : float
        Correlation in ``[-1, 1]``.
    generator : torch.Generator, optional
        Source of ``Z``.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``x``.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(4, generator=g)
    >>> bool(torch.equal(correlated_gaussian(x, 1.0), x))
    True
    """
    import torch

    check_rho(rho)
    if not isinstance(x, torch.Tensor):
        raise NSTheoryError(f"x must be a torch tensor, got {type(x).__name__}")
    if rho == 1:
        return x.clone()
    if isinstance(generator, GaussianStream):
        z = generator.randn(x.shape, dtype=x.dtype)
    else:
        z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return rho * x + math.sqrt(1 - rho * rho) * z


class GaussianStream:
    """Standard normal draws, as torch tensors, from one seed: the Monte Carlo routes' source.

    Float64 draws on the CPU come from NumPy's ziggurat sampler on the SFC64 bit generator,
    about twice as fast as ``torch.randn`` (whose CPU float64 path is not vectorised); other
    dtypes (torch's vectorised float32 path is faster still) and every draw on a GPU from
    ``torch.randn`` with the stream's torch generator. Either way the draws are exact standard
    normals of the requested dtype and a seed fixes the whole stream (the CPU and GPU streams
    differ). ``generator`` is a torch generator seeded alike, for the draws that need one
    (e.g. random weight matrices).

    Parameters
    ----------
    seed : int
        The stream's seed.
    device : str or torch.device, optional
        Where the tensors live (default CPU).

    Examples
    --------
    >>> import torch
    >>> a = GaussianStream(7).randn((2, 3))
    >>> b = GaussianStream(7).randn((2, 3))
    >>> a.dtype, a.shape, bool(torch.equal(a, b))
    (torch.float64, torch.Size([2, 3]), True)
    >>> y = correlated_gaussian(a, 0.5, GaussianStream(8))
    >>> y.shape == a.shape
    True
    """

    def __init__(self, seed: int, device="cpu") -> None:
        import numpy as np
        import torch

        seed = check_int(seed, "seed", lo=0)
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self._np = (np.random.Generator(np.random.SFC64(seed))
                    if self.device.type == "cpu" else None)

    def randn(self, shape, dtype=None):
        """A tensor of i.i.d. standard normals of ``shape`` (float64 unless ``dtype`` given)."""
        import torch

        dtype = dtype or torch.float64
        if self._np is None or dtype != torch.float64:
            return torch.randn(shape, generator=self.generator, device=self.device, dtype=dtype)
        return torch.from_numpy(self._np.standard_normal(shape))


def resample_tokens(tokens, keep_prob: float, vocab: int, exclude_current: bool, generator=None):
    """Token-resampling noise on an integer tensor of symbols in ``[0, vocab)``.

    Each entry is kept with probability ``keep_prob``; otherwise replaced by a uniform symbol
    (``exclude_current=True``: uniform among the other ``vocab - 1`` symbols).

    Parameters
    ----------
    tokens : torch.Tensor
        Integer symbols in ``[0, vocab)``.
    keep_prob : float
        Probability of keeping a symbol.
    vocab : int
        Alphabet size.
    exclude_current : bool
        Redraw among the other ``vocab - 1`` symbols.
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    torch.Tensor
        Same shape as ``tokens``.

    Examples
    --------
    >>> import torch
    >>> t = torch.zeros(1000, dtype=torch.long)
    >>> y = resample_tokens(t, 1.0, 5, True)
    >>> bool((y == t).all())
    True
    """
    import torch

    check_probability(keep_prob, "keep_prob")
    U = check_int(vocab, "vocab", lo=2)
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= U):
        raise NSTheoryError(f"tokens must lie in [0, {U}), got range "
                            f"[{int(tokens.min())}, {int(tokens.max())}]")
    dev = tokens.device
    keep = torch.rand(tokens.shape, generator=generator, device=dev) < keep_prob
    if exclude_current:
        shift = torch.randint(1, U, tokens.shape, generator=generator, device=dev)
        fresh = (tokens + shift) % U
    else:
        fresh = torch.randint(0, U, tokens.shape, generator=generator, device=dev)
    return torch.where(keep, tokens, fresh)


__all__ = [
    "GaussianStream",
    "correlated_gaussian",
    "effective_token_correlation",
    "regularizer_keep_prob",
    "resample_tokens",
]
