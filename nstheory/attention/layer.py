"""One softmax attention layer, batched, on torch (CPU or CUDA).

The layer of the noise-stability paper (docs/conventions.md; Haris et al. §2.3--2.4)::

    f(X) = softmax(scale * X W X^T) X W_V,      W = W_Q W_K^T,

for ``X`` of shape ``(batch, n, d)`` (``n`` tokens, ``d`` channels). The query-key structure
``W`` is a :class:`QueryKey`: ``identity``, ``lowrank`` (``U U^T`` with ``U`` of shape
``(d, k)``, i.i.d. ``N(0, 1/k)`` entries so that ``E[U U^T] = I`` -- the Johnson-Lindenstrauss
scaling), ``random`` (i.i.d. ``N(0, 1)`` entries, the paper's "worst-case random
initialisation"), or ``given`` (any matrix). Each may hold one matrix shared by the batch or one
per sample (shape ``(batch, d, d)`` / ``(batch, d, k)``). ``scale`` is ``"sqrt"`` (``1/sqrt
d``), ``"linear"`` (``1/d``), ``"none"`` (1) or a number. Options: a causal mask (token ``i``
attends to ``l <= i``) and the hard-argmax limit (one-hot attention on the largest logit).

Everything is batched tensor algebra: there is no Python loop over samples.

Examples
--------
>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> X = torch.randn(5, 4, 16, generator=g, dtype=torch.float64)
>>> qk = QueryKey.identity(16)
>>> out = attention_layer(X, qk, torch.eye(16, dtype=torch.float64), scale="sqrt")
>>> out.shape
torch.Size([5, 4, 16])
>>> row = attention_row(X, qk, 3, scale="sqrt")
>>> bool(torch.allclose((row.unsqueeze(1) @ X)[:, 0], out[:, 3, :]))
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nstheory.errors import NSTheoryError, check_choice, check_int

__all__ = [
    "QK_KINDS",
    "SCALES",
    "QueryKey",
    "SoftmaxAttention",
    "attention_layer",
    "attention_row",
    "attention_weights",
    "logits",
    "logits_row",
    "scale_factor",
]

SCALES = ("sqrt", "linear", "none")
QK_KINDS = ("identity", "lowrank", "random", "given")


def scale_factor(scale, d: int) -> float:
    """The logit scale: ``"sqrt"`` -> ``1/sqrt(d)``, ``"linear"`` -> ``1/d``, ``"none"`` -> 1,
    or a positive number used as is.

    >>> scale_factor("sqrt", 64), scale_factor("linear", 64), scale_factor("none", 64)
    (0.125, 0.015625, 1.0)
    """
    from nstheory.attention.pattern_moments import logit_scale

    return logit_scale(scale, d)


@dataclass
class QueryKey:
    """The query-key matrix ``W = W_Q W_K^T`` in a form each route can use.

    ``kind`` is one of :data:`QK_KINDS`; ``matrix`` is ``None`` (identity), the factor ``U``
    (lowrank: ``W = U U^T``) or ``W`` itself (random / given), of shape ``(d, .)`` or
    ``(batch, d, .)``.

    Parameters
    ----------
    kind : str
        One of :data:`QK_KINDS`.
    d : int
        Number of channels.
    matrix : torch.Tensor or None
        ``None`` (identity), the factor ``U`` (lowrank) or ``W`` (random / given).

    Examples
    --------
    ``query_side`` factors the logits without forming ``W`` when it can:

    >>> g = torch.Generator().manual_seed(1)
    >>> qk = QueryKey.lowrank(6, 2, generator=g)
    >>> W = qk.dense()
    >>> W.shape, torch.linalg.matrix_rank(W).item(), bool(torch.allclose(W, W.T))
    (torch.Size([6, 6]), 2, True)
    >>> X = torch.randn(3, 4, 6, generator=g, dtype=torch.float64)
    >>> Q, K = qk.query_side(X)
    >>> bool(torch.allclose(Q @ K.transpose(-1, -2), X @ W @ X.transpose(-1, -2)))
    True
    """

    kind: str
    d: int
    matrix: object = None

    def __post_init__(self):
        check_choice(self.kind, QK_KINDS, "query-key kind")
        check_int(self.d, "d", lo=1)
        if self.kind != "identity" and self.matrix is None:
            raise NSTheoryError(f"a {self.kind} query-key matrix needs its matrix")

    @classmethod
    def identity(cls, d: int) -> QueryKey:
        return cls("identity", check_int(d, "d", lo=1))

    @classmethod
    def lowrank(cls, d: int, rank: int, batch: int | None = None, generator=None,
                device="cpu", dtype=None) -> QueryKey:
        """``W = U U^T`` with ``U`` i.i.d. ``N(0, 1/rank)`` of shape ``(d, rank)``."""
        d = check_int(d, "d", lo=1)
        k = check_int(rank, "rank", lo=1)
        shape = (d, k) if batch is None else (check_int(batch, "batch", lo=1), d, k)
        U = torch.randn(shape, generator=generator, device=device,
                        dtype=dtype or torch.float64) / math.sqrt(k)
        return cls("lowrank", d, U)

    @classmethod
    def random(cls, d: int, batch: int | None = None, generator=None, device="cpu",
               dtype=None) -> QueryKey:
        """``W`` with i.i.d. ``N(0, 1)`` entries (one per sample if ``batch`` is given)."""
        d = check_int(d, "d", lo=1)
        shape = (d, d) if batch is None else (check_int(batch, "batch", lo=1), d, d)
        W = torch.randn(shape, generator=generator, device=device, dtype=dtype or torch.float64)
        return cls("random", d, W)

    @classmethod
    def given(cls, W) -> QueryKey:
        """A user-supplied ``(d, d)`` or ``(batch, d, d)`` tensor."""
        if W.dim() not in (2, 3) or W.shape[-1] != W.shape[-2]:
            raise NSTheoryError(f"a given query-key matrix must be (d, d) or (batch, d, d); got "
                                f"shape {tuple(W.shape)}")
        return cls("given", int(W.shape[-1]), W)

    @classmethod
    def make(cls, kind: str, d: int, rank: int | None = None, batch: int | None = None,
             generator=None, device="cpu", dtype=None) -> QueryKey:
        """Build ``identity`` / ``lowrank`` (needs ``rank``) / ``random`` by name."""
        if kind == "identity":
            return cls.identity(d)
        if kind == "lowrank":
            if rank is None:
                raise NSTheoryError("mode 'lowrank' needs a rank")
            return cls.lowrank(d, rank, batch, generator, device, dtype)
        if kind == "random":
            return cls.random(d, batch, generator, device, dtype)
        raise NSTheoryError(f"query-key kind must be identity, lowrank or random; got {kind!r}")

    def dense(self):
        """``W`` as a dense tensor (identity: ``eye(d)`` in float64)."""
        if self.kind == "identity":
            return torch.eye(self.d, dtype=torch.float64)
        if self.kind == "lowrank":
            return self.matrix @ self.matrix.transpose(-1, -2)
        return self.matrix

    def query_side(self, X):
        """``(Q, K)`` with ``X W X^T = Q K^T``, computed without forming ``W`` when possible."""
        if X.shape[-1] != self.d:
            raise NSTheoryError(f"input has d = {X.shape[-1]} but the query-key matrix has "
                                f"d = {self.d}")
        if self.kind == "identity":
            return X, X
        if self.kind == "lowrank":
            Z = X @ self.matrix.to(X)
            return Z, Z
        return X @ self.matrix.to(X), X


def logits(X, qk: QueryKey, scale="sqrt"):
    """All logits ``scale * X W X^T``, shape ``(batch, n, n)``.

    Examples
    --------
    With ``W = I`` and no scaling the logits are the Gram matrix ``X X^T``:

    >>> X = torch.tensor([[[1.0, 0.0], [1.0, 2.0]]], dtype=torch.float64)
    >>> logits(X, QueryKey.identity(2), scale="none").tolist()
    [[[1.0, 1.0], [1.0, 5.0]]]
    >>> logits(X, QueryKey.identity(2), scale="sqrt")[0, 1, 1].item() == 5 / 2**0.5
    True
    """
    Q, K = qk.query_side(X)
    return scale_factor(scale, qk.d) * (Q @ K.transpose(-1, -2))


def logits_row(X, qk: QueryKey, i: int, scale="sqrt"):
    """Logits of query token ``i`` only, ``scale * x_i^T W X^T``, shape ``(batch, n)``.

    Costs ``O(n d)`` per sample for identity / low-rank ``W`` (``O(d^2)`` for a dense one).

    Examples
    --------
    It is row ``i`` of :func:`logits`, here for a dense random ``W``:

    >>> g = torch.Generator().manual_seed(2)
    >>> qk = QueryKey.random(5, generator=g)
    >>> X = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    >>> bool(torch.allclose(logits_row(X, qk, 2), logits(X, qk)[:, 2, :]))
    True
    """
    n = X.shape[-2]
    i = check_int(i, "i", lo=0, hi=n - 1)
    if qk.kind in ("identity", "lowrank"):
        Q, K = qk.query_side(X)
        q = Q[..., i, :]
    else:
        W = qk.matrix.to(X)
        q = (X[..., i : i + 1, :] @ W)[..., 0, :]
        K = X
    return scale_factor(scale, qk.d) * (K @ q.unsqueeze(-1))[..., 0]


def attention_weights(L, causal: bool = False, hard: bool = False, query_index=None):
    """Softmax (or one-hot argmax, ``hard=True``) of logits ``L`` along the last axis.

    ``L`` is ``(batch, n, n)`` (all queries) or ``(batch, n)`` (one query, whose index
    ``query_index`` is needed for the causal mask).

    Examples
    --------
    Rows sum to 1; the causal mask hides later keys; ``hard=True`` is one-hot on the argmax:

    >>> L = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    >>> bool(torch.allclose(attention_weights(L).sum(-1), torch.ones(1, 3)))
    True
    >>> causal = attention_weights(L, causal=True)[0]
    >>> causal[0].tolist(), bool(torch.allclose(causal[2], torch.full((3,), 1 / 3)))
    ([1.0, 0.0, 0.0], True)
    >>> attention_weights(L, hard=True)[0].tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    n = L.shape[-1]
    if causal:
        keys = torch.arange(n, device=L.device)
        if L.dim() >= 2 and query_index is None and L.shape[-2] == n:
            mask = keys.unsqueeze(0) > keys.unsqueeze(1)  # key l > query i is hidden
        elif query_index is not None:
            mask = keys > query_index
        else:
            raise NSTheoryError("a causal mask on a single logit row needs query_index")
        L = L.masked_fill(mask, float("-inf"))
    if hard:
        return torch.nn.functional.one_hot(L.argmax(-1), n).to(L.dtype)
    return torch.softmax(L, dim=-1)


