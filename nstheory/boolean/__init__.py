"""Exact Fourier analysis of Boolean functions (O'Donnell's conventions; docs/conventions.md).

Modules
-------
``fwht``           :func:`fwht.fwht`, exact integer fast Walsh–Hadamard transform (cache-blocked)
``function``       :class:`BooleanFunction` (exact truth table, documented bit order)
``analysis``       weights, Stab_rho, T_rho, NS_delta, influences, sensitivities, degree
``concentration``  spectral concentration, Markov tail bound, Lemma 1 (printed / corrected)
``juntas``         influential coordinates, closest juntas, Friedgut's bound
``majority_exact`` closed forms for Majority_n (combinatorial Stab, I[Maj_n], Sheppard limit)
``zoo``            dictator, parity, majority, tribes, AND/OR, LTFs, noisy sparse parity, random
``alphabet``       [U]^n with token-resampling noise, Efron–Stein decomposition
``sampling``       Monte Carlo estimators with confidence intervals for any n

Examples
--------
>>> from fractions import Fraction
>>> from nstheory.boolean import majority, stability
>>> stability(majority(3), Fraction(1, 2))
Fraction(13, 32)
"""

from nstheory.boolean.analysis import (
    average_sensitivity,
    degree,
    influences,
    local_sensitivity,
    max_sensitivity,
    noise_operator,
    noise_sensitivity,
    normalised_average_sensitivity,
    stability,
    stability_polynomial,
    tail_weight,
    total_influence,
    weights,
)
from nstheory.boolean.function import EXACT_LIMIT, BooleanFunction, cube_points
from nstheory.boolean.zoo import (
    and_,
    dictator,
    majority,
    noisy_sparse_parity,
    or_,
    parity,
    random_function,
    threshold,
    tribes,
)

__all__ = [
    "EXACT_LIMIT",
    "BooleanFunction",
    "and_",
    "average_sensitivity",
    "cube_points",
    "degree",
    "dictator",
    "influences",
    "local_sensitivity",
    "majority",
    "max_sensitivity",
    "noise_operator",
    "noise_sensitivity",
    "noisy_sparse_parity",
    "normalised_average_sensitivity",
    "or_",
    "parity",
    "random_function",
    "stability",
    "stability_polynomial",
    "tail_weight",
    "threshold",
    "total_influence",
    "tribes",
    "weights",
]
