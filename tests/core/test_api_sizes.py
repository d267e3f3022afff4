"""Library functions given absurd sizes refuse at once instead of running for hours (each of
these ran past 5-20 s with no end in sight before its cap)."""

import pytest

from nstheory.errors import NSTheoryError


def test_absurd_sizes_are_refused_at_once():
    from nstheory.gaussian.symbolic import kappa_series, mehler_eigen
    from nstheory.propagation.recurrence import paper_relu_recurrence
    from nstheory.spectrum.cube import word_counts
    from nstheory.spectrum.learning import predicted_curves

    for call in (lambda: kappa_series(order=10**400), lambda: mehler_eigen(10**400),
                 lambda: paper_relu_recurrence(0.5, 10**308), lambda: word_counts(4, 2, 10**9),
                 lambda: predicted_curves([0.5], 0.1, 10**308)):
        with pytest.raises(NSTheoryError, match="must be <="):
            call()
    assert word_counts(3, 1, 3) == 7 and mehler_eigen(3) == 0


def test_nan_in_is_refused_not_returned():
    """NaN (or an impossible level) in gave NaN out: a t-interval [nan, nan] at level NaN or
    2.5, a kappa iteration of NaNs, a NaN truncation radius, a NaN C-map gap."""
    from nstheory.gaussian.hermite import truncation_radius
    from nstheory.gaussian.recurrence import cmap_gap_step, iterate_kappa_mp
    from nstheory.models.summary import friedgut_size
    from nstheory.montecarlo.comparison import t_interval

    nan = float("nan")
    for call in (lambda: t_interval([1.0, 2.0], level=nan), lambda: t_interval([1.0, 2.0], 2.5),
                 lambda: t_interval([1.0, nan]), lambda: t_interval([]),
                 lambda: iterate_kappa_mp(nan, 5), lambda: truncation_radius(nan),
                 lambda: cmap_gap_step(nan), lambda: cmap_gap_step(3.0),
                 lambda: friedgut_size(nan, 0.1), lambda: friedgut_size(1.0, 0)):
        with pytest.raises(NSTheoryError):
            call()
    assert t_interval([1.0, 2.0, 3.0])["mean"] == 2.0


def test_relu_map_mc_validates_chunk_degree_and_size():
    """chunk = 0 divided by zero, chunk = -3 failed in torch, cv_degree = 0 indexed past a
    list; n = 1e400 ran without end."""
    from nstheory.montecarlo.variance import relu_map_mc

    for kw in (dict(cv_degree=0), dict(cv_degree=9), dict(chunk=0), dict(chunk=-3)):
        with pytest.raises(NSTheoryError):
            relu_map_mc(0.5, 1000, **kw)
    with pytest.raises(NSTheoryError, match="must be <="):
        relu_map_mc(0.5, 10**400)


def test_precise_routes_refuse_a_variance_they_would_take_forever_on():
    """reduction_mp (smooth branch) and hermite_coefficients size their panels like
    1/sqrt(q): q = 1e308 asked for ~1e154 panels and never returned."""
    from nstheory.gaussian import get_activation
    from nstheory.gaussian.hermite import hermite_coefficients
    from nstheory.gaussian.precise import reduction_mp

    tanh = get_activation("tanh")
    with pytest.raises(NSTheoryError, match="panels"):
        reduction_mp(tanh, 0.5, q2=1e308, dps=15)
    with pytest.raises(NSTheoryError, match="panels"):
        hermite_coefficients(tanh.phi_mp, 4, q=1e308)


def test_plain_numbers_and_non_integers_where_the_api_expects_them():
    """relu_map_arb took only arb balls ('float' object has no attribute 'mid'); a float
    degree sent relu_coefficient_formula into sympy's errors (10**400: RecursionError)."""
    from flint import arb

    from nstheory.gaussian.symbolic import relu_coefficient_formula
    from nstheory.propagation.finite_width_enclosure import relu_map_arb

    plain, balls = relu_map_arb(1.0, 0.5), relu_map_arb(arb(1), arb(1) / 2)
    assert plain[1][2].overlaps(balls[1][2]) and plain[1][2].contains(arb(1) / 3)
    for k in (2.5, 10**400, 1):
        with pytest.raises(NSTheoryError):
            relu_coefficient_formula(k)


def test_precision_step_and_range_arguments_are_validated():
    """s_n(2, 0.5, dps=0) gave 0.625 and s_n_quadrature(refine=100) 0.51 for 2/3;
    MLPKernel.mp(dps=-3) gave (1, 2) for (1.37, 2.70); MLPKernel took t = 1.5 (cube inner
    products lie in [-1, 1]); a negative squared value norm gave a complex 'bound';
    permutation_pvalue with a NaN gave both one-sided p-values 0."""
    from nstheory.attention.consistency import s_n, s_n_quadrature
    from nstheory.attention.theory import thm52_deviation_bound
    from nstheory.spectrum.kernels import MLPKernel
    from nstheory.training.study import permutation_pvalue

    assert abs(float(s_n_quadrature(2, 0.5, dps=15, refine=2)) - 2 / 3) < 1e-12
    k = MLPKernel(depth=2)
    for call in (lambda: s_n(2, 0.5, dps=0), lambda: s_n_quadrature(2, 0.5, refine=100),
                 lambda: s_n_quadrature(2, 0.5, refine=0), lambda: k.mp(0.5, dps=-3),
                 lambda: k.mp(1.5), lambda: k.mp(float("nan")), lambda: k.float(1.5),
                 lambda: thm52_deviation_bound(3, 4, 0.5, v_norm2=-1),
                 lambda: thm52_deviation_bound(3, 4, 0.5, dps=-3),
                 lambda: permutation_pvalue([float("nan"), 1.0], [2.0, 3.0])):
        with pytest.raises(NSTheoryError):
            call()
    assert abs(float(k.mp(0.5, dps=20)[0]) - float(k.float(0.5)[0])) < 1e-12