def attention_row(X, qk: QueryKey, i: int, scale="sqrt", causal: bool = False,
                  hard: bool = False):
    """Attention weights of query ``i``, shape ``(batch, n)``; ``row @ X W_V`` gives f_i.

    Examples
    --------
    Under the causal mask the first query can only attend to itself:

    >>> X = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> attention_row(X, QueryKey.identity(3), 0, causal=True).tolist()
    [[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    """
    return attention_weights(logits_row(X, qk, i, scale), causal, hard, query_index=i)


def attention_layer(X, qk: QueryKey, W_V, scale="sqrt", causal: bool = False,
                    hard: bool = False):
    """``f(X) = softmax(scale X W X^T) X W_V`` for ``X`` of shape ``(batch, n, d)``.

    Examples
    --------
    With a causal mask and ``W_V = I`` the first output token is the first input token:

    >>> X = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> out = attention_layer(X, QueryKey.identity(3), torch.eye(3), causal=True)
    >>> out.shape, bool(torch.equal(out[:, 0], X[:, 0]))
    (torch.Size([2, 4, 3]), True)
    """
    A = attention_weights(logits(X, qk, scale), causal, hard)
    return A @ (X @ W_V.to(X))


class SoftmaxAttention(torch.nn.Module):
    """Single-head attention without residual, LayerNorm or output projection.

    ``forward(X)`` maps ``(batch, n, d)`` to ``(batch, n, m)`` with fixed ``W`` and ``W_V``
    (a buffer): the object the multi-layer theory composes.

    >>> layer = SoftmaxAttention(QueryKey.identity(8), torch.eye(8, dtype=torch.float64))
    >>> layer(torch.zeros(2, 3, 8, dtype=torch.float64)).shape
    torch.Size([2, 3, 8])
    """

    def __init__(self, qk: QueryKey, W_V, scale="sqrt", causal: bool = False,
                 hard: bool = False):
        super().__init__()
        scale_factor(scale, qk.d)
        self.qk = qk
        self.register_buffer("W_V", W_V)
        self.scale = scale
        self.causal = causal
        self.hard = hard

    def forward(self, X):
        return attention_layer(X, self.qk, self.W_V, self.scale, self.causal, self.hard)
