"""Noise stability of one softmax attention layer (Theorems 5.2 and 5.3 of haris2026).

Modules: :mod:`~nstheory.attention.layer` (the batched torch layer),
:mod:`~nstheory.attention.montecarlo` (batched Monte Carlo of Stab with CIs),
:mod:`~nstheory.attention.consistency` (the factor ``s_n(r)``: closed forms, quadrature, arb),
:mod:`~nstheory.attention.certified` (certified enclosures of ``s_n(r)`` for any ``n``),
:mod:`~nstheory.attention.pattern_moments` (softmax pattern moments at finite ``d``),
:mod:`~nstheory.attention.certified_softmax` (their certified enclosures),
:mod:`~nstheory.attention.identity_finite_d` (the identity-``W`` layer's Stab and self-weight
exactly in ``d``, deterministic), :mod:`~nstheory.attention.random_finite_d` (the random-``W``
and low-rank-``W`` layers' Stab at finite ``d`` for any ``n``, ``W`` and the other tokens
integrated exactly, the query pair by quasi-Monte Carlo),
:mod:`~nstheory.attention.softmax_conditional` (the
Laplace-factorised average over the other tokens both share),
:mod:`~nstheory.attention.theory` (SymPy statements and derivations, the proved bound),
:mod:`~nstheory.attention.rates` (decay-rate fits), ``cli`` and ``figures``.
"""

from nstheory._lazy import lazy_exports

#: The public API, by submodule (imported on first use).
_MODULES = {
    "certified": (
        "certified_grid", "s_n_certified", "s_n_certified_range",
    ),
    "certified_softmax": (
        "LATTICE_CAP", "LATTICE_MIN_SIGMA", "MAX_TOKENS", "R_LATTICE_MAX", "SMALL_SIGMA",
        "consistency_certified", "consistency_slope_bound",
        "consistency_certified_range", "self_weight_certified",
    ),
    "consistency": (
        "quadrature_grid", "s2_closed_form", "s3_closed_form", "s_n", "s_n_arb",
        "s_n_quadrature",
    ),
    "copy_chain": (
        "copy_chain_stability",
    ),
    "identity_finite_d": (
        "QuadratureStab", "self_weight_identity_finite_d", "stab_identity_finite_d",
    ),
    "random_finite_d": (
        "FALLBACK_DRAWS", "MAX_LOGIT_SPREAD", "MAX_RANK", "ConditionalStab", "logit_spread",
        "lowrank_logit_spread", "lowrank_query_geometry", "random_query_geometry",
        "stab_lowrank_finite_d", "stab_random_finite_d",
    ),
    "softmax_conditional": (
        "LOG_WEIGHT_CAP", "LO_MIN", "conditional_output_products", "laplace_floor",
        "laplace_rule", "query_data", "sampled_output_products",
    ),
    "layer": (
        "QK_KINDS", "QueryKey", "SCALES", "SoftmaxAttention", "attention_layer",
        "attention_row", "attention_weights", "logits", "logits_row", "scale_factor",
    ),
    "montecarlo": (
        "MODES", "StabEstimate", "argmax_agreement_mc", "attention_stability_mc",
        "theory_value",
    ),
    "pattern_moments": (
        "PatternMoments", "finite_d_pattern", "finite_d_pattern_balls", "logit_correlations",
        "logit_scale", "logit_sigma2_factor", "moment_lipschitz", "softmax_consistency",
        "softmax_consistency_two_tokens", "softmax_self_weight",
    ),
    "quadrature": (
        "BARTLETT_MAX_POINTS", "BARTLETT_VARIABLES", "chi2_gauss_rule", "chi_gauss_rule",
        "extrapolate_in_inverse_d", "logistic_mixture_rule", "n2_resolution",
        "stab_random_d1_n2", "stab_random_hard_n2", "stab_random_n2_finite_d",
        "stab_random_softmax_n2",
    ),
    "rates": (
        "fit_decay",
    ),
    "theory": (
        "orthant2", "s2_symbolic", "s3_plackett_integrand", "s3_symbolic",
        "thm52_deviation_bound", "thm52_limit", "thm52_limit_linear_scale", "thm53_statement",
    ),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)
