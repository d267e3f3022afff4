"""Empirical NTK by layerwise autograd vs the full-Jacobian definition, and its limits."""

import numpy as np
import pytest
import torch

from nstheory.errors import NSTheoryError
from nstheory.spectrum.empirical import (
    character_matrix,
    cube_matrix,
    degree_rayleigh,
    mlp_empirical_ntk,
    monomial_leakage,
)


def _jacobian_ntk(act, depth, width, n, sw2, sb2, seed):
    """Definition: <grad f(x), grad f(y)> from the full parameter Jacobian (torch.func)."""
    import math

    g = torch.Generator().manual_seed(seed)
    fans = [n] + [width] * depth
    outs = [width] * depth + [1]
    params = [torch.randn(o, i, generator=g, dtype=torch.float64) for i, o in
              zip(fans, outs, strict=True)]
    params += [torch.randn(o, generator=g, dtype=torch.float64) for o in outs]
    phi = {"relu": torch.relu, "erf": torch.erf}[act]
    X = torch.tensor(cube_matrix(n), dtype=torch.float64)

    def f(ps, x):
        Ws, bs = ps[: depth + 1], ps[depth + 1:]
        a = x
        for layer in range(depth + 1):
            h = math.sqrt(sw2) * a @ Ws[layer].T / math.sqrt(fans[layer]) + math.sqrt(sb2) * bs[
                layer]
            a = phi(h) if layer < depth else h
        return a[0]

    rows = []
    for x in X:
        grads = torch.autograd.functional.jacobian(lambda *ps, x=x: f(ps, x), tuple(params))
        rows.append(torch.cat([gr.reshape(-1) for gr in grads]))
    J = torch.stack(rows)
    return (J @ J.T).numpy()


@pytest.mark.parametrize("act,depth", [("relu", 1), ("erf", 2)])
def test_layerwise_equals_jacobian(act, depth):
    a = mlp_empirical_ntk(act, depth, 16, 3, 1.7, 0.3, seed=5)
    b = _jacobian_ntk(act, depth, 16, 3, 1.7, 0.3, seed=5)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_character_matrix_orthogonal():
    C = character_matrix(4)
    np.testing.assert_array_equal(C.T @ C, 16 * np.eye(16))


def test_exact_dot_product_kernel_has_zero_leakage():
    n = 4
    X = cube_matrix(n).astype(float)
    K = np.exp(X @ X.T / n)
    assert monomial_leakage(K, n) < 1e-14
    mu = degree_rayleigh(K, n)
    expected = [np.sinh(1 / n) ** k * np.cosh(1 / n) ** (n - k) for k in range(n + 1)]
    np.testing.assert_allclose(mu, expected, rtol=1e-12)


def test_validation():
    with pytest.raises(NSTheoryError):
        mlp_empirical_ntk("tanh", 1, 8, 3)
    with pytest.raises(NSTheoryError):
        mlp_empirical_ntk("relu", 1, 0, 3)
    with pytest.raises(NSTheoryError):
        mlp_empirical_ntk("relu", 1, 8, 3, sw2=float("nan"))


def test_transformer_derivation_small():
    from nstheory.spectrum.transformer import derive_ntk

    d = derive_ntk(1)
    assert d["ntk_matches"] and d["nngp_matches"]


def test_transformer_empirical_ntk_matches_hand_gradients():
    # the empirical NTK of one network vs hand-written gradients of the same network
    import math

    from nstheory.spectrum.transformer import transformer_empirical_ntk

    H, n, seed = 7, 3, 2
    th = transformer_empirical_ntk(H, n, seed)
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(H, generator=g, dtype=torch.float64).numpy()
    Q, K, V = (torch.randn(H, 2 * n, generator=g, dtype=torch.float64).numpy() for _ in range(3))
    X = cube_matrix(n).astype(float)
    rows = []
    for x in X:
        E = np.concatenate([np.diag(x), np.eye(n)], axis=1) / math.sqrt(2)  # (tokens, 2n)
        S = E.sum(0)
        kv = ((E @ K.T) * (E @ V.T)).sum(0)  # per head
        sq = E @ Q.T
        s_q = sq.sum(0)
        ga = s_q * kv / n / math.sqrt(H)
        gQ = (a * kv / n / math.sqrt(H))[:, None] * S[None, :]
        gK = (a * s_q / n / math.sqrt(H))[:, None] * ((E @ V.T).T @ E)
        gV = (a * s_q / n / math.sqrt(H))[:, None] * ((E @ K.T).T @ E)
        rows.append(np.concatenate([ga, gQ.ravel(), gK.ravel(), gV.ravel()]))
    J = np.array(rows)
    np.testing.assert_allclose(th, J @ J.T, rtol=1e-12, atol=1e-12)
