"""Spectral bias on the Boolean cube: eigenvalues by degree of dot-product kernels, the NNGP and
NTK of MLPs, and the empirical NTK of finite-width torch networks.

Modules
-------
* ``cube``: mu_k of Phi(<x,y>/n): exact (Fractions), certified (arb, exact integer Krawtchouk
  transform), precise (mpmath direct sum), word counting, Gram matrix;
* ``kernels``: NNGP/NTK recursions of MLPs on the cube (mpmath, arb, float64);
* ``empirical``: empirical NTK of finite-width torch MLPs (autograd), degree Rayleigh quotients;
* ``transformer``: one-layer linear-attention transformer: NTK derived with SymPy, empirical NTK;
* ``learning``: per-degree learning curves: kernel-regime prediction vs a trained wide MLP;
* ``cli``: ``nstheory spectrum``; ``figures``: mu_k by degree, per-degree learning curves.

Examples
--------
>>> from nstheory.spectrum import spectrum_polynomial_exact
>>> spectrum_polynomial_exact([0, 1, 1, 1], 10)[:2]   # mu_0 < mu_1: only weak spectral bias
[Fraction(1, 10), Fraction(16, 125)]
"""

from nstheory.spectrum.cube import (
    MAX_N,
    cube_points,
    gram_eigenvalues,
    gram_monomial_residual,
    krawtchouk_rows,
    krawtchouk_transform_int,
    multiplicities,
    resolved,
    spectra_arb,
    spectrum_arb,
    spectrum_exact,
    spectrum_mp,
    spectrum_polynomial_by_words,
    spectrum_polynomial_exact,
    word_counts,
)
from nstheory.spectrum.empirical import (
    character_matrix,
    degree_rayleigh,
    mlp_empirical_ntk,
    monomial_leakage,
)
from nstheory.spectrum.kernels import NTK_ACTIVATIONS, MLPKernel, mlp_spectrum
from nstheory.spectrum.learning import predicted_curves, train_mlp_on_cube
from nstheory.spectrum.transformer import (
    derive_ntk,
    transformer_empirical_ntk,
    transformer_nngp_coeffs,
    transformer_ntk_coeffs,
)

__all__ = [
    "MAX_N",
    "NTK_ACTIVATIONS",
    "MLPKernel",
    "character_matrix",
    "cube_points",
    "degree_rayleigh",
    "derive_ntk",
    "gram_eigenvalues",
    "gram_monomial_residual",
    "krawtchouk_rows",
    "krawtchouk_transform_int",
    "mlp_empirical_ntk",
    "mlp_spectrum",
    "monomial_leakage",
    "multiplicities",
    "predicted_curves",
    "resolved",
    "spectra_arb",
    "spectrum_arb",
    "spectrum_exact",
    "spectrum_mp",
    "spectrum_polynomial_by_words",
    "spectrum_polynomial_exact",
    "train_mlp_on_cube",
    "transformer_empirical_ntk",
    "transformer_nngp_coeffs",
    "transformer_ntk_coeffs",
    "word_counts",
]
