"""Point recurrence of the mean-field moments, in float (numpy) and in mpmath.

Both interpret a :class:`~nstheory.propagation.model.Model` with the rules of
:mod:`nstheory.propagation.rules`; attention patterns take their limit values (identity /
low-rank: ``s = w = 1, t = t2 = 0``; random: hard argmax, ``w = 1``, ``s = s_n(r^2)`` with
``r = (C - D) / (Q - P)`` the tokens' correlation, ``t = t2 = 1/n``), except random-``W``
attention with a head dimension ``d`` (``Attention(d=...)``), whose pattern moments are those
of a softmax of Gaussian logits at that ``d``
(:func:`nstheory.attention.pattern_moments.finite_d_pattern`, float accuracy in both
backends).

Also here: the paper's own recurrence ``rho_L = kappa(rho_{L-1})`` (Haris et al. §2.5), which
feeds
the *raw* cross-moment back in as the next correlation. It is not the mean-field of a network
(see :func:`paper_relu_recurrence`).

Examples
--------
>>> import mpmath
>>> from nstheory.propagation.model import mlp
>>> [round(s.C, 6) for s in point_recurrence(mlp(3, sigma2=2.0), 0.0)]
[0.0, 0.31831, 0.493731, 0.604826]
>>> print(mpmath.nstr(paper_relu_recurrence(1.0, 60, backend="mpmath")[-1], 20))
0.21723362821122165741
"""

from __future__ import annotations

import math

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.propagation.model import Model
from nstheory.propagation.rules import Backend, State, propagate


def _limit_pattern(layer, st: State, n: int, sn_fn, one, zero):
    """``(s, w, t, t2)``: identity/low-rank patterns in their limit; random-``W`` softmax at the
    layer's ``d``, or in the hard-argmax limit (``d = None``): ``w = 1`` and ``s, t, t2`` the
    argmax consistency ``s_n`` at the logit correlations of
    :func:`~nstheory.attention.pattern_moments.logit_correlations` (tokens' Gram matrices at
    their averages; exact for the first random-``W`` layer, a moment closure after a
    non-linear layer has acted on its output)."""
    if layer.mode in ("identity", "lowrank"):
        return one, one, zero, zero
    from nstheory.attention.pattern_moments import finite_d_pattern, logit_correlations

    if layer.d is not None:  # softmax of Gaussian logits at the layer's d
        pm = finite_d_pattern(n, layer.d, layer.scale, st.Q, st.P, st.C, st.D)
        num = type(one)
        return num(pm.s), num(pm.w), num(pm.t), num(pm.t2)
    r_s, r_t, r_t2 = logit_correlations(st.Q, st.P, st.C, st.D)
    return sn_fn(n, r_s), one, sn_fn(n, r_t), sn_fn(n, r_t2)


class FloatBackend(Backend):
    """IEEE double arithmetic (numpy for the activation maps).

    Examples
    --------
    The ReLU pair moment at correlation 0 and unit variances is ``E[ReLU(U)]^2 = 1/(2 pi)``:

    >>> import math
    >>> from nstheory.propagation.maps import activation
    >>> b = FloatBackend()
    >>> abs(b.act_pair(activation("relu"), 0.0, 1.0) - 1 / (2 * math.pi)) < 1e-15
    True
    >>> b.act_second(activation("relu"), 1.0)
    0.5
    """

    def num(self, x):
        return float(x)

    def act_pair(self, act, c, q):
        r = min(1.0, max(-1.0, c / q))
        return float(act.raw_float(r, q, q))

    def act_second(self, act, q):
        return float(act.raw_float(1.0, q, q))

    def act_mean(self, act, q):
        return _mean_sign(act, q) * math.sqrt(max(0.0, float(act.raw_float(0.0, q, q))))

    def pattern(self, layer, st, n):
        from nstheory.propagation.maps import consistency_float

        return _limit_pattern(layer, st, n, consistency_float, 1.0, 0.0)


class MpBackend(Backend):
    """mpmath arithmetic at ``dps`` decimal digits (plus guard digits inside the maps).

    Parameters
    ----------
    dps : int, optional
        Decimal digits (``>= 5``).

    Examples
    --------
    >>> import mpmath
    >>> from nstheory.propagation.maps import activation
    >>> with mpmath.workdps(40):
    ...     v = MpBackend(40).act_pair(activation("relu"), mpmath.mpf(0), mpmath.mpf(1))
    ...     err = abs(v - 1 / (2 * mpmath.pi))
    >>> err < mpmath.mpf(10) ** -38
    True
    """

    def __init__(self, dps: int = 30):
        self.dps = check_int(dps, "dps", lo=5)

    def num(self, x):
        """Floats are taken at their exact binary value (as the arb route does); strings are
        read at the working precision."""
        import mpmath

        return mpmath.mpf(x)

    def act_pair(self, act, c, q):
        import mpmath

        r = min(mpmath.mpf(1), max(mpmath.mpf(-1), c / q))
        return act.raw(r, q, q, self.dps + 10)

    def act_second(self, act, q):
        return act.raw(1, q, q, self.dps + 10)

    def act_mean(self, act, q):
        import mpmath

        return _mean_sign(act, q) * mpmath.sqrt(max(0, act.raw(0, q, q, self.dps + 10)))

    def pattern(self, layer, st, n):
        import mpmath

        from nstheory.propagation.maps import consistency_mp

        def sn(nn, r):
            return consistency_mp(nn, r, self.dps + 10)

        return _limit_pattern(layer, st, n, sn, mpmath.mpf(1), mpmath.mpf(0))


