"""Batched Monte Carlo of the noise stability of one attention coordinate.

The estimated quantity is the **raw (uncentred) stability of coordinate (i, j)**::

    Stab_rho(f_ij) = E[f_ij(X) f_ij(Y)],   Y = rho X + sqrt(1 - rho^2) Z  on all n*d entries,

with ``f_ij(X) = [softmax(scale X W X^T) X W_V]_{ij}``; the value column ``v = (W_V)_{:,j}``
enters only through ``X v``, so only that column is simulated. Each chunk of ``batch`` samples
is one set of tensor operations (no Python loop per sample); chunks are seeded from the root
seed in order, so a result does not depend on the chunk size for a fixed ``batch``.

Also recorded per sample: whether the argmax of query ``i``'s logits agrees between ``X`` and
``Y`` (the empirical permutation-consistency ``s``), whether the argmax of ``X``'s row is the
diagonal ``i`` (identity attention -> ``I_n``) and ``1 - a_ii(X)``, the softmax mass off the
diagonal.

:func:`argmax_agreement_mc` is the Monte Carlo route for ``s_n(r)`` itself (``n`` i.i.d.
bivariate-normal pairs).

Examples
--------
>>> est = attention_stability_mc(4, 64, 0.5, "identity", samples=2000, seed=1, device="cpu")
>>> abs(est.stab.mean - 0.5) < 5 * est.stab.stderr
True
>>> m = argmax_agreement_mc(2, 0.25, samples=20000, seed=3, device="cpu")
>>> abs(m.mean - 0.5804306) < 5 * m.stderr
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from nstheory.attention.layer import QueryKey, attention_weights, logits_row, scale_factor
from nstheory.device import describe_device, resolve_device
from nstheory.errors import NSTheoryError, check_choice, check_int, check_rho
from nstheory.noise import GaussianStream, correlated_gaussian
from nstheory.progress import progress
from nstheory.stats import Moments
from nstheory.validate import check_real

__all__ = ["MODES", "StabEstimate", "argmax_agreement_mc", "attention_stability_mc",
           "theory_value"]

MODES = ("identity", "lowrank", "random")


@dataclass
class StabEstimate:
    """Result of :func:`attention_stability_mc`: moments of each per-sample quantity.

    Examples
    --------
    Parameters
    ----------
    params : dict
        The arguments of the run (with defaults filled in).
    stab, agree, diag, offdiag : Moments
        Per-sample ``f_ij(X) f_ij(Y)`` (the raw uncentred Stab), argmax agreement of row ``i``
        between ``X`` and ``Y``, argmax of ``X``'s row on the diagonal, and ``1 - a_ii(X)``.
    seconds : float
        Wall time of the sampling loop.
    device : str
        Description of the torch device used.

    Examples
    --------
    >>> est = StabEstimate(params={"n": 2}, stab=Moments.from_values(torch.ones(10)), seconds=2.0)
    >>> est.throughput, est.to_dict()["stab"]["n"]
    (5.0, 10)
    """

    params: dict
    stab: Moments = field(default_factory=Moments)  # f_ij(X) f_ij(Y): raw uncentred Stab
    agree: Moments = field(default_factory=Moments)  # 1[argmax row i (X) == argmax row i (Y)]
    diag: Moments = field(default_factory=Moments)  # 1[argmax row i (X) == i]
    offdiag: Moments = field(default_factory=Moments)  # 1 - a_ii(X)
    seconds: float = 0.0
    device: str = ""

    @property
    def throughput(self) -> float:
        """Samples per second."""
        return self.stab.n / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict:
        return {
            "params": self.params,
            "stab": self.stab.to_dict(),
            "agree": self.agree.to_dict(),
            "diag": self.diag.to_dict(),
            "offdiag": self.offdiag.to_dict(),
            "seconds": self.seconds,
            "device": self.device,
        }


def theory_value(mode: str, n: int, rho: float, v_norm2: float = 1.0, dps: int = 20):
    """The reconstructed theory for the raw Stab of one coordinate.

    ``identity`` / ``lowrank``: ``rho ||v||^2`` (Theorem 5.2, its d -> infinity limit);
    ``random``: ``rho s_n(rho^2) ||v||^2`` (Theorem 5.3 as reconstructed). Returns a float.

    >>> round(theory_value("random", 2, 0.5), 12)
    0.290215311628
    """
    from nstheory.attention.consistency import s_n

    check_rho(rho)
    v_norm2 = check_real(v_norm2, "v_norm2", lo=0)
    if mode in ("identity", "lowrank"):
        return rho * v_norm2
    if mode == "random":
        return float(rho * s_n(n, rho * rho, dps=dps) * v_norm2)
    raise NSTheoryError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")


def _chunks(samples: int, batch: int):
    k, rem = divmod(samples, batch)
    return [batch] * k + ([rem] if rem else [])


#: Largest number of values one sample may hold (``n d`` token entries, plus ``d^2`` for a dense
#: random ``W`` or ``d rank`` for a low-rank one): 2^26 float64 values are 512 MiB, a few GiB
#: with the layer's intermediates. Larger layers are refused up front, not sent to the allocator.
MAX_SAMPLE_VALUES = 1 << 26
#: Most values one chunk may hold (1 GiB in float64): large layers get smaller chunks.
_CHUNK_VALUES = 1 << 27


def _sample_values(mode, n, d, rank, dense_w):
    dense = mode == "random" and dense_w
    return n * d + (d * d if dense else (d * rank if mode == "lowrank" else 0))


def _auto_batch(mode: str, n: int, d: int, rank: int | None, dense_w: bool = True) -> int:
    """Samples per chunk: about 2^23 values (counting a random ``W`` as dense), at least 64,
    and never more than :data:`_CHUNK_VALUES` values actually held (at least one sample)."""
    per = n * d + (d * d if mode == "random" else (d * (rank or 1) if mode == "lowrank" else 0))
    batch = max(64, min(65536, (1 << 23) // max(per, 1)))
    return max(1, min(batch, _CHUNK_VALUES // _sample_values(mode, n, d, rank, dense_w)))


def _check_sample_size(mode, n, d, rank, dense_w):
    """Refuse a layer one sample of which would not fit in memory."""
    per = _sample_values(mode, n, d, rank, dense_w)
    if per > MAX_SAMPLE_VALUES:
        raise NSTheoryError(
            f"one sample of this layer holds {per:.3g} values (n d = {n * d:.3g}"
            + (f" plus the d x d matrix W, {d * d:.3g}" if mode == "random" and dense_w
               else f" plus U, d x rank = {d * rank:.3g}" if mode == "lowrank" else "")
            + f"), more than {MAX_SAMPLE_VALUES:.3g} (~{MAX_SAMPLE_VALUES * 8 >> 20} MiB in "
            "float64): too large to simulate; lower n or d (--n, --d)")


def attention_stability_mc(
    n: int,
    d: int,
    rho: float,
    mode: str = "identity",
    *,
    rank: int | None = None,
    scale="sqrt",
    samples: int = 20000,
    batch: int | None = None,
    i: int | None = None,
    v_norm: float = 1.0,
    hard: bool = False,
    causal: bool = False,
    fresh_weights: bool = True,
    w_sampling: str = "projected",
    device: str = "auto",
    dtype=torch.float64,
    seed: int = 0,
    show_progress: bool | None = None,
) -> StabEstimate:
    """Monte Carlo of ``Stab_rho(f_ij)`` for one attention layer, batched on torch.

    Parameters
    ----------
    n, d : tokens and channels.
    rho : Gaussian noise correlation (on all ``n d`` coordinates).
    mode : ``identity`` (W = I), ``lowrank`` (W = U U^T, U ~ N(0, 1/rank), needs ``rank``),
        ``random`` (W i.i.d. N(0, 1)).
    scale : ``sqrt`` (1/sqrt d), ``linear`` (1/d), ``none`` or a number.
    i : query token (default ``n - 1``, the last; any row is equivalent without a mask).
    v_norm : ``||(W_V)_{:,j}||``; the column is ``v_norm e_1`` (the law of ``X`` is
        rotation-invariant, so only the norm matters).
    hard : hard-argmax attention instead of softmax.
    fresh_weights : draw a new ``W`` per sample (the theorem's expectation over W); otherwise
        one ``W`` (from the seed) for all samples.
    w_sampling : for ``random`` with fresh weights, ``projected`` (default) samples only the
        two vectors the logits need, ``u = W^T x_i`` and ``u' = W^T y_i``: given ``(x_i, y_i)``
        they are jointly Gaussian with covariance ``[[|x_i|^2, x_i.y_i], [x_i.y_i, |y_i|^2]]
        (x) I_d`` -- the same joint law as with a dense ``W``, at ``O(d)`` instead of ``O(d^2)``
        cost per sample. ``dense`` draws the ``d x d`` matrix.

    Examples
    --------
    Under a causal mask the first token attends only to itself, so ``f_0j(X) = x_0j`` and the raw
    Stab is exactly ``rho``; with ``rho = 1`` every argmax agrees:

    >>> est = attention_stability_mc(3, 8, 0.3, causal=True, i=0, samples=4000, seed=2,
    ...                              device="cpu")
    >>> abs(est.stab.mean - 0.3) < 5 * est.stab.stderr
    True
    >>> attention_stability_mc(3, 8, 1.0, "random", samples=500, device="cpu").agree.mean
    1.0
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    check_rho(rho)
    samples = check_int(samples, "samples", lo=2)
    check_choice(mode, MODES, "mode")
    if mode == "lowrank":
        if rank is None:
            raise NSTheoryError("mode 'lowrank' needs a rank (--rank K)")
        rank = check_int(rank, "rank", lo=1, hi=d)
    if w_sampling not in ("projected", "dense"):
        raise NSTheoryError(f"w_sampling must be 'projected' or 'dense'; got {w_sampling!r}")
    projected = mode == "random" and fresh_weights and w_sampling == "projected"
    scale_factor(scale, d)
    if not isinstance(scale, str) and not check_real(scale, "scale", lo=0) <= 1e6:
        raise NSTheoryError(f"a numeric logit scale must be at most 1e6 (beyond, the logits "
                            f"overflow to NaN in floating point); got {scale!r}")
    check_real(v_norm, "v_norm")
    if abs(float(v_norm)) > 1e150:
        raise NSTheoryError(f"|v_norm| must be <= 1e150 (the result scales as its square); "
                            f"got {v_norm!r}")
    i = n - 1 if i is None else check_int(i, "i", lo=0, hi=n - 1)
    dev = resolve_device(device)
    dense_w = mode == "random" and not projected
    _check_sample_size(mode, n, d, rank, dense_w)
    batch = (check_int(batch, "batch", lo=1) if batch
             else _auto_batch(mode, n, d, rank, dense_w))
    params = dict(n=n, d=d, rho=rho, mode=mode, rank=rank, scale=scale, samples=samples,
                  i=i, v_norm=v_norm, hard=hard, causal=causal, fresh_weights=fresh_weights,
                  w_sampling=w_sampling if mode == "random" else None,
                  seed=seed, batch=batch, dtype=str(dtype).replace("torch.", ""),
                  sampler="numpy SFC64 ziggurat" if dev.type == "cpu" and dtype == torch.float64
                  else "torch.randn")
    stream = GaussianStream(seed, dev)
    gen = stream.generator  # the weight matrices' draws
    shared = None
    if not fresh_weights and mode != "identity":
        shared = QueryKey.make(mode, d, rank, None, gen, dev, dtype)
    est = StabEstimate(params=params, device=describe_device(dev))
    import time

    t0 = time.perf_counter()
    with torch.no_grad():
        chunks = _chunks(samples, batch)
        for b in progress(chunks, desc=f"attention MC {mode}", enabled=show_progress):
            X = stream.randn((b, n, d), dtype).to(dev)
            Y = correlated_gaussian(X, rho, stream)
            if projected:
                LX, LY = _projected_random_logits(X, Y, i, scale_factor(scale, d), stream)
            else:
                if mode == "identity":
                    qk = QueryKey.identity(d)
                elif shared is not None:
                    qk = shared
                else:
                    qk = QueryKey.make(mode, d, rank, b, gen, dev, dtype)
                LX = logits_row(X, qk, i, scale)
                LY = logits_row(Y, qk, i, scale)
            aX = attention_weights(LX, causal, hard, query_index=i)
            aY = attention_weights(LY, causal, hard, query_index=i)
            fX = v_norm * (aX * X[..., 0]).sum(-1)
            fY = v_norm * (aY * Y[..., 0]).sum(-1)
            if causal:
                LX = LX.masked_fill(torch.arange(n, device=dev) > i, float("-inf"))
                LY = LY.masked_fill(torch.arange(n, device=dev) > i, float("-inf"))
            kX, kY = LX.argmax(-1), LY.argmax(-1)
            est.stab = est.stab.merge(Moments.from_values(fX * fY))
            est.agree = est.agree.merge(Moments.from_values((kX == kY).double()))
            est.diag = est.diag.merge(Moments.from_values((kX == i).double()))
            est.offdiag = est.offdiag.merge(Moments.from_values(1 - aX[..., i]))
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    est.seconds = time.perf_counter() - t0
    return est


def _projected_random_logits(X, Y, i, t, stream):
    """Logit rows of query ``i`` for ``X`` and ``Y`` under a fresh i.i.d. N(0,1) matrix ``W``,
    sampling ``u = W^T x_i``, ``u' = W^T y_i`` from their exact conditional joint law."""
    xi, yi = X[..., i, :], Y[..., i, :]
    nx2 = (xi * xi).sum(-1, keepdim=True)
    cxy = (xi * yi).sum(-1, keepdim=True)
    ny2 = (yi * yi).sum(-1, keepdim=True)
    g1 = stream.randn(xi.shape, X.dtype).to(X.device)
    g2 = stream.randn(xi.shape, X.dtype).to(X.device)
    nx = nx2.sqrt()
    u = nx * g1
    resid = (ny2 - cxy * cxy / nx2).clamp_min(0).sqrt()
    u2 = (cxy / nx) * g1 + resid * g2
    LX = t * (X @ u.unsqueeze(-1))[..., 0]
    LY = t * (Y @ u2.unsqueeze(-1))[..., 0]
    return LX, LY


def argmax_agreement_mc(n: int, r: float, samples: int = 100000, batch: int = 1 << 16,
                        seed: int = 0, device: str = "auto") -> Moments:
    """Monte Carlo of ``s_n(r)``: the fraction of draws of ``n`` i.i.d. bivariate-normal pairs
    ``(A_l, B_l)`` with correlation ``r`` whose argmaxes coincide. Returns :class:`Moments` of
    the indicator (mean, stderr).

    Examples
    --------
    For independent pairs (``r = 0``) the argmaxes of ``n = 3`` coincide with probability 1/3:

    >>> m = argmax_agreement_mc(3, 0.0, samples=20000, seed=5, device="cpu")
    >>> m.n, abs(m.mean - 1 / 3) < 5 * m.stderr
    (20000, True)
    >>> argmax_agreement_mc(4, 1.0, samples=1000, device="cpu").mean
    1.0
    """
    n = check_int(n, "n", lo=1)
    check_rho(r, "r")
    samples = check_int(samples, "samples", lo=2)
    dev = resolve_device(device)
    stream = GaussianStream(seed, dev)
    out = Moments()
    c = math.sqrt(max(0.0, 1 - r * r))
    with torch.no_grad():
        for b in _chunks(samples, batch):
            A = stream.randn((b, n)).to(dev)
            B = r * A + c * stream.randn((b, n)).to(dev)
            out = out.merge(Moments.from_values((A.argmax(-1) == B.argmax(-1)).double()))
    return out
