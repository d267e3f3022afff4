"""The arb enclosure of the 1/width-corrected value against an independent high-precision
evaluation.

The reference shares no code with :mod:`nstheory.propagation.finite_width_enclosure`: the
Gaussian moments of ReLU come from polar coordinates (``relu`` is positively homogeneous, so
``E[relu(u)^j relu(v)^k] = E[R^(j+k)] / (2 pi) int cos^j(t) cos^k(t - theta) dt`` over the arc
where both cosines are positive, ``theta = arccos r``) by mpmath quadrature, and the kernel-map
derivatives are numerical derivatives (``mpmath.diff``) of that quadrature, not SymPy
derivatives of the arc-cosine closed form. Only the recursion's equations (the statement under
test) are written twice.
"""

from __future__ import annotations

import mpmath
import pytest
from flint import arb

from nstheory.errors import NSTheoryError
from nstheory.propagation.finite_width import finite_width_recursion
from nstheory.propagation.finite_width_enclosure import (
    finite_width_enclosure,
    relu_pair_moment_arb,
)
from nstheory.propagation.finite_width_enclosure_blocks import enclosure_columns
from nstheory.propagation.model import mlp

DPS = 20


def _polar_moment(j, k, q, c):
    """E[relu(u)^j relu(v)^k] (j, k >= 0, j + k >= 1) for variances q, covariance c."""
    n = j + k
    theta = mpmath.acos(c / q)
    radial = mpmath.mpf(2) ** (mpmath.mpf(n) / 2) * mpmath.gamma(1 + mpmath.mpf(n) / 2)
    if k == 0 or j == 0:  # relu(.)^0 = 1: a one-dimensional moment over the half line
        ang = mpmath.quad(lambda t: mpmath.cos(t) ** n, [-mpmath.pi / 2, mpmath.pi / 2])
        return q ** (mpmath.mpf(n) / 2) * radial * ang / (2 * mpmath.pi)
    ang = mpmath.quad(lambda t: mpmath.cos(t) ** j * mpmath.cos(t - theta) ** k,
                      [theta - mpmath.pi / 2, mpmath.pi / 2])
    return q ** (mpmath.mpf(n) / 2) * radial * ang / (2 * mpmath.pi)


def _kernel_map(q1, q2, c):
    """E[relu(u) relu(v)], variances q1, q2, covariance c (polar quadrature)."""
    s = mpmath.sqrt(q1 * q2)
    return s * _polar_moment(1, 1, 1, c / s)


def _reference(depth, sigma2, rho):
    """(mean-field correlation, raw coefficient, normalised coefficient) per layer, one pair
    per network, by the recursion written out in mpmath."""
    X, XY, Y = 0, 1, 2
    counts = ((2, 0), (1, 1), (0, 2))
    g = [mpmath.mpf(1), mpmath.mpf(rho), mpmath.mpf(1)]
    mu = [mpmath.mpf(0)] * 3
    gm = [[g[0], g[1]], [g[1], g[2]]]

    def idx(cnt):
        return [0] * cnt[0] + [1] * cnt[1]

    V = [[None] * 3 for _ in range(3)]
    for i in range(3):
        for j in range(3):
            a, b = idx(counts[i])
            cc, d = idx(counts[j])
            V[i][j] = gm[a][cc] * gm[b][d] + gm[a][d] * gm[b][cc]
    s2 = mpmath.mpf(sigma2)
    out = []
    for _ in range(depth):
        Q, C = s2 * g[X], s2 * g[XY]
        f2 = _polar_moment(2, 0, Q, C)
        f2d1 = mpmath.diff(lambda t, C=C: _polar_moment(2, 0, t, C), Q)
        f2d2 = mpmath.diff(lambda t, C=C: _polar_moment(2, 0, t, C), Q, 2)
        pt = (Q, Q, C)
        val = _kernel_map(*pt)
        grad = [mpmath.diff(_kernel_map, pt, tuple(int(m == i) for m in range(3)))
                for i in range(3)]
        upper = {(i, j): mpmath.diff(_kernel_map, pt, tuple(int(m == i) + int(m == j)
                                                            for m in range(3)))
                 for i in range(3) for j in range(i, 3)}
        hess = [[upper[min(i, j), max(i, j)] for j in range(3)] for i in range(3)]
        F = [f2, val, f2]
        J = [[f2d1, 0, 0], [grad[0], grad[2], grad[1]], [0, 0, f2d1]]
        args = (X, Y, XY)
        hv = [f2d2 * s2**2 * V[X][X],
              s2**2 * mpmath.fsum(hess[i][j] * V[args[i]][args[j]]
                                  for i in range(3) for j in range(3)),
              f2d2 * s2**2 * V[Y][Y]]
        mu = [s2 * mpmath.fsum(J[i][k] * mu[k] for k in range(3)) + hv[i] / 2
              for i in range(3)]
        newV = [[None] * 3 for _ in range(3)]
        for i in range(3):
            for j in range(3):
                n0, n1 = counts[i][0] + counts[j][0], counts[i][1] + counts[j][1]
                src = _polar_moment(n0, n1, Q, C) - F[i] * F[j]
                jvj = mpmath.fsum(J[i][k] * V[k][m] * J[j][m]
                                  for k in range(3) for m in range(3))
                newV[i][j] = src + s2**2 * jvj
        g, V = F, newV
        a, b = g[XY], g[X]
        norm = ((mu[XY] - a / b * mu[X]) / b - V[XY][X] / b**2
                + 3 * a / (4 * b**3) * V[X][X] + a / (4 * b**3) * V[X][Y])
        out.append((a / b, mu[XY], norm))
    return out


