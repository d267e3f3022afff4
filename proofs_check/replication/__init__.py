"""Reference code of the verification suite: separately written replications of experiments.

A replication here shares no code path with the library implementation it checks (it imports
nothing from the package it replicates), so a claim re-analysing its stored study gains an
independent route. Modules:

* :mod:`proofs_check.replication.arch_sensitivity` -- the architecture-sensitivity comparison
  (MLP / CNN / LSTM / transformer at matched parameter budgets; flip rate under Gaussian noise
  on one patch or one token embedding).
* :mod:`proofs_check.replication.training_replication` -- the regularizer's training studies
  (next-token prediction on the fortunes corpus; modular addition mod 59): steps to a
  validation threshold with and without the noise-stability term, models in
  :mod:`proofs_check.replication.lm_models`.

Importing this package registers no claims and imports no heavy module.

>>> import proofs_check.replication as r
>>> r.__all__
['arch_sensitivity', 'lm_models', 'training_replication']
"""

__all__ = ["arch_sensitivity", "lm_models", "training_replication"]
