"""nstheory: verify, evaluate and teach noise stability and sensitivity of transformer models.

Conventions (see ``README.md`` and ``docs/conventions.md``): Boolean functions live on
``{-1, 1}^n`` (O'Donnell); Gaussian noise stability ``Stab_rho(f) = E[f(X) f(Y)]`` is the
*uncentred* second moment with ``Y = rho X + sqrt(1 - rho^2) Z``; every number the toolkit
reports carries its *view* (raw / centred / normalised) and its *route* (symbolic, precise,
certified, monte-carlo, exact-enumeration).
"""

from nstheory.errors import NSTheoryError

__version__ = "0.1.0"

__all__ = ["NSTheoryError", "__version__"]
