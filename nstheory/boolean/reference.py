"""Closed-form reference values of the zoo functions, printed beside computed values to teach.

Each entry is a :class:`Reference`: what the number is, its exact value (a ``Fraction``) or its
real value (an mpmath number), and where the formula comes from. The values are computed from
the formula, never from the function's truth table, so a reader can compare the two routes:

* parity ``chi_S``: ``Stab_rho = rho^|S|``, ``I = |S|`` (O'Donnell, ch. 2);
* dictator: ``Stab_rho = rho``, ``I = 1``;
* ``Maj_n``: the exact ``Stab_rho`` by counting agreements (any odd ``n``), Sheppard's limit
  ``(2/pi) arcsin rho``, the ``C(rho)/n`` rate, ``I = n C(n-1, (n-1)/2) / 2^(n-1)``;
* ``Tribes_{w,s}``: ``Inf_i = 2^(1-w) (1 - 2^-w)^(s-1)`` (a coordinate is pivotal when the rest
  of its tribe is True and every other tribe is False), ``I = n Inf_i``;
* ``AND_n`` / ``OR_n``: ``Inf_i = 2^(1-n)``.

Examples
--------
>>> from fractions import Fraction
>>> [r.label for r in references("parity", (5, None), Fraction(1, 2))]
['Stab_rho = rho^|S|', 'I[f] = |S|']
>>> references("tribes", (3, 3), Fraction(1, 2))[0].value
Fraction(49, 256)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import mpmath

from nstheory.boolean.majority_exact import (
    majority_stability,
    majority_total_influence,
    sheppard_limit,
    sheppard_rate_constant,
)

#: Beyond this n the exact Majority count is skipped (it grows like n^2 big-integer sums).
MAJORITY_EXACT_MAX_N = 801


@dataclass(frozen=True)
class Reference:
    """A reference value: ``label`` (what it is), ``value`` and its ``source``.

    Examples
    --------
    Parameters
    ----------
    label : str
        What the value is (a formula in words).
    value : fractions.Fraction or mpmath.mpf
        The exact or real value.
    source : str
        Where the formula comes from.

    Examples
    --------
    >>> r = Reference("Stab_rho = rho^2", Fraction(1, 4), "parity on two bits")
    >>> str(r)
    'Stab_rho = rho^2: 1/4 = 0.25  [parity on two bits]'
    """

    label: str
    value: object
    source: str

    def to_dict(self) -> dict:
        """JSON form: exact values as ``{"exact": "p/q", "float": x}``, reals as decimals.

        >>> Reference("x", Fraction(1, 3), "s").to_dict()["value"]["exact"]
        '1/3'
        """
        from nstheory.numerics import rational_json

        v = self.value
        if isinstance(v, Fraction):
            val = rational_json(v)
        else:
            val = {"decimal": mpmath.nstr(v, 15), "float": float(v)}
        return {"label": self.label, "value": val, "source": self.source}

    def __str__(self) -> str:
        v = self.value
        if isinstance(v, Fraction):
            from nstheory.numerics import rational_digits

            digits = rational_digits(v)
            exact = (str(v) if digits <= 19 and len(str(v)) <= 40
                     else f"(exact rational, ~{digits}-digit terms)")
            shown = f"{exact} = {float(v):.12g}"
        else:
            shown = mpmath.nstr(v, 12)
        return f"{self.label}: {shown}  [{self.source}]"


def references(func: str, args: tuple, rho: Fraction) -> list[Reference]:
    """Closed-form values for the zoo function ``func`` with its integer ``args``.

    ``args`` is ``(n, S)`` for parity (``S`` None = all coordinates), ``(n,)`` for majority,
    dictator, and, or, and ``(w, s)`` for tribes. Unknown functions give ``[]``.

    >>> print(references("dictator", (4,), Fraction(1, 3))[0])
    Stab_rho = rho: 1/3 = 0.333333333333  [O'Donnell ch. 2: dictators have W^1 = 1]
    """
    rho = Fraction(rho)
    if func == "parity":
        n, S = args
        k = n if S is None else len(set(S))
        return [Reference("Stab_rho = rho^|S|", rho**k, "O'Donnell ch. 2: chi_S has W^|S| = 1"),
                Reference("I[f] = |S|", Fraction(k), "each i in S is pivotal everywhere")]
    if func == "dictator":
        return [Reference("Stab_rho = rho", rho, "O'Donnell ch. 2: dictators have W^1 = 1"),
                Reference("I[f] = 1", Fraction(1), "only x_i is ever pivotal")]
    if func == "majority":
        (n,) = args
        out = []
        if n <= MAJORITY_EXACT_MAX_N:
            out.append(Reference("exact Stab_rho[Maj_n]", majority_stability(n, rho),
                                 "count of agreements by |sum| (exact rational)"))
        out.append(Reference("Sheppard's limit (2/pi) arcsin rho", sheppard_limit(rho),
                             "Sheppard's formula, n -> infinity"))
        if abs(rho) < 1:
            c = sheppard_rate_constant(rho)
            out.append(Reference("limit + C(rho)/n, C(rho) = rho/(pi sqrt(1-rho^2))",
                                 sheppard_limit(rho) + c / n, "first-order rate in n"))
        out.append(Reference("I[Maj_n] = n C(n-1,(n-1)/2) / 2^(n-1)",
                             majority_total_influence(n), "pivotal iff the rest ties"))
        return out
    if func == "tribes":
        w, s = args
        inf = Fraction(2, 2**w) * (1 - Fraction(1, 2**w)) ** (s - 1)
        return [Reference("Inf_i = 2^(1-w) (1-2^-w)^(s-1)", inf,
                          "pivotal iff the rest of its tribe is True, all other tribes False"),
                Reference("I[f] = n Inf_i", w * s * inf, "all coordinates symmetric")]
    if func in ("and", "or"):
        (n,) = args
        inf = Fraction(2, 2**n)
        return [Reference("Inf_i = 2^(1-n)", inf, "pivotal iff all other bits are True/False"),
                Reference("I[f] = n 2^(1-n)", n * inf, "all coordinates symmetric")]
    return []


__all__ = ["MAJORITY_EXACT_MAX_N", "Reference", "references"]
