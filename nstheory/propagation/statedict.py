"""Layer descriptions from trained weights (a torch state dict).

The mean-field rules need, per layer, the *weight statistics* that enter the per-coordinate
moments:

* a dense layer ``y = x W^T`` (torch ``Linear``, ``W`` of shape ``(out, in)``): the squared row
  norms ``sum_k W_jk^2``; the rule uses their mean as ``sigma2`` (exact for i.i.d. weights,
  an average over output coordinates otherwise);
* attention ``softmax(X W_Q W_K^T X^T) X W_V`` (``W_V`` of shape ``(d, m)``): the squared
  value-column norms ``gamma_j^2 = ||(W_V)_{:, j}||^2`` (the paper's column-weight condition)
  and the structure of ``W = W_Q W_K^T``: its distance from a multiple of the identity, its
  stable rank, its symmetric part. :func:`attention_stats` classifies it as ``identity``,
  ``lowrank`` or ``random`` for the model description.

>>> import torch
>>> s = attention_stats(torch.eye(8), torch.eye(8), 0.5 * torch.eye(8))
>>> s["mode"], s["gamma2_mean"], s["identity_distance"]
('identity', 0.25, 0.0)
"""

from __future__ import annotations

from nstheory.errors import NSTheoryError
from nstheory.propagation.model import Act, Attention, Dense, Model

#: the name of a model description read from a state dict
STATE_DICT_NAME = "mlp (from state dict)"


def dense_sigma2(weight) -> dict:
    """Statistics of a torch ``Linear`` weight ``(out, in)``: squared row norms (the factor
    each output coordinate's second moment picks up), mean/min/max.

    Parameters
    ----------
    weight : array_like
        A matrix ``(out, in)``.

    Returns
    -------
    dict
        ``sigma2_mean``, ``sigma2_min``, ``sigma2_max`` and ``shape``.

    Examples
    --------
    >>> import torch
    >>> dense_sigma2(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
    {'sigma2_mean': 13.0, 'sigma2_min': 1.0, 'sigma2_max': 25.0, 'shape': (2, 2)}
    """
    w = _as_2d(weight, "Linear weight")
    rows = (w**2).sum(dim=1)
    return {"sigma2_mean": float(rows.mean()), "sigma2_min": float(rows.min()),
            "sigma2_max": float(rows.max()), "shape": tuple(w.shape)}


def attention_stats(W_Q, W_K, W_V, lowrank_fraction: float = 0.25,
                    identity_tol: float = 0.1) -> dict:
    """Weight statistics of one attention head (see the module docstring).

    ``identity_distance = ||W - a I||_F / ||W||_F`` with ``a = tr W / d`` (0 for a multiple of
    the identity); ``stable_rank = ||W||_F^2 / ||W||_2^2``; ``symmetric_fraction =
    ||(W + W^T)/2||_F^2 / ||W||_F^2``. Mode: ``identity`` if the distance is below
    ``identity_tol``, else ``lowrank`` if the stable rank is below ``lowrank_fraction * d``, else
    ``random``.

    Parameters
    ----------
    W_Q, W_K : array_like
        Query and key matrices ``(d, k)``.
    W_V : array_like
        Value matrix ``(d, m)``.
    lowrank_fraction, identity_tol : float, optional
        Classification thresholds.

    Returns
    -------
    dict
        ``mode``, ``identity_scale``, ``identity_distance``, ``stable_rank``,
        ``symmetric_fraction``, ``gamma2_mean/min/max`` and ``d``.

    Examples
    --------
    A rank-1 ``W_Q W_K^T = u u^T`` has stable rank 1 and is symmetric:

    >>> import torch
    >>> u = torch.zeros(8, 1)
    >>> u[0, 0] = 1.0
    >>> s = attention_stats(u, u, torch.eye(8))
    >>> s["mode"], s["stable_rank"], s["symmetric_fraction"], s["gamma2_mean"]
    ('lowrank', 1.0, 1.0, 1.0)
    """
    import torch

    from nstheory.validate import check_real

    check_real(lowrank_fraction, "lowrank_fraction", lo=0, hi=1, lo_open=True)
    check_real(identity_tol, "identity_tol", lo=0, lo_open=True)
    wq, wk, wv = (_as_2d(x, n) for x, n in ((W_Q, "W_Q"), (W_K, "W_K"), (W_V, "W_V")))
    if wq.shape != wk.shape or wq.shape[0] != wv.shape[0]:
        raise NSTheoryError(f"incompatible shapes W_Q {tuple(wq.shape)}, W_K {tuple(wk.shape)}, "
                            f"W_V {tuple(wv.shape)} (need (d, k), (d, k), (d, m))")
    W = wq @ wk.T
    d = W.shape[0]
    fro2 = float((W**2).sum())
    if fro2 == 0:
        raise NSTheoryError("W_Q W_K^T is zero")
    a = float(torch.trace(W)) / d
    dist = float(((W - a * torch.eye(d, dtype=W.dtype)) ** 2).sum()) ** 0.5 / fro2**0.5
    from nstheory.reproducible import deterministic

    # one thread: an SVD this small gains nothing from a second, and beside a busy process
    # each parallel region waits for a time slice (0.5-3 s per call measured, 0.01 s alone)
    with deterministic(threads=1):
        spec = float(torch.linalg.matrix_norm(W, ord=2))
    stable_rank = fro2 / spec**2
    sym = float((((W + W.T) / 2) ** 2).sum()) / fro2
    cols = (wv**2).sum(dim=0)
    if dist < identity_tol:
        mode = "identity"
    elif stable_rank < lowrank_fraction * d:
        mode = "lowrank"
    else:
        mode = "random"
    return {
        "mode": mode, "identity_scale": a, "identity_distance": round(dist, 12),
        "stable_rank": stable_rank, "symmetric_fraction": sym,
        "gamma2_mean": float(cols.mean()), "gamma2_min": float(cols.min()),
        "gamma2_max": float(cols.max()), "d": d,
    }


