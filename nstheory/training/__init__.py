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
