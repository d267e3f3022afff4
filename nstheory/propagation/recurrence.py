"""Point recurrence of the mean-field moments, in float (numpy) and in mpmath.

Both interpret a :class:`~nstheory.propagation.model.Model` with the rules of
:mod:`nstheory.propagation.rules`; attention patterns take their limit values (identity /
low-rank: ``s = w = 1, t = t2 = 0``; random: hard argmax, ``w = 1``, ``s = s_n(r^2)`` with
``r = (C - D) / (Q - P)`` the tokens' correlation, ``t = t2 = 1/n``).

Also here: the paper's own recurrence ``rho_L = kappa(rho_{L-1})`` (haris2026 §2.5), which feeds
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


def _limit_pattern(layer, st: State, n: int, corr_fn, sn_fn, one, zero):
    if layer.mode in ("identity", "lowrank"):
        return one, one, zero, zero
    r = corr_fn(st)
    inv_n = one / n
    return sn_fn(n, r * r), one, inv_n, inv_n


class FloatBackend(Backend):
    """IEEE double arithmetic (numpy for the activation maps)."""

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

        def corr(s):
            return min(1.0, max(-1.0, (s.C - s.D) / (s.Q - s.P)))

        return _limit_pattern(layer, st, n, corr, consistency_float, 1.0, 0.0)


class MpBackend(Backend):
    """mpmath arithmetic at ``dps`` decimal digits (plus guard digits inside the maps)."""

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

        def corr(s):
            return min(mpmath.mpf(1), max(mpmath.mpf(-1), (s.C - s.D) / (s.Q - s.P)))

        def sn(nn, r):
            return consistency_mp(nn, r, self.dps + 10)

        return _limit_pattern(layer, st, n, corr, sn, mpmath.mpf(1), mpmath.mpf(0))


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
    """The paper's recurrence ``rho_L = kappa(rho_{L-1})``, ``rho_0 = rho`` (haris2026 §2.5),
    with ``kappa(r) = E[relu(U) relu(V)]`` at unit variances and correlation ``r``.

    It feeds the raw (uncentred) cross-moment back in as a correlation while resetting the
    second moment to 1: no layer of a network does that (a ReLU layer halves ``Q``; He scaling
    doubles ``C`` too). Returns ``[rho_0, ..., rho_depth]``.
    """
    from nstheory.propagation.maps import activation

    check_rho(rho)
    depth = check_int(depth, "depth", lo=0)
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
