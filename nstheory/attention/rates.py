"""Fitting how a Monte Carlo deviation decays with d: weighted least squares with a slope CI.

The model is ``log|y| = a + b * g(d)`` with ``g = log`` (power law ``|y| ~ d^b``) or
``g = sqrt`` (stretched exponential ``|y| ~ exp(b sqrt d)``), weighted by the delta-method
standard error of ``log|y|`` (``se / |y|``). Points whose CI includes 0 (``|y| < 2 se``) carry
no information about ``log|y|`` and are dropped.

Examples
--------
>>> import math
>>> d = [8, 16, 32, 64]
>>> y = [0.5 / x for x in d]
>>> fit = fit_decay(d, y, [1e-4] * 4, kind="power")
>>> round(fit["slope"], 6), fit["points"]
(-1.0, 4)
"""

from __future__ import annotations

import math

import numpy as np

from nstheory.errors import NSTheoryError

__all__ = ["fit_decay"]


def fit_decay(ds, ys, ses, kind: str = "power", min_ratio: float = 2.0) -> dict:
    """Weighted fit of ``log|y|`` against ``log d`` (``kind="power"``) or ``sqrt d``
    (``kind="sqrt"``). Returns ``slope``, ``slope_se``, ``slope_ci95``, ``intercept``,
    ``points`` (used), ``chi2_dof``.

    Examples
    --------
    A stretched exponential ``2 exp(-sqrt(d)/2)`` has slope ``-1/2`` against ``sqrt d``; points
    lost in their noise are dropped:

    >>> d = [16, 36, 64, 100]
    >>> y = [2 * math.exp(-0.5 * math.sqrt(x)) for x in d]
    >>> fit = fit_decay(d, y, [1e-6] * 4, kind="sqrt")
    >>> round(fit["slope"], 6), round(fit["intercept"], 6) == round(math.log(2), 6)
    (-0.5, True)
    >>> fit_decay(d, y, [1e-6, 1e-6, 1.0, 1.0], kind="sqrt")["points"]
    2
    """
    if kind not in ("power", "sqrt"):
        raise NSTheoryError(f"kind must be 'power' or 'sqrt'; got {kind!r}")
    rows = [(d, y, s) for d, y, s in zip(ds, ys, ses, strict=True) if abs(y) >= min_ratio * s]
    if len(rows) < 2:
        raise NSTheoryError("need at least two points whose |y| exceeds its noise to fit a rate")
    g = np.array([math.log(d) if kind == "power" else math.sqrt(d) for d, _, _ in rows])
    ly = np.array([math.log(abs(y)) for _, y, _ in rows])
    w = np.array([(abs(y) / s) ** 2 if s > 0 else 1e12 for _, y, s in rows])
    A = np.stack([np.ones_like(g), g], axis=1)
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    coef = cov @ (A.T @ (w * ly))
    resid = ly - A @ coef
    dof = max(1, len(rows) - 2)
    chi2 = float((w * resid**2).sum()) / dof
    se = math.sqrt(cov[1, 1] * max(1.0, chi2))  # inflate by the fit's excess scatter
    return {
        "kind": kind,
        "slope": float(coef[1]),
        "slope_se": se,
        "slope_ci95": (float(coef[1]) - 1.96 * se, float(coef[1]) + 1.96 * se),
        "intercept": float(coef[0]),
        "points": len(rows),
        "chi2_dof": chi2,
    }
