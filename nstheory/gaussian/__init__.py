"""Gaussian noise stability of activations: Hermite core, activation maps in three views,
symbolic derivations, precise (mpmath) and certified (arb) routes, the depth recurrence."""