def attention_layer_from_weights(W_Q, W_K, W_V, pattern_slack: float = 0.0) -> Attention:
    """An :class:`Attention` description with the weights' mode and mean ``gamma^2``.

    Parameters
    ----------
    W_Q, W_K, W_V : array_like
        Head weights (see :func:`attention_stats`).
    pattern_slack : float, optional
        See :class:`~nstheory.propagation.model.Attention`.

    Returns
    -------
    Attention

    Examples
    --------
    >>> import torch
    >>> attention_layer_from_weights(torch.eye(4), 2 * torch.eye(4), 0.5 * torch.eye(4))
    Attention(mode='identity', gamma2=0.25, rank=None, scale='sqrt', pattern_slack=0.0, d=None)
    """
    s = attention_stats(W_Q, W_K, W_V)
    return Attention(s["mode"], s["gamma2_mean"], pattern_slack=pattern_slack)


def mlp_from_state_dict(state_dict, act: str = "relu") -> Model:
    """An MLP description from the ``Linear`` layers of a state dict, in key order: each 2-D
    ``*.weight`` becomes ``Dense(mean squared row norm)`` followed by ``act`` (also after the
    last one: a state dict does not record activations). Biases are ignored by the mean-field
    rules (an error if a non-zero bias is present).

    What it describes: the mean field of networks with i.i.d. weights of these variances, not
    the trained network's own statistic (trained weights have structure, e.g. correlated rows,
    that the rules do not see). Anything but ``Linear`` weights and biases (a LayerNorm's 1-D
    weight, batch-norm statistics, ...) is refused, and consecutive weights must chain
    (``in`` of each = ``out`` of the one before; an embedding table or layers stored out of
    forward order do not).

    Parameters
    ----------
    state_dict : mapping
        Name -> tensor, in layer order (e.g. ``module.state_dict()``).
    act : str, optional
        Activation after every dense layer.

    Returns
    -------
    Model

    Examples
    --------
    >>> import torch
    >>> sd = {"0.weight": torch.full((2, 4), 0.5), "0.bias": torch.zeros(2),
    ...       "2.weight": torch.ones(1, 2)}
    >>> mlp_from_state_dict(sd).blocks[0][0], mlp_from_state_dict(sd).blocks[1][0]
    (Dense(sigma2=1.0), Dense(sigma2=2.0))
    >>> mlp_from_state_dict({"0.weight": torch.ones(2, 2), "0.bias": torch.ones(2)})
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: 0.bias: non-zero biases are not modelled by the rules
    >>> mlp_from_state_dict({"0.weight": torch.ones(2, 4), "1.weight": torch.ones(2)})
    ...                                                     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: 1.weight (shape (2,)): only Linear layers ...
    """
    blocks, prev = [], None
    for key, value in state_dict.items():
        ndim = getattr(value, "ndim", None)
        if key.endswith("bias") and ndim == 1:
            if float(value.abs().max()) > 0:
                raise NSTheoryError(f"{key}: non-zero biases are not modelled by the rules")
        elif key.endswith("weight") and ndim == 2:
            stats = dense_sigma2(value)
            if prev is not None and stats["shape"][1] != prev[1]["shape"][0]:
                raise NSTheoryError(
                    f"{key} {stats['shape']} does not follow {prev[0]} {prev[1]['shape']} "
                    "(in must equal the previous out): not an MLP's Linear layers in forward "
                    "order (an embedding table? layers stored out of order?)")
            prev = (key, stats)
            blocks.append((Dense(stats["sigma2_mean"]), Act(act)))
        else:
            raise NSTheoryError(
                f"{key} (shape {tuple(getattr(value, 'shape', ()))}): only Linear layers "
                "(2-D '*.weight', zero '*.bias') are modelled; LayerNorm, normalisation "
                "statistics and other parameters are not")
    if not blocks:
        raise NSTheoryError("no 2-D '*.weight' entries in the state dict")
    return Model(tuple(blocks), 1, STATE_DICT_NAME)


def _as_2d(x, name):
    import torch

    t = torch.as_tensor(x).detach().to(torch.float64).cpu()
    if t.ndim != 2 or 0 in t.shape:
        raise NSTheoryError(f"{name} must be a non-empty matrix, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise NSTheoryError(f"{name} has non-finite entries (NaN or inf)")
    return t
