"""The propagation area's interface to the single-layer maps of other areas.

* activations: :func:`nstheory.gaussian.activations.get_activation` gives, for
  pre-activations of variances ``q1, q2`` and correlation ``rho``, the raw map
  ``E[phi(U) phi(V)]`` in float, mpmath and as a certified arb ball, plus the mean and second
  moment;
* the permutation-consistency factor ``s_n(r)`` of random attention:
  :mod:`nstheory.attention.consistency`.

This module only selects those implementations (one place for each concept).

>>> act = activation("relu")
>>> round(float(act.raw_float(1.0, 1.0, 1.0)), 12)
0.5
>>> round(consistency_float(2, 0.25), 10)
0.5804306233
"""

from __future__ import annotations


def activation(name: str):
    """The activation object of the activations area, by name (an error for unknown names).

    Examples
    --------
    At unit variances and ``rho = 0`` the ReLU raw map is ``(E relu(U))^2 = 1 / (2 pi)``:

    >>> import math
    >>> math.isclose(activation("relu").raw_float(0.0, 1.0, 1.0), 1 / (2 * math.pi))
    True
    """
    from nstheory.gaussian.activations import get_activation

    return get_activation(name)


def consistency_mp(n: int, r, dps: int = 30):
    """``s_n(r)`` in mpmath.

    The probability that the argmax of ``n`` i.i.d. pairs of standard normals with
    correlation ``r`` coincides.

    Examples
    --------
    For two tokens it is Sheppard's ``1/2 + arcsin(r) / pi``, which is ``2/3`` at ``r = 1/2``:

    >>> import mpmath
    >>> v = consistency_mp(2, "0.5", dps=30)
    >>> with mpmath.workdps(30):
    ...     bool(abs(v - mpmath.mpf(2) / 3) < mpmath.mpf(10) ** -25)
    True
    """
    from nstheory.attention.consistency import s_n

    return s_n(n, r, dps)


def consistency_float(n: int, r: float) -> float:
    """``s_n(r)`` as a float: the mpmath quadrature, or, where its grid would exceed the time
    budget (``r`` within ~1e-3 of 1 at ``n >= 4``: minutes), the midpoint of the certified ball
    (:func:`~nstheory.attention.certified.s_n_certified`, milliseconds) when that ball resolves
    a double.

    Examples
    --------
    Independent scores (``r = 0``) agree by chance, ``1 / n``:

    >>> round(consistency_float(5, 0.0), 12)
    0.2
    >>> round(consistency_float(4, 0.9998322537), 12)      # the quadrature would take minutes
    0.989382490605
    """
    from nstheory.errors import NSTheoryError

    try:
        return float(consistency_mp(n, r, 17))
    except NSTheoryError as exc:
        from nstheory.attention.certified import s_n_certified

        ball = s_n_certified(n, repr(float(r)))
        if not float(ball.rad()) <= 1e-15 * abs(float(ball.mid())):
            raise exc from None
        return float(ball.mid())


def consistency_arb(n: int, r):
    """Certified ball of ``s_n(r)`` covering every ``r`` in the arb ball ``r`` (any ``n``).

    The closed forms for ``n <= 3``, the certified trapezoid rule of
    :mod:`nstheory.attention.certified` (hull over the ball's endpoints) otherwise.

    Examples
    --------
    >>> import math
    >>> from flint import arb
    >>> ball = consistency_arb(2, arb("0.25"))
    >>> ball.contains(arb(0.5 + math.asin(0.25) / math.pi)) or ball.overlaps(
    ...     arb(0.5 + math.asin(0.25) / math.pi, 1e-15))
    True
    """
    from flint import ctx

    from nstheory.attention.certified import s_n_certified_range
    from nstheory.attention.consistency import s_n_arb

    if n <= 3:
        return s_n_arb(n, r, prec=ctx.prec)
    digits = max(6, min(15, int(ctx.prec * 0.30103) - 3))
    return s_n_certified_range(n, r, digits)