@pytest.mark.parametrize("sigma2, depth", [
    (1.5, 2), pytest.param(2.0, 20, marks=pytest.mark.slow)])
def test_enclosure_contains_independent_evaluation(sigma2, depth):
    rho = 0.9
    with mpmath.workdps(DPS):
        ref = _reference(depth, sigma2, rho)
    enc = finite_width_enclosure(mlp(depth, sigma2=sigma2), rho)
    for row, (corr, raw, norm) in zip(enc, ref, strict=True):
        for ball, val in ((row.mean_field_normalised, corr), (row.coef_raw, raw),
                          (row.coef_normalised, norm)):
            assert ball.rad() < 1e-6, (row.layer, ball)   # not a vacuous enclosure
            assert ball.contains(arb(mpmath.nstr(val, DPS))), (row.layer, ball, val)
        width = 64
        corrected = corr + norm / width
        assert row.corrected_normalised(width).contains(arb(mpmath.nstr(corrected, DPS)))


def test_mixed_moment_contains_polar_quadrature():
    r = mpmath.mpf("0.95")
    with mpmath.workdps(DPS):
        ref = {(3, 1): _polar_moment(3, 1, 1, r), (2, 2): _polar_moment(2, 2, 1, r)}
    for (j, k), val in ref.items():
        ball = relu_pair_moment_arb(j, k, arb("0.95"))
        assert ball.rad() < 1e-13 and ball.contains(arb(mpmath.nstr(val, DPS)))


def test_float_recursion_inside_its_stated_accuracy():
    """The float route (64-node Gauss-Hermite) agrees with the enclosure to its documented
    ~1e-5 relative accuracy at depth 20; the mean field to float precision."""
    enc = finite_width_enclosure(mlp(20), 0.9)
    flt = finite_width_recursion(mlp(20), 0.9, per_net=1)
    for e, f in zip(enc, flt, strict=True):
        assert e.mean_field_normalised.overlaps(arb(f.mean_field_normalised, 1e-14))
        for ball, val in ((e.coef_raw, f.coef_raw), (e.coef_normalised, f.coef_normalised)):
            assert abs(float(ball.mid()) - val) <= 1e-4 * max(1.0, abs(val))


def test_table_columns_and_scope():
    rows, note = enclosure_columns(mlp(3), 0.9, 128, per_net=1)
    assert "NOT inside" in note and all(r["corrected_normalised_arb"] for r in rows)
    lo, hi = map(float, rows[-1]["corrected_normalised_arb"])
    flt = finite_width_recursion(mlp(3), 0.9, per_net=1)[-1].corrected_normalised(128)
    assert lo <= hi and abs(flt - (lo + hi) / 2) < 1e-6
    rows, note = enclosure_columns(mlp(3), 0.9, 128, per_net=20)   # with the cross-pair vertex
    lo, hi = map(float, rows[-1]["corrected_normalised_arb"])
    flt = finite_width_recursion(mlp(3), 0.9, per_net=20)[-1].corrected_normalised(128)
    assert lo <= hi and abs(flt - (lo + hi) / 2) < 1e-6
    rows, note = enclosure_columns(mlp(2, act="abs"), 0.9, 128, per_net=1)
    assert rows is None and "relu/identity" in note
    rows, note = enclosure_columns(mlp(5), 0.9, 128, per_net=1, max_depth=4)
    assert rows is None and "depth 5" in note


@pytest.mark.parametrize("rho", [1.0, -0.1, float("nan")])
def test_bad_rho(rho):
    with pytest.raises(NSTheoryError):
        finite_width_enclosure(mlp(1), rho)
