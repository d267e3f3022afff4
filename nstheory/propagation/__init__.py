"""Multi-layer noise stability by mean-field covariance propagation (views: docs/conventions.md).

* :mod:`~nstheory.propagation.model`: the one model description (dense, activation, LayerNorm,
  attention, residual; MLP / attention / transformer builders);
* :mod:`~nstheory.propagation.rules`: the mean-field rules, written once;
* :mod:`~nstheory.propagation.intervals`: certified (arb, outward-rounded) interval propagation;
* :mod:`~nstheory.propagation.recurrence`: point recurrence in float and mpmath;
* :mod:`~nstheory.propagation.torch_model`: the same description as a torch model, Monte Carlo
  per layer;
* :mod:`~nstheory.propagation.statedict`: layer descriptions from trained weights;
* :mod:`~nstheory.propagation.finite_width`: the 1/width correction (mean kernel + four-point
  vertex) of the Monte Carlo statistic, with :mod:`~nstheory.propagation.four_point`,
  :mod:`~nstheory.propagation.kernel_derivatives` and
  :mod:`~nstheory.propagation.residual_scaling`; its certified (arb) enclosure for ReLU MLPs in
  :mod:`~nstheory.propagation.finite_width_enclosure`, for residual, LayerNorm and
  identity-pattern transformer blocks in :mod:`~nstheory.propagation.finite_width_enclosure_blocks`,
  whose tanh/GELU/SiLU/softplus ingredients (certified Hermite cross kernel maps) are in
  :mod:`~nstheory.propagation.smooth_enclosure`; the identity attention pattern's leakage at
  finite width, which that correction neglects, sampled in
  :mod:`~nstheory.propagation.identity_leakage`;
* :mod:`~nstheory.propagation.pattern_resolved`: infinite width with the random softmax
  patterns kept (sampled), and its sampled 1/width correction in
  :mod:`~nstheory.propagation.pattern_resolved_correction`.
"""

from nstheory._lazy import lazy_exports

#: The public API, by submodule (imported on first use).
_MODULES = {
    "compare": (
        "LayerRow", "distance_z", "layer_table",
    ),
    "finite_width": (
        "FiniteWidthRow", "KernelState", "activation_step", "breakdown_ratio", "depth_to_width",
        "finite_width_recursion", "input_state", "kernel_states", "mean_field_only",
        "statistic_coefficients",
    ),
    "finite_width_enclosure": (
        "ENCLOSED", "EnclosureRow", "finite_width_enclosure", "relu_cross_moment_arb",
        "relu_map_arb", "relu_pair_moment_arb",
    ),
    "finite_width_enclosure_blocks": (
        "PAIR_ENTRIES", "enclosure_columns", "finite_width_enclosure_blocks", "layernorm_map_arb",
        "relu_mean_arb",
    ),
    "finite_width_study": (
        "main", "measure", "run_model",
    ),
    "finite_width_table": (
        "FiniteWidthLayer", "finite_width_table",
    ),
    "four_point": (
        "four_point_moments", "four_point_source", "kernel_entries", "stat_entries",
    ),
    "identity_leakage": (
        "LeakageRow", "has_identity_attention", "identity_leakage", "wishart_gram",
    ),
    "intervals": (
        "ArbBackend", "bounds", "endpoints", "hull", "interval_propagation",
        "paper_relu_intervals", "round_outward", "width",
    ),
    "kernel_derivatives": (
        "MapDerivatives", "map_derivatives", "numerical_map_derivatives",
    ),
    "maps": (
        "activation", "consistency_arb", "consistency_float", "consistency_mp",
    ),
    "model": (
        "Act", "Attention", "Dense", "LayerNorm", "Model", "Residual", "attention_stack",
        "build", "mlp", "transformer",
    ),
    "pattern_resolved": (
        "pattern_resolved_mc",
    ),
    "pattern_resolved_correction": (
        "CorrectedBlock", "ViewCorrection", "pattern_resolved_correction",
    ),
    "recurrence": (
        "FloatBackend", "MpBackend", "paper_relu_recurrence", "point_recurrence",
    ),
    "residual_scaling": (
        "ExponentFit", "fit_exponent",
    ),
    "rules": (
        "Backend", "State", "apply_layer", "initial_state", "propagate", "with_gaussian",
    ),
    "smooth_enclosure": (
        "SMOOTH_ENCLOSED", "SmoothIngredients", "cross_map", "smooth_ingredients",
    ),
    "statedict": (
        "attention_layer_from_weights", "attention_stats", "dense_sigma2",
        "mlp_from_state_dict",
    ),
    "torch_model": (
        "RandomStack", "monte_carlo",
    ),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)
