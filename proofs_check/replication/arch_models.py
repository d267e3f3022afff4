"""Models and flip-rate estimator of the architecture-sensitivity replication.

Written separately from the library's comparison code (nothing here comes from it): an LSTM
spelled out gate by gate (no ``torch.nn.LSTM``), a pre-norm transformer with its own
multi-head attention (no ``torch.nn.TransformerEncoder``), a CNN that pools after its first
convolution, and a one- or two-hidden-layer MLP. Every model exposes the space the noise acts
in: pixels for images, the (Embedding + LayerNorm) token embeddings for text.

The estimator :func:`antithetic_flips` visits every input and every noise site (patch or token
position) once and evaluates one antithetic pair of Gaussian draws there, ``z + sigma*eps`` and
``z - sigma*eps``: an unbiased estimate of the flip rate with exact averaging over sites, a
different algorithm from independent repeated draws.

Examples
--------
>>> import torch
>>> m = TokenModel(vocab=50, width=8, reader=MLPReader(8 * 4, 8, 3, hidden_layers=1))
>>> tuple(m(torch.zeros(2, 4, dtype=torch.long)).shape)
(2, 3)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MLPReader(nn.Module):
    """Flatten, then ``hidden_layers`` ReLU layers of ``width`` units, then the logits.

    Examples
    --------
    >>> tuple(MLPReader(12, 5, 2)(torch.zeros(3, 4, 3)).shape)
    (3, 2)
    """

    def __init__(self, n_in: int, width: int, n_classes: int, hidden_layers: int = 2):
        super().__init__()
        layers, d = [], n_in
        for _ in range(hidden_layers):
            layers += [nn.Linear(d, width), nn.ReLU()]
            d = width
        self.net = nn.Sequential(*layers, nn.Linear(d, n_classes))

    def forward(self, x):
        return self.net(x.flatten(1))


class ImageCNN(nn.Module):
    """3x3 conv, ReLU, 2x2 max-pool, 3x3 conv, ReLU, global mean, linear head.

    Examples
    --------
    >>> tuple(ImageCNN(1, 4, 10)(torch.zeros(2, 1, 8, 8)).shape)
    (2, 10)
    """

    def __init__(self, channels: int, width: int, n_classes: int):
        super().__init__()
        self.c1 = nn.Conv2d(channels, width, 3, padding=1)
        self.c2 = nn.Conv2d(width, width, 3, padding=1)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.c1(x)), 2)
        return self.head(F.relu(self.c2(h)).mean((-1, -2)))


class TokenCNN(nn.Module):
    """Two width-3 1-d convolutions over positions, ReLU, max over positions, linear head.

    Examples
    --------
    >>> tuple(TokenCNN(6, 4, 3)(torch.zeros(2, 5, 6)).shape)
    (2, 3)
    """

    def __init__(self, d_in: int, width: int, n_classes: int):
        super().__init__()
        self.c1 = nn.Conv1d(d_in, width, 3, padding=1)
        self.c2 = nn.Conv1d(width, width, 3, padding=1)
        self.head = nn.Linear(width, n_classes)

    def forward(self, seq):
        h = F.relu(self.c1(seq.transpose(1, 2)))
        return self.head(F.relu(self.c2(h)).amax(-1))


class LSTMReader(nn.Module):
    """An LSTM written gate by gate (input, forget, cell, output order); classifies from the
    final hidden state. ``forget_bias`` is added to the forget gate's initial bias (0: the
    usual initialisation; 1 is a common alternative that favours long memory).

    Examples
    --------
    >>> m = LSTMReader(3, 4, 2)
    >>> tuple(m(torch.zeros(5, 7, 3)).shape), tuple(m.final_state(torch.zeros(5, 7, 3)).shape)
    ((5, 2), (5, 4))
    """

    def __init__(self, d_in: int, hidden: int, n_classes: int, forget_bias: float = 0.0):
        super().__init__()
        self.hidden = hidden
        self.gates_x = nn.Linear(d_in, 4 * hidden)
        self.gates_h = nn.Linear(hidden, 4 * hidden, bias=False)
        self.head = nn.Linear(hidden, n_classes)
        if forget_bias:
            with torch.no_grad():
                self.gates_x.bias[hidden:2 * hidden] += forget_bias

    def final_state(self, seq):
        """Hidden state after reading ``seq`` of shape ``(B, T, d_in)``."""
        gx = self.gates_x(seq)
        h = seq.new_zeros(seq.shape[0], self.hidden)
        c = h
        for t in range(seq.shape[1]):
            i, f, g, o = (gx[:, t] + self.gates_h(h)).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return h

    def forward(self, seq):
        return self.head(self.final_state(seq))


class AttentionBlock(nn.Module):
    """Pre-norm block: multi-head softmax attention, then a GELU feed-forward of 2x width.

    Examples
    --------
    >>> tuple(AttentionBlock(8, 2)(torch.zeros(3, 5, 8)).shape)
    (3, 5, 8)
    """

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(),
                                nn.Linear(2 * width, width))

    def attend(self, x):
        """Multi-head attention of ``x`` ``(B, T, D)`` to itself (no mask)."""
        B, T, D = x.shape
        H = self.heads
        q, k, v = self.qkv(x).view(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // H), dim=-1)
        return self.out((w @ v).transpose(1, 2).reshape(B, T, D))

    def forward(self, x):
        x = x + self.attend(self.ln1(x))
        return x + self.ff(self.ln2(x))


class TransformerReader(nn.Module):
    """Optional input projection, learned positions, ``depth`` blocks, final LayerNorm, mean
    over positions, linear head.

    Examples
    --------
    >>> m = TransformerReader(4, 8, n_tokens=6, n_classes=3, heads=2)
    >>> tuple(m(torch.zeros(2, 6, 4)).shape)
    (2, 3)
    """

    def __init__(self, d_in: int, width: int, n_tokens: int, n_classes: int, heads: int = 4,
                 depth: int = 2, project: bool = True):
        super().__init__()
        self.inp = nn.Linear(d_in, width) if project else nn.Identity()
        self.pos = nn.Parameter(0.02 * torch.randn(n_tokens, width))
        self.blocks = nn.Sequential(*[AttentionBlock(width, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, n_classes)

    def forward(self, seq):
        h = self.blocks(self.inp(seq) + self.pos)
        return self.head(self.norm(h).mean(1))


def image_rows(x):
    """``(B, 1, H, W)`` -> ``(B, H, W)``: one row of pixels per step.

    >>> tuple(image_rows(torch.zeros(2, 1, 8, 8)).shape)
    (2, 8, 8)
    """
    return x[:, 0]


def image_patches(x, p: int = 2):
    """``(B, C, H, W)`` -> ``(B, (H/p)(W/p), C p p)``, patches in raster order.

    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
    >>> image_patches(x)[0, 1].tolist()      # the top-right 2x2 block
    [2.0, 3.0, 6.0, 7.0]
    """
    B, C, H, W = x.shape
    return x.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 1, 4, 5).reshape(
        B, (H // p) * (W // p), C * p * p)


class ImageModel(nn.Module):
    """An image classifier whose noise space is the pixels: ``reader(to_input(x))``.

    Examples
    --------
    >>> m = ImageModel(MLPReader(64, 5, 10), "flat")
    >>> z = m.noise_space(torch.zeros(2, 1, 8, 8))
    >>> bool(torch.equal(m.from_noise_space(z), m(torch.zeros(2, 1, 8, 8))))
    True
    """

    def __init__(self, reader, view: str):
        super().__init__()
        self.reader, self.view = reader, view

    def noise_space(self, x):
        return x

    def from_noise_space(self, z):
        if self.view == "rows":
            return self.reader(image_rows(z))
        if self.view == "patches":
            return self.reader(image_patches(z))
        return self.reader(z)

    def forward(self, x):
        return self.from_noise_space(x)


class TokenModel(nn.Module):
    """A token classifier whose noise space is the embeddings: Embedding + LayerNorm, then
    the reader on ``(B, T, width)``.

    Examples
    --------
    >>> m = TokenModel(20, 4, TokenCNN(4, 4, 2))
    >>> x = torch.zeros(3, 5, dtype=torch.long)
    >>> bool(torch.equal(m.from_noise_space(m.noise_space(x)), m(x)))
    True
    """

    def __init__(self, vocab: int, width: int, reader):
        super().__init__()
        self.emb = nn.Embedding(vocab, width)
        self.ln = nn.LayerNorm(width)
        self.reader = reader

    def noise_space(self, x):
        return self.ln(self.emb(x))

    def from_noise_space(self, z):
        return self.reader(z)

    def forward(self, x):
        return self.reader(self.noise_space(x))


def build(arch: str, kind: str, width: int, n_classes: int, *, vocab: int = 0,
          seq_len: int = 0, image_hw: int = 8, forget_bias: float = 0.0):
    """One model of ``arch`` (``mlp``, ``cnn``, ``lstm``, ``transformer``) for ``kind``
    (``image``: ``(B, 1, image_hw, image_hw)`` pixels; ``tokens``: ``(B, seq_len)`` ids).

    Image readers: the MLP sees all pixels (two hidden layers), the CNN the image, the LSTM one
    pixel row per step, the transformer the 2x2 patches. Token readers see the embeddings (the
    MLP with one hidden layer). ``forget_bias`` goes to the LSTM (:class:`LSTMReader`).

    Examples
    --------
    >>> m = build("lstm", "tokens", 6, 3, vocab=30, seq_len=5)
    >>> tuple(m(torch.zeros(2, 5, dtype=torch.long)).shape)
    (2, 3)
    """
    if kind == "image":
        hw = image_hw
        reader, view = {
            "mlp": lambda: (MLPReader(hw * hw, width, n_classes, 2), "flat"),
            "cnn": lambda: (ImageCNN(1, width, n_classes), "image"),
            "lstm": lambda: (LSTMReader(hw, width, n_classes, forget_bias), "rows"),
            "transformer": lambda: (TransformerReader(4, width, (hw // 2) ** 2, n_classes),
                                    "patches"),
        }[arch]()
        return ImageModel(reader, view)
    reader = {
        "mlp": lambda: MLPReader(seq_len * width, width, n_classes, 1),
        "cnn": lambda: TokenCNN(width, width, n_classes),
        "lstm": lambda: LSTMReader(width, width, n_classes, forget_bias),
        "transformer": lambda: TransformerReader(width, width, seq_len, n_classes,
                                                 project=False),
    }[arch]()
    return TokenModel(vocab, width, reader)


def n_params(model) -> int:
    """Trainable parameter count.

    >>> n_params(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def matched_width(arch: str, kind: str, budget: int, n_classes: int, **shape) -> tuple[int, int]:
    """The width (a multiple of 4 for the transformer's 4 heads) whose parameter count is
    closest to ``budget``, by scanning widths 4..256; returns ``(width, params)``.

    Examples
    --------
    >>> w, p = matched_width("mlp", "image", 12000, 10)
    >>> w, p      # 64*w + w + w*w + w + 10*w + 10 parameters
    (78, 12022)
    """
    step = 4 if arch == "transformer" else 1
    best = None
    for w in range(4, 257, step):
        p = n_params(build(arch, kind, w, n_classes, **shape))
        if best is None or abs(p - budget) < abs(best[1] - budget):
            best = (w, p)
        if p > budget:
            break
    return best


def site_masks(kind: str, shape, patch: int = 2):
    """0/1 masks of the noise sites: every ``patch x patch`` pixel block of an image
    (raster order), or every token position of an embedded sequence (all its coordinates).

    Parameters
    ----------
    kind : {"image", "tokens"}
    shape : tuple
        One input's shape in noise space: ``(C, H, W)`` or ``(T, d)``.
    patch : int
        Block side for images.

    Returns
    -------
    torch.Tensor
        ``(K, *shape)``.

    Examples
    --------
    >>> m = site_masks("image", (1, 4, 4))
    >>> tuple(m.shape), m[1, 0].tolist()[0]
    ((4, 1, 4, 4), [0.0, 0.0, 1.0, 1.0])
    >>> site_masks("tokens", (3, 2))[2].tolist()
    [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]]
    """
    if kind == "tokens":
        T, d = shape
        return torch.eye(T)[:, :, None].expand(T, T, d).clone()
    C, H, W = shape
    out = []
    for i in range(0, H, patch):
        for j in range(0, W, patch):
            m = torch.zeros(C, H, W)
            m[:, i:i + patch, j:j + patch] = 1.0
            out.append(m)
    return torch.stack(out)


@torch.no_grad()
def antithetic_flips(predict, z, masks, sigma: float, generator, chunk: int = 128) -> dict:
    """Flip rate of ``argmax predict`` under Gaussian noise on one site, by antithetic pairs.

    For every input ``z[b]`` and every site ``k``: one draw ``eps ~ N(0, I)`` on the site's
    coordinates, and the two evaluations ``z[b] + sigma*eps`` and ``z[b] - sigma*eps``; a flip
    is an argmax different from the clean one. Both draws have the law of the noise, so the
    mean of the ``2 B K`` indicators is unbiased; the pairs are independent, which gives the
    standard error.

    Parameters
    ----------
    predict : callable
        Noise-space inputs ``(n, *shape)`` to logits ``(n, classes)``.
    z : torch.Tensor
        Clean inputs in noise space, ``(B, *shape)``.
    masks : torch.Tensor
        ``(K, *shape)`` 0/1 site masks (:func:`site_masks`).
    sigma : float
        Noise standard deviation.
    generator : torch.Generator
        Source of the draws.
    chunk : int
        Inputs per forward batch (``2 * chunk * K`` rows).

    Returns
    -------
    dict
        ``flips`` (per site, out of ``2 * pairs``), ``pairs`` (per site, = B), ``rate``,
        ``stderr`` (over the ``B K`` independent pairs) and ``both_flipped`` (pairs whose
        two draws both flipped).

    Examples
    --------
    A rule that reads only coordinate 0 never flips under noise on coordinate 1, and a
    linear rule never flips on both draws of a pair (``w.eps`` and ``-w.eps`` have opposite
    signs):

    >>> z = torch.full((100, 2, 1), 0.3)
    >>> pred = lambda v: torch.cat([torch.zeros_like(v[:, 0]), v[:, 0]], 1)
    >>> r = antithetic_flips(pred, z, site_masks("tokens", (2, 1)), 1.0,
    ...                      torch.Generator().manual_seed(0))
    >>> r["flips"][1], r["both_flipped"], 0.25 < r["flips"][0] / (2 * r["pairs"]) < 0.5
    (0, 0, True)
    """
    B = z.shape[0]
    K = masks.shape[0]
    m = masks.to(z.dtype)
    flips = torch.zeros(K, dtype=torch.long)
    total = 0.0
    total_sq = 0.0
    both = 0
    for s in range(0, B, chunk):
        zb = z[s:s + chunk]
        b = zb.shape[0]
        clean = predict(zb).argmax(-1)
        eps = sigma * torch.randn((b, K, *z.shape[1:]), generator=generator,
                                  dtype=z.dtype) * m
        base = zb.unsqueeze(1)
        pair = torch.stack([base + eps, base - eps])  # (2, b, K, *shape)
        lab = predict(pair.reshape((2 * b * K, *z.shape[1:]))).argmax(-1)
        f = (lab.reshape(2, b, K) != clean.view(1, b, 1)).long()
        per_pair = f.sum(0)  # (b, K), values 0, 1, 2
        flips += per_pair.sum(0)
        v = per_pair.double() / 2
        total += float(v.sum())
        total_sq += float((v * v).sum())
        both += int((per_pair == 2).sum())
    N = B * K
    rate = total / N
    var = max(total_sq / N - rate * rate, 0.0) * N / max(N - 1, 1)
    return {"flips": flips.tolist(), "pairs": B, "rate": rate,
            "stderr": math.sqrt(var / N), "both_flipped": both}


__all__ = ["AttentionBlock", "ImageCNN", "ImageModel", "LSTMReader", "MLPReader", "TokenCNN",
           "TokenModel", "TransformerReader", "antithetic_flips", "build", "image_patches",
           "image_rows", "matched_width", "n_params", "site_masks"]