def _mean_sign(act, q) -> int:
    """Sign of ``E phi(sqrt(q) U)`` from the certified mean (0 if it encloses 0)."""
    from flint import arb

    from nstheory.numerics import arb_precision

    with arb_precision(bits=64):
        m = act.mean_arb(arb(str(q)))
    if m > 0:
        return 1
    if m < 0:
        return -1
    return 0


def point_recurrence(model: Model, rho, backend: str = "float", dps: int = 30) -> list[State]:
    """Mean-field states after each block (index 0 = the input) at input correlation ``rho``.

    ``backend``: ``"float"`` or ``"mpmath"`` (at ``dps`` digits). ``rho`` and the model's
    float parameters are taken at their exact binary values; pass ``rho`` as a string for a
    decimal value at ``dps`` digits in mpmath.

    Random-``W`` attention: the rules take the tokens' Gram matrices at their averages, which is
    the mean field up to the first layer acting non-linearly on a random attention layer's
    output; after it they are a moment closure (the random softmax pattern does not
    concentrate), and the mean field is the pattern-resolved route
    (:mod:`~nstheory.propagation.pattern_resolved`).

    Parameters
    ----------
    model : Model
        The architecture.
    rho : float or str
        Input correlation.
    backend : str, optional
        ``float`` or ``mpmath``.
    dps : int, optional
        Digits for ``mpmath``.

    Returns
    -------
    list of State
        ``depth + 1`` states with fields ``Q, M, C, D, P``.

    Examples
    --------
    One He-initialised ReLU layer gives ``C = 2 kappa(rho)``, the arc-cosine kernel; the two
    backends agree:

    >>> import math
    >>> from nstheory.propagation.model import mlp
    >>> r = 0.3
    >>> kappa = (math.sqrt(1 - r * r) + (math.pi - math.acos(r)) * r) / (2 * math.pi)
    >>> s = point_recurrence(mlp(1, sigma2=2.0), r)
    >>> len(s), abs(s[1].C - 2 * kappa) < 1e-14
    (2, True)
    >>> t = point_recurrence(mlp(1, sigma2=2.0), r, backend="mpmath", dps=30)
    >>> abs(float(t[1].C) - s[1].C) < 1e-14
    True
    """
    check_rho(rho)
    if backend == "float":
        return propagate(FloatBackend(), model, rho)
    if backend == "mpmath":
        import mpmath

        with mpmath.workdps(dps):
            return propagate(MpBackend(dps), model, mpmath.mpf(rho))
    raise NSTheoryError(f"backend must be 'float' or 'mpmath', got {backend!r}")


def paper_relu_recurrence(rho, depth: int, backend: str = "float", dps: int = 30) -> list:
    """The paper's recurrence ``rho_L = kappa(rho_{L-1})``, ``rho_0 = rho`` (Haris et al. §2.5),
    with ``kappa(r) = E[relu(U) relu(V)]`` at unit variances and correlation ``r``.

    It feeds the raw (uncentred) cross-moment back in as a correlation while resetting the
    second moment to 1: no layer of a network does that (a ReLU layer halves ``Q``; He scaling
    doubles ``C`` too). Returns ``[rho_0, ..., rho_depth]``.

    Parameters
    ----------
    rho : float or str
        Starting correlation.
    depth : int
        Number of steps.
    backend : str, optional
        ``float`` or ``mpmath``.
    dps : int, optional
        Digits for ``mpmath``.

    Returns
    -------
    list
        ``depth + 1`` values.

    Examples
    --------
    From ``rho = 1`` the first step is ``kappa(1) = E[ReLU(U)^2] = 1/2``, and the sequence
    settles at the fixed point ``rho* = kappa(rho*)``:

    >>> seq = paper_relu_recurrence(1.0, 60)
    >>> seq[:2]
    [1.0, 0.5]
    >>> r = seq[-1]
    >>> kappa = (math.sqrt(1 - r * r) + (math.pi - math.acos(r)) * r) / (2 * math.pi)
    >>> round(r, 10), abs(kappa - r) < 1e-14
    (0.2172336282, True)
    """
    from nstheory.propagation.maps import activation

    check_rho(rho)
    depth = check_int(depth, "depth", lo=0, hi=10**6)  # one value per layer is kept
    act = activation("relu")
    if backend == "float":
        out = [float(rho)]
        for _ in range(depth):
            out.append(float(act.raw_float(out[-1], 1.0, 1.0)))
        return out
    if backend == "mpmath":
        import mpmath

        with mpmath.workdps(dps):
            out = [mpmath.mpf(rho)]
            for _ in range(depth):
                out.append(act.raw(out[-1], 1, 1, dps + 10))
            return out
    raise NSTheoryError(f"backend must be 'float' or 'mpmath', got {backend!r}")
