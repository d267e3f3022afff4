"""Sampling estimators with confidence intervals, for n beyond the exact limit.

For a vectorised callable ``fn`` on int8 ±1 rows (shape ``(m, n)``), every estimator draws
i.i.d. samples in batches from ``numpy.random.default_rng(seed)``, accumulates mergeable
:class:`nstheory.stats.Moments`, and returns an :class:`Estimate` (mean, standard error, CLT
95% interval, sample count, seed). Unbiased per-sample statistics:

* ``Stab_rho[f]``: ``f(x) f(y)`` with ``y_i = x_i`` w.p. ``(1+rho)/2`` else ``-x_i``.
* ``Inf_i[f]``: ``((f(x) - f(x^{+i})) / 2)^2``.
* ``I[f]``: ``n ((f(x) - f(x^{+i})) / 2)^2`` with ``i`` uniform (for ±1-valued f this is
  ``n 1[f(x) != f(x^{+i})]``, so ``I/n`` is the normalised average sensitivity).
* ``NS_delta[f]``: ``(f(x) - f(y))^2 / 4`` with ``y`` flipping each bit w.p. ``delta``.

Examples
--------
>>> from nstheory.boolean.zoo import majority
>>> f = majority(31, sampling=True)
>>> est = f.stability(0.5, samples=20_000, seed=1)
>>> est.n, abs(est.mean - 0.339362) < 5 * est.stderr  # exact: majority_stability
(20000, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_probability, check_rho
from nstheory.stats import Moments

#: Samples per batch.
BATCH = 1 << 15


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: mean, standard error, 95% interval, n, seed and label.

    Parameters
    ----------
    label : str
        What was estimated.
    mean, stderr : float
        Sample mean and its standard error.
    ci95 : tuple of float
        Student-t 95% interval ``mean ± t stderr`` (``n - 1`` degrees of freedom; 1.96 for large
        ``n``); where every draw was the same extreme value
        of a ±1-valued function's estimator (no spread, e.g. a rare event never seen), the
        exact binomial (Clopper–Pearson) interval for zero events instead, scaled to the
        draws' range, so that a rare value outside the sample is not excluded.
    n : int
        Number of samples.
    seed : int
        Root seed.

    Examples
    --------
    Stab of a dictator is ``rho`` exactly; the interval is ``mean ± 1.96008 stderr`` (Student-t,
    19 999 degrees of freedom):

    >>> f = SampledFunction(lambda X: X[:, 0], 10, name="dictator")
    >>> est = f.stability(0.5, samples=20_000, seed=1)
    >>> isinstance(est, Estimate), est.n, abs(est.mean - 0.5) < 4 * est.stderr
    (True, 20000, True)
    >>> abs(est.ci95[1] - est.mean - 1.960083 * est.stderr) < 1e-6 * est.stderr
    True
    """

    label: str
    mean: float
    stderr: float
    ci95: tuple[float, float]
    n: int
    seed: int
    note: str = ""

    def __str__(self) -> str:
        return (f"{self.label}: {self.mean:.6g} ± {self.stderr:.2g} "
                f"(95% CI [{self.ci95[0]:.6g}, {self.ci95[1]:.6g}], n={self.n}, seed={self.seed})"
                + (f"; {self.note}" if self.note else ""))


