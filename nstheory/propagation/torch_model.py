"""The model description as random-weight torch networks, and Monte Carlo stability per block.

:func:`monte_carlo` draws ``n_nets`` independent networks (weights as in
:mod:`nstheory.propagation.model`: ``Dense`` ``N(0, sigma2/width)``, value projections
``N(0, gamma2/width)``, query-key ``identity`` / ``lowrank`` ``U U^T`` with ``U ~ N(0, 1/rank)``
/ ``random`` ``N(0, 1)``) and feeds each ``per_net`` input pairs ``(X, Y)``, ``X`` with i.i.d.
N(0, 1) entries of shape ``(n_tokens, width)`` and ``Y = rho X + sqrt(1 - rho^2) Z``. After
every block it records, per network, the average over inputs, tokens and channels of
``h(X) h(Y)`` (raw stability, the quantity ``C`` of the mean-field rules) and of ``h(X)^2``
(``Q``). The networks are the independent units: mean and standard error are taken over the
``n_nets`` per-network averages, so the confidence interval covers the randomness of the
weights as well as of the inputs.

What the finite-width estimate estimates: ``E_{W, X, Y}[h(X)_ij h(Y)_ij]`` at width ``width``,
which differs from the mean-field value by ``O(depth / width)``; :func:`monte_carlo` reports it
as is and the comparison reports tightness honestly.

Everything is batched (networks x inputs x tokens x channels); CUDA via ``device``.

**Samplers.** ``sampler="weights"`` (the default) draws every weight matrix. Each weight matrix
of a network is applied exactly once, to the ``m`` rows (inputs x tokens) of one batch, so
``sampler="projected"`` draws only what the rows see: with the thin QR factorisation
``h^T = Q R`` of the ``m x d`` stream (``m < d``), ``h W = R^T (Q^T W)`` and ``Q^T W`` has
i.i.d. entries of the weights' law (``Q`` has orthonormal columns and ``W``'s columns are
isotropic Gaussian). So ``h W`` is drawn as ``R^T G`` with an ``m x d_out`` Gaussian ``G``:
the same joint law of all outputs, ``m / d`` of the normals (a 25-fold saving for 40 rows at
width 1024) and no ``d x d`` matrices in memory. The two samplers consume the random stream
differently, so their seeded numbers differ (within the statistical error); the stored studies
use ``"weights"``.

>>> from nstheory.propagation.model import mlp
>>> res = monte_carlo(mlp(2, sigma2=2.0), 0.5, width=64, n_nets=4, per_net=50, seed=1)
>>> len(res), res[0].n
(2, 4)
"""

from __future__ import annotations

import math

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.propagation.model import Act, Attention, Dense, LayerNorm, Model, Residual
from nstheory.stats import Moments


def _torch_activation(name: str):
    import torch

    table = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "erf": torch.erf,
        "sign": torch.sign,
        "abs": torch.abs,
        "identity": lambda x: x,
        "gelu": torch.nn.functional.gelu,
        "silu": torch.nn.functional.silu,
        "softplus": torch.nn.functional.softplus,
    }
    if name not in table:
        raise NSTheoryError(f"no torch implementation of activation {name!r}; "
                            f"known: {', '.join(sorted(table))}")
    return table[name]


def _thin_r(a):
    """The ``R`` factor of the thin QR factorisation of each ``a[i]`` (``d x m``, ``m < d``).

    On the CPU with one thread: LAPACK's small factorisations gain nothing from a second
    thread, and when the other cores are busy each parallel region's barrier waits for a time
    slice (measured: 0.17 s instead of 0.5 ms for ten 256 x 40 factorisations beside one busy
    process on two cores).
    """
    import torch

    if a.device.type != "cpu" or torch.get_num_threads() == 1:
        return torch.linalg.qr(a, mode="r").R
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return torch.linalg.qr(a, mode="r").R
    finally:
        torch.set_num_threads(threads)


