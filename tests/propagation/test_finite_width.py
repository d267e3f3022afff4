"""The 1/width recursion: exact special cases, the two derivative routes, Monte Carlo with power,
and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nstheory.claims import z_power
from nstheory.errors import NSTheoryError
from nstheory.propagation.finite_width import (
    IDX,
    finite_width_recursion,
    kernel_states,
    mean_field_only,
)
from nstheory.propagation.four_point import four_point_moments, kernel_entries
from nstheory.propagation.kernel_derivatives import map_derivatives, numerical_map_derivatives
from nstheory.propagation.model import attention_stack, mlp
from nstheory.propagation.recurrence import point_recurrence


def test_deep_linear_vertex_matches_exact_chi_square_product():
    # K_L(x, x) = |x|^2/N * prod of L independent chi^2_N/N factors (sigma2 = 1):
    # N Var K_L = N ((1 + 2/N)^(L+1) - 1) -> 2 (L + 1) as N -> inf.
    depth = 6
    sts = kernel_states(mlp(depth, act="identity", sigma2=1.0), 0.3)
    for L, st in enumerate(sts, start=1):
        exact_limit = 2.0 * (L + 1)
        big_n = 1e9
        exact_at_big_n = big_n * ((1 + 2 / big_n) ** (L + 1) - 1)
        assert st.V[IDX[(0, 0)], IDX[(0, 0)]] == pytest.approx(exact_limit, rel=1e-12)
        assert exact_at_big_n == pytest.approx(exact_limit, rel=1e-6)
        # linear net: the mean kernel has no 1/N shift, and two independent inputs' squared
        # norms decorrelate at O(1/N) (their covariance is Var(tr M / N) = O(1/N^2))
        assert np.all(st.mu == 0)
        assert st.V[IDX[(0, 0)], IDX[(2, 2)]] == pytest.approx(0.0, abs=1e-12)


def test_mean_field_part_matches_point_recurrence():
    # closed forms (relu, erf) agree to rounding; tanh's 160-node Price quadrature to ~1e-11
    for act, s2, rel in (("relu", 2.0, 1e-12), ("erf", 1.5, 1e-12), ("tanh", 1.5, 1e-10)):
        model = mlp(3, sigma2=s2, act=act)
        rows = finite_width_recursion(model, 0.7)
        pts = point_recurrence(model, 0.7)
        for r, p in zip(rows, pts[1:], strict=True):
            assert r.mean_field_normalised == pytest.approx(p.C / p.Q, rel=rel)
        assert mean_field_only(model, 0.7)[-1] == pytest.approx(rows[-1].mean_field_normalised,
                                                                rel=rel)


def test_four_point_identity_is_isserlis():
    q, c, e = 1.7, 1.1, 0.4
    g4 = np.array([[q, c, e, e], [c, q, e, e], [e, e, q, c], [e, e, c, q]])
    _, s = four_point_moments("identity", q, c, e)
    ent = kernel_entries()
    for i, (a, b) in enumerate(ent):
        for j, (cc, d) in enumerate(ent):
            assert s[i, j] == pytest.approx(g4[a, cc] * g4[b, d] + g4[a, d] * g4[b, cc],
                                            abs=1e-10)


def test_four_point_relu_closed_forms():
    # one input: E relu(u)^4 = 3 q^2 / 2, E relu(u)^2 = q / 2; independent pairs (e = 0):
    # E[relu(u)^2 relu(w)^2] factorises.
    q = 2.0
    f, s = four_point_moments("relu", q, 1.2, 0.0)
    i00, i22 = IDX[(0, 0)], IDX[(2, 2)]
    assert f[i00] == pytest.approx(q / 2, rel=1e-12)
    assert s[i00, i00] == pytest.approx(1.5 * q * q - q * q / 4, rel=1e-10)
    assert s[i00, i22] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name", ["relu", "erf", pytest.param("gelu", marks=pytest.mark.slow)])
def test_derivative_routes_agree(name):
    a = map_derivatives(name, 1.3, 0.7)
    b = numerical_map_derivatives(name, 1.3, 0.7, h=1e-6, dps=30)
    np.testing.assert_allclose(a.grad, b.grad, atol=1e-9)
    np.testing.assert_allclose(a.hess, b.hess, atol=1e-7)
    assert a.f2_d1 == pytest.approx(b.f2_d1, abs=1e-9)
    assert a.f2_d2 == pytest.approx(b.f2_d2, abs=1e-7)


@pytest.mark.slow
def test_derivative_routes_agree_tanh():
    a = map_derivatives("tanh", 1.3, 0.7)
    b = numerical_map_derivatives("tanh", 1.3, 0.7, h=1e-5, dps=25)
    np.testing.assert_allclose(a.grad, b.grad, atol=1e-6)
    np.testing.assert_allclose(a.hess, b.hess, atol=1e-4)


def test_invalid_inputs():
    with pytest.raises(NSTheoryError, match="rho"):
        finite_width_recursion(mlp(2), -0.5)
    with pytest.raises(NSTheoryError, match="rho"):
        finite_width_recursion(mlp(2), float("nan"))
    with pytest.raises(NSTheoryError, match="identity query-key pattern"):
        finite_width_recursion(attention_stack(2, mode="random"), 0.5)
    with pytest.raises(NSTheoryError, match="per_net"):
        finite_width_recursion(mlp(2), 0.5, per_net=0)
    with pytest.raises(NSTheoryError, match="activation"):
        map_derivatives("sign", 1.0, 0.5)
    with pytest.raises(NSTheoryError, match="c"):
        map_derivatives("relu", 1.0, 1.0)


def test_monte_carlo_agrees_with_corrected_and_rejects_mean_field():
    """Small ReLU net (depth 6, width 32, 10 pairs per network): the check must detect the
    mean-field gap (fixed in advance as the predicted 1/N term) with power >= 0.9."""
    from nstheory.propagation.torch_model import monte_carlo

    depth, width, per_net, zmax = 6, 32, 10, 4.0
    model = mlp(depth)
    row = finite_width_recursion(model, 0.9, per_net=per_net)[-1]
    effect = abs(row.coef_normalised) / width  # the mean-field gap the check must detect
    res = monte_carlo(model, 0.9, width=width, n_nets=1200, per_net=per_net, seed=3, chunk=600,
                      view="normalised")[-1]
    assert z_power(effect, res.stderr, zmax) >= 0.9
    z_corr = (res.mean - row.corrected_normalised(width)) / res.stderr
    z_mf = (res.mean - row.mean_field_normalised) / res.stderr
    assert abs(z_corr) <= zmax, (res.mean, res.stderr, row.corrected_normalised(width))
    assert abs(z_mf) > zmax


def test_cli_finite_width_json(capsys):
    from nstheory.cli import main

    rc = main(["propagate", "--arch", "mlp", "--depth", "3", "--rho", "0.9", "--width", "64",
               "--finite-width", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["layers"]) == 3
    last = out["layers"][-1]
    assert last["corrected_normalised"] < last["mean_field_normalised"]
    assert math.isclose(last["corrected_normalised"],
                        last["mean_field_normalised"] + last["coef_normalised"] / 64)


def test_cli_finite_width_rejects_unsupported_arch(capsys):
    from nstheory.cli import main

    rc = main(["propagate", "--arch", "attention", "--mode", "lowrank", "--depth", "2",
               "--finite-width"])
    assert rc == 2
    assert "identity query-key pattern" in capsys.readouterr().err


def test_fit_exponent_recovers_known_power_and_rejects_bad_input():
    from nstheory.propagation.residual_scaling import fit_exponent

    w = np.array([16.0, 32.0, 64.0, 128.0])
    rng = np.random.default_rng(0)
    se = 1e-4 * np.ones(4)
    res = [a * w**-1.5 + rng.normal(0, 1e-4, 4) for a in (2.0, 5.0)]
    fit = fit_exponent(w, res, [se, se])
    assert fit.lo <= 1.5 <= fit.hi and fit.hi - fit.lo < 0.3
    with pytest.raises(NSTheoryError, match="stderrs"):
        fit_exponent(w, [res[0]], [np.zeros(4)])
    with pytest.raises(NSTheoryError, match="widths"):
        fit_exponent([16.0], [[1.0]], [[1.0]])


def test_layernorm_rule_mean_field_and_exact_normalisation():
    from nstheory.propagation.finite_width import ENTRIES

    model = mlp(4, layernorm=True)
    sts = kernel_states(model, 0.8)
    pts = point_recurrence(model, 0.8)
    for st, p in zip(sts, pts[1:], strict=True):
        assert st.g[IDX[(0, 1)]] == pytest.approx(p.C, rel=1e-12)
        # LayerNorm makes |h|^2 / N = 1 and the channel mean 0 exactly: no 1/N terms there
        for i, e in enumerate(ENTRIES):
            if len(e) == 1 or e[0] == e[1]:
                assert st.mu[i] == 0 and np.all(st.V[i] == 0)
    rows = finite_width_recursion(model, 0.8)
    assert rows[-1].coef_raw == pytest.approx(rows[-1].coef_normalised, rel=1e-12)


def test_mean_field_only_handles_layernorm():
    model = mlp(3, layernorm=True)
    pts = point_recurrence(model, 0.6)
    assert mean_field_only(model, 0.6)[-1] == pytest.approx(pts[-1].C / pts[-1].Q, rel=1e-12)


@pytest.mark.parametrize("extra, word", [(["--rho", "1"], "--rho"), (["--per-net", "0"],
                                                                   "--per-net")])
def test_cli_finite_width_validates_arguments(capsys, extra, word):
    from nstheory.cli import main

    rc = main(["propagate", "--arch", "mlp", "--depth", "2", "--finite-width", *extra])
    assert rc == 2
    assert word in capsys.readouterr().err


def test_ratio_delta_method_matches_sympy_expansion():
    """The normalised view's 1/N coefficient equals SymPy's second-order expansion of
    E[A / sqrt(B_X B_Y)] (derivatives by SymPy, not the typed coefficients), on a real state."""
    import sympy as sp

    from nstheory.propagation.finite_width import statistic_coefficients

    st = kernel_states(mlp(3, sigma2=1.7), 0.7)[-1]
    per_net = 7
    A, BX, BY = xs = sp.symbols("A B_X B_Y", positive=True)
    f = A / sp.sqrt(BX * BY)
    # (same-pair index, second-pair index) of each per-network average
    ix = ((IDX[(0, 1)], IDX[(2, 3)]), (IDX[(0, 0)], IDX[(2, 2)]), (IDX[(1, 1)], IDX[(3, 3)]))
    point = {x: st.g[i[0]] for x, i in zip(xs, ix, strict=True)}
    coef = sum(float(sp.diff(f, x).subs(point)) * st.mu[i[0]] for x, i in zip(xs, ix,
                                                                                strict=True))
    for x, i in zip(xs, ix, strict=True):
        for y, j in zip(xs, ix, strict=True):
            cov = st.V[i[0], j[0]] / per_net + (1 - 1 / per_net) * st.V[i[0], j[1]]
            coef += 0.5 * float(sp.diff(f, x, y).subs(point)) * cov
    assert abs(coef) > 1e-3  # a non-trivial state
    assert statistic_coefficients(st, per_net)[2] == pytest.approx(coef, rel=1e-10)


@pytest.mark.parametrize("layernorm", [False, True])
def test_residual_rule_mean_field_matches_point_recurrence(layernorm):
    model = mlp(4, residual=True, layernorm=layernorm)
    rows = finite_width_recursion(model, 0.8)
    pts = point_recurrence(model, 0.8)
    for r, p in zip(rows, pts[1:], strict=True):
        assert r.mean_field_normalised == pytest.approx(p.C / p.Q, rel=1e-12)
        assert r.mean_field_raw == pytest.approx(p.C, rel=1e-12)
    assert mean_field_only(model, 0.8)[-1] == pytest.approx(pts[-1].C / pts[-1].Q, rel=1e-12)
    st = kernel_states(model, 0.8)[-1]
    np.testing.assert_allclose(st.V, st.V.T, atol=1e-12)
    assert np.linalg.eigvalsh(st.V).min() > -1e-9  # a covariance (times N)


def test_mean_field_only_says_when_the_scale_leaves_the_float_range():
    """A stack whose second moment overflows or underflows (sigma2 = 4 ReLU over 2000 blocks,
    sigma2 = 1e308, sigma2 = 1 over 5000 blocks) is refused naming the block; it said 'rho
    must lie in [-1, 1]' (or divided by zero) though rho was 0.5."""
    import warnings

    from nstheory.errors import NSTheoryError
    from nstheory.propagation.finite_width import mean_field_only
    from nstheory.propagation.model import mlp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for model in (mlp(2000, sigma2=4.0), mlp(3, sigma2=1e308), mlp(5000, sigma2=1.0)):
            with pytest.raises(NSTheoryError, match="leaves the float range by block"):
                mean_field_only(model, 0.5)


def test_breakdown_ratio_needs_a_positive_width():
    from nstheory.errors import NSTheoryError
    from nstheory.propagation.finite_width import breakdown_ratio

    with pytest.raises(NSTheoryError, match="width"):
        breakdown_ratio(0.1, 0.5, 0)  # was a ZeroDivisionError
