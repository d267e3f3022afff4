r"""Per-position influence of a vector-valued output functional, measured on one input.

Definitions (f: a sequence of n tokens -> R^m, an explicit functional from
:mod:`nstheory.models.functionals`; x a real-text context; all estimates are per input and are
averaged over inputs by :mod:`nstheory.models.summary`):

* **token-resampling influence** (Efron-Stein)
  :math:`\mathrm{Inf}_i[f] = \tfrac12\,\mathbb E\,\|f(x^{i\leftarrow t}) - f(x^{i\leftarrow t'})\|^2
  = \mathbb E_x\,\mathrm{tr}\,\mathrm{Var}_{t}\, f(x^{i\leftarrow t})`, t, t' drawn uniformly
  from the vocabulary without special tokens. Estimated from R resamples by the unbiased sample
  variance (summed over the m output coordinates). For scalar +-1-valued f on the Boolean cube
  this is O'Donnell's Inf_i.
* **Gaussian influence** (the sensitivity paper's noise on one embedding, standard deviation
  sigma): the same with token i's embedding e_i replaced by e_i + sigma Z.
* **gradient influence** :math:`s^2\,\mathbb E\,\|J_i\|_F^2` with J_i = d f / d e_i the
  Jacobian block of token i's embedding and s the embedding scale: the Hermite (Gaussian
  Poincare) influence in standardised coordinates e / s; the **geometric influence** is
  :math:`\mathbb E\,\|J_i\|_F` (the paper's E||grad_{x_i} f||, our reading). ||J_i||_F^2 is
  estimated with Hutchinson probes v ~ N(0, I_m): E||J^T v||^2 = ||J||_F^2.

>>> import torch
>>> from nstheory.models.loading import tiny_model
>>> from nstheory.models.functionals import parse_functionals
>>> lm = tiny_model("bert")
>>> ids = torch.randint(4, 64, (12,))
>>> est = token_influence(lm, ids, parse_functionals("cls"), resamples=3, seed=0)
>>> est["cls"].shape, bool((est["cls"] >= 0).all())
((12,), True)
"""

from __future__ import annotations

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_positive
from nstheory.models.functionals import evaluate


