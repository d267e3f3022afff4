"""Model description, mean-field rules, point recurrences."""

import math

import mpmath
import pytest

from nstheory.errors import NSTheoryError
from nstheory.propagation.model import (
    Act,
    Attention,
    Dense,
    LayerNorm,
    Model,
    Residual,
    attention_stack,
    build,
    mlp,
    transformer,
)
from nstheory.propagation.recurrence import paper_relu_recurrence, point_recurrence


def test_builders_and_validation():
    assert mlp(3).depth == 3
    assert build("transformer", 2, residual=True, layernorm=True).n_tokens == 4
    with pytest.raises(NSTheoryError, match="must end with Dense or Attention"):
        Residual((Dense(), Act()))
    with pytest.raises(NSTheoryError, match="n_tokens >= 2"):
        Model(((Attention(),),), n_tokens=1)
    with pytest.raises(NSTheoryError, match="attention mode"):
        Attention(mode="diagonal")
    with pytest.raises(NSTheoryError, match="sigma2"):
        Dense(-1.0)
    with pytest.raises(NSTheoryError, match="arch"):
        build("cnn", 2)
    with pytest.raises(NSTheoryError, match="depth"):
        mlp(0)


def test_activation_on_non_gaussian_stream_is_rejected():
    m = Model(((Dense(2.0), Act("relu"), Act("relu")),))
    with pytest.raises(NSTheoryError, match="non-Gaussian"):
        point_recurrence(m, 0.5)


def test_first_relu_layer_is_kappa():
    # He: C_1 = 2 kappa(rho), Q_1 = 1; sigma2 = 1: C_1 = kappa(rho), Q_1 = 1/2
    rho = 0.5
    kappa = (math.sqrt(1 - rho**2) + rho * (math.pi - math.acos(rho))) / (2 * math.pi)
    he = point_recurrence(mlp(1, sigma2=2.0), rho)[1]
    plain = point_recurrence(mlp(1, sigma2=1.0), rho)[1]
    assert he.C == pytest.approx(2 * kappa, rel=1e-14) and he.Q == pytest.approx(1.0)
    assert plain.C == pytest.approx(kappa, rel=1e-14) and plain.Q == pytest.approx(0.5)
    assert plain.M == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-14)  # E relu(N(0, 1))


def test_layernorm_rule_matches_centred_view_of_activation():
    from nstheory.gaussian.activations import get_activation

    relu = get_activation("relu")
    rho = 0.3
    st = point_recurrence(Model(((Dense(1.0), Act("relu"), LayerNorm()),)), rho)[1]
    cov = float(relu.value(rho, view="cov"))
    var = float(relu.second_moment() - relu.mean() ** 2)
    assert st.C == pytest.approx(cov / var, rel=1e-13)
    assert st.Q == 1.0 and st.M == 0.0


def test_float_and_mpmath_recurrences_agree():
    for model in (mlp(30), transformer(4), attention_stack(5, mode="random", n_tokens=3)):
        f = point_recurrence(model, 0.7)
        m = point_recurrence(model, 0.7, backend="mpmath", dps=30)
        for a, b in zip(f, m, strict=True):
            assert a.C == pytest.approx(float(b.C), rel=1e-11)
            assert a.Q == pytest.approx(float(b.Q), rel=1e-11)


def test_paper_recurrence_converges_to_root_not_linearisation():
    it = paper_relu_recurrence(1.0, 80, backend="mpmath", dps=30)
    with mpmath.workdps(30):
        assert mpmath.almosteq(it[-1], mpmath.mpf("0.217233628211221657408"), 1e-20)
    assert abs(float(it[-1]) - 2 / (3 * math.pi)) > 5e-3
    floats = paper_relu_recurrence(1.0, 10)
    assert floats[1] == 0.5 and floats[2] == pytest.approx(0.304499, abs=1e-6)


def test_pre_ln_residual_attention_preserves_normalised_stability():
    pts = point_recurrence(attention_stack(10, gamma2=0.5, residual=True, layernorm=True), 0.4)
    for i, st in enumerate(pts):
        assert st.C / st.Q == pytest.approx(0.4, rel=1e-13)
        assert st.C == pytest.approx(0.4 * (1 + 0.5 * i), rel=1e-13)


def test_extreme_inputs_no_nan():
    for rho in (-1.0, 0.0, 1.0):
        for st in point_recurrence(mlp(50), rho):
            assert math.isfinite(st.C) and math.isfinite(st.Q)
    assert point_recurrence(mlp(50), 1.0)[-1].C == pytest.approx(1.0)


def test_layernorm_eps_is_taken_exactly_and_refused_where_not_covered():
    """LayerNorm(eps): the scalar and interval rules divide by v + eps (was: eps ignored, a
    certified Q = [1, 1] for any eps). Expected values from the closed-form ReLU moments of
    N(0, 2) (E relu^2 = 1, E relu = 1/sqrt(pi)), and the torch Monte Carlo at width 512."""
    from nstheory.propagation.intervals import interval_propagation
    from nstheory.propagation.model import Act, Dense, LayerNorm, Model, require_zero_eps
    from nstheory.propagation.pattern_resolved import pattern_resolved_mc
    from nstheory.propagation.torch_model import monte_carlo

    eps = 10.0
    model = Model(((Dense(2.0), Act("relu"), LayerNorm(eps=eps)),))
    v = 1 - 1 / math.pi                      # channel variance after the ReLU
    q_exact = v / (v + eps)
    st = point_recurrence(model, 1.0)[-1]    # rho = 1: C = Q
    assert math.isclose(st.Q, q_exact, rel_tol=1e-14) and math.isclose(st.C, q_exact,
                                                                       rel_tol=1e-14)
    ball = interval_propagation(model, 1.0)[-1].Q
    lo, hi = float(ball.lower()), float(ball.upper())
    assert lo <= q_exact <= hi and hi - lo < 1e-12
    # the simulated network (its LayerNorm adds eps to the empirical variance): the value
    # ignoring eps would be 1, 11x the prediction
    mc = monte_carlo(model, 1.0, width=512, n_nets=4, per_net=50)[-1]
    assert abs(mc.mean - q_exact) < 0.1 * q_exact
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(NSTheoryError, match=r"LayerNorm\.eps"):
            LayerNorm(eps=bad)
    with pytest.raises(NSTheoryError, match="eps = 0 only"):
        pattern_resolved_mc(model, 0.5, samples=100)
    with pytest.raises(NSTheoryError, match="eps = 0 only"):
        require_zero_eps(model, "a route")
    with pytest.raises(NSTheoryError, match="unknown activation"):
        Act("nope")
