"""Certified interval propagation of the mean-field moments (python-flint arb balls).

Every quantity of :class:`~nstheory.propagation.rules.State` is an arb ball; arb's arithmetic
is outward rounded, so each reported ``[lo, hi]`` (via :func:`nstheory.numerics.ball_bounds`)
provably contains the mean-field value for every input correlation in the given range and
every attention pattern allowed by the layer (floating-point sound).

Rules on top of plain ball arithmetic:

* activations increasing in the correlation (ReLU: ``increasing_in_rho``) are evaluated at the
  two endpoints of the correlation interval ``c / Q`` (monotone map -> exact endpoint images,
  no dependency blow-up); otherwise the activations area's ball enclosure is used;
* random-``W`` attention with a head dimension ``d`` (``Attention(d=...)``, what
  ``nstheory propagate`` builds, ``d`` = the width): the pattern moments of a softmax of
  Gaussian logits at that ``d`` (:func:`nstheory.attention.pattern_moments.finite_d_pattern_balls`:
  certified enclosures at the state's midpoint, :mod:`nstheory.attention.certified_softmax`,
  widened by proved Lipschitz bounds times the state's radius, plus ``eps``). The interval
  then contains the mean-field value *at that* ``d`` (token Gram matrices concentrated, logits
  exactly Gaussian over ``W``);
* otherwise attention pattern moments are intervals: identity / low-rank ``s, w in [1 - eps, 1]``,
  ``t, t2 in [0, eps]`` (``eps = pattern_slack``); random: ``w in [1 - eps, 1]``,
  ``s in s_n(r^2) +- eps`` while the tokens are independent and centred (``M = D = P = 0``;
  ``s_n`` a certified enclosure for every ``n``, see :mod:`nstheory.attention.certified`)
  and ``s in [0, 1]`` afterwards, ``t, t2 in [0, 1]``. Any pattern whatsoever is covered by
  ``s, w, t, t2 in [0, 1]``, which is what ``pattern_slack = 1`` gives. ``eps`` is an explicit
  user choice (default 0): with ``eps = 0`` the intervals contain the mean-field value of the
  *hard-argmax* (``d -> infinity``) pattern limit of Theorems 5.2/5.3, not a finite-``d``
  softmax value;
* after every primitive layer each state is intersected with what holds for any network
  (:meth:`ArbBackend.clamp`): ``Q >= 0``, ``M^2 <= Q`` and Cauchy--Schwarz ``|C|, |D|, |P| <= Q``.

Precision: ``bits`` is the precision of the *reported* intervals. The arithmetic runs with
``guard_bits`` extra bits (like any careful multi-precision code) and every reported ball is
then rounded outward to ``bits`` bits, so a point input's width stays at a few units in the
last place of ``bits`` at every depth instead of accumulating the rounding of each layer. An
interval is one arb ball ``mid +- rad``; arb stores ``rad`` with a 30-bit mantissa, so a
*wide* interval's endpoints are rounded outward by about ``2^-30`` of its width at each rule
(sound either way).

Examples
--------
>>> from nstheory.propagation.model import mlp
>>> states = interval_propagation(mlp(2, sigma2=2.0), 0.5)
>>> bounds(states[1].C, 12)
('0.608997781044', '0.608997781045')
>>> bounds(states[1].C, 12)[0] < bounds(states[2].C, 12)[0]
True
"""

from __future__ import annotations

from nstheory.errors import NSTheoryError, check_int, check_rho
from nstheory.numerics import arb_precision, ball_bounds
from nstheory.propagation.model import Model
from nstheory.propagation.rules import Backend, State, initial_state, propagate


def hull(lo, hi):
    """The smallest ball containing the balls ``lo`` and ``hi``.

    Examples
    --------
    >>> from flint import arb
    >>> h = hull(arb(1), arb(3))
    >>> h.contains(arb(1)) and h.contains(arb(3)) and h.contains(arb(2))
    True
    """
    return lo.union(hi)


def _unit():
    from flint import arb

    return arb(0).union(arb(1))


def endpoints(ball, lo=None, hi=None):
    """Exact endpoints ``(a, b)`` (zero-radius balls) of ``ball``, clamped to ``[lo, hi]``.

    Raises
    ------
    NSTheoryError
        If the ball misses the range ``[lo, hi]``.

    Examples
    --------
    >>> from flint import arb
    >>> a, b = endpoints(arb(0).union(arb(2)), hi=1)
    >>> float(a) <= 0.0, float(b), a.rad() == 0
    (True, 1.0, True)
    >>> endpoints(arb(2), hi=1)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: interval 2.00000000000000 lies above 1
    """
    from flint import arb

    a, b = ball.lower(), ball.upper()
    if lo is not None:
        if b < lo:
            raise NSTheoryError(f"interval {ball} lies below {lo}")
        a = arb(lo) if a < lo else a
    if hi is not None:
        if a > hi:
            raise NSTheoryError(f"interval {ball} lies above {hi}")
        b = arb(hi) if b > hi else b
    return a, b


