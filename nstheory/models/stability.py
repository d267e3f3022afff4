r"""Whole-sequence noise on one input: the ρ-noisy copy y of x and the mean squared distance.

For a functional f and an input x the per-input estimate is
:math:`D_\rho(x) = \tfrac12\,\mathbb E_y\,\|f(x) - f(y)\|^2` with

* **token noise** (keep probability ρ): each position independently keeps its token with
  probability ρ, else takes a uniform non-special token (which may equal the original);
* **Gaussian noise** on the embeddings (standardised by the embedding scale s):
  :math:`y = \rho\,e + \sqrt{1-\rho^2}\, s Z` on all n·d coordinates.

Under a stationary product measure :math:`D_\rho = \|f\|^2 - \mathrm{Stab}_\rho[f]
= \sum_k (1-\rho^k) W_k` (Efron-Stein degree k for tokens, Hermite degree for the Gaussian
version), which is what Lemma 1 / Table 1's stability bound needs:
:math:`W_{\ge T} \le D_\rho / (1-\rho^T)`.

>>> import torch
>>> from nstheory.models.loading import tiny_model
>>> from nstheory.models.functionals import parse_functionals
>>> lm = tiny_model("bert")
>>> d = noise_distance(lm, torch.randint(4, 64, (12,)), parse_functionals("mean"), 0.9, "token")
>>> d["mean"] > 0
True
"""

from __future__ import annotations

from nstheory.errors import NSTheoryError, check_choice, check_int, check_rho
from nstheory.models.functionals import evaluate

NOISES = ("token", "gaussian")


def noise_distance(lm, ids, functionals, rho: float, noise: str, draws: int = 8,
                   batch: int = 32, seed: int = 0) -> dict:
    """``{spec: D_rho(x)}``: the mean of ``||f(x) - f(y)||^2 / 2`` over ``draws`` noisy y.

    Parameters
    ----------
    lm : LoadedModel
        The model.
    ids : torch.Tensor
        Token ids of one input, shape ``(n,)``.
    functionals : list of Functional
        The output functionals.
    rho : float
        Keep probability (token noise, in ``[0, 1]``) or correlation (Gaussian noise, in
        ``[-1, 1]``).
    noise : str
        ``token`` or ``gaussian``.
    draws : int, optional
        Number of noisy copies.
    batch, seed : int, optional
        Forward-pass batch size and seed.

    Examples
    --------
    At ``rho = 1`` the noisy copy is the input itself, so the distance is exactly 0:

    >>> import torch
    >>> from nstheory.models.loading import tiny_model
    >>> from nstheory.models.functionals import parse_functionals
    >>> lm = tiny_model("bert")
    >>> ids = torch.randint(4, 64, (8,), generator=torch.Generator().manual_seed(0))
    >>> fs = parse_functionals("mean")
    >>> noise_distance(lm, ids, fs, 1.0, "gaussian", draws=2)["mean"]
    0.0
    >>> noise_distance(lm, ids, fs, 0.5, "gaussian", draws=2)["mean"] > 0
    True
    >>> noise_distance(lm, ids, fs, 0.5, "salt")             # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: ...noise...
    >>> noise_distance(lm, ids, fs, -0.5, "token")           # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: token noise keeps each token with probability rho...
    """
    import torch

    check_rho(rho)
    check_choice(noise, NOISES, "noise")
    draws = check_int(draws, "draws", lo=1)
    rho = float(rho)
    if noise == "token" and rho < 0:
        raise NSTheoryError(f"token noise keeps each token with probability rho, which must be "
                            f"in [0, 1]; got {rho}")
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    ids = ids.to(lm.device)
    base = lm.embed(ids[None]).detach()
    with torch.no_grad():
        clean = evaluate(lm, base, functionals)
    s = lm.embedding_scale() if noise == "gaussian" else None
    total = {f.spec: 0.0 for f in functionals}
    done = 0
    while done < draws:
        b = min(batch, draws - done)
        if noise == "token":
            keep = torch.rand((b, len(ids)), generator=gen) < rho
            pick = lm.resample_ids[torch.randint(len(lm.resample_ids), (b, len(ids)),
                                                 generator=gen)]
            y_ids = torch.where(keep.to(ids.device), ids[None], pick.to(ids.device))
            e = lm.embed(y_ids)
        else:
            z = torch.randn((b, *base.shape[1:]), generator=gen, dtype=torch.float64)
            e = rho * base + (1 - rho * rho) ** 0.5 * s * z.to(base.device, base.dtype)
        with torch.no_grad():
            vals = evaluate(lm, e, functionals)
        for spec, v in vals.items():
            total[spec] += float(0.5 * (v.double() - clean[spec].double()).pow(2).sum())
        done += b
    return {k: v / draws for k, v in total.items()}
