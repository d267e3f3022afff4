"""Monte Carlo estimators of noise stability and sensitivity for any torch model.

* :mod:`~nstheory.montecarlo.estimators` -- flip rates, paired moments, Gaussian and token
  stability (raw / centred / normalised views), token-wise and patch sensitivity (exact average
  over positions or the released code's scattered-pixel variant), Boolean average sensitivity,
  per-token influence profiles.
* :mod:`~nstheory.montecarlo.variance` -- control variates and antithetic pairs for ReLU maps
  and ReLU MLPs, with the variance-reduction factor.
* :mod:`~nstheory.montecarlo.chunks` -- worker-independent chunked estimation (SeedSequence).
* :mod:`~nstheory.montecarlo.models`, :mod:`~nstheory.montecarlo.datasets`,
  :mod:`~nstheory.montecarlo.comparison` -- the architecture comparison.
"""

from nstheory._lazy import lazy_exports

#: The public API, by submodule (imported on first use).
_MODULES = {
    "chunks": (
        "chunk_generator", "chunk_seeds", "run_chunked",
    ),
    "comparison": (
        "DEFAULTS", "PRODUCERS", "STORED_STUDIES", "THREADS", "load_stored_runs", "producers",
        "run_one", "run_study", "study_config", "study_specs", "summarize", "t_interval",
        "train",
    ),
    "datasets": (
        "TASKS", "Task", "boolean_task", "digits_task", "fortunes_task", "get_task",
        "sparse_token_task",
    ),
    "estimators": (
        "Estimate", "FlipRate", "PairedMoment", "SensitivityResult", "StabilityResult",
        "boolean_sensitivity", "flip_rate", "gaussian_stability", "influence_profile",
        "paired_moment", "patch_sensitivity", "token_replacement_sensitivity",
        "token_stability", "tokenwise_sensitivity",
    ),
    "models": (
        "ARCHS", "KINDS", "build_model", "count_params", "load_user_model",
    ),
    "variance": (
        "ReducedEstimate", "mlp_parts", "relu_hermite_coefficients", "relu_hermite_poly",
        "relu_map_mc", "relu_mlp_cv_mean", "relu_mlp_stability", "truncation_stability",
    ),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)
