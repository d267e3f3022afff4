"""Models of the training replication: a causal word-level language model and a one-layer
answer-reading transformer for modular addition.

Written for the replication only (no code from the library's training package): attention is
spelled out (scores, an explicit causal mask, softmax, weighted values), and both models use
PyTorch's own initialisation for linear layers (uniform in ``+-1/sqrt(fan_in)``) with
embeddings drawn from ``N(0, 0.02^2)`` (language model) or ``N(0, 1/d)`` (modular addition).

Examples
--------
>>> import torch
>>> _ = torch.manual_seed(0)
>>> lm = CausalLM(vocab=11, seq_len=5, width=12, heads=3, layers=2, mlp=24)
>>> tuple(lm(torch.zeros(2, 5, dtype=torch.long)).shape)
(2, 5, 11)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention with separate query, key and value maps; ``causal`` hides
    later positions from earlier ones (an additive ``-inf`` mask before the softmax).

    Examples
    --------
    Causality: the output at position 0 ignores the input at position 1; ``last_only``
    gives the last row of the full output:

    >>> _ = torch.manual_seed(1)
    >>> att = MaskedSelfAttention(4, 2, causal=True)
    >>> x = torch.randn(1, 2, 4); y = x.clone(); y[0, 1] += 1.0
    >>> bool(torch.equal(att(x)[0, 0], att(y)[0, 0])), bool(torch.equal(att(x)[0, 1],
    ...                                                                  att(y)[0, 1]))
    (True, False)
    >>> full = MaskedSelfAttention(4, 2, causal=False)
    >>> bool(torch.allclose(full(x)[:, -1], full(x, last_only=True), atol=1e-6))
    True
    """

    def __init__(self, width: int, heads: int, causal: bool):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not a multiple of heads {heads}")
        self.heads, self.causal = heads, causal
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width)
        self.v = nn.Linear(width, width)
        self.o = nn.Linear(width, width)

    def forward(self, x, last_only: bool = False):
        """Outputs at every position ``(B, T, D)``, or with ``last_only`` only the last
        position's ``(B, D)`` (its query alone is computed; it sees every position)."""
        B, T, D = x.shape
        H, dh = self.heads, D // self.heads

        def split(t):
            return t.reshape(B, t.shape[1], H, dh).transpose(1, 2)  # (B, H, T', dh)

        k, v = split(self.k(x)), split(self.v(x))
        q = split(self.q(x[:, -1:] if last_only else x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if self.causal and not last_only:
            hide = torch.ones(T, T, dtype=torch.bool).triu(1)
            scores = scores.masked_fill(hide, float("-inf"))
        mixed = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2)
        return self.o(mixed.reshape(B, D) if last_only else mixed.reshape(B, T, D))


class LMBlock(nn.Module):
    """Pre-norm causal block: ``x + attn(LN x)``, then ``x + mlp(LN x)`` (GELU MLP).

    Examples
    --------
    >>> tuple(LMBlock(6, 2, 10)(torch.zeros(2, 3, 6)).shape)
    (2, 3, 6)
    """

    def __init__(self, width: int, heads: int, mlp: int):
        super().__init__()
        self.norm_a, self.norm_m = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = MaskedSelfAttention(width, heads, causal=True)
        self.up, self.down = nn.Linear(width, mlp), nn.Linear(mlp, width)

    def forward(self, x):
        x = x + self.attn(self.norm_a(x))
        return x + self.down(F.gelu(self.up(self.norm_m(x))))


class CausalLM(nn.Module):
    """Word-level causal language model: token + learned position embeddings, ``layers``
    pre-norm blocks, final LayerNorm, an untied linear read-out (no bias) at every position.

    Parameters
    ----------
    vocab, seq_len : int
        Vocabulary (output classes too) and context length.
    width, heads, layers, mlp : int
        Residual width, attention heads, blocks, MLP hidden width.

    Examples
    --------
    Changing the last token changes only the last position's logits:

    >>> _ = torch.manual_seed(0)
    >>> lm = CausalLM(vocab=9, seq_len=4, width=8, heads=2, layers=1, mlp=16)
    >>> a = torch.tensor([[1, 2, 3, 4]]); b = torch.tensor([[1, 2, 3, 7]])
    >>> la, lb = lm(a), lm(b)
    >>> bool(torch.equal(la[:, :3], lb[:, :3])), bool(torch.equal(la[:, 3], lb[:, 3]))
    (True, False)
    """

    def __init__(self, vocab: int, seq_len: int, width: int, heads: int, layers: int,
                 mlp: int):
        super().__init__()
        self.tok = nn.Parameter(0.02 * torch.randn(vocab, width))
        self.pos = nn.Parameter(0.02 * torch.randn(seq_len, width))
        self.blocks = nn.ModuleList(LMBlock(width, heads, mlp) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.readout = nn.Linear(width, vocab, bias=False)

    def forward(self, tokens):
        x = self.tok[tokens] + self.pos[: tokens.shape[1]]
        for blk in self.blocks:
            x = blk(x)
        return self.readout(self.norm(x))


class AnswerNet(nn.Module):
    """One attention layer and a ReLU MLP with residual connections (no LayerNorm), read out
    at the last input position -- the modular-addition model ``[a, b, =] -> (a + b) mod p``.

    Parameters
    ----------
    vocab : int
        Input symbols (``p`` operands and the ``=`` token).
    n_out : int
        Answer classes (``p``).
    seq_len : int
        Input length (3).
    width, heads, mlp : int
        Residual width, heads, MLP hidden width.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> m = AnswerNet(vocab=8, n_out=7, seq_len=3, width=16, heads=4, mlp=32)
    >>> t = torch.tensor([[1, 2, 7], [3, 3, 7]])
    >>> tuple(m(t).shape), bool(torch.equal(m(t), m.forward_embeddings(m.embed(t))))
    ((2, 7), True)
    """

    def __init__(self, vocab: int, n_out: int, seq_len: int, width: int, heads: int,
                 mlp: int):
        super().__init__()
        self.tok = nn.Parameter(torch.randn(vocab, width) / math.sqrt(width))
        self.pos = nn.Parameter(torch.randn(seq_len, width) / math.sqrt(width))
        self.attn = MaskedSelfAttention(width, heads, causal=False)
        self.up, self.down = nn.Linear(width, mlp), nn.Linear(mlp, width)
        self.readout = nn.Linear(width, n_out, bias=False)

    def embed(self, tokens):
        """Token plus position embeddings, ``(batch, seq_len, width)``."""
        return self.tok[tokens] + self.pos

    def forward_embeddings(self, x):
        """Answer logits from embeddings (``forward`` is ``forward_embeddings(embed(.))``)."""
        h = x[:, -1] + self.attn(x, last_only=True)
        h = h + self.down(F.relu(self.up(h)))
        return self.readout(h)

    def forward(self, tokens):
        return self.forward_embeddings(self.embed(tokens))


def count_params(model) -> int:
    """Number of trainable parameters.

    >>> count_params(nn.Linear(4, 3))
    15
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["AnswerNet", "CausalLM", "LMBlock", "MaskedSelfAttention", "count_params"]