def _conditional_variance(lm, ids, functionals, positions, resamples, batch, perturb, gen):
    """For each position p: unbiased tr Var over ``resamples`` perturbations of position p."""
    import torch

    ids = ids.to(lm.device)
    base = lm.embed(ids[None]).detach()[0]
    positions = list(positions)
    per = max(1, batch // resamples)
    out = {f.spec: np.empty(len(positions)) for f in functionals}
    for c in range(0, len(positions), per):
        chunk = positions[c:c + per]
        pos = torch.tensor(chunk, device=lm.device).repeat_interleave(resamples)
        with torch.no_grad():
            e = base.expand(len(pos), *base.shape).clone()
            rows = torch.arange(len(pos), device=lm.device)
            e[rows, pos] = perturb(base[pos], gen)
            vals = evaluate(lm, e, functionals)
        for spec, v in vals.items():
            v = v.double().reshape(len(chunk), resamples, -1)
            var = ((v - v.mean(dim=1, keepdim=True)) ** 2).sum(dim=(1, 2)) / (resamples - 1)
            out[spec][c:c + len(chunk)] = var.cpu().numpy()
    return out


def token_influence(lm, ids, functionals, positions=None, resamples: int = 2, batch: int = 32,
                    seed: int = 0) -> dict:
    """Per-position token-resampling influence estimates on one input ``ids`` (n,).

    Parameters
    ----------
    lm : LoadedModel
        The model.
    ids : torch.Tensor
        Token ids of one input, shape ``(n,)``.
    functionals : list of Functional
        The output functionals measured.
    positions : iterable of int, optional
        Positions to measure (default all).
    resamples : int, optional
        Resampled tokens per position, at least 2.
    batch : int, optional
        Forward-pass batch size.
    seed : int, optional
        Seed of the resampling.

    Returns
    -------
    dict
        ``{spec: array(len(positions))}``, each entry an unbiased estimate of
        ``tr Var_t f(x^{i<-t})`` from ``resamples`` uniform non-special tokens t.

    Examples
    --------
    In a causal LM the first position's output cannot depend on later tokens, so
    their influence on ``pos:0`` is exactly zero:

    >>> import torch
    >>> from nstheory.models.loading import tiny_model
    >>> from nstheory.models.functionals import parse_functionals
    >>> lm = tiny_model("gpt2")
    >>> ids = torch.randint(4, 64, (6,), generator=torch.Generator().manual_seed(0))
    >>> inf = token_influence(lm, ids, parse_functionals("pos:0", lm.kind), resamples=3)["pos:0"]
    >>> bool(inf[0] > 0), bool((inf[1:] == 0).all())
    (True, True)
    """
    import torch

    resamples = check_int(resamples, "resamples", lo=2)
    positions = range(len(ids)) if positions is None else positions
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    table = lm.embedding_table
    pool = lm.resample_ids

    def perturb(rows, g):
        pick = pool[torch.randint(len(pool), (rows.shape[0],), generator=g)]
        return table[pick.to(table.device)].to(rows.dtype)

    return _conditional_variance(lm, ids, functionals, positions, resamples, batch, perturb, gen)


#: smallest Gaussian-influence ``sigma``, in units of ``eps`` of the model's dtype times the
#: embedding scale (below it the forward pass's rounding dominates the estimated variance)
ROUNDING_FLOOR = 1000


def gaussian_influence(lm, ids, functionals, sigma: float, positions=None, resamples: int = 2,
                       batch: int = 32, seed: int = 0) -> dict:
    """Per-position Gaussian influence: token i's embedding gets ``sigma * N(0, I_d)`` added.

    ``sigma`` is in absolute units of the embedding table; the entries estimate
    ``tr Var_Z f(e_i + sigma Z)``. Other parameters as in :func:`token_influence`.

    The variance over resamples also picks up the forward pass's rounding (about ``eps |f|``
    per coordinate), which dominates once ``sigma ||J||`` falls to that level: on MiniLM in
    float32 the estimate was 15-27% high at ``sigma = 1e-5 s`` and 20x at ``1e-6 s`` (``s``
    the embedding scale). ``sigma`` below :data:`ROUNDING_FLOOR` ``* eps * s`` (``eps`` of the
    model's dtype; ``1.2e-4 s`` in float32) is refused: use a larger ``sigma`` or a float64
    model.

    Raises
    ------
    NSTheoryError
        For ``sigma <= 0``, ``sigma`` below the rounding floor, or fewer than 2 resamples.

    Examples
    --------
    >>> import torch
    >>> from nstheory.models.loading import tiny_model
    >>> from nstheory.models.functionals import parse_functionals
    >>> lm = tiny_model("gpt2")
    >>> ids = torch.randint(4, 64, (6,), generator=torch.Generator().manual_seed(0))
    >>> fs = parse_functionals("pos:0", lm.kind)
    >>> inf = gaussian_influence(lm, ids, fs, sigma=0.1, resamples=3)["pos:0"]
    >>> bool(inf[0] > 0), bool((inf[1:] == 0).all())          # causal masking
    (True, True)
    >>> gaussian_influence(lm, ids, fs, sigma=0.0)               # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: sigma must be ...
    """
    import torch

    check_positive(sigma, "sigma")
    resamples = check_int(resamples, "resamples", lo=2)
    eps = torch.finfo(lm.embedding_table.dtype).eps
    floor = ROUNDING_FLOOR * eps * lm.embedding_scale()
    if sigma < floor:
        raise NSTheoryError(
            f"sigma = {sigma:.3g} is below the rounding floor {floor:.3g} of the "
            f"{lm.embedding_table.dtype} forward pass ({ROUNDING_FLOOR:g} eps x the embedding "
            "scale): rounding would dominate the variance; use a larger sigma or a float64 "
            "model")
    positions = range(len(ids)) if positions is None else positions
    gen = torch.Generator(device="cpu").manual_seed(int(seed))

    def perturb(rows, g):
        z = torch.randn(rows.shape, generator=g, dtype=torch.float64).to(rows.device, rows.dtype)
        return rows + sigma * z

    return _conditional_variance(lm, ids, functionals, positions, resamples, batch, perturb, gen)


def jacobian_sq(lm, ids, functionals, probes: int = 8, seed: int = 0) -> dict:
    """Hutchinson estimates of ``||J_i||_F^2`` (``J_i = df/de_i``) at every position of one input.

    Parameters
    ----------
    lm : LoadedModel
        The model.
    ids : torch.Tensor
        Token ids of one input, shape ``(n,)``.
    functionals : list of Functional
        The output functionals.
    probes : int, optional
        Gaussian probes (backward passes), at least 2.
    seed : int, optional
        Seed of the probes.

    Returns
    -------
    dict
        ``{spec: (mean array(n), stderr array(n))}`` over the probes.

    Examples
    --------
    >>> import torch
    >>> from nstheory.models.loading import tiny_model
    >>> from nstheory.models.functionals import parse_functionals
    >>> lm = tiny_model("gpt2")
    >>> ids = torch.randint(4, 64, (6,), generator=torch.Generator().manual_seed(0))
    >>> mean, se = jacobian_sq(lm, ids, parse_functionals("pos:0", lm.kind), probes=4)["pos:0"]
    >>> bool(mean[0] > 0), bool((mean[1:] == 0).all()), se.shape   # causal masking
    (True, True, (6,))
    """
    import torch

    probes = check_int(probes, "probes", lo=2)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    base = lm.embed(ids.to(lm.device)[None]).detach()
    e = base.expand(probes, *base.shape[1:]).clone().requires_grad_(True)
    vals = evaluate(lm, e, functionals, grad=True)
    out = {}
    specs = list(vals)
    for k, spec in enumerate(specs):
        f = vals[spec]
        v = torch.randn(f.shape, generator=gen, dtype=torch.float64).to(f.device, f.dtype)
        (g,) = torch.autograd.grad((f * v).sum(), e, retain_graph=k < len(specs) - 1)
        sq = g.double().pow(2).sum(dim=-1).cpu().numpy()  # (probes, n)
        out[spec] = (sq.mean(axis=0), sq.std(axis=0, ddof=1) / np.sqrt(probes))
    return out


def directional_pair(lm, ids, functional, position: int, h: float = 1e-4, seed: int = 0):
    """``(autograd, finite difference)`` values of ``<v, J_i u>`` for one position i and random
    u ~ N(0, s^2 I_d) (s: the embedding scale), v ~ N(0, I_m): the backward-mode gradient
    dotted with u, and the central difference ``<v, f(e + h u) - f(e - h u)> / (2h)`` (forward
    passes only; truncation error O(h^2)). Run the model in float64 for agreement beyond
    float32 round-off.

    >>> import torch
    >>> from nstheory.models.loading import tiny_model
    >>> from nstheory.models.functionals import parse_functional
    >>> lm = tiny_model("gpt2"); _ = lm.model.double()
    >>> a, b = directional_pair(lm, torch.randint(4, 64, (10,)), parse_functional("mean"), 3)
    >>> abs(a - b) < 1e-5 * abs(a)
    True
    """
    import torch

    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    base = lm.embed(ids.to(lm.device)[None]).detach()
    u = torch.randn(base.shape[-1], generator=gen, dtype=torch.float64).to(base.device, base.dtype)
    u = u * lm.embedding_scale()
    e = base.clone().requires_grad_(True)
    f = evaluate(lm, e, [functional], grad=True)[functional.spec]
    v = torch.randn(f.shape, generator=gen, dtype=torch.float64).to(f.device, f.dtype)
    (g,) = torch.autograd.grad((f * v).sum(), e)
    auto = float((g[0, position] * u).sum())
    plus, minus = base.clone(), base.clone()
    plus[0, position] += h * u
    minus[0, position] -= h * u
    fp = evaluate(lm, plus, [functional])[functional.spec]
    fm = evaluate(lm, minus, [functional])[functional.spec]
    fd = float(((fp - fm) * v).sum() / (2 * h))
    return auto, fd
