"""The one model description that every route of the propagation area interprets.

A :class:`Model` is a tuple of *blocks*; a block is a tuple of primitive layers. Stability is
reported after every block (one "layer" of the per-layer tables). The same description builds

* the certified interval propagation (:mod:`nstheory.propagation.intervals`),
* the point recurrence in float and mpmath (:mod:`nstheory.propagation.recurrence`),
* a torch module for Monte Carlo (:mod:`nstheory.propagation.torch_model`).

Primitive layers (all act on a sequence of ``n_tokens`` tokens of ``width`` channels):

``Dense(sigma2)``
    ``h -> W h`` per token, ``W_{jk} ~ N(0, sigma2 / width)`` i.i.d. (zero mean). ``sigma2`` is
    the expected squared column norm of ``W`` (``gamma^2`` for a value projection).
``Act(name)``
    coordinate-wise activation (``"relu"`` first; any name known to the activations area).
``LayerNorm()``
    per token over channels: subtract the channel mean, divide by the channel RMS (no affine).
``Attention(mode, gamma2, ...)``
    softmax attention mixing tokens, followed by a value projection ``W_V`` with
    ``(W_V)_{jk} ~ N(0, gamma2 / width)``, i.e. squared value-column norm ``gamma2``.
    ``mode``: ``"identity"`` (``W_Q W_K^T = I``), ``"lowrank"`` (``U U^T`` of rank ``rank``),
    ``"random"`` (i.i.d. N(0, 1) entries, the paper's unstructured case).
``Residual(branch, scale2)``
    ``h -> h + branch(h)``; ``branch`` must end with a ``Dense`` or ``Attention`` layer (fresh
    zero-mean weights), which makes the skip and branch uncorrelated in the mean-field limit.

Mean-field semantics (what the certified intervals contain): the infinite-width limit
``width -> inf`` of the per-coordinate moments over inputs *and* random weights, for the input
``X`` with i.i.d. N(0, 1) entries and ``Y = rho X + sqrt(1 - rho^2) Z`` (see
docs/conventions.md).

Examples
--------
>>> m = mlp(depth=3, sigma2=2.0)
>>> len(m.blocks), m.blocks[0]
(3, (Dense(sigma2=2.0), Act(name='relu')))
>>> transformer(depth=2, layernorm=True, residual=True).describe().splitlines()[0]
'transformer (pre-LN, residual), 2 blocks, n_tokens=4'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nstheory.errors import NSTheoryError, check_choice, check_int, check_positive
from nstheory.validate import check_real

ATTENTION_MODES = ("identity", "lowrank", "random")


#: Most blocks of a built model (the propagation CLI takes depth up to 1e5 as well).
MAX_DEPTH = 100_000


@dataclass(frozen=True)
class Dense:
    """Linear layer with i.i.d. zero-mean weights of variance ``sigma2 / width``.

    Parameters
    ----------
    sigma2 : float, optional
        Expected squared column norm (``> 0``).

    Examples
    --------
    A dense layer multiplies both moments by ``sigma2``: ``Q = sigma2``, ``C = sigma2 rho``
    for a unit-variance input at correlation ``rho``:

    >>> from nstheory.propagation.recurrence import point_recurrence
    >>> s = point_recurrence(Model(((Dense(3.0),),)), 0.5)[-1]
    >>> s.Q, s.C
    (3.0, 1.5)
    >>> Dense(0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: Dense.sigma2 ...
    """

    sigma2: float = 1.0

    def __post_init__(self):
        check_positive(self.sigma2, "Dense.sigma2")


@dataclass(frozen=True)
class Act:
    """Coordinate-wise activation ``name``.

    Parameters
    ----------
    name : str, optional
        Any activation known to the activations area (``relu``, ``tanh``, ``erf``, ...).

    Examples
    --------
    ReLU of a unit Gaussian pair at correlation ``rho`` has the arc-cosine kernel
    ``(sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)`` as raw cross-moment, ``Q = 1/2`` and
    mean ``1/sqrt(2 pi)``:

    >>> import math
    >>> from nstheory.propagation.recurrence import point_recurrence
    >>> s = point_recurrence(Model(((Act("relu"),),)), 0.5)[-1]
    >>> kappa = (math.sqrt(0.75) + (math.pi - math.acos(0.5)) * 0.5) / (2 * math.pi)
    >>> s.Q, abs(s.C - kappa) < 1e-15, abs(s.M - 1 / math.sqrt(2 * math.pi)) < 1e-15
    (0.5, True, True)
    """

    name: str = "relu"

    def __post_init__(self):
        from nstheory.gaussian.activations import get_activation

        get_activation(self.name)  # an unknown name fails here, not layers later


@dataclass(frozen=True)
class LayerNorm:
    """Per-token LayerNorm over channels, without affine parameters.

    Parameters
    ----------
    eps : float, optional
        Added to the variance before the square root (finite, ``>= 0``). The scalar and
        interval rules take it exactly (``Q' = v / (v + eps)`` for the channel variance
        ``v``); the finite-width, pattern-resolved and leakage routes cover ``eps = 0`` only
        and refuse other values.

    Examples
    --------
    In the mean-field limit LayerNorm resets the second moment to 1 and keeps the correlation:

    >>> from nstheory.propagation.recurrence import point_recurrence
    >>> s = point_recurrence(Model(((Dense(5.0), LayerNorm()),)), 0.5)[-1]
    >>> s.Q, s.C
    (1.0, 0.5)

    With ``eps`` the normalised variance is ``v / (v + eps)`` (here ``v = 5``):

    >>> s = point_recurrence(Model(((Dense(5.0), LayerNorm(eps=5.0)),)), 0.5)[-1]
    >>> s.Q, s.C
    (0.5, 0.25)
    """

    eps: float = 0.0

    def __post_init__(self):
        check_real(self.eps, "LayerNorm.eps", lo=0)


@dataclass(frozen=True)
class Attention:
    """Softmax attention followed by a value projection with squared column norm ``gamma2``.

    The mixing pattern enters the mean-field rules through two *pattern moments* of the
    attention matrices ``A = A(X)``, ``B = A(Y)`` (row ``i``):

    * ``consistency`` ``s = E sum_k A_ik B_ik`` (the paper's ``s(rho)`` for a hard argmax),
    * ``self_weight`` ``w = E sum_k A_ik^2``.

    ``mode="identity"``/``"lowrank"``: in the paper's limit (``d -> inf``) the pattern is the
    identity, ``s = w = 1``; ``pattern_slack`` widens ``s`` and ``w`` down by that much in the
    interval route (the ``o(1)`` of Thm 5.2, or a finite-``d`` allowance). ``mode="random"``:
    hard argmax, ``w = 1`` and ``s = s_n(r^2)`` (Thm 5.3 as reconstructed) with ``r`` the
    tokens' correlation, again widened by ``pattern_slack``.

    Parameters
    ----------
    mode : str, optional
        ``identity``, ``lowrank`` or ``random`` (query-key structure).
    gamma2 : float, optional
        Squared value-column norm.
    rank : int, optional
        Rank of the low-rank query-key product.
    scale : str, optional
        Logit scale: ``sqrt`` (1/sqrt d), ``linear`` (1/d) or ``none``.
    pattern_slack : float, optional
        Allowance in ``[0, 1]`` for the pattern moments (interval route).
    d : int, optional
        Head dimension (the stream's width). ``mode="random"`` with ``d`` given takes the
        pattern moments at that ``d`` (softmax of Gaussian logits,
        :func:`nstheory.attention.pattern_moments.finite_d_pattern`) instead of the hard-argmax
        limit; ``None`` keeps the ``d -> inf`` limit.

    Examples
    --------
    With the identity pattern (``s = w = 1``) a layer multiplies both moments by ``gamma2``:

    >>> from nstheory.propagation.recurrence import point_recurrence
    >>> s = point_recurrence(Model(((Attention("identity", 0.8),),), n_tokens=4), 0.5)[-1]
    >>> s.Q, s.C
    (0.8, 0.4)
    >>> Attention("diagonal")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: attention mode must be one of ...; got 'diagonal'
    """

    mode: str = "identity"
    gamma2: float = 1.0
    rank: int | None = None
    scale: str = "sqrt"  # logits scale: "sqrt" (1/sqrt d), "linear" (1/d), "none"
    pattern_slack: float = 0.0
    d: int | None = None  # head dimension for finite-d pattern moments (None: d -> infinity)

    def __post_init__(self):
        check_choice(self.mode, ATTENTION_MODES, "attention mode")
        check_positive(self.gamma2, "Attention.gamma2")
        if self.scale not in ("sqrt", "linear", "none"):
            raise NSTheoryError(f"attention scale must be sqrt, linear or none, got {self.scale!r}")
        if not 0 <= self.pattern_slack <= 1:
            raise NSTheoryError(f"pattern_slack must lie in [0, 1], got {self.pattern_slack}")
        if self.rank is not None:  # validated whatever the mode (rank = 0 was constructed)
            check_int(self.rank, "Attention.rank", lo=1)
        if self.d is not None:
            check_int(self.d, "Attention.d", lo=1)


@dataclass(frozen=True)
class Residual:
    """``h -> h + branch(h)``, the branch ending with fresh zero-mean weights.

    Parameters
    ----------
    branch : tuple
        Layers of the branch; the last must be :class:`Dense` or :class:`Attention`.

    Examples
    --------
    Skip and branch are uncorrelated, so their moments add: ``Q = 1 + 1``, ``C = rho + rho``:

    >>> from nstheory.propagation.recurrence import point_recurrence
    >>> s = point_recurrence(Model(((Residual((Dense(1.0),)),),)), 0.5)[-1]
    >>> s.Q, s.C
    (2.0, 1.0)
    >>> Residual((Dense(1.0), Act("relu")))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: Residual branch must end with Dense or Attention ...
    """

    branch: tuple = field(default_factory=tuple)

    def __post_init__(self):
        if not self.branch:
            raise NSTheoryError("Residual branch must not be empty")
        if not isinstance(self.branch[-1], Dense | Attention):
            raise NSTheoryError(
                "Residual branch must end with Dense or Attention (fresh zero-mean weights make "
                f"skip and branch uncorrelated); got {type(self.branch[-1]).__name__}"
            )
        for layer in self.branch:
            _check_layer(layer)


LAYER_TYPES = (Dense, Act, LayerNorm, Attention, Residual)


def _check_layer(layer) -> None:
    if not isinstance(layer, LAYER_TYPES):
        raise NSTheoryError(f"unknown layer {layer!r}")


@dataclass(frozen=True)
class Model:
    """A stack of blocks, reported after each block, on ``n_tokens`` tokens.

    Parameters
    ----------
    blocks : tuple of tuple
        Each block is a tuple of layers (:class:`Dense`, :class:`Act`, :class:`LayerNorm`,
        :class:`Attention`, :class:`Residual`).
    n_tokens : int, optional
        Sequence length (``>= 2`` when there is attention).
    name : str, optional
        Label for reports.

    Examples
    --------
    >>> m = Model(((Dense(2.0), Act("relu")),) * 3, name="He MLP")
    >>> m.depth
    3
    >>> print(m.describe())
    He MLP, 3 blocks, n_tokens=1
      block: Dense(sigma2=2.0) -> Act(name='relu')
    >>> Model(((Attention(),),))
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: attention layers need n_tokens >= 2
    """

    blocks: tuple
    n_tokens: int = 1
    name: str = "model"

    def __post_init__(self):
        check_int(self.n_tokens, "n_tokens", lo=1)
        if not self.blocks:
            raise NSTheoryError("a model needs at least one block")
        for block in self.blocks:
            for layer in block:
                _check_layer(layer)
                if self.n_tokens == 1 and _has_attention(layer):
                    raise NSTheoryError("attention layers need n_tokens >= 2")

    @property
    def depth(self) -> int:
        return len(self.blocks)

    def describe(self) -> str:
        lines = [f"{self.name}, {self.depth} blocks, n_tokens={self.n_tokens}"]
        seen = []
        for b in self.blocks:
            if b not in seen:
                seen.append(b)
        for b in seen:
            lines.append("  block: " + " -> ".join(_layer_str(x) for x in b))
        return "\n".join(lines)


def require_zero_eps(model: Model, route: str) -> None:
    """Refuse a model with a LayerNorm ``eps != 0`` for a route whose rules assume ``eps = 0``.

    Examples
    --------
    >>> require_zero_eps(Model(((Dense(2.0), LayerNorm()),)), "this route")
    >>> require_zero_eps(Model(((Residual((LayerNorm(1e-5), Dense()),),),)), "this route")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: this route covers LayerNorm with eps = 0 only, got eps = ...
    """

    def walk(layers):
        for layer in layers:
            if isinstance(layer, Residual):
                walk(layer.branch)
            elif isinstance(layer, LayerNorm) and layer.eps:
                raise NSTheoryError(f"{route} covers LayerNorm with eps = 0 only, got eps = "
                                    f"{layer.eps:g} (the scalar and interval rules take eps "
                                    "exactly)")

    for block in model.blocks:
        walk(block)


def _has_attention(layer) -> bool:
    if isinstance(layer, Attention):
        return True
    if isinstance(layer, Residual):
        return any(_has_attention(x) for x in layer.branch)
    return False


def _layer_str(x) -> str:
    if isinstance(x, Residual):
        return "Residual[" + " -> ".join(_layer_str(y) for y in x.branch) + "]"
    return repr(x)


# --------------------------------------------------------------------------------------
# Builders for the three architectures of the CLI and the figures.
# --------------------------------------------------------------------------------------


def mlp(depth: int, sigma2: float = 2.0, act: str = "relu", residual: bool = False,
        layernorm: bool = False) -> Model:
    """Deep MLP: ``depth`` blocks ``Dense(sigma2) -> act``.

    ``sigma2 = 2`` is He initialisation (for ReLU it keeps the second moment ``Q`` fixed);
    ``sigma2 = 1`` gives ``Q_L = 2^{-L}``. With ``residual``, each block is
    ``h + Dense(1) act(Dense(sigma2) h)`` (pre-LN if ``layernorm``); without ``residual`` and
    with ``layernorm``, a LayerNorm follows each block.

    Parameters
    ----------
    depth : int
        Number of blocks.
    sigma2 : float, optional
        Weight variance times width.
    act : str, optional
        Activation.
    residual, layernorm : bool, optional
        Architecture switches (see above).

    Returns
    -------
    Model

    Examples
    --------
    ``sigma2 = 1`` halves ``Q`` at every ReLU layer:

    >>> from nstheory.propagation.recurrence import point_recurrence
    >>> [s.Q for s in point_recurrence(mlp(4, sigma2=1.0), 0.5)]
    [1.0, 0.5, 0.25, 0.125, 0.0625]
    >>> mlp(2, residual=True, layernorm=True).name
    'mlp (residual, LN)'
    """
    depth = check_int(depth, "depth", lo=1, hi=MAX_DEPTH)
    if residual:
        branch = ((LayerNorm(),) if layernorm else ()) + (Dense(sigma2), Act(act), Dense(1.0))
        block = (Residual(branch),)
    else:
        block = (Dense(sigma2), Act(act)) + ((LayerNorm(),) if layernorm else ())
    name = "mlp" + _suffix(residual, layernorm)
    return Model((block,) * depth, 1, name)


def attention_stack(depth: int, mode: str = "identity", gamma2: float = 1.0, n_tokens: int = 4,
                    residual: bool = False, layernorm: bool = False,
                    pattern_slack: float = 0.0, d: int | None = None) -> Model:
    """Attention-only stack (the paper's §5 multi-layer transformer without MLPs).

    Parameters
    ----------
    depth : int
        Number of attention layers.
    mode : str, optional
        Query-key structure: ``identity``, ``lowrank`` or ``random``.
    gamma2 : float, optional
        Squared value-column norm.
    n_tokens : int, optional
        Sequence length (``>= 2``).
    residual, layernorm : bool, optional
        Architecture switches.
    pattern_slack, d : optional
        See :class:`Attention`.

    Returns
    -------
    Model

    Examples
    --------
    With the identity pattern and ``gamma2 = 1`` the stability is carried unchanged:

    >>> from nstheory.propagation.recurrence import point_recurrence
    >>> [s.C for s in point_recurrence(attention_stack(3), 0.5)]
    [0.5, 0.5, 0.5, 0.5]
    """
    depth = check_int(depth, "depth", lo=1, hi=MAX_DEPTH)
    att = Attention(mode, gamma2, pattern_slack=pattern_slack, d=d)
    if residual:
        block = (Residual(((LayerNorm(),) if layernorm else ()) + (att,)),)
    else:
        block = (att,) + ((LayerNorm(),) if layernorm else ())
    return Model((block,) * depth, n_tokens, "attention" + _suffix(residual, layernorm))


def transformer(depth: int, mode: str = "identity", gamma2: float = 1.0, n_tokens: int = 4,
                residual: bool = True, layernorm: bool = True, post_ln: bool = False,
                sigma2: float = 2.0, act: str = "relu", pattern_slack: float = 0.0,
                d: int | None = None) -> Model:
    """Transformer blocks: attention sub-block then MLP sub-block ``Dense(1) act Dense(sigma2)``.

    * pre-LN + residual: ``h + Attn(LN h)``, ``h + MLP(LN h)``;
    * post-LN + residual: ``LN(h + Attn h)``, ``LN(h + MLP h)``;
    * no residual: ``Attn``, ``MLP`` in sequence (LN after each if ``layernorm``).

    Parameters
    ----------
    depth : int
        Number of transformer blocks.
    mode, gamma2, n_tokens, pattern_slack, d
        Attention settings (see :func:`attention_stack`).
    residual, layernorm, post_ln : bool, optional
        Architecture switches (see above).
    sigma2 : float, optional
        First MLP layer's weight variance times width.
    act : str, optional
        MLP activation.

    Returns
    -------
    Model

    Examples
    --------
    >>> t = transformer(2)
    >>> t.name, [type(x).__name__ for x in t.blocks[0]]
    ('transformer (pre-LN, residual)', ['Residual', 'Residual'])
    >>> transformer(1, post_ln=True).name
    'transformer (post-LN, residual)'
    """
    depth = check_int(depth, "depth", lo=1, hi=MAX_DEPTH)
    att = Attention(mode, gamma2, pattern_slack=pattern_slack, d=d)
    ffn = (Dense(sigma2), Act(act), Dense(1.0))
    ln = (LayerNorm(),) if layernorm else ()
    if residual and not post_ln:
        block = (Residual((*ln, att)), Residual((*ln, *ffn)))
    elif residual:
        block = (Residual((att,)), *ln, Residual(ffn), *ln)
    else:
        block = (att, *ln, *ffn, *ln)
    kind = "post-LN" if (post_ln and layernorm) else ("pre-LN" if layernorm else "no LN")
    name = f"transformer ({kind}, {'residual' if residual else 'no residual'})"
    return Model((block,) * depth, n_tokens, name)


def _suffix(residual: bool, layernorm: bool) -> str:
    parts = [p for p, on in (("residual", residual), ("LN", layernorm)) if on]
    return f" ({', '.join(parts)})" if parts else ""


def build(arch: str, depth: int, residual: bool = False, layernorm: bool = False,
          mode: str = "identity", gamma2: float = 1.0, n_tokens: int = 4, sigma2: float = 2.0,
          pattern_slack: float = 0.0, d: int | None = None, post_ln: bool = False) -> Model:
    """The CLI's ``--arch mlp|attention|transformer`` as a :class:`Model`.

    Parameters
    ----------
    arch : str
        ``mlp``, ``attention`` or ``transformer``.
    depth : int
        Number of blocks.
    residual, layernorm : bool, optional
        Architecture switches.
    mode, gamma2, n_tokens, pattern_slack, d
        Attention settings (see :func:`attention_stack`).
    sigma2 : float, optional
        Dense weight variance times width.
    post_ln : bool, optional
        Transformer with residual and LayerNorm only: LayerNorm after each residual sum.

    Returns
    -------
    Model

    Examples
    --------
    >>> build("attention", 2, gamma2=0.8).blocks[0]
    (Attention(mode='identity', gamma2=0.8, rank=None, scale='sqrt', pattern_slack=0.0, d=None),)
    """
    if post_ln and not (arch == "transformer" and residual and layernorm):
        raise NSTheoryError("post-LN needs the transformer architecture with residual and "
                            "LayerNorm")
    if arch == "mlp":
        return mlp(depth, sigma2, residual=residual, layernorm=layernorm)
    if arch == "attention":
        return attention_stack(depth, mode, gamma2, n_tokens, residual, layernorm, pattern_slack,
                               d=d)
    if arch == "transformer":
        return transformer(depth, mode, gamma2, n_tokens, residual, layernorm, post_ln=post_ln,
                           sigma2=sigma2, pattern_slack=pattern_slack, d=d)
    raise NSTheoryError(f"arch must be mlp, attention or transformer, got {arch!r}")
