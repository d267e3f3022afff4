"""Gaussian noise stability of activations: Hermite core, activation maps in three views,
symbolic derivations, precise (mpmath) and certified (arb) routes, the depth recurrence.

Modules
-------
* ``activations``: every activation's map ``rho -> E[phi(U) phi(V)]`` in the raw, centred and
  normalised views (``get_activation``; ``raw``, ``raw_arb``, ``raw_float``);
* ``symbolic``: SymPy derivations of the closed forms (ReLU, abs, leaky ReLU, sign, erf,
  polynomials), with LaTeX steps;
* ``hermite``: orthonormal Hermite basis, coefficients, Mehler series, OU operator, tails;
* ``smooth``: certified maps of tanh, GELU, SiLU, softplus by their Hermite series;
* ``trapezoid``: one rigorous trapezoidal rule for all Hermite coefficients;
* ``endpoint``: certified Taylor expansions at ``rho = +-1`` (Price's theorem);
* ``precise``: the independent 1-D reduction routes (mpmath and trapezoidal);
* ``montecarlo``: torch Monte Carlo of the maps;
* ``recurrence``: the depth recurrence, its certified fixed point, the C-map and criticality;
* ``cli``, ``figures``: ``nstheory activation`` and the committed figures.

Every public name is re-exported here (loaded on first use).

Examples
--------
>>> from nstheory.gaussian import get_activation
>>> import mpmath
>>> mpmath.nstr(get_activation("relu").raw("0.5", dps=20), 20)
'0.30449889052211467904'
"""

from nstheory._lazy import lazy_exports

#: The public API, by submodule (imported on first use).
_MODULES = {
    "activations": (
        "ABReLU", "Activation", "Erf", "Identity", "Polynomial", "Sign", "check_dps",
        "check_view", "correlation_from_covariance", "get_activation", "kappa_arb", "kappa_mp",
        "kappa_np", "map_arguments",
    ),
    "endpoint": (
        "N_MAX", "choose_terms", "derivative_product", "endpoint_expansion",
    ),
    "hermite": (
        "certified_radius_L", "cramer_tail_bound", "gauss_tail_bound", "gaussian_expectation",
        "gaussian_expectation_arb", "hermite_coefficient_arb", "hermite_coefficients",
        "hermite_values", "ou_operator", "panel_nodes", "stab_series", "truncation_radius",
    ),
    "montecarlo": (
        "mc_raw", "torch_phi",
    ),
    "precise": (
        "inner_expectation_mp", "reduction_cost", "reduction_mp", "reduction_trapezoid",
    ),
    "recurrence": (
        "chi1", "cmap_gap_step", "cmap_gap_table", "cmap_slope_at_one",
        "contraction_factor_arb", "fixed_point_sign_change_arb",
        "global_convergence_certificate", "iterate_kappa", "iterate_kappa_mp",
        "kappa_fixed_point_arb", "linearised_fixed_point", "np_iterates_until", "q_fixed_point",
        "taylor2_fixed_point", "to_arb",
    ),
    "smooth": (
        "Gelu", "Silu", "SmoothActivation", "Softplus", "Tanh", "float_hermite_coefficients",
        "series_degree",
    ),
    "symbolic": (
        "Derivation", "derive_polynomial", "gaussian_expectation_poly", "gaussian_integral",
        "hermite_poly", "kappa_series", "mehler_eigen", "polynomial_hermite_coefficients",
        "polynomial_moment_direct", "relu_coefficient_formula",
    ),
    "trapezoid": (
        "StripBound", "hermite_coefficients_trapezoid", "series_context", "trapezoid_plan",
    ),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)
