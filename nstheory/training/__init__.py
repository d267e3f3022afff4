"""Training experiments with the noise-stability regularizer (haris2026 Definition 6.1).

* :mod:`~nstheory.training.regularizer` -- ``R = (-1)^S sum_i M(X)_i M(Y)_i`` and its noises;
* :mod:`~nstheory.training.tasks` -- modular addition, noisy k-sparse parity, next-token data;
* :mod:`~nstheory.training.models` -- the one-layer grokking transformer and the small LM;
* :mod:`~nstheory.training.config` -- every hyperparameter of a run, and the named presets;
* :mod:`~nstheory.training.loop` -- one run: checkpoints, append-only JSONL log, resume;
* :mod:`~nstheory.training.metrics` -- trajectory metrics and steps-to-threshold;
* :mod:`~nstheory.training.study` -- multi-seed sweeps and the speed-up ratio with its CI.

Heavy imports (torch) happen inside the submodules, so importing the package is cheap.
"""

from nstheory._lazy import lazy_exports

#: The public API, by submodule (imported on first use).
_MODULES = {
    "config": (
        "PRESETS", "TASKS", "TrainConfig", "preset", "regularized_arm",
    ),
    "loop": (
        "InjectedFailure", "LOSS_THRESHOLDS", "build_data", "build_model", "evaluate",
        "regularized_loss", "summarize_run", "train",
    ),
    "metrics": (
        "steps_to_threshold", "trajectory_metrics",
    ),
    "models": (
        "AnswerTransformer", "TinyLM", "weight_norm",
    ),
    "regularizer": (
        "NOISES", "check_noise", "describe_noise", "gaussian_embedding_noise", "perturb_tokens",
        "stability_term",
    ),
    "study": (
        "METRICS", "NTP_LOSS_SWEEP", "PRODUCERS", "analyze_study", "collect_runs",
        "noise_summary", "parse_seeds", "permutation_pvalue", "ratio_bound_kind", "run_study",
        "study_configs", "threshold_sweep", "write_study",
    ),
    "tasks": (
        "TaskData", "WordTokenizer", "load_corpus", "modular_addition", "next_token",
        "sparse_parity",
    ),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)
