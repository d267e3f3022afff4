"""Mean-field propagation rules, written once and interpreted by every numeric backend.

State after a layer (infinite-width limit, per coordinate ``j``, tokens exchangeable, ``X`` and
``Y`` of the same law so their second moments coincide):

=====  ==========================================================================
``Q``  second moment ``E[h(X)_{ij}^2]`` (= ``E[h(Y)_{ij}^2]``)
``M``  mean ``E[h(X)_{ij}]``
``C``  cross-moment ``E[h(X)_{ij} h(Y)_{ij}]``: **the noise stability, raw (uncentred) view**
``D``  cross-token cross-moment ``E[h(X)_{ij} h(Y)_{i'j}]``, ``i != i'``
``P``  cross-token second moment ``E[h(X)_{ij} h(X)_{i'j}]``, ``i != i'``
=====  ==========================================================================

Initial state (inputs with i.i.d. N(0, 1) entries, rho-correlated): ``Q = 1, M = 0, C = rho,
D = P = 0``. Rules (each holds in the mean-field limit under the stated assumption):

* ``Dense(sigma2)``: every second moment times ``sigma2``, ``M = 0``; the output is Gaussian
  given the input (zero-mean i.i.d. weights, concentration of ``|h|^2 / width``).
* ``Act(phi)``: needs a Gaussian stream (pre-activations). ``Q' = E phi(sqrt(Q) U)^2``,
  ``M' = E phi(sqrt(Q) U)``, and each pair moment ``c -> E[phi(sqrt(Q) U) phi(sqrt(Q) V)]``
  with ``corr(U, V) = c / Q`` (the activations area's raw map).
* ``LayerNorm``: ``Q' = 1, M' = 0``, pair moments ``(c - M^2) / (Q - M^2)`` (with ``eps``:
  ``Q' = v / (v + eps)`` and pair moments over ``v + eps``, ``v = Q - M^2``) (channel mean and
  variance concentrate on ``M`` and ``Q - M^2``).
* ``Attention(gamma2)`` with pattern moments ``s = E sum_k A_ik(X) A_ik(Y)``,
  ``w = E sum_k A_ik(X)^2``, ``t = E sum_k A_ik(X) A_i'k(Y)``, ``t2 = E sum_k A_ik(X) A_i'k(X)``
  (``i != i'``): ``C' = gamma2 (s C + (1-s) D)``, ``Q' = gamma2 (w Q + (1-w) P)``,
  ``D' = gamma2 (t C + (1-t) D)``, ``P' = gamma2 (t2 Q + (1-t2) P)``, ``M' = 0``. Valid for
  any attention pattern, because the rows of ``A`` sum to 1 and channel averages concentrate.
* ``Residual(branch)``: the branch ends with fresh zero-mean weights, so skip and branch are
  uncorrelated: every moment adds, ``M' = M``.

The backend supplies the numbers: floats, mpmath ``mpf`` or arb balls (whose arithmetic is
outward rounded, so the same algebra gives certified enclosures), plus the activation and
attention-pattern evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nstheory.errors import NSTheoryError
from nstheory.propagation.model import Act, Attention, Dense, LayerNorm, Model, Residual


@dataclass(frozen=True)
class State:
    """Mean-field moments after a layer (see the module docstring).

    Parameters
    ----------
    Q, M, C, D, P
        Second moment, mean, cross-moment (the raw stability), cross-token
        cross-moment and cross-token second moment, in the backend's number type.
    gaussian : bool, optional
        Whether the stream is jointly Gaussian (required by an activation).

    Examples
    --------
    >>> st = State(Q=2.0, M=1.0, C=1.5, D=0.0, P=0.0)
    >>> st.normalised(), st.centred()
    (0.75, 0.5)
    """

    Q: object
    M: object
    C: object
    D: object
    P: object
    gaussian: bool = True

    def normalised(self):
        """Correlation view ``C / Q`` (the C-map of signal propagation)."""
        return self.C / self.Q

    def centred(self):
        """Centred-and-normalised view ``(C - M^2) / (Q - M^2)``."""
        m2 = self.M * self.M
        return (self.C - m2) / (self.Q - m2)


class Backend:
    """Numeric backend interface.

    ``num(x)`` converts a Python float/str to the backend type; ``act_pair``,
    ``act_second``, ``act_mean`` evaluate an activation; ``pattern`` returns the
    attention pattern moments ``(s, w, t, t2)``. Point backends inherit the
    identity ``clamp`` and the plain convex combination ``mix``.

    Examples
    --------
    >>> Backend().mix(0.25, 1.0, 0.0)
    0.25
    >>> Backend().num(1.0)
    Traceback (most recent call last):
    ...
    NotImplementedError
    """

    def num(self, x):  # pragma: no cover - interface
        raise NotImplementedError

    def mix(self, s, a, b):
        """The convex combination ``s a + (1 - s) b`` (``0 <= s <= 1``)."""
        return b + s * (a - b)

    def act_pair(self, act, c, q):  # pragma: no cover - interface
        raise NotImplementedError

    def act_second(self, act, q):  # pragma: no cover - interface
        raise NotImplementedError

    def act_mean(self, act, q):  # pragma: no cover - interface
        raise NotImplementedError

    def pattern(self, layer: Attention, state: State, n_tokens: int):  # pragma: no cover
        raise NotImplementedError

    def clamp(self, state: State, n_tokens: int) -> State:
        """Intersect a state with constraints every network satisfies (interval backends);
        the identity for point backends."""
        return state


def initial_state(backend: Backend, rho, n_tokens: int) -> State:
    """Inputs with i.i.d. N(0, 1) entries, correlation ``rho`` between X and Y.

    Examples
    --------
    >>> from nstheory.propagation.recurrence import FloatBackend
    >>> st = initial_state(FloatBackend(), 0.5, 4)
    >>> (st.Q, st.M, st.C, st.D, st.P, st.gaussian)
    (1.0, 0.0, 0.5, 0.0, 0.0, True)
    """
    z = backend.num(0)
    return State(backend.num(1), z, backend.num(rho), z, z, True)


def apply_layer(backend: Backend, layer, st: State, n_tokens: int) -> State:
    """Apply one primitive layer's rule.

    Raises
    ------
    NSTheoryError
        For an activation on a non-Gaussian stream, or an unknown layer.

    Examples
    --------
    A dense layer scales every second moment by ``sigma2`` and zeroes the mean;
    LayerNorm then restores ``Q = 1``:

    >>> from nstheory.propagation.model import Dense, LayerNorm
    >>> from nstheory.propagation.recurrence import FloatBackend
    >>> b = FloatBackend()
    >>> st = apply_layer(b, Dense(2.0), initial_state(b, 0.5, 1), 1)
    >>> st.Q, st.C
    (2.0, 1.0)
    >>> st = apply_layer(b, LayerNorm(), st, 1)
    >>> st.Q, st.C
    (1.0, 0.5)
    """
    if isinstance(layer, Dense):
        g = backend.num(layer.sigma2)
        z = backend.num(0)
        return State(g * st.Q, z, g * st.C, g * st.D, g * st.P, True)
    if isinstance(layer, Act):
        if not st.gaussian:
            raise NSTheoryError(
                f"activation {layer.name!r} applied to a non-Gaussian stream: the mean-field rule "
                "needs Gaussian pre-activations (put a Dense or Attention layer before it)"
            )
        from nstheory.propagation.maps import activation

        act = activation(layer.name)
        q = st.Q
        multi = n_tokens > 1
        return State(
            backend.act_second(act, q),
            backend.act_mean(act, q),
            backend.act_pair(act, st.C, q),
            backend.act_pair(act, st.D, q) if multi else st.D,
            backend.act_pair(act, st.P, q) if multi else st.P,
            False,
        )
    if isinstance(layer, LayerNorm):
        m2 = st.M * st.M
        v = st.Q - m2
        z = backend.num(0)
        if layer.eps:  # the empirical variance concentrates at v: divide by v + eps
            den = v + backend.num(layer.eps)
            return State(v / den, z, (st.C - m2) / den, (st.D - m2) / den, (st.P - m2) / den,
                         st.gaussian)
        return State(backend.num(1), z, (st.C - m2) / v, (st.D - m2) / v, (st.P - m2) / v,
                     st.gaussian)
    if isinstance(layer, Attention):
        s, w, t, t2 = backend.pattern(layer, st, n_tokens)
        g = backend.num(layer.gamma2)
        z = backend.num(0)
        mix = backend.mix
        return State(
            g * mix(w, st.Q, st.P),
            z,
            g * mix(s, st.C, st.D),
            g * mix(t, st.C, st.D),
            g * mix(t2, st.Q, st.P),
            True,
        )
    if isinstance(layer, Residual):
        b = st
        for sub in layer.branch:
            b = backend.clamp(apply_layer(backend, sub, b, n_tokens), n_tokens)
        return State(st.Q + b.Q, st.M + b.M, st.C + b.C, st.D + b.D, st.P + b.P, st.gaussian)
    raise NSTheoryError(f"unknown layer {layer!r}")


def propagate(backend: Backend, model: Model, rho, state: State | None = None) -> list[State]:
    """States after each block of ``model`` (index 0 = the input).

    Parameters
    ----------
    backend : Backend
        Number type and evaluations (float, mpmath or arb).
    model : Model
        The stack.
    rho : float
        Input correlation (ignored when ``state`` is given).
    state : State, optional
        Initial state.

    Examples
    --------
    One He-initialised ReLU block keeps ``Q = 1`` and maps ``rho = 0`` to ``1 / pi``:

    >>> import math
    >>> from nstheory.propagation.model import mlp
    >>> from nstheory.propagation.recurrence import FloatBackend
    >>> states = propagate(FloatBackend(), mlp(1), 0.0)
    >>> len(states), math.isclose(states[1].Q, 1.0), math.isclose(states[1].C, 1 / math.pi)
    (2, True, True)
    """
    from nstheory.progress import progress

    st = initial_state(backend, rho, model.n_tokens) if state is None else state
    out = [st]
    for block in progress(model.blocks, desc=f"propagate ({type(backend).__name__})",
                          unit="block", delay=2.0):
        for layer in block:
            st = backend.clamp(apply_layer(backend, layer, st, model.n_tokens), model.n_tokens)
        out.append(st)
    return out


def with_gaussian(st: State, gaussian: bool) -> State:
    """Copy of ``st`` with the Gaussian flag set.

    Examples
    --------
    >>> st = State(1.0, 0.0, 0.5, 0.0, 0.0, gaussian=True)
    >>> with_gaussian(st, False).gaussian, st.gaussian
    (False, True)
    """
    return replace(st, gaussian=gaussian)