def uniform_points(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    """``m`` uniform points of {-1,1}^n as int8 rows.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    m, n : int
        Number of points and dimension.

    Returns
    -------
    numpy.ndarray
        int8 array of shape ``(m, n)`` with ±1 entries.

    Examples
    --------
    >>> X = uniform_points(np.random.default_rng(0), 1000, 4)
    >>> X.shape, X.dtype.name, sorted(set(X.ravel().tolist()))
    ((1000, 4), 'int8', [-1, 1])
    >>> abs(float(X.mean())) < 0.1        # mean 0, stderr 1/sqrt(4000) ~ 0.016
    True
    """
    return np.where(rng.random((m, n)) < 0.5, 1, -1).astype(np.int8)


def correlated_points(rng: np.random.Generator, x: np.ndarray, rho: float) -> np.ndarray:
    """``y`` with ``y_i = x_i`` w.p. ``(1 + rho)/2``, else ``-x_i`` (independently).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    x : numpy.ndarray
        int8 ±1 array.
    rho : float
        Correlation in ``[-1, 1]``.

    Returns
    -------
    numpy.ndarray
        int8 array of the shape of ``x``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = uniform_points(rng, 4, 3)
    >>> bool(np.all(correlated_points(rng, x, 1.0) == x))
    True
    """
    keep = rng.random(x.shape) < (1 + float(rho)) / 2
    return np.where(keep, x, -x).astype(np.int8)


def _eval(fn, X: np.ndarray, boolean: bool) -> np.ndarray:
    out = fn(X)
    if hasattr(out, "detach"):
        out = out.detach().cpu().numpy()
    out = np.asarray(out, dtype=np.float64).reshape(-1)
    if out.size != X.shape[0]:
        raise NSTheoryError(f"callable returned {out.size} values for {X.shape[0]} input rows")
    if not np.all(np.isfinite(out)):
        raise NSTheoryError("callable returned non-finite values")
    if boolean and not np.all(np.abs(out) == 1):
        bad = int(np.flatnonzero(np.abs(out) != 1)[0])
        raise NSTheoryError(
            f"a +-1-valued (Boolean) function is required, but the callable returned "
            f"{out[bad]} at x = {X[bad].tolist()}"
        )
    return out


def _estimate(label, draw: Callable[[np.random.Generator, int], np.ndarray], samples: int,
              seed: int, value_range: tuple[float, float] | None = None) -> Estimate:
    """Mean of ``samples`` draws with its Student-t interval; ``value_range`` (the draws' possible
    values for a ±1-valued function) gives a zero-spread sample at one end of it the
    Clopper–Pearson interval for zero events.

    >>> e = _estimate("p", lambda rng, b: np.zeros(b), 1000, 0, value_range=(0.0, 1.0))
    >>> e.ci95[0], round(e.ci95[1], 5), e.note[:31]       # 1 - 0.025^(1/1000)
    (0.0, 0.00368, 'every draw was 0.0: exact binom')
    """
    from nstheory.progress import progress

    samples = check_int(samples, "samples", lo=2)
    rng = np.random.default_rng(seed)
    m = Moments()
    done = 0
    with progress(total=samples, desc=f"sampling {label}", unit="sample", delay=2.0) as bar:
        while done < samples:
            b = min(BATCH, samples - done)
            m = m.merge(Moments.from_values(draw(rng, b)))
            done += b
            bar.update(b)
    if m.stderr == 0 and value_range is not None and m.mean in value_range:
        from nstheory.stats import clopper_pearson

        lo, hi = value_range
        reach = (hi - lo) * clopper_pearson(0, m.n)[1]
        ci = (lo, lo + reach) if m.mean == lo else (hi - reach, hi)
        return Estimate(label, m.mean, m.stderr, ci, m.n, seed,
                        note=f"every draw was {m.mean}: exact binomial 95% interval for an event "
                             "not seen in the sample")
    return Estimate(label, m.mean, m.stderr, m.ci(), m.n, seed)


class SampledFunction:
    """A function on {-1,1}^n known only through a vectorised callable (any n).

    Parameters
    ----------
    fn : callable
        Maps an int8 array ``(m, n)`` of ±1 rows to ``m`` real values.
    n : int
        Dimension.
    name : str, optional
        Label for reports.
    boolean : bool, optional
        Require ±1 values.

    Examples
    --------
    >>> f = SampledFunction(lambda X: X[:, 0], 40, name="dictator")
    >>> est = f.total_influence(samples=4000, seed=0)
    >>> est.ci95[0] < 1 < est.ci95[1]  # I[x_1] = 1
    True
    """

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], n: int, name: str = "",
                 boolean: bool = False) -> None:
        self.fn = fn
        self.n = check_int(n, "n", lo=1)
        self.name = name
        self.boolean = boolean

    def __repr__(self) -> str:
        return f"<SampledFunction {self.name!r} n={self.n}>"

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return _eval(self.fn, X, self.boolean)

    def _range(self, lo: float, hi: float) -> tuple[float, float] | None:
        """The draws' value range, known for a ±1-valued function only."""
        return (lo, hi) if self.boolean else None

    def stability(self, rho, samples: int = 100_000, seed: int = 0) -> Estimate:
        """Estimate of the raw ``Stab_rho[f] = E[f(x) f(y)]``."""
        check_rho(rho)

        def draw(rng, b):
            x = uniform_points(rng, b, self.n)
            return self(x) * self(correlated_points(rng, x, rho))

        return _estimate(f"Stab_{rho}[{self.name}] (MC, raw)", draw, samples, seed,
                         self._range(-1.0, 1.0))

    def noise_sensitivity(self, delta, samples: int = 100_000, seed: int = 0) -> Estimate:
        """Estimate of ``NS_delta[f] = E[(f(x) - f(y))^2] / 4``, bits flipped w.p. delta."""
        check_probability(delta, "delta")

        def draw(rng, b):
            x = uniform_points(rng, b, self.n)
            d = self(x) - self(correlated_points(rng, x, 1 - 2 * float(delta)))
            return d * d / 4

        return _estimate(f"NS_{delta}[{self.name}] (MC)", draw, samples, seed,
                         self._range(0.0, 1.0))

    def influence(self, i: int, samples: int = 100_000, seed: int = 0) -> Estimate:
        """Estimate of ``Inf_i[f]`` (1-based ``i``)."""
        i = check_int(i, "i", lo=1, hi=self.n)

        def draw(rng, b):
            x = uniform_points(rng, b, self.n)
            xf = x.copy()
            xf[:, i - 1] *= -1
            d = (self(x) - self(xf)) / 2
            return d * d

        return _estimate(f"Inf_{i}[{self.name}] (MC)", draw, samples, seed,
                         self._range(0.0, 1.0))

    def total_influence(self, samples: int = 100_000, seed: int = 0) -> Estimate:
        """Estimate of ``I[f]`` (``= as(f)`` for ±1-valued f; divide by n for as/n)."""

        def draw(rng, b):
            x = uniform_points(rng, b, self.n)
            idx = rng.integers(0, self.n, b)
            xf = x.copy()
            xf[np.arange(b), idx] *= -1
            d = (self(x) - self(xf)) / 2
            return self.n * d * d

        return _estimate(f"I[{self.name}] (MC)", draw, samples, seed,
                         self._range(0.0, float(self.n)))


__all__ = ["Estimate", "SampledFunction", "correlated_points", "uniform_points"]
