r"""Learning by degree: kernel-regime prediction vs a trained wide torch MLP on the whole cube.

Setting. Inputs: all ``2^n`` points of the cube; target ``f*`` a sum of monomials; loss
``L = (1/2) E_x (f(x) - f*(x))^2`` (mean over the cube); full-batch gradient descent with step
``eta`` on every parameter of the MLP of :mod:`nstheory.spectrum.empirical` (NTK
parametrisation). The network output is centred, ``f = g_theta - g_theta0`` (the initial
function subtracted, a constant), so ``f_0 = 0`` and the tangent kernel is unchanged.

Prediction (kernel regime, width -> infinity): ``f_{s+1} = f_s - eta T_Theta (f_s - f*)`` with
``T_Theta`` the operator ``f -> E_y Theta(., y) f(y)``, whose eigenvalues are the ``mu_k``. So
the Fourier coefficient of the residual on a monomial of degree ``k`` is multiplied by exactly
``1 - eta mu_k`` per step: ``r_S(s) = (1 - eta mu_|S|)^s r_S(0)``, and degree ``k`` is learned at
rate ``-log(1 - eta mu_k) ~ eta mu_k``.

Examples
--------
>>> curves = predicted_curves([0.5, 0.1], eta=1.0, steps=3)
>>> [[round(v, 4) for v in c] for c in curves]
[[1.0, 0.5, 0.25, 0.125], [1.0, 0.9, 0.81, 0.729]]
"""

from __future__ import annotations

import math

from nstheory.errors import NSTheoryError, check_int
from nstheory.validate import check_real


def predicted_curves(mus, eta: float, steps: int) -> list[list[float]]:
    """``[(1 - eta mu)^s for s = 0..steps]`` for each ``mu`` in ``mus`` (float64).

    The kernel-regime prediction of the residual's Fourier coefficient at
    eigenvalue ``mu`` under full-batch gradient descent with step ``eta``.

    Examples
    --------
    >>> predicted_curves([0.5, 0.0], eta=1.0, steps=3)
    [[1.0, 0.5, 0.25, 0.125], [1.0, 1.0, 1.0, 1.0]]
    >>> predicted_curves([0.5], eta=0.0, steps=3)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: eta must be a finite number > 0, got 0.0
    """
    steps = check_int(steps, "steps", lo=0, hi=10**7)  # every step is returned
    if not (math.isfinite(eta) and eta > 0):
        raise NSTheoryError(f"eta must be a finite number > 0, got {eta}")
    return [[(1 - eta * float(m)) ** s for s in range(steps + 1)] for m in mus]


def train_mlp_on_cube(target_sets, n: int = 7, depth: int = 1, width: int = 2048,
                      eta: float = 1.0, steps: int = 200, sw2: float = 2.0, sb2: float = 0.0,
                      seed: int = 0, record_every: int = 10) -> dict:
    """Train the centred MLP by full-batch GD on ``f* = sum_{S in target_sets} chi_S``.

    ``target_sets`` are bit masks of subsets (bit ``i`` = coordinate ``x_{i+1}``). Returns
    ``{"steps": [...], "residual": {S: [r_S(s), ...]}}``, ``r_S`` the residual's Fourier
    coefficient ``E_x[(f - f*)(x) chi_S(x)]`` (starts at ``-1``).

    >>> out = train_mlp_on_cube([0b1], n=3, width=64, steps=2, record_every=1)
    >>> out["steps"], round(out["residual"][1][0], 6)
    ([0, 1, 2], -1.0)
    """
    import torch

    from nstheory.spectrum.empirical import cube_matrix

    n = check_int(n, "n", lo=1, hi=12)
    depth = check_int(depth, "depth", lo=1, hi=16)
    width = check_int(width, "width", lo=1, hi=1 << 16)
    steps = check_int(steps, "steps", lo=0, hi=10**7)
    record_every = check_int(record_every, "record_every", lo=1)
    eta = check_real(eta, "eta", lo=0, hi=1e6)
    sw2, sb2 = check_real(sw2, "sw2", lo=0, lo_open=True), check_real(sb2, "sb2", lo=0)
    sets = list(dict.fromkeys(check_int(S, "subset mask", lo=0, hi=2**n - 1)
                              for S in target_sets))  # each subset once
    if not sets:
        raise NSTheoryError("target_sets must name at least one subset")
    g = torch.Generator().manual_seed(int(seed))
    X = torch.tensor(cube_matrix(n), dtype=torch.float64)

    def chi(S):
        out = torch.ones(2**n, dtype=torch.float64)
        for i in range(n):
            if (S >> i) & 1:
                out = out * X[:, i]
        return out

    chis = {S: chi(S) for S in sets}
    fstar = sum(chis.values())
    fans = [n] + [width] * depth
    outs = [width] * depth + [1]
    params = [torch.randn(o, i, generator=g, dtype=torch.float64).requires_grad_()
              for i, o in zip(fans, outs, strict=True)]
    params += [torch.randn(o, generator=g, dtype=torch.float64).requires_grad_() for o in outs]
    sw, sb = math.sqrt(sw2), math.sqrt(sb2)

    def net():
        a = X
        for layer in range(depth + 1):
            # the scale multiplies the smaller of input and output (the cube's 7 columns into
            # the first layer, the single column out of the last): one pass over 2^n x width
            # fewer per layer; a zero bias variance leaves the biases out of the graph
            w, c = params[layer], sw / math.sqrt(fans[layer])
            h = (c * a) @ w.T if a.shape[1] < w.shape[0] else c * (a @ w.T)
            if sb:
                h = h + sb * params[depth + 1 + layer]
            a = torch.relu(h) if layer < depth else h
        return a[:, 0]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest on a shared machine
    try:
        return _gd_loop(net, params, chis, fstar, sets, eta, steps, record_every)
    finally:
        torch.set_num_threads(threads)


def _gd_loop(net, params, chis, fstar, sets, eta, steps, record_every):
    import torch

    with torch.no_grad():
        f0 = net().clone()
    rec_steps, res = [], {S: [] for S in sets}
    for s in range(steps + 1):
        f = net() - f0
        if s % record_every == 0 or s == steps:
            with torch.no_grad():
                r = f - fstar
                rec_steps.append(s)
                for S in sets:
                    res[S].append(float((r * chis[S]).mean()))
                if not all(math.isfinite(v[-1]) for v in res.values()):
                    raise NSTheoryError(f"gradient descent diverged by step {s} (a non-finite "
                                        f"residual at eta = {eta}): use a smaller eta")
        if s == steps:
            break
        loss = 0.5 * ((f - fstar) ** 2).mean()
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        with torch.no_grad():
            for p, gr in zip(params, grads, strict=True):
                if gr is not None:  # unused: a bias with sb2 = 0
                    p -= eta * gr
    return {"steps": rec_steps, "residual": res}


def degree_of(S: int) -> int:
    """Number of coordinates in the subset mask ``S``.

    >>> degree_of(0b1011)
    3
    """
    return bin(int(S)).count("1")


__all__ = ["degree_of", "predicted_curves", "train_mlp_on_cube"]