def test_interval_helpers_refuse_what_has_no_interval():
    """clopper_pearson at level NaN or 1.5 gave (nan, nan); mean_ci with a negative standard
    error gave lo > hi; ratio_ci with zero denominators gave (inf, nan, nan), and with one
    value per sample a zero-width interval."""
    import numpy as np

    from nstheory.stats import clopper_pearson, mean_ci, ratio_ci

    for call in (lambda: clopper_pearson(5, 10, level=float("nan")),
                 lambda: clopper_pearson(5, 10, level=1.5), lambda: clopper_pearson(2.5, 10),
                 lambda: mean_ci(1.0, -1.0), lambda: mean_ci(float("inf"), 0.1),
                 lambda: ratio_ci([1, 2, 3], [0, 0, 0]), lambda: ratio_ci([1, 2], [1, -1, 0.5]),
                 lambda: ratio_ci([1], [1, 2]), lambda: ratio_ci([-1, 0.5], [1, 2])):
        with pytest.raises(NSTheoryError):
            call()
    lo, hi = clopper_pearson(5, 10)
    assert 0 < lo < 0.5 < hi < 1
    assert all(np.isnan(mean_ci(1.0, float("nan"))))  # undefined (n < 2) stays undefined


def test_second_sweep_refusals():
    """Each was a NaN/inf/complex result or a hang: attention MC with v_norm NaN or scale
    1e308 (NaN), the identity route at v_norm 1e200 (inf), train_mlp_on_cube with eta/sw2 NaN
    (NaN residuals) or 1e400 steps, thm52_limit(1e400), sparse_parity(1e7 bits), a 1e9-block
    transformer, degree_rayleigh of a NaN kernel, monomial_leakage of the zero kernel,
    orthant2(1.5) (a complex 'probability'), a teach answer 1e999999999 (a billion-digit
    integer)."""
    import numpy as np

    from nstheory.attention.identity_finite_d import stab_identity_finite_d
    from nstheory.attention.montecarlo import attention_stability_mc
    from nstheory.attention.theory import orthant2, thm52_limit
    from nstheory.propagation.model import transformer
    from nstheory.spectrum.empirical import degree_rayleigh, monomial_leakage
    from nstheory.spectrum.learning import train_mlp_on_cube
    from nstheory.teach import check
    from nstheory.training.tasks import sparse_parity

    def mc(**kw):
        return attention_stability_mc(3, 4, 0.5, "identity", samples=100, show_progress=False,
                                      **kw)

    for call in (lambda: mc(v_norm=float("nan")), lambda: mc(scale=1e308),
                 lambda: stab_identity_finite_d(2, 4, 0.5, v_norm=1e200),
                 lambda: train_mlp_on_cube([1], n=2, width=4, steps=2, eta=float("nan")),
                 lambda: train_mlp_on_cube([1], n=2, width=4, steps=2, sw2=float("nan")),
                 lambda: train_mlp_on_cube([1], n=2, width=4, steps=10**400),
                 lambda: thm52_limit(10**400), lambda: sparse_parity(10**7, 2, 10, 10, 0.0, 0),
                 lambda: transformer(10**9),
                 lambda: degree_rayleigh(np.array([[np.nan, 1.0], [1.0, 1.0]]), 1),
                 lambda: monomial_leakage(np.zeros((4, 4)), 2), lambda: orthant2(1.5)):
        with pytest.raises(NSTheoryError):
            call()
    assert not check("noise.stab_maj3", "1e999999999").correct
    assert len(train_mlp_on_cube([1, 1], n=2, width=4, steps=2)["residual"]) == 1


def test_state_dict_statistics_refuse_non_finite_or_empty_weights():
    """NaN weights reached torch's SVD ('linalg.svd: non-finite values'), an empty matrix a
    torch reduction error; the mode thresholds were not checked (lowrank_fraction = 2 turned
    every W into 'lowrank')."""
    import torch

    from nstheory.propagation.statedict import attention_stats, dense_sigma2

    W = torch.eye(4, dtype=torch.float64)
    for call in (lambda: attention_stats(W * float("nan"), W, W),
                 lambda: attention_stats(W, W, W, lowrank_fraction=2.0),
                 lambda: attention_stats(W, W, W, identity_tol=-1.0),
                 lambda: dense_sigma2(torch.randn(0, 4))):
        with pytest.raises(NSTheoryError):
            call()
    assert attention_stats(W, W, W)["mode"] == "identity"


def test_pattern_resolved_width_is_validated():
    """width = 0 or -1 (the head dimension of attention layers without their own d) ran."""
    from nstheory.propagation.model import attention_stack
    from nstheory.propagation.pattern_resolved import pattern_resolved_mc

    model = attention_stack(1, "random", n_tokens=3)
    for width in (0, -1, 10**400):
        with pytest.raises(NSTheoryError, match="width"):
            pattern_resolved_mc(model, 0.5, samples=10, width=width)


def test_query_key_and_attention_rank_are_validated_at_construction():
    """QueryKey('nope', 4), QueryKey('identity', -1) and Attention(rank=0) (outside the
    low-rank mode) were constructed; the failure came later or never."""
    from nstheory.attention.layer import QueryKey
    from nstheory.propagation.model import Attention

    for call in (lambda: QueryKey("nope", 4), lambda: QueryKey("identity", -1),
                 lambda: QueryKey("random", 4), lambda: Attention(rank=0),
                 lambda: Attention(rank=-1)):
        with pytest.raises(NSTheoryError):
            call()
    assert QueryKey.identity(3).d == 3
