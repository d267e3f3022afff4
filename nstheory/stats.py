"""Statistics for Monte Carlo estimates: mergeable moments, confidence intervals, z-scores.

:class:`Moments` keeps ``(n, mean, M2)`` and merges exactly by Chan et al.'s pairwise update,
so partial results from many workers combine into one estimate. To make a result independent
of the number of workers, split the work into fixed chunks (seeded by
``numpy.random.SeedSequence(root).spawn(k)``) and merge the chunk results in chunk order.

Examples
--------
>>> import numpy as np
>>> a = Moments.from_values(np.array([1.0, 2.0, 3.0]))
>>> b = Moments.from_values(np.array([4.0, 5.0]))
>>> m = a.merge(b)
>>> m.n, m.mean, round(m.variance, 12)
(5, 3.0, 2.5)
>>> lo, hi = clopper_pearson(0, 10)
>>> lo, round(hi, 4)
(0.0, 0.3085)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from nstheory.errors import NSTheoryError, check_int


@dataclass(frozen=True)
class Moments:
    """Count, mean and sum of squared deviations of a sample (Welford / Chan).

    Parameters
    ----------
    n : int
        Sample size.
    mean : float
        Sample mean.
    m2 : float
        Sum of squared deviations from the mean.

    Examples
    --------
    Merging chunk moments gives the moments of the concatenated sample:

    >>> import numpy as np
    >>> v = np.arange(10.0)
    >>> m = Moments.from_values(v[:3]) + Moments.from_values(v[3:])
    >>> m.n, m.mean, bool(np.isclose(m.variance, v.var(ddof=1)))
    (10, 4.5, True)
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def from_values(cls, values) -> Moments:
        """Moments of a 1-D array (numpy array or torch tensor), computed in float64."""
        if hasattr(values, "detach"):  # torch tensor: reduce on its device in float64
            v = values.detach().reshape(-1).double()
            n = int(v.numel())
            if n == 0:
                return cls()
            mean = float(v.mean())
            m2 = float(((v - mean) ** 2).sum())
            return cls(n, mean, m2)
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.size == 0:
            return cls()
        mean = float(v.mean())
        return cls(int(v.size), mean, float(((v - mean) ** 2).sum()))

    def merge(self, other: Moments) -> Moments:
        """Combine two independent samples' moments (exact up to rounding)."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        return Moments(n, mean, m2)

    def __add__(self, other: Moments) -> Moments:
        return self.merge(other)

    @property
    def variance(self) -> float:
        """Unbiased sample variance (ddof = 1)."""
        return self.m2 / (self.n - 1) if self.n > 1 else float("nan")

    @property
    def stderr(self) -> float:
        """Standard error of the mean."""
        return math.sqrt(self.variance / self.n) if self.n > 1 else float("nan")

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Student-t confidence interval for the mean (``n - 1`` degrees of freedom: with the 5
        seeds of a training study a normal quantile would cover ~88%; for the large samples of a
        Monte Carlo run the two agree).

        >>> m = Moments.from_values(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
        >>> [round(x, 4) for x in m.ci()]                  # 3 +- 2.776 * sqrt(2.5 / 5)
        [1.0368, 4.9632]
        """
        if self.n < 2 or math.isnan(self.stderr):
            return mean_ci(self.mean, self.stderr, level)
        h = t_quantile(level, self.n - 1) * self.stderr
        if math.isnan(self.mean) or math.isinf(h):
            return mean_ci(self.mean, self.stderr, level)
        return self.mean - h, self.mean + h

    def z(self, theory: float) -> float:
        """z-score of the mean against a theoretical value."""
        return z_score(self.mean, self.stderr, theory)

    def to_dict(self) -> dict:
        lo, hi = self.ci()
        return {
            "n": self.n,
            "mean": self.mean,
            "m2": self.m2,
            "stderr": self.stderr,
            "ci95": [lo, hi],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Moments:
        """The moments :meth:`to_dict` wrote (``n``, ``mean``, ``m2``).

        >>> Moments.from_dict({"n": 2, "mean": 1.0, "m2": 0.5}).stderr
        0.5
        """
        try:
            return cls(check_int(d["n"], "n", lo=0), float(d["mean"]), float(d["m2"]))
        except (TypeError, KeyError, ValueError) as err:
            raise NSTheoryError(f"not a moments record (needs numbers n, mean, m2): {d!r:.200}"
                                ) from err


def normal_cdf(x: float) -> float:
    """The standard normal distribution function ``Phi(x) = erfc(-x / sqrt 2) / 2`` (the
    complementary error function keeps the lower tail accurate).

    Parameters
    ----------
    x : float
        The argument.

    Returns
    -------
    float

    Examples
    --------
    >>> normal_cdf(0.0), round(normal_cdf(1.959963984540054), 6)
    (0.5, 0.975)
    >>> f"{normal_cdf(-10.0):.6e}"      # 7.619853e-24, the tail kept to full relative precision
    '7.619853e-24'
    """
    return 0.5 * math.erfc(-x / math.sqrt(2))


def normal_quantile(level: float) -> float:
    """Two-sided normal critical value, e.g. 1.959964 for ``level = 0.95``.

    Parameters
    ----------
    level : float
        Confidence level in ``(0, 1)``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(normal_quantile(0.95), 6)
    1.959964
    """
    if not 0 < level < 1:
        raise NSTheoryError(f"confidence level must lie in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def t_quantile(level: float, dof: float) -> float:
    """Two-sided Student-t critical value: ``mean +- t_quantile(level, n - 1) * stderr`` covers
    the mean of ``n`` normal values with probability ``level``.

    >>> round(t_quantile(0.95, 3), 4), round(t_quantile(0.95, 10**7), 4)
    (3.1824, 1.96)
    """
    from scipy.stats import t

    normal_quantile(level)  # the level must lie in (0, 1)
    return float(t.ppf(0.5 + level / 2, dof))


def mean_ci(mean: float, stderr: float, level: float = 0.95) -> tuple[float, float]:
    """CLT interval ``mean ± z * stderr``.

    Parameters
    ----------
    mean, stderr : float
        Estimate and its standard error.
    level : float, optional
        Confidence level.

    Returns
    -------
    tuple of float
        ``(lo, hi)``.

    Examples
    --------
    >>> mean_ci(1.0, 0.5, 0.95)[1] > 1.97
    True
    """
    if math.isnan(mean) or math.isnan(stderr):  # undefined (e.g. n < 2): undefined bounds
        return math.nan, math.nan
    if not (math.isfinite(mean) and math.isfinite(stderr) and stderr >= 0):
        raise NSTheoryError(f"mean_ci needs a finite mean and a finite stderr >= 0, got "
                            f"{mean}, {stderr}")
    h = normal_quantile(level) * stderr
    return mean - h, mean + h


def z_score(mean: float, stderr: float, theory: float) -> float:
    """``(mean - theory) / stderr``; raises if the standard error is not positive.

    Parameters
    ----------
    mean, stderr : float
        Estimate and its standard error (``> 0``).
    theory : float
        Value tested.

    Returns
    -------
    float

    Examples
    --------
    >>> z_score(1.1, 0.05, 1.0)
    2.0000000000000018
    """
    if not stderr > 0:
        raise NSTheoryError(f"standard error must be > 0 for a z-score, got {stderr}")
    return (mean - float(theory)) / stderr


def two_sided_p(z: float) -> float:
    """Two-sided normal p-value of a z-score.

    Parameters
    ----------
    z : float
        A z-score.

    Returns
    -------
    float

    Examples
    --------
    >>> round(two_sided_p(1.959964), 4)
    0.05
    """
    return math.erfc(abs(z) / math.sqrt(2))


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval for a binomial proportion ``k / n``.

    Parameters
    ----------
    k, n : int
        Successes and trials, ``0 <= k <= n``, ``n > 0``.
    level : float, optional
        Confidence level.

    Returns
    -------
    tuple of float
        ``(lo, hi)``.

    Examples
    --------
    With no successes the upper end has the closed form ``1 - (alpha/2)^(1/n)``:

    >>> lo, hi = clopper_pearson(0, 10)
    >>> lo, abs(hi - (1 - 0.025 ** (1 / 10))) < 1e-12
    (0.0, True)
    >>> clopper_pearson(11, 10)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: need 0 <= k <= n and n > 0, got k=11, n=10
    """
    k, n = check_int(k, "k", lo=0), check_int(n, "n", lo=1, hi=2**62)
    if not 0 <= k <= n:
        raise NSTheoryError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    normal_quantile(level)  # the level must lie in (0, 1)
    from scipy import stats as _st

    a = 1 - level
    lo = 0.0 if k == 0 else float(_st.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(_st.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def ratio_ci(num: np.ndarray, den: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Ratio of means ``mean(num) / mean(den)`` of two independent samples, with a Welch-t
    interval of its logarithm.

    The standard error of ``log mean(num) - log mean(den)`` is the delta method's
    ``sqrt(s_num^2 / (n_num mean_num^2) + s_den^2 / (n_den mean_den^2))``, with the
    Welch-Satterthwaite degrees of freedom; the interval is ``ratio * exp(+-t se)``. Measured
    coverage of a nominal 95% interval for lognormal samples (coefficient of variation 0.2 to
    1, 1000 simulated pairs each): 96-97% with 3 values per sample, 94-96% with 5, 92-95% with
    10; the percentile bootstrap used before covered 80-82%, 87-89% and 90-91% (resampling
    3-10 values understates their spread). With every value of both samples equal the interval
    is the point.

    Parameters
    ----------
    num, den : numpy.ndarray
        Independent samples of at least 2 finite values each (e.g. steps-to-generalise of two
        arms over seeds); the denominators positive and the numerators' mean positive.
    level : float, optional
        Confidence level.

    Returns
    -------
    tuple of float
        ``(ratio, lo, hi)``.

    Raises
    ------
    NSTheoryError
        With fewer than 2 values in a sample (no spread, so no interval), non-finite values, a
        denominator <= 0 or a numerators' mean <= 0.

    Examples
    --------
    >>> r, lo, hi = ratio_ci(np.array([4400., 4500, 4600]), np.array([3200., 3300, 3400]))
    >>> round(r, 4), round(lo, 4), round(hi, 4)
    (1.3636, 1.2811, 1.4515)
    >>> ratio_ci(np.array([4.0, 4.0]), np.array([2.0, 2.0]))
    (2.0, 2.0, 2.0)
    """
    num, den = np.asarray(num, float).ravel(), np.asarray(den, float).ravel()
    if num.size < 2 or den.size < 2:
        raise NSTheoryError(f"ratio_ci needs >= 2 values per sample (their spread sets the "
                            f"interval), got {num.size} and {den.size}")
    if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den)) and np.all(den > 0)
            and num.mean() > 0):
        raise NSTheoryError("ratio_ci needs finite values, positive denominators and a "
                            "positive mean numerator (the interval is one of a logarithm)")
    normal_quantile(level)  # the level must lie in (0, 1)
    from scipy.stats import t

    mn, md = float(num.mean()), float(den.mean())
    vn = float(num.var(ddof=1)) / (num.size * mn**2)
    vd = float(den.var(ddof=1)) / (den.size * md**2)
    ratio = mn / md
    if vn + vd == 0:
        return ratio, ratio, ratio
    dof = (vn + vd) ** 2 / (vn**2 / (num.size - 1) + vd**2 / (den.size - 1))
    h = float(t.ppf(0.5 + level / 2, dof)) * math.sqrt(vn + vd)
    return ratio, ratio * math.exp(-h), ratio * math.exp(h)
