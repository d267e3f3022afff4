"""Small MLP / CNN / LSTM / transformer builders with matched parameter budgets.

Two input kinds share one interface so the same estimators and perturbations apply to every
architecture:

* ``"image"`` -- inputs ``(B, C, H, W)``; the transformer is ViT-style (non-overlapping
  ``patch x patch`` patches as tokens, learned positions, mean pooling); the LSTM reads the
  same patches in raster order; sensitivity noise goes in **pixel space** (identical for all).
* ``"tokens"`` -- inputs ``(B, n)`` integer tokens; every model starts with the same
  ``embed`` = Embedding + LayerNorm (as the sensitivity paper's LSTM), and exposes
  ``forward_embedded(e)`` so token-wise noise can be added to one embedding row. The
  transformer is an encoder (learned positions added after the noise, like ``inputs_embeds``);
  the LSTM classifies from its final hidden state.

:func:`build_model` picks the width so the parameter count is as close as possible to
``budget``.

Examples
--------
>>> m = build_model("transformer", "tokens", n_classes=2, budget=8000, vocab=10, seq_len=8)
>>> abs(count_params(m) - 8000) / 8000 < 0.25
True
>>> import torch
>>> m(torch.zeros(3, 8, dtype=torch.long)).shape
torch.Size([3, 2])
"""

from __future__ import annotations

from nstheory.errors import NSTheoryError, check_choice, check_int

ARCHS = ("mlp", "cnn", "lstm", "transformer")
KINDS = ("image", "tokens")


