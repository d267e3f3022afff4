"""Spectral bias on the Boolean cube: eigenvalues of dot-product kernels by degree."""
