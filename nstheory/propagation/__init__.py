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
  :mod:`~nstheory.propagation.residual_scaling`.
"""
