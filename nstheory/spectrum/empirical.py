r"""Empirical NTK of finite-width torch MLPs on the whole cube, and its spectrum by degree.

The network is the one of :mod:`nstheory.spectrum.kernels` at finite width ``m`` (NTK
parametrisation: ``h^1 = sigma_w W^1 x / sqrt(n) + sigma_b b^1``, ``h^{l+1} = sigma_w W^{l+1}
phi(h^l) / sqrt(m) + sigma_b b^{l+1}``, all entries of ``W``, ``b`` standard normal, output
``f = h^{L+1}``). The empirical NTK ``Theta(x, y) = <grad_theta f(x), grad_theta f(y)>`` is
assembled layer by layer from one autograd backward pass over the batch of all ``2^n`` points:
``sum_l (<delta_l(x), delta_l(y)> <a_{l-1}(x), a_{l-1}(y)> sigma_w^2 / fan_in +
<delta_l(x), delta_l(y)> sigma_b^2)`` with ``delta_l = df/dh^l`` (autograd) and ``a_{l-1}`` the
layer input -- the exact parameter-gradient inner product, without forming the Jacobian.

For depth 1 the expectation over the initialisation of ``Theta`` equals the infinite-width NTK
at every width (the readout weights are independent of the first layer); for deeper networks
the difference is ``O(1/m)``.

Spectrum by degree: with ``C`` the ``2^n x 2^n`` character matrix and ``H = C^T Theta C /
4^n`` (the operator ``f -> E_y Theta(., y) f(y)`` in the orthonormal monomial basis),
:func:`degree_rayleigh` returns the mean of the diagonal of ``H`` over each degree (equal to
``mu_k`` in the limit) and :func:`monomial_leakage` the relative Frobenius mass of the
off-diagonal part (0 in the limit: the monomials are the eigenvectors).

Examples
--------
>>> th = mlp_empirical_ntk("relu", depth=1, width=256, n=3, seed=0)
>>> th.shape
(8, 8)
>>> [round(v, 3) + 0.0 for v in degree_rayleigh(th, 3)]   # limit: 1.058, 2/3, 0.314, 0
[1.05, 0.643, 0.293, 0.0]
"""

from __future__ import annotations

import math

import numpy as np

from nstheory.errors import NSTheoryError, check_choice, check_int

#: Activations available in torch for the empirical NTK.
TORCH_ACTIVATIONS = ("relu", "erf", "abs", "identity")


def cube_matrix(n: int) -> np.ndarray:
    """All ``2^n`` points of the cube as rows (bit ``i`` of the row index is ``x_{i+1}``,
    0 -> +1), int8.

    >>> cube_matrix(2).tolist()
    [[1, 1], [-1, 1], [1, -1], [-1, -1]]
    """
    n = check_int(n, "n", lo=1, hi=16)
    idx = np.arange(2**n)
    return (1 - 2 * ((idx[:, None] >> np.arange(n)[None, :]) & 1)).astype(np.int8)


def character_matrix(n: int) -> np.ndarray:
    """``C[x, S] = chi_S(x)`` (column ``S`` is the subset with bits of ``S``), float64.

    >>> character_matrix(1).tolist()
    [[1.0, 1.0], [1.0, -1.0]]
    """
    X = cube_matrix(n).astype(np.float64)
    N = 2**n
    C = np.ones((N, N))
    for S in range(N):
        for i in range(n):
            if (S >> i) & 1:
                C[:, S] *= X[:, i]
    return C