class RandomStack:
    """``k`` random networks of ``model`` at ``width``, applied to batches of shape
    ``(k, batch, n_tokens, width)``. Weights are drawn once, at construction.

    Parameters
    ----------
    model : Model
        The architecture.
    width : int
        Channels.
    k : int
        Number of independent networks.
    generator : torch.Generator
        Source of the weights.
    device : torch.device
        Where to draw them.
    dtype : torch.dtype
        Their precision.

    projected : bool, optional
        Draw each layer's product with the stream instead of the weights (the
        ``"projected"`` sampler of :func:`monte_carlo`); then every weight must be applied
        once, to one batch, and :attr:`params` stays empty.

    Examples
    --------
    >>> import torch
    >>> from nstheory.propagation.model import mlp
    >>> g = torch.Generator().manual_seed(0)
    >>> stack = RandomStack(mlp(2), 16, 3, g, "cpu", torch.float32)
    >>> outs = list(stack.run_blocks(torch.randn(3, 5, 1, 16, generator=g)))
    >>> len(outs), tuple(outs[-1].shape), bool((outs[-1] >= 0).all())   # ReLU output
    (2, (3, 5, 1, 16), True)
    """

    def __init__(self, model: Model, width: int, k: int, generator, device, dtype,
                 projected: bool = False):
        import torch

        self.model, self.width, self.k = model, width, k
        self.device, self.dtype, self.gen = device, dtype, generator
        self.projected = projected
        self.params = {}  # id path -> (shape of one network's weight, std) or tensors
        self._torch = torch
        for bi, block in enumerate(model.blocks):
            for li, layer in enumerate(block):
                self._draw((bi, li), layer)

    def _randn(self, *shape, std=1.0):
        t = self._torch.randn(*shape, generator=self.gen, device=self.device, dtype=self.dtype)
        return t * std

    def _weight(self, rows, cols, std):
        """One weight per network: its law ``(rows, cols, std)`` when projected, else drawn."""
        if self.projected:
            return rows, cols, std
        return self._randn(self.k, rows, cols, std=std)

    def _draw(self, path, layer):
        d = self.width
        if isinstance(layer, Dense):
            self.params[path] = self._weight(d, d, math.sqrt(layer.sigma2 / d))
        elif isinstance(layer, Attention):
            wv = self._weight(d, d, math.sqrt(layer.gamma2 / d))
            if layer.mode == "identity":
                qk = None
            elif layer.mode == "lowrank":
                rank = layer.rank or max(1, d // 4)
                qk = self._weight(d, rank, 1 / math.sqrt(rank))
            else:
                qk = self._weight(d, d, 1.0)
            self.params[path] = (qk, wv)
        elif isinstance(layer, Residual):
            for j, sub in enumerate(layer.branch):
                self._draw((*path, j), sub)

    def _matmul(self, h, w):
        """``h @ w`` for ``h`` of shape ``(k, batch, n, d)`` and per-network ``w`` ``(k, d, m)``
        as one batched GEMM per network; for a projected weight ``(d, m, std)``, ``R^T G``
        from the thin QR factorisation ``h^T = Q R`` (module docstring)."""
        k, b, n, d = h.shape
        rows = h.reshape(k, b * n, d)
        if not isinstance(w, tuple):
            return (rows @ w).reshape(k, b, n, w.shape[-1])
        _, cols, std = w
        if b * n >= d:  # nothing to save: draw the weights themselves
            return (rows @ self._randn(k, d, cols, std=std)).reshape(k, b, n, cols)
        r = _thin_r(rows.transpose(1, 2))
        g = self._randn(k, b * n, cols, std=std)
        return (r.transpose(1, 2) @ g).reshape(k, b, n, cols)

    def _apply(self, path, layer, h):
        torch = self._torch
        if isinstance(layer, Dense):
            return self._matmul(h, self.params[path])
        if isinstance(layer, Act):
            return _torch_activation(layer.name)(h)
        if isinstance(layer, LayerNorm):
            mu = h.mean(-1, keepdim=True)
            var = ((h - mu) ** 2).mean(-1, keepdim=True)
            return (h - mu) / torch.sqrt(var + max(layer.eps, 1e-30))
        if isinstance(layer, Attention):
            from nstheory.attention.layer import attention_weights, scale_factor

            qk, wv = self.params[path]
            if layer.mode == "identity":
                q = k = h
            elif layer.mode == "lowrank":
                q = k = self._matmul(h, qk)
            else:
                q, k = self._matmul(h, qk), h
            logits = scale_factor(layer.scale, self.width) * (q @ k.transpose(-1, -2))
            return attention_weights(logits) @ self._matmul(h, wv)
        if isinstance(layer, Residual):
            b = h
            for j, sub in enumerate(layer.branch):
                b = self._apply((*path, j), sub, b)
            return h + b
        raise NSTheoryError(f"unknown layer {layer!r}")

    def run_blocks(self, h):
        """Yield the stream after each block."""
        for bi, block in enumerate(self.model.blocks):
            for li, layer in enumerate(block):
                h = self._apply((bi, li), layer, h)
            yield h


#: Memory one chunk of networks may take (bytes, estimated): chunks shrink to fit it, and a
#: single network's batch above it is refused.
MEMORY_BUDGET = 4e9


def _weight_entries(layers, d: int) -> int:
    """Entries of the weight matrices one network draws up front (weights sampler)."""
    total = 0
    for x in layers:
        if isinstance(x, Dense):
            total += d * d
        elif isinstance(x, Attention):
            rank = x.rank or max(1, d // 4)
            total += d * d + {"identity": 0, "lowrank": d * rank}.get(x.mode, d * d)
        elif isinstance(x, Residual):
            total += _weight_entries(x.branch, d)
    return total


def _memory_chunk(model: Model, width: int, per_net: int, chunk: int,
                  projected: bool = False, itemsize: int = 4) -> int:
    """``chunk``, or fewer networks at once where their activations (streams of ``n x width``
    and attention scores of ``n x n`` per input, both inputs, a few arrays alive), their
    weights (all drawn up front by the weights sampler) and one ``width x width`` temporary
    would exceed :data:`MEMORY_BUDGET`; an error when one network alone would. Unchanged for
    every configuration that fits (so seeded results stay what they were)."""
    n = model.n_tokens
    weights = 0 if projected else sum(_weight_entries(b, width) for b in model.blocks)
    per_network = float(itemsize) * (2 * per_net * (6 * n * width + 3 * n * n) + weights
                                     + width * width)
    if per_network > MEMORY_BUDGET:
        raise NSTheoryError(f"one random network ({per_net} input pairs x {n} tokens, width "
                            f"{width}, {'projected' if projected else 'all weights drawn'}) "
                            f"needs about {per_network / 1e9:.3g} GB (> "
                            f"{MEMORY_BUDGET / 1e9:g} GB); lower the inputs per network, the "
                            "tokens, the width or the depth, or use the projected sampler")
    return max(1, min(chunk, int(MEMORY_BUDGET // per_network)))


def monte_carlo(model: Model, rho: float, width: int = 256, n_nets: int = 40,
                per_net: int = 500, seed: int = 0, device="cpu", dtype="float32",
                chunk: int = 8, with_q: bool = False, show_progress: bool = False,
                view: str = "raw", sampler: str = "weights"):
    """Per-block Monte Carlo of the raw stability ``E[h(X)_ij h(Y)_ij]``.

    Returns a list (one per block) of :class:`~nstheory.stats.Moments` over the ``n_nets``
    per-network averages (``with_q=True``: pairs ``(C, Q)`` of Moments). Seeded: the result
    depends only on ``seed`` and the arguments (networks are drawn in fixed chunks).

    ``view="normalised"``: per network the ratio ``sum h(X) h(Y) / sqrt(sum h(X)^2 sum h(Y)^2)``
    (the cosine of the two output streams, estimating the mean-field ``C / Q``); it cancels the
    network-to-network fluctuation of the second moment and so resolves finite-width effects
    that the raw view's wide intervals hide (a ratio estimator: its own bias is
    ``O(1 / (per_net width))``).

    Parameters
    ----------
    model : Model
        The architecture.
    rho : float
        Input correlation.
    width, n_nets, per_net : int, optional
        Channels, independent networks, input pairs per network.
    seed : int, optional
        Root seed.
    device, dtype : str, optional
        Torch device and dtype names.
    chunk : int, optional
        Networks drawn at once.
    with_q : bool, optional
        Also return the second moment ``Q``.
    show_progress : bool, optional
        Progress bar on stderr.
    view : str, optional
        ``raw`` or ``normalised``.
    sampler : str, optional
        ``weights`` (draw every weight matrix) or ``projected`` (draw each layer's product
        with the stream from its exact law: the same distribution, far fewer normals when
        ``2 per_net n_tokens < width``; see the module docstring).

    Returns
    -------
    list
        One :class:`~nstheory.stats.Moments` (or ``(C, Q)`` pair) per block.

    Examples
    --------
    A single dense layer has ``E[(W x)_j (W y)_j] = sigma2 rho`` exactly at every width, so
    the estimate must lie within 4 standard errors of ``2 * 0.5``:

    >>> from nstheory.propagation.model import Dense, Model
    >>> (c,) = monte_carlo(Model(((Dense(2.0),),)), 0.5, width=32, n_nets=8, per_net=50)
    >>> c.n, abs(c.mean - 1.0) < 4 * c.stderr
    (8, True)

    The projected sampler draws the same law from ``1/25`` of the normals here:

    >>> (c,) = monte_carlo(Model(((Dense(2.0),),)), 0.5, width=1024, n_nets=8, per_net=20,
    ...                    sampler="projected")
    >>> abs(c.mean - 1.0) < 4 * c.stderr
    True
    """
    if view not in ("raw", "normalised"):
        raise NSTheoryError(f"view must be 'raw' or 'normalised', got {view!r}")
    if sampler not in ("weights", "projected"):
        raise NSTheoryError(f"sampler must be 'weights' or 'projected', got {sampler!r}")
    import torch

    from nstheory.device import resolve_device, resolve_dtype
    from nstheory.noise import correlated_gaussian
    from nstheory.progress import progress

    check_rho(rho)
    width = check_int(width, "width", lo=2)
    n_nets = check_int(n_nets, "n_nets", lo=2)
    per_net = check_int(per_net, "per_net", lo=1)
    chunk = check_int(chunk, "chunk", lo=1)
    dev = resolve_device(device)
    dt = resolve_dtype(dtype)
    chunk = _memory_chunk(model, width, per_net, chunk, projected=sampler == "projected",
                          itemsize=torch.empty((), dtype=dt).element_size())
    acc_c = [Moments(0, 0.0, 0.0) for _ in model.blocks]
    acc_q = [Moments(0, 0.0, 0.0) for _ in model.blocks]
    starts = list(range(0, n_nets, chunk))
    for ci, start in enumerate(progress(starts, desc="monte carlo", enabled=show_progress)):
        k = min(chunk, n_nets - start)
        gen = torch.Generator(device=dev).manual_seed(seed * 1_000_003 + ci)
        with torch.no_grad():
            stack = RandomStack(model, width, k, gen, dev, dt,
                                projected=sampler == "projected")
            x = torch.randn(k, per_net, model.n_tokens, width, generator=gen, device=dev,
                            dtype=dt)
            y = correlated_gaussian(x, rho, gen)
            both = torch.cat([x, y], dim=1)  # one pass for X and Y (same weights)
            for bi, h in enumerate(stack.run_blocks(both)):
                hx, hy = h[:, :per_net], h[:, per_net:]
                c = (hx * hy).double().mean(dim=(1, 2, 3))
                if view == "normalised":
                    qx = (hx * hx).double().mean(dim=(1, 2, 3))
                    qy = (hy * hy).double().mean(dim=(1, 2, 3))
                    c = c / torch.sqrt(qx * qy)
                c = c.cpu().numpy()
                acc_c[bi] = acc_c[bi].merge(Moments.from_values(c))
                if with_q:
                    q = (hx * hx).double().mean(dim=(1, 2, 3)).cpu().numpy()
                    acc_q[bi] = acc_q[bi].merge(Moments.from_values(q))
    if with_q:
        return list(zip(acc_c, acc_q, strict=True))
    return acc_c
