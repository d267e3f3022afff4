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
