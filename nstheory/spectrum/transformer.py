r"""The NTK of a one-layer linear-attention transformer on Boolean tokens, derived with SymPy.

Architecture (reconstructed; the paper's exact setting was not available). The input
``x in {-1, 1}^n`` is a sequence of ``n`` Boolean tokens. Token ``i`` is embedded as
``e_i(x) = (x_i eps_i, eps_i) / sqrt(2) in R^{2n}`` (a signed one-hot code of the bit
concatenated with a one-hot position code), so ``<e_i(x), e_j(y)> = delta_ij [x_i = y_i]``.
One linear-attention layer with ``H`` heads of dimension 1 and a mean-pooled linear readout:

.. math:: f(x) = \frac{1}{\sqrt H}\sum_{h=1}^H a_h\,\frac1n\sum_{i=1}^n\sum_{j=1}^n
          (q_h\cdot e_i)(k_h\cdot e_j)(v_h\cdot e_j),

query ``i`` attends to every key ``j`` with the unnormalised linear score
``(q_h . e_i)(k_h . e_j)`` and reads the value ``v_h . e_j``. All of ``a_h``, ``q_h``,
``k_h``, ``v_h`` are trained and initialised i.i.d. standard normal; ``H -> infinity`` is the
width. Each head's output is a product of two affine functions of ``x`` (``x_j^2 = 1``), so the
network only represents polynomials of degree <= 2.

The infinite-width NTK (the head average of the gradient inner products) is computed by
:func:`derive_ntk` symbolically: the gradients of one head are differentiated by SymPy, their
inner products expanded, the Gaussian expectations taken monomial by monomial (``E w_a w_b =
delta_ab`` within each weight vector, independent vectors), and ``x_i^2 = y_i^2 = 1`` reduced.
The result is a dot-product kernel,

.. math:: \Theta(x, y) = (1 + t)^2,\qquad \text{NNGP}(x, y) = (1 + t)^2 / 4,\qquad
          t = \langle x, y\rangle / n,

whose cube spectrum is ``mu = (1 + 1/n, 2/n, 2/n^2, 0, ..., 0)``.

Examples
--------
>>> d = derive_ntk(1)
>>> d["ntk_matches"], d["nngp_matches"]
(True, True)
>>> transformer_ntk_coeffs()
(1, 2, 1)
"""

from __future__ import annotations

import math

import numpy as np

from nstheory.errors import check_int


def transformer_ntk_coeffs() -> tuple[int, int, int]:
    """Taylor coefficients of ``Phi(t) = (1 + t)^2``, the NTK of the architecture above.

    >>> transformer_ntk_coeffs()
    (1, 2, 1)
    """
    return (1, 2, 1)


def transformer_nngp_coeffs():
    """Taylor coefficients of the NNGP ``(1 + t)^2 / 4``.

    >>> transformer_nngp_coeffs()
    (Fraction(1, 4), Fraction(1, 2), Fraction(1, 4))
    """
    from fractions import Fraction

    return (Fraction(1, 4), Fraction(1, 2), Fraction(1, 4))


def _embed(xs, n):
    import sympy

    h = sympy.Rational(1, 1) / sympy.sqrt(2)
    out = []
    for i in range(n):
        e = [sympy.Integer(0)] * (2 * n)
        e[i] = xs[i] * h
        e[n + i] = h
        out.append(e)
    return out


def _dot(w, e):
    return sum((a * b for a, b in zip(w, e, strict=True)), 0)


def _expect(expr, groups):
    """Gaussian expectation of a polynomial in the weight symbols (each group a vector of
    independent N(0, 1) entries; every monomial has degree <= 2 per group)."""
    import sympy

    syms = [s for g in groups for s in g]
    poly = sympy.Poly(sympy.expand(expr), *syms)
    sizes = [len(g) for g in groups]
    total = 0
    for exps, coeff in poly.terms():
        ok, pos = True, 0
        for size in sizes:
            part = exps[pos:pos + size]
            pos += size
            deg = sum(part)
            if deg > 2:
                raise ValueError("moment of order > 2 in one weight vector")
            if deg == 1 or (deg == 2 and max(part) == 1):
                ok = False  # E w_a = 0 and E w_a w_b = 0 for a != b
                break
        if ok:
            total += coeff
    return total


def _multilinear(expr, variables):
    import sympy

    poly = sympy.Poly(sympy.expand(expr), *variables)
    out = 0
    for exps, coeff in poly.terms():
        mono = 1
        for v, e in zip(variables, exps, strict=True):
            if e % 2:
                mono *= v
        out += coeff * mono
    return sympy.expand(out)