class ArbBackend(Backend):
    """arb-ball arithmetic at the ambient precision (set by :func:`interval_propagation`).

    Every rule of :mod:`nstheory.propagation.rules` evaluated on this backend gives
    a ball that contains the exact mean-field value for every input in range.

    Examples
    --------
    >>> from flint import arb
    >>> b = ArbBackend()
    >>> m = b.mix(arb("0.25"), arb(1), arb(0))
    >>> m.contains(arb("0.25"))
    True
    >>> b.num((0.0, 1.0)).contains(arb("0.5"))
    True
    """

    def num(self, x):
        from flint import arb

        if isinstance(x, tuple):
            return hull(self.num(x[0]), self.num(x[1]))
        if isinstance(x, float):
            return arb(x)  # exact binary value of the double
        return arb(str(x)) if not hasattr(x, "mid") else x

    def mix(self, s, a, b):
        """Exact image of ``s a + (1 - s) b`` over the balls: increasing in ``a`` and ``b``
        (weights ``s, 1 - s >= 0``) and linear in ``s``, so the extremes sit at corners."""
        s0, s1 = endpoints(s, 0, 1)
        a0, a1 = endpoints(a)
        b0, b1 = endpoints(b)
        los = [b0 + sv * (a0 - b0) for sv in (s0, s1)]
        his = [b1 + sv * (a1 - b1) for sv in (s0, s1)]
        lo = los[0].union(los[1]).lower()  # the union's lower end is <= both (no float keys)
        hi = his[0].union(his[1]).upper()
        return hull(lo, hi)

    def act_pair(self, act, c, q):
        a, b = endpoints(c / q, -1, 1)
        if getattr(act, "increasing_in_rho", False):
            return hull(act.raw_arb(a, q, q), act.raw_arb(b, q, q))
        return act.raw_arb(hull(a, b), q, q)

    def act_second(self, act, q):
        return act.second_moment_arb(q)

    def act_mean(self, act, q):
        return act.mean_arb(q)

    def clamp(self, st, n_tokens):
        """Intersect with what holds for any network: ``Q >= 0``, ``M^2 <= Q`` and, by
        Cauchy--Schwarz (``X`` and ``Y`` have the same law), ``|C|, |D|, |P| <= Q``. An
        empty intersection (a rule that left the possible range) raises ``ValueError``."""
        from dataclasses import replace

        from flint import arb

        q = st.Q.intersection(arb(0).union(st.Q.upper()))
        qh = q.upper()
        box = (-qh).union(qh)
        mh = qh.sqrt().upper()
        st = replace(st, Q=q, M=st.M.intersection((-mh).union(mh)), C=st.C.intersection(box))
        if n_tokens > 1:  # D and P are cross-token moments (unused for one token)
            st = replace(st, D=st.D.intersection(box), P=st.P.intersection(box))
        return st

    def pattern(self, layer, st, n):
        from flint import arb

        if layer.mode == "random" and layer.d is not None:
            from nstheory.attention.pattern_moments import finite_d_pattern_balls

            return finite_d_pattern_balls(n, layer.d, layer.scale, st.Q, st.P, st.C, st.D,
                                          layer.pattern_slack)
        eps = arb(layer.pattern_slack)
        one, zero = arb(1), arb(0)
        near_one = hull(one - eps, one)
        # any softmax row has w = sum_k A_ik^2 >= 1/n (Cauchy-Schwarz), whatever the slack
        w = hull(one / n, one) if one - eps < one / n else near_one
        if layer.mode in ("identity", "lowrank"):
            return near_one, w, hull(zero, eps), hull(zero, eps)
        if st.M.is_zero() and st.D.is_zero() and st.P.is_zero():
            from nstheory.propagation.maps import consistency_arb

            a, b = endpoints(st.C / st.Q, -1, 1)
            r2 = hull(a * a, b * b)
            if a < 0 < b:  # s_n(r^2) is smallest at r = 0
                r2 = hull(r2, zero)
            sb = consistency_arb(n, r2)  # certified, covers every r^2 in the ball
            s = hull(*endpoints(hull(sb - eps, sb + eps), 0, 1))
        else:
            s = _unit()
        return s, w, _unit(), _unit()


