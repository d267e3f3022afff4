"""Spectral concentration, the Markov (influence) tail bound, and Lemma 1 of Haris et al.

* f is ``(eps, T)``-spectrally concentrated if ``W^{>=T}[f] <= eps ||f||^2`` (relative, the
  reading of Haris et al. §1.4 [REC]); :func:`concentration_degree` is the least such ``T``.
* Markov: ``W^{>=k}[f] <= I[f] / k`` (:func:`influence_tail_bound`).
* Lemma 1 (Haris et al. §2.1). If ``Stab_rho(f) >= (1 - delta) ||f||^2`` then, since
  ``||f||^2 - Stab_rho = sum_k (1 - rho^k) W^k >= (1 - rho^T) W^{>=T}``,

  ``W^{>=T} <= (||f||^2 - Stab_rho) / (1 - rho^T) <= delta ||f||^2 / (1 - rho^T)``
  (:func:`stability_tail_bound`), hence ``(eps, T)``-concentration for every
  ``T >= log_rho(1 - delta/eps)`` (0 < delta < eps, 0 < rho < 1). The paper's main text prints
  ``T >= log_{1/rho}(1 - delta/eps)``, which is negative (a sign error):
  :func:`lemma1_threshold` gives both forms.

Examples
--------
>>> import mpmath
>>> mpmath.nstr(lemma1_threshold(0.9, 0.01, 0.05), 8)
'2.1179049'
>>> mpmath.nstr(lemma1_threshold(0.9, 0.01, 0.05, form="printed"), 8)
'-2.1179049'
"""

from __future__ import annotations

from fractions import Fraction

from nstheory.boolean.analysis import stability, total_influence, weights
from nstheory.boolean.function import as_function
from nstheory.errors import NSTheoryError, check_int, check_probability, check_rho


def concentration_degree(f, eps) -> int:
    """Least ``T >= 0`` with ``W^{>=T}[f] <= eps ||f||^2`` (``deg f + 1`` always works).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    eps : rational in [0, 1]
        Allowed relative tail weight.

    Returns
    -------
    int

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> concentration_degree(majority(3), Fraction(1, 4)), concentration_degree(majority(3), 0)
    (2, 4)
    """
    check_probability(eps, "eps")
    f = as_function(f)
    w = weights(f)
    norm = sum(w, Fraction(0))
    e = Fraction(eps)
    tail = norm
    for T in range(f.n + 2):
        if tail <= e * norm:
            return T
        tail -= w[T] if T <= f.n else 0
    return f.n + 1  # pragma: no cover - tail reaches 0 after degree n


def is_spectrally_concentrated(f, eps, T: int) -> bool:
    """Whether ``W^{>=T}[f] <= eps ||f||^2``.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    eps : rational in [0, 1]
        Allowed relative tail weight.
    T : int
        Degree cut.

    Returns
    -------
    bool

    Examples
    --------
    >>> from nstheory.boolean.zoo import parity
    >>> is_spectrally_concentrated(parity(3), Fraction(1, 2), 3)
    False
    """
    T = check_int(T, "T", lo=0)
    return concentration_degree(f, eps) <= T


def influence_tail_bound(f, k: int) -> Fraction:
    """Markov's bound ``I[f] / k`` on ``W^{>=k}[f]`` (k >= 1).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    k : int
        Degree, ``k >= 1``.

    Returns
    -------
    Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> influence_tail_bound(majority(3), 2)
    Fraction(3, 4)
    """
    k = check_int(k, "k", lo=1)
    return total_influence(f) / k


def stability_tail_bound(f, rho, T: int) -> Fraction:
    """Corrected Lemma 1 bound ``(||f||^2 - Stab_rho[f]) / (1 - rho^T)`` on ``W^{>=T}[f]``
    (exact for rational rho; needs ``0 <= rho < 1``, ``T >= 1``).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    rho : rational
        Correlation, ``0 <= rho < 1``.
    T : int
        Degree cut, ``T >= 1``.

    Returns
    -------
    Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> stability_tail_bound(majority(3), Fraction(1, 2), 3)
    Fraction(19, 28)
    """
    check_rho(rho)
    T = check_int(T, "T", lo=1)
    r = Fraction(rho)
    if not 0 <= r < 1:
        raise NSTheoryError(f"the Lemma 1 tail bound needs 0 <= rho < 1, got {rho}")
    f = as_function(f)
    return (sum(weights(f), Fraction(0)) - stability(f, r)) / (1 - r**T)


def lemma1_threshold(rho, delta, eps, form: str = "corrected", dps: int = 30):
    """Lemma 1's degree threshold ``T*`` as an mpmath number.

    ``form="corrected"``: ``log_rho(1 - delta/eps)`` (positive); ``form="printed"``: the paper's
    main-text ``log_{1/rho}(1 - delta/eps)`` (negative, hence vacuous). Needs ``0 < rho < 1``
    and ``0 < delta < eps``.

    Parameters
    ----------
    rho : number
        Correlation, ``0 < rho < 1``.
    delta, eps : number
        Stability deficit and tail weight, ``0 < delta < eps``.
    form : str, optional
        ``corrected`` or ``printed``.
    dps : int, optional
        Decimal digits.

    Returns
    -------
    mpmath.mpf

    Examples
    --------
    >>> lemma1_threshold(0.9, 0.05, 0.01)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: Lemma 1 needs 0 < delta < eps, got delta=0.05, eps=0.01
    """
    import mpmath

    from nstheory.validate import exact_real

    given = (rho, delta, eps)
    rho, delta, eps = (exact_real(check(v, name), name) for check, v, name in (
        (check_rho, rho, "rho"), (check_probability, delta, "delta"),
        (check_probability, eps, "eps")))
    if not 0 < rho < 1:
        raise NSTheoryError(f"Lemma 1 needs 0 < rho < 1, got {given[0]}")
    if not 0 < delta < eps:
        raise NSTheoryError(f"Lemma 1 needs 0 < delta < eps, got delta={given[1]}, "
                            f"eps={given[2]}")
    if form not in ("corrected", "printed"):
        raise NSTheoryError(f"form must be 'corrected' or 'printed', got {form!r}")
    with mpmath.workdps(dps):
        r, d, e = (mpmath.mpf(v.numerator) / v.denominator for v in (rho, delta, eps))
        base = r if form == "corrected" else 1 / r
        return mpmath.log(1 - d / e) / mpmath.log(base)


__all__ = [
    "concentration_degree",
    "influence_tail_bound",
    "is_spectrally_concentrated",
    "lemma1_threshold",
    "stability_tail_bound",
]