def derive_ntk(n: int = 3) -> dict:
    """Derive the per-head NTK and NNGP of the architecture symbolically for ``n`` tokens.

    They are compared with ``(1 + t)^2`` and ``(1 + t)^2 / 4`` (``t = sum_i x_i y_i / n``)
    after the multilinear reduction ``x_i^2 = y_i^2 = 1``. ``n <= 4`` (the expansion
    grows quickly).

    Returns
    -------
    dict
        ``n``, the SymPy expressions ``ntk`` and ``nngp``, the two comparisons
        ``ntk_matches`` and ``nngp_matches`` and the LaTeX of the factored NTK.

    Examples
    --------
    >>> r = derive_ntk(1)
    >>> r["ntk_matches"], r["nngp_matches"], str(r["ntk"])
    (True, True, '2*x1*y1 + 2')
    """
    import sympy

    n = check_int(n, "n", lo=1, hi=4)
    x = sympy.symbols(f"x1:{n + 1}")
    y = sympy.symbols(f"y1:{n + 1}")
    q = sympy.symbols(f"q1:{2 * n + 1}")
    k = sympy.symbols(f"k1:{2 * n + 1}")
    v = sympy.symbols(f"v1:{2 * n + 1}")
    a = sympy.Symbol("a")

    def head(xs):
        e = _embed(xs, n)
        return sum((_dot(q, e[i]) * _dot(k, e[j]) * _dot(v, e[j])
                    for i in range(n) for j in range(n)), 0) / n

    gx, gy = a * head(x), a * head(y)
    groups = [[a], list(q), list(k), list(v)]
    ntk = 0
    for group in groups:
        for w in group:
            ntk += _expect(sympy.diff(gx, w) * sympy.diff(gy, w), groups)
    nngp = _expect(gx * gy, groups)
    xy = list(x) + list(y)
    ntk_r, nngp_r = _multilinear(ntk, xy), _multilinear(nngp, xy)
    t = sum((xi * yi for xi, yi in zip(x, y, strict=True)), 0) / n
    want_ntk = _multilinear((1 + t) ** 2, xy)
    want_nngp = _multilinear((1 + t) ** 2 / 4, xy)
    return {
        "n": n,
        "ntk": ntk_r,
        "nngp": nngp_r,
        "ntk_matches": sympy.simplify(ntk_r - want_ntk) == 0,
        "nngp_matches": sympy.simplify(nngp_r - want_nngp) == 0,
        "latex": sympy.latex(sympy.factor(ntk_r)),
    }


def transformer_empirical_ntk(heads: int = 512, n: int = 5, seed: int = 0) -> np.ndarray:
    """The ``2^n x 2^n`` empirical NTK of one random finite-``H`` network (float64; the full
    parameter Jacobian by reverse-mode autograd, ``torch.func.jacrev`` vectorised over inputs).

    >>> th = transformer_empirical_ntk(heads=64, n=2, seed=0)
    >>> th.shape
    (4, 4)
    """
    import torch

    from nstheory.spectrum.empirical import cube_matrix

    heads = check_int(heads, "heads", lo=1, hi=1 << 16)
    n = check_int(n, "n", lo=1, hi=8)
    g = torch.Generator().manual_seed(int(seed))
    X = torch.tensor(cube_matrix(n), dtype=torch.float64)
    eye = torch.eye(n, dtype=torch.float64)
    E = torch.cat([X[:, :, None] * eye[None], eye[None].expand(2**n, n, n)], dim=2)
    E = E / math.sqrt(2)  # (points, tokens, 2n)
    params = (torch.randn(heads, generator=g, dtype=torch.float64),
              *(torch.randn(heads, 2 * n, generator=g, dtype=torch.float64) for _ in range(3)))

    def f(ps, e):  # e: (tokens, 2n); one network output
        a, Q, K, V = ps
        qs, ks, vs = e @ Q.T, e @ K.T, e @ V.T  # (tokens, heads)
        per_head = qs.sum(0) * (ks * vs).sum(0) / n
        return (a * per_head).sum() / math.sqrt(heads)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread is fastest on a shared machine
    try:
        jac = torch.func.vmap(torch.func.jacrev(f), in_dims=(None, 0))(params, E)
        J = torch.cat([j.reshape(2**n, -1) for j in jac], dim=1)
        return (J @ J.T).numpy()
    finally:
        torch.set_num_threads(threads)


__all__ = [
    "derive_ntk",
    "transformer_empirical_ntk",
    "transformer_nngp_coeffs",
    "transformer_ntk_coeffs",
]
