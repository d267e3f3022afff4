"""Power-law exponent of Monte Carlo residuals against width, with a profile-likelihood interval.

Model: at each layer ``l`` the residual ``r_{l,N} = MC - corrected`` is ``a_l N^{-p}`` plus
Gaussian noise of known standard error; the amplitudes ``a_l`` are free (fitted per layer in
closed form for each ``p``), the exponent ``p`` is shared. :func:`fit_exponent` scans ``p`` and
returns the chi-square minimiser and the 95% profile interval (``chi2(p) - min <= 3.84``).
Fitting in linear space keeps unresolved residuals (of either sign) in the fit.

>>> import numpy as np
>>> w = np.array([32.0, 64.0, 128.0])
>>> fit = fit_exponent(w, [3.0 * w**-2], [1e-6 * np.ones(3)])
>>> round(fit.exponent, 2)
2.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nstheory.errors import NSTheoryError

CHI2_95_1DOF = 3.841458820694124


@dataclass(frozen=True)
class ExponentFit:
    """Result of :func:`fit_exponent`.

    Parameters
    ----------
    exponent : float
        The chi-square minimiser ``p``.
    lo, hi : float
        The 95% profile-likelihood interval of ``p``.
    chi2 : float
        The minimum chi-square.
    dof : int
        Its degrees of freedom (points minus fitted parameters).

    Examples
    --------
    >>> f = ExponentFit(2.0, 1.9, 2.1, 3.5, 5)
    >>> f.lo <= f.exponent <= f.hi
    True
    """

    exponent: float
    lo: float
    hi: float
    chi2: float
    dof: int

    def quantities(self, what: str) -> list[tuple[str, str]]:
        """The fit as report rows: the exponent (labelled with ``what`` was fitted), its 95%
        profile interval and the chi-square.

        >>> ExponentFit(2.0, 1.9, 2.1, 3.5, 5).quantities("layers 10-20")[:2]
        [('fitted exponent p (layers 10-20)', '2'), ('95% profile interval', '[1.9, 2.1]')]
        """
        return [(f"fitted exponent p ({what})", f"{self.exponent:.3g}"),
                ("95% profile interval", f"[{self.lo:.3g}, {self.hi:.3g}]"),
                ("chi2 / dof", f"{self.chi2:.3g} / {self.dof}")]


def fit_exponent(widths, residuals, stderrs, grid=None) -> ExponentFit:
    """Fit ``residuals[l][k] ~ a_l widths[k]^-p`` (see the module docstring).

    Parameters
    ----------
    widths : array_like
        At least two positive widths.
    residuals, stderrs : sequence of array_like
        One sequence per layer, aligned with ``widths``.
    grid : array_like, optional
        The exponents scanned (default 0 to 4 in steps of 0.0025). An interval
        touching the grid's end is reported as such (``lo``/``hi`` equal to the end).

    Returns
    -------
    ExponentFit

    Raises
    ------
    NSTheoryError
        For fewer than two widths, misaligned inputs, non-positive standard errors
        or non-finite residuals.

    Examples
    --------
    Two layers decaying exactly like ``1 / width`` (amplitudes differ):

    >>> import numpy as np
    >>> w = np.array([16.0, 32.0, 64.0, 128.0])
    >>> fit = fit_exponent(w, [5 / w, -2 / w], [1e-5 * np.ones(4)] * 2)
    >>> round(fit.exponent, 4), fit.dof, fit.lo <= 1.0 <= fit.hi
    (1.0, 5, True)
    >>> fit_exponent([32.0], [[1.0]], [[1.0]])
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: fit_exponent needs >= 2 positive widths
    """
    w = np.asarray(widths, dtype=float)
    res = [np.asarray(r, dtype=float) for r in residuals]
    se = [np.asarray(s, dtype=float) for s in stderrs]
    if w.ndim != 1 or w.size < 2 or np.any(~(w > 0)):
        raise NSTheoryError("fit_exponent needs >= 2 positive widths")
    if not res or any(r.shape != w.shape or s.shape != w.shape for r, s in zip(res, se,
                                                                              strict=True)):
        raise NSTheoryError("fit_exponent: residuals and stderrs must match widths per layer")
    if any(np.any(~(s > 0)) for s in se) or any(np.any(~np.isfinite(r)) for r in res):
        raise NSTheoryError("fit_exponent: stderrs must be > 0 and residuals finite")
    ps = np.arange(0.0, 4.0 + 1e-12, 0.0025) if grid is None else np.asarray(grid, float)
    chi = np.empty(ps.size)
    for i, p in enumerate(ps):
        f = w**-p
        tot = 0.0
        for r, s in zip(res, se, strict=True):
            a = np.sum(r * f / s**2) / np.sum(f * f / s**2)
            tot += float(np.sum(((r - a * f) / s) ** 2))
        chi[i] = tot
    k = int(np.argmin(chi))
    inside = ps[chi - chi[k] <= CHI2_95_1DOF]
    return ExponentFit(float(ps[k]), float(inside.min()), float(inside.max()), float(chi[k]),
                       len(res) * (w.size - 1) - 1)


__all__ = ["ExponentFit", "fit_exponent"]