def count_params(model) -> int:
    """Number of trainable parameters.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    int

    Examples
    --------
    ``Linear(3, 2)`` has a 2 x 3 weight and 2 biases; frozen parameters do not count:

    >>> import torch
    >>> lin = torch.nn.Linear(3, 2)
    >>> count_params(lin)
    8
    >>> _ = lin.bias.requires_grad_(False)
    >>> count_params(lin)
    6
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _nn():
    import torch

    return torch, torch.nn


def _patchify(x, p):
    """(B, C, H, W) -> (B, (H/p)(W/p), C p p), raster order."""
    B, C, H, W = x.shape
    x = x.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(B, (H // p) * (W // p), C * p * p)


def _make(arch: str, kind: str, width: int, n_classes: int, *, vocab=None, seq_len=None,
          image_shape=None, patch=2, heads=4, depth=2):
    torch, nn = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.arch, self.kind, self.width = arch, kind, width
            if kind == "tokens":
                self.embed = nn.Sequential(nn.Embedding(vocab, width), nn.LayerNorm(width))
                n, d = seq_len, width
            else:
                C, H, W = image_shape
                n, d = (H // patch) * (W // patch), C * patch * patch
            self.n, self.d = n, d
            if arch == "mlp":
                if kind == "tokens":
                    self.body = nn.Sequential(nn.Flatten(), nn.Linear(n * d, width), nn.ReLU(),
                                              nn.Linear(width, n_classes))
                else:
                    self.body = nn.Sequential(nn.Flatten(), nn.Linear(n * d, width), nn.ReLU(),
                                              nn.Linear(width, width), nn.ReLU(),
                                              nn.Linear(width, n_classes))
            elif arch == "cnn":
                if kind == "tokens":
                    self.conv = nn.Sequential(nn.Conv1d(d, width, 3, padding=1), nn.ReLU(),
                                              nn.Conv1d(width, width, 3, padding=1), nn.ReLU())
                else:
                    C = image_shape[0]
                    self.conv = nn.Sequential(nn.Conv2d(C, width, 3, padding=1), nn.ReLU(),
                                              nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                                              nn.MaxPool2d(2))
                self.head = nn.Linear(width, n_classes)
            elif arch == "lstm":
                self.inp = nn.Identity() if kind == "tokens" else nn.Linear(d, width)
                self.lstm = nn.LSTM(width, width, num_layers=1, batch_first=True)
                self.head = nn.Linear(width, n_classes)
            elif arch == "transformer":
                self.inp = nn.Identity() if kind == "tokens" else nn.Linear(d, width)
                self.pos = nn.Parameter(torch.randn(1, n, width) * 0.02)
                layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0,
                                                   batch_first=True, norm_first=True)
                self.enc = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
                self.norm = nn.LayerNorm(width)
                self.head = nn.Linear(width, n_classes)
            else:
                raise NSTheoryError(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")

        def tokens_of(self, x):
            """The per-token representation the body reads: embeddings or pixel patches."""
            return self.embed(x) if self.kind == "tokens" else _patchify(x, patch)

        def forward_embedded(self, e):
            """Logits from token representations ``(B, n, d)``."""
            if self.arch == "mlp":
                return self.body(e)
            if self.arch == "cnn":
                if self.kind == "tokens":
                    h = self.conv(e.transpose(1, 2)).mean(-1)
                else:
                    h = self.conv(self._unpatch(e)).mean((-1, -2))
                return self.head(h)
            if self.arch == "lstm":
                out, _ = self.lstm(self.inp(e))
                return self.head(out[:, -1])
            h = self.enc(self.inp(e) + self.pos)
            return self.head(self.norm(h).mean(1))

        def _unpatch(self, e):
            C, H, W = image_shape
            B = e.shape[0]
            x = e.reshape(B, H // patch, W // patch, C, patch, patch).permute(0, 3, 1, 4, 2, 5)
            return x.reshape(B, C, H, W)

        def forward(self, x):
            return self.forward_embedded(self.tokens_of(x))

    return Net()


def build_model(arch: str, kind: str, n_classes: int, budget: int = 20000, *, vocab=None,
                seq_len=None, image_shape=None, patch: int = 2, heads: int = 4, depth: int = 2,
                seed: int | None = None):
    """Build ``arch`` for inputs of ``kind`` with the parameter count closest to ``budget``.

    Parameters
    ----------
    arch : {"mlp", "cnn", "lstm", "transformer"}
    kind : {"image", "tokens"}
        ``"tokens"`` needs ``vocab`` and ``seq_len``; ``"image"`` needs ``image_shape``
        ``(C, H, W)`` divisible by ``patch``.
    n_classes : int
        Output logits.
    budget : int, optional
        Target parameter count (``>= 100``).
    vocab, seq_len : int, optional
        Token models: vocabulary size and sequence length.
    image_shape : tuple of int, optional
        Image models: ``(C, H, W)``.
    patch, heads, depth : int, optional
        Patch size (image transformer and LSTM), attention heads, layers.
    seed : int, optional
        Seeds the parameter initialisation (``torch.manual_seed``).

    Returns
    -------
    torch.nn.Module
        Maps a batch to ``(B, n_classes)`` logits.

    Examples
    --------
    >>> import torch
    >>> m = build_model("cnn", "image", n_classes=10, budget=5000, image_shape=(1, 8, 8), seed=0)
    >>> abs(count_params(m) - 5000) / 5000 < 0.25, tuple(m(torch.zeros(2, 1, 8, 8)).shape)
    (True, (2, 10))
    >>> build_model("mlp", "tokens", n_classes=2)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: token models need vocab and seq_len
    """
    import torch

    check_choice(arch, ARCHS, "arch")
    check_choice(kind, KINDS, "kind")
    check_int(budget, "budget", lo=100)
    if kind == "tokens" and (vocab is None or seq_len is None):
        raise NSTheoryError("token models need vocab and seq_len")
    if kind == "image":
        if image_shape is None or image_shape[1] % patch or image_shape[2] % patch:
            raise NSTheoryError("image models need image_shape (C, H, W) divisible by patch")
    step = heads if arch == "transformer" else 1
    kw = dict(vocab=vocab, seq_len=seq_len, image_shape=image_shape, patch=patch, heads=heads,
              depth=depth)
    best = None
    lo, hi = step, 2048
    # parameter count is increasing in width: bisect, then compare the two neighbours
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if count_params(_make(arch, kind, mid, n_classes, **kw)) < budget:
            lo = mid
        else:
            hi = mid
    for w in (lo, hi):
        c = count_params(_make(arch, kind, w, n_classes, **kw))
        if best is None or abs(c - budget) < abs(best[1] - budget):
            best = (w, c)
    if seed is not None:
        torch.manual_seed(seed)
    return _make(arch, kind, best[0], n_classes, **kw)


def load_user_model(path: str, device=None, name: str = "--model-file"):
    """Load a user's model: a TorchScript file or a ``torch.save``-d ``nn.Module``.

    A missing, corrupt or wrong-kind file (e.g. a state dict) gives an ``NSTheoryError``
    naming ``name``; a pickled module runs its pickle, so load trusted files only.

    Parameters
    ----------
    path : str
        The file.
    device : torch.device or str, optional
        Where to map the parameters.
    name : str
        The argument named in error messages.

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    A saved module comes back with the same outputs:

    >>> import os, tempfile, torch
    >>> m = torch.nn.Linear(3, 1)
    >>> p = os.path.join(tempfile.mkdtemp(), "m.pt")
    >>> torch.save(m, p)
    >>> x = torch.ones(2, 3)
    >>> bool(torch.equal(load_user_model(p)(x), m(x)))
    True
    >>> load_user_model("/no/such.pt")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --model-file: no such file: '/no/such.pt'
    """
    from nstheory.validate import load_torch_file

    m = load_torch_file(path, name, expect="module")
    return m.to(device) if device is not None else m


__all__ = ["ARCHS", "KINDS", "build_model", "count_params", "load_user_model"]
