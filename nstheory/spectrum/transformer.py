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


def _gaussian_expect(p, sizes, n_weights):
    """Gaussian expectation over the weights of a polynomial ``p`` (a SymPy ring element whose
    first ``n_weights`` generators are the weights, in groups of ``sizes`` independent N(0, 1)
    entries; every monomial has degree <= 2 per group), followed by the multilinear reduction
    ``x_i^2 = y_i^2 = 1`` of the remaining generators: ``{parity exponents: coefficient}``."""
    out: dict = {}
    for mon, coeff in p.terms():
        pos = 0
        for size in sizes:
            part = mon[pos:pos + size]
            pos += size
            deg = sum(part)
            if deg > 2:
                raise ValueError("moment of order > 2 in one weight vector")
            if deg == 1 or (deg == 2 and max(part) == 1):
                break  # E w_a = 0 and E w_a w_b = 0 for a != b
        else:  # E w_a^2 = 1
            key = tuple(e % 2 for e in mon[n_weights:])
            out[key] = out.get(key, 0) + coeff
    return out


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
    after the multilinear reduction ``x_i^2 = y_i^2 = 1``. ``n <= 4``. The network output
    ``g(x) = a sum_{i,j} <q, e_i><k, e_j><v, e_j> / n`` and its weight derivatives are sparse
    polynomials over the rationals (SymPy's polynomial rings); the embeddings' common factor
    ``1/sqrt(2)`` is taken out of every dot product and put back as ``(1/sqrt(2))^6 = 1/8``
    in each product of two outputs (three dot products per output).

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
    from sympy.polys.domains import QQ
    from sympy.polys.rings import ring

    n = check_int(n, "n", lo=1, hi=4)
    x = sympy.symbols(f"x1:{n + 1}")
    y = sympy.symbols(f"y1:{n + 1}")
    q = sympy.symbols(f"q1:{2 * n + 1}")
    k = sympy.symbols(f"k1:{2 * n + 1}")
    v = sympy.symbols(f"v1:{2 * n + 1}")
    a = sympy.Symbol("a")
    groups = [[a], list(q), list(k), list(v)]
    weights = [s for g in groups for s in g]
    xy = list(x) + list(y)
    R, *gens = ring(weights + xy, QQ)
    G = dict(zip(weights + xy, gens, strict=True))

    def head(xs):
        # token i: signed one-hot code x_i e_i plus one-hot position e_{n+i} (times 1/sqrt(2))
        emb = [[G[xs[i]] if c == i else (R(1) if c == n + i else R(0)) for c in range(2 * n)]
               for i in range(n)]

        def dot(w, e):
            return sum((G[wi] * ei for wi, ei in zip(w, e, strict=True)), R(0))

        return sum((dot(q, emb[i]) * dot(k, emb[j]) * dot(v, emb[j])
                    for i in range(n) for j in range(n)), R(0)) * QQ(1, n)

    gx, gy = G[a] * head(x), G[a] * head(y)
    sizes = [len(g) for g in groups]
    ntk: dict = {}
    for i in range(len(weights)):
        for key, c in _gaussian_expect(gx.diff(gens[i]) * gy.diff(gens[i]), sizes,
                                       len(weights)).items():
            ntk[key] = ntk.get(key, 0) + c
    nngp = _gaussian_expect(gx * gy, sizes, len(weights))

    def to_expr(d):
        h6 = sympy.Rational(1, 8)
        return sympy.expand(sum((h6 * sympy.Rational(int(c.numerator), int(c.denominator))
                                 * sympy.Mul(*[s for s, e in zip(xy, key, strict=True) if e])
                                 for key, c in d.items()), sympy.Integer(0)))

    ntk_r, nngp_r = to_expr(ntk), to_expr(nngp)
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
    parameter Jacobian by reverse-mode autograd).

    Each input gets its own copy of the parameters, so one backward pass of the summed outputs
    gives every input's parameter gradient (a Jacobian row) at once; plain ``torch.autograd``
    (``torch.func`` would import torch's compiler stack, a second of start-up).

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

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread is fastest on a shared machine
    try:
        rows = []
        for e in E.split(64):  # bounded memory: 64 parameter copies at a time
            a, Q, K, V = (p.expand(len(e), *p.shape).clone().requires_grad_() for p in params)
            qs, ks, vs = (torch.einsum("pte,phe->pth", e, w) for w in (Q, K, V))
            per_head = qs.sum(1) * (ks * vs).sum(1) / n  # (points, heads)
            out = (a * per_head).sum(1) / math.sqrt(heads)  # one output per point
            grads = torch.autograd.grad(out.sum(), (a, Q, K, V))
            rows.append(torch.cat([gr.reshape(len(e), -1) for gr in grads], dim=1))
        J = torch.cat(rows)
        return (J @ J.T).detach().numpy()
    finally:
        torch.set_num_threads(threads)


__all__ = [
    "derive_ntk",
    "transformer_empirical_ntk",
    "transformer_nngp_coeffs",
    "transformer_ntk_coeffs",
]