def round_outward(ball, bits: int):
    """The ball rounded to ``bits`` bits of precision, enlarged so it still contains ``ball``.

    >>> from flint import arb
    >>> b = arb(1) / 3
    >>> r = round_outward(b, 20)
    >>> r.contains(b), float(r.rad()) > float(b.rad())
    (True, True)
    """
    with arb_precision(bits=bits):
        return ball + 0  # arb rounds the midpoint to ``bits`` and adds the error to the radius


def interval_propagation(
    model: Model, rho, bits: int = 53, guard_bits: int = 32
) -> list[State]:
    """Certified mean-field states (arb balls) after each block, index 0 = the input.

    Parameters
    ----------
    model : Model
        The stack to propagate.
    rho : float or tuple
        A number or a pair ``(lo, hi)`` (every input correlation in the range).
    bits : int, optional
        Precision of the reported balls (each rounded outward to it).
    guard_bits : int, optional
        The arithmetic runs at ``bits + guard_bits``. Results are sound at any
        precision; only their width changes.

    Returns
    -------
    list of State

    Examples
    --------
    One He-initialised ReLU layer at ``rho = 0`` gives the arc-cosine value ``1 / pi``:

    >>> import math
    >>> from nstheory.propagation.model import mlp
    >>> states = interval_propagation(mlp(1), 0.0)
    >>> lo, hi = bounds(states[1].C)
    >>> float(lo) <= 1 / math.pi <= float(hi)
    True
    >>> interval_propagation(mlp(1), (0.6, 0.5))
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: rho interval must have lo <= hi, got (0.6, 0.5)
    """
    bits = check_int(bits, "bits", lo=16)
    guard_bits = check_int(guard_bits, "guard_bits", lo=0)
    if isinstance(rho, tuple):
        check_rho(rho[0])
        check_rho(rho[1])
        if rho[0] > rho[1]:
            raise NSTheoryError(f"rho interval must have lo <= hi, got {rho}")
    else:
        check_rho(rho)
    backend = ArbBackend()
    with arb_precision(bits=bits + guard_bits):
        states = propagate(backend, model, rho, initial_state(backend, rho, model.n_tokens))
    return [_round_state(st, bits) for st in states]


def _round_state(st: State, bits: int) -> State:
    from dataclasses import replace

    return replace(
        st, **{k: round_outward(getattr(st, k), bits) for k in ("Q", "M", "C", "D", "P")}
    )


def paper_relu_intervals(rho, depth: int, bits: int = 53, guard_bits: int = 32) -> list:
    """Certified enclosures of the paper's recurrence ``rho_L = kappa(rho_{L-1})``.

    See :func:`nstheory.propagation.recurrence.paper_relu_recurrence`. ``kappa`` is
    increasing, so endpoint images are exact. Computed at ``bits + guard_bits`` and
    rounded outward to ``bits``.

    Parameters
    ----------
    rho : float or tuple
        A number or a range ``(lo, hi)``.
    depth : int
        Number of steps.
    bits, guard_bits : int, optional
        Reported and guard precision.

    Returns
    -------
    list
        ``depth + 1`` arb balls, index 0 = the input.

    Examples
    --------
    >>> import math
    >>> out = paper_relu_intervals(0.5, 1)
    >>> # kappa(r) = E[relu(U) relu(V)] = (sqrt(1 - r^2) + (pi - arccos r) r) / (2 pi)
    >>> kappa = (math.sqrt(0.75) + (math.pi - math.acos(0.5)) * 0.5) / (2 * math.pi)
    >>> len(out), float(out[1].lower()) <= kappa <= float(out[1].upper())
    (2, True)
    """
    from nstheory.propagation.maps import activation

    depth = check_int(depth, "depth", lo=0)
    act = activation("relu")
    backend = ArbBackend()
    with arb_precision(bits=bits + guard_bits):
        from flint import arb

        one = arb(1)
        cur = backend.num(rho)
        out = [cur]
        for _ in range(depth):
            cur = backend.act_pair(act, cur, one)
            out.append(cur)
    return [round_outward(b, bits) for b in out]


def bounds(ball, digits: int = 17) -> tuple[str, str]:
    """Outward-rounded decimal ``(lo, hi)`` of a ball (:func:`nstheory.numerics.ball_bounds`).

    Examples
    --------
    >>> from flint import arb
    >>> lo, hi = bounds(arb(1) / 3, digits=5)
    >>> float(lo) <= 1 / 3 <= float(hi)
    True
    """
    return ball_bounds(ball, digits)


def width(ball) -> float:
    """Width ``hi - lo`` of a ball as a float (rounded up).

    Examples
    --------
    >>> from flint import arb
    >>> w = width(arb(0).union(arb(2)))
    >>> width(arb(1)), 2.0 <= w < 2.0 + 1e-8
    (0.0, True)
    """
    return float(2 * ball.rad()) if ball.rad() != 0 else 0.0