def mlp_empirical_ntk(act: str = "relu", depth: int = 1, width: int = 512, n: int = 6,
                      sw2: float = 2.0, sb2: float = 0.0, seed: int = 0) -> np.ndarray:
    """The ``2^n x 2^n`` empirical NTK of one random finite-width MLP (float64, torch CPU).

    Parameters
    ----------
    act : str, optional
        ``relu``, ``erf``, ``abs`` or ``identity``.
    depth, width : int, optional
        Hidden layers and their width.
    n : int, optional
        Cube dimension (inputs are the ``2^n`` points of ``{-1, 1}^n``).
    sw2, sb2 : float, optional
        Weight and bias variances.
    seed : int, optional
        Seed of the initialisation.

    Examples
    --------
    A linear network without biases has ``Theta(x, y) = x^T M y``: a symmetric
    positive semidefinite kernel of rank at most ``n``:

    >>> import numpy as np
    >>> th = mlp_empirical_ntk("identity", depth=1, width=8, n=2, sb2=0.0)
    >>> th.shape, bool(np.allclose(th, th.T)), int(np.linalg.matrix_rank(th)) <= 2
    ((4, 4), True, True)
    >>> bool(np.linalg.eigvalsh(th).min() > -1e-9)
    True
    """
    import torch

    check_choice(act, TORCH_ACTIVATIONS, "act")
    depth = check_int(depth, "depth", lo=1, hi=16)
    width = check_int(width, "width", lo=1, hi=1 << 16)
    n = check_int(n, "n", lo=1, hi=10)
    if not (math.isfinite(sw2) and sw2 > 0 and math.isfinite(sb2) and sb2 >= 0):
        raise NSTheoryError(f"need sw2 > 0 and sb2 >= 0 finite, got sw2={sw2}, sb2={sb2}")
    phi = {"relu": torch.relu, "erf": torch.erf, "abs": torch.abs,
           "identity": lambda z: z}[act]
    g = torch.Generator().manual_seed(int(seed))
    sw, sb = math.sqrt(sw2), math.sqrt(sb2)
    X = torch.tensor(cube_matrix(n), dtype=torch.float64, requires_grad=True)  # builds the graph
    fans = [n] + [width] * depth
    outs = [width] * depth + [1]
    Ws = [torch.randn(o, i, generator=g, dtype=torch.float64) for i, o in zip(fans, outs,
                                                                              strict=True)]
    bs = [torch.randn(o, generator=g, dtype=torch.float64) for o in outs]
    a = X
    inputs, pre = [], []
    for layer, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        inputs.append(a.detach())
        h = sw * a @ W.T / math.sqrt(fans[layer]) + sb * b
        h.retain_grad()
        pre.append(h)
        a = phi(h) if layer < depth else h
    a.sum().backward()
    theta = torch.zeros(2**n, 2**n, dtype=torch.float64)
    for layer, h in enumerate(pre):
        d = h.grad
        dd = d @ d.T
        ii = inputs[layer] @ inputs[layer].T
        theta += dd * ii * (sw2 / fans[layer]) + dd * sb2
    return theta.detach().numpy()


def monomial_operator(theta: np.ndarray, n: int) -> np.ndarray:
    """``H = C^T Theta C / 4^n``: the kernel operator in the orthonormal monomial basis.

    Examples
    --------
    The delta kernel on the ``2^n`` points is ``2^-n`` times the identity in every
    orthonormal basis:

    >>> import numpy as np
    >>> bool(np.allclose(monomial_operator(np.eye(8), 3), np.eye(8) / 8))
    True
    """
    C = character_matrix(n)
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (2**n, 2**n) or not np.all(np.isfinite(theta)):
        raise NSTheoryError(f"theta must be a finite {2**n} x {2**n} kernel matrix on the cube "
                            f"(n = {n}), got shape {theta.shape}"
                            + ("" if np.all(np.isfinite(theta)) else " with non-finite entries"))
    return C.T @ theta @ C / 4**n


def degree_rayleigh(theta: np.ndarray, n: int) -> list[float]:
    """Mean over ``|S| = k`` of ``H[S, S]`` for ``k = 0..n`` (``mu_k`` in the limit).

    >>> degree_rayleigh(np.ones((4, 4)), 2)   # the constant kernel: mu_0 = 1, the rest 0
    [1.0, 0.0, 0.0]
    """
    H = monomial_operator(np.asarray(theta, dtype=np.float64), n)
    deg = np.array([bin(S).count("1") for S in range(2**n)])
    diag = np.diag(H)
    return [float(diag[deg == k].mean()) + 0.0 for k in range(n + 1)]


def monomial_leakage(theta: np.ndarray, n: int) -> float:
    """``||H - diag H||_F / ||H||_F``: how far the monomials are from being eigenvectors.

    >>> monomial_leakage(np.ones((4, 4)), 2)
    0.0
    """
    H = monomial_operator(np.asarray(theta, dtype=np.float64), n)
    off = H - np.diag(np.diag(H))
    norm = np.linalg.norm(H)
    if norm == 0:
        raise NSTheoryError("monomial_leakage: the zero kernel has no eigenvector structure")
    return float(np.linalg.norm(off) / norm)


__all__ = [
    "TORCH_ACTIVATIONS",
    "character_matrix",
    "cube_matrix",
    "degree_rayleigh",
    "mlp_empirical_ntk",
    "monomial_leakage",
    "monomial_operator",
]
