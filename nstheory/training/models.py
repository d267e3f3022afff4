"""Models for the training experiments.

* :class:`AnswerTransformer` -- the one-layer grokking transformer (d = 128, 4 heads, MLP 512,
  ReLU, no LayerNorm). ``residual=True`` is the Nanda et al. (2023) recipe (residual stream
  around attention and MLP); ``residual=False`` is Vasudeva et al.'s variant (no residual
  connections). Only the answer (last) position is read out, so only its query, its MLP and
  its unembedding are computed: keys/values of all positions, one query row -- about a third
  of the work of the straightforward all-positions forward pass.
* :class:`TinyLM` -- the paper's small next-token model: pre-LayerNorm causal transformer,
  4 layers, d = 30, 6 heads (head dimension 5), MLP 4d, vocabulary 500.

Both take either token ids (``forward(tokens)``) or embeddings (``forward_embeddings(e)``,
used by Gaussian embedding noise); ``embed(tokens)`` gives the latter.

Initialisation: weights N(0, 1/fan_in), embeddings N(0, 1/d), biases zero.

>>> import torch
>>> m = AnswerTransformer(vocab=8, n_out=7, seq_len=3, d_model=16, n_heads=4, d_mlp=32)
>>> m(torch.tensor([[1, 2, 7]])).shape
torch.Size([1, 7])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nstheory.errors import NSTheoryError


def _normal(*shape, std):
    return nn.Parameter(torch.randn(*shape) * std)


class AnswerTransformer(nn.Module):
    """One attention layer + ReLU MLP, read out at the last position only.

    Parameters
    ----------
    vocab, n_out, seq_len : int
        Input vocabulary, output classes, sequence length.
    d_model, n_heads, d_mlp : int, optional
        Width, heads (must divide ``d_model``), MLP width.
    residual : bool, optional
        Residual stream around attention and MLP.

    Examples
    --------
    The token and the embedding entry points agree:

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> m = AnswerTransformer(vocab=8, n_out=7, seq_len=3, d_model=16, n_heads=4, d_mlp=32)
    >>> t = torch.tensor([[1, 2, 7], [0, 6, 7]])
    >>> bool(torch.allclose(m(t), m.forward_embeddings(m.embed(t))))
    True
    >>> AnswerTransformer(vocab=8, n_out=7, seq_len=3, d_model=10, n_heads=4)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: d_model=10 is not divisible by n_heads=4
    """

    def __init__(self, vocab: int, n_out: int, seq_len: int, d_model: int = 128,
                 n_heads: int = 4, d_mlp: int = 512, residual: bool = True) -> None:
        super().__init__()
        if d_model % n_heads:
            raise NSTheoryError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        d = d_model
        self.n_heads, self.d_head, self.residual = n_heads, d // n_heads, residual
        self.W_E = _normal(vocab, d, std=1 / math.sqrt(d))
        self.W_pos = _normal(seq_len, d, std=1 / math.sqrt(d))
        self.W_Q = _normal(d, d, std=1 / math.sqrt(d))
        self.W_K = _normal(d, d, std=1 / math.sqrt(d))
        self.W_V = _normal(d, d, std=1 / math.sqrt(d))
        self.W_O = _normal(d, d, std=1 / math.sqrt(d))
        self.W_in = _normal(d, d_mlp, std=1 / math.sqrt(d))
        self.b_in = nn.Parameter(torch.zeros(d_mlp))
        self.W_out = _normal(d_mlp, d, std=1 / math.sqrt(d_mlp))
        self.b_out = nn.Parameter(torch.zeros(d))
        self.W_U = _normal(d, n_out, std=1 / math.sqrt(d))

    def embed(self, tokens):
        """Token + positional embeddings, shape ``(B, T, d)``."""
        return F.embedding(tokens, self.W_E) + self.W_pos

    def forward_embeddings(self, e):
        """Logits at the last position from embeddings ``e`` of shape ``(B, T, d)``."""
        last = e[:, -1]
        return self._head(last, last @ self.W_Q, e @ self.W_K, e @ self.W_V)

    def forward(self, tokens):
        """Logits at the last position from token ids ``(B, T)``.

        Embedding and projection are linear, so the query/key/value of a token at a position
        is ``(W_E W)[token] + (W_pos W)[position]``: project the (vocab x d) tables once and
        gather them with ``F.embedding`` (whose backward is far cheaper on CPU than that of
        advanced indexing), instead of multiplying every (example, position) row. Same
        function and gradients as ``forward_embeddings(embed(tokens))``, several times cheaper.
        """
        E, P, lt = self.W_E, self.W_pos, tokens[:, -1]
        k = F.embedding(tokens, E @ self.W_K) + P @ self.W_K
        v = F.embedding(tokens, E @ self.W_V) + P @ self.W_V
        q = F.embedding(lt, E @ self.W_Q) + P[-1] @ self.W_Q
        return self._head(F.embedding(lt, E) + P[-1], q, k, v)

    def _head(self, last, q, k, v):
        B, T, d = k.shape
        H, dh = self.n_heads, self.d_head
        q = q.view(B, 1, H, dh)
        k = k.view(B, T, H, dh)
        v = v.view(B, T, H, dh)
        # one query row per example: elementwise products beat B*H tiny batched matmuls
        att = torch.softmax((q * k).sum(-1) / math.sqrt(dh), dim=1)  # (B, T, H)
        z = (att.unsqueeze(-1) * v).sum(1).reshape(B, d) @ self.W_O
        x = last + z if self.residual else z
        m = F.relu(x @ self.W_in + self.b_in) @ self.W_out + self.b_out
        x = x + m if self.residual else m
        return x @ self.W_U


class _Block(nn.Module):
    def __init__(self, d: int, n_heads: int, d_mlp: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, d_mlp), nn.GELU(), nn.Linear(d_mlp, d))

    def forward(self, x):
        B, T, d = x.shape
        H = self.n_heads
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, H, d // H).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(B, T, d))
        return x + self.mlp(self.ln2(x))


class TinyLM(nn.Module):
    """Pre-LayerNorm causal transformer language model (logits at every position).

    Parameters
    ----------
    vocab, seq_len : int, optional
        Vocabulary and the longest sequence (learned positions).
    d_model, n_heads, n_layers : int, optional
        Width, heads (must divide ``d_model``), blocks.
    d_mlp : int, optional
        MLP width (default ``4 d_model``).

    Examples
    --------
    Causality: changing the last token leaves the logits at earlier positions unchanged.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> lm = TinyLM(vocab=20, seq_len=6, d_model=12, n_heads=3, n_layers=2)
    >>> a = torch.tensor([[1, 2, 3, 4, 5]])
    >>> b = torch.tensor([[1, 2, 3, 4, 9]])
    >>> la, lb = lm(a), lm(b)
    >>> tuple(la.shape), bool(torch.allclose(la[:, :4], lb[:, :4]))
    ((1, 5, 20), True)
    >>> bool(torch.allclose(la[:, 4], lb[:, 4]))
    False
    """

    def __init__(self, vocab: int = 500, seq_len: int = 64, d_model: int = 30, n_heads: int = 6,
                 n_layers: int = 4, d_mlp: int | None = None) -> None:
        super().__init__()
        if d_model % n_heads:
            raise NSTheoryError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.W_E = _normal(vocab, d_model, std=1 / math.sqrt(d_model))
        self.W_pos = _normal(seq_len, d_model, std=1 / math.sqrt(d_model))
        self.blocks = nn.ModuleList(
            _Block(d_model, n_heads, d_mlp or 4 * d_model) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.unembed = nn.Linear(d_model, vocab, bias=False)

    def embed(self, tokens):
        return F.embedding(tokens, self.W_E) + self.W_pos[: tokens.shape[1]]

    def forward_embeddings(self, e):
        x = e
        for b in self.blocks:
            x = b(x)
        return self.unembed(self.ln_f(x))

    def forward(self, tokens):
        return self.forward_embeddings(self.embed(tokens))


def weight_norm(model) -> float:
    """Global L2 norm of all parameters.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    float

    Examples
    --------
    >>> lin = torch.nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[3.0, 0.0]]))
    ...     _ = lin.bias.fill_(4.0)
    >>> weight_norm(lin)
    5.0
    """
    with torch.no_grad():
        return float(torch.sqrt(sum((p.double() ** 2).sum() for p in model.parameters())))


__all__ = ["AnswerTransformer", "TinyLM", "weight_norm"]
