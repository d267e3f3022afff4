"""Output functionals: which vector f(x) of a model's output a measurement looks at.

Every influence and stability in :mod:`nstheory.models` is defined for a vector-valued
functional f: inputs -> R^m and uses squared Euclidean distances of f, so the functional must be
explicit. Specs (strings, also the ``--functional`` CLI values):

* ``cls``: the last hidden state at position 0 (the [CLS] vector), m = d;
* ``mean``: the mean over positions of the last hidden state (sentence embedding), m = d;
* ``pos:K``: the last hidden state at position K (negative K counts from the end), m = d;
* ``layer:L``: the hidden states of layer L (0 = embedding output), all positions, m = n d;
* ``logprobs``: causal LMs only, the log-probabilities of the next token at the last position,
  m = vocabulary size.

>>> [f.spec for f in parse_functionals("cls,mean,pos:-1")]
['cls', 'mean', 'pos:-1']
>>> parse_functional("logprobs", kind="encoder")
Traceback (most recent call last):
...
nstheory.errors.NSTheoryError: --functional logprobs needs a causal LM; this model is an encoder
"""

from __future__ import annotations

from dataclasses import dataclass

from nstheory.errors import NSTheoryError

SPECS = ("cls", "mean", "pos:K", "layer:L", "logprobs")


@dataclass(frozen=True)
class Functional:
    """A parsed functional: ``name`` is ``cls|mean|pos|layer|logprobs``, ``arg`` its index.

    Calling it on a batched model output with hidden states gives a
    ``(batch, m)`` float tensor.

    Parameters
    ----------
    name : str
        ``cls``, ``mean``, ``pos``, ``layer`` or ``logprobs``.
    arg : int, optional
        The position (``pos``) or layer (``layer``) index.

    Examples
    --------
    >>> import torch
    >>> from types import SimpleNamespace
    >>> h = torch.arange(12.0).reshape(1, 3, 4)          # batch 1, 3 tokens, d = 4
    >>> out = SimpleNamespace(hidden_states=(torch.zeros(1, 3, 4), h))
    >>> Functional("mean")(out).tolist(), Functional("pos", -1).spec
    ([[4.0, 5.0, 6.0, 7.0]], 'pos:-1')
    >>> tuple(Functional("layer", 0)(out).shape)
    (1, 12)
    >>> Functional("pos", 3)(out)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --functional pos:3 out of range for n = 3 tokens
    """

    name: str
    arg: int | None = None

    @property
    def spec(self) -> str:
        return self.name if self.arg is None else f"{self.name}:{self.arg}"

    def __call__(self, out, n_layers: int | None = None):
        """f of a batched HF output with hidden states: a (batch, m) float tensor."""
        import torch

        if self.name == "logprobs":
            return _wide(torch.log_softmax(_wide(out.logits[:, -1, :]), dim=-1))
        hs = out.hidden_states
        if self.name == "layer":
            if not -len(hs) <= self.arg < len(hs):
                raise NSTheoryError(
                    f"--functional layer:{self.arg} out of range: layers 0..{len(hs) - 1}")
            h = hs[self.arg]
            return _wide(h.reshape(h.shape[0], -1))
        last = hs[-1]
        if self.name == "cls":
            return _wide(last[:, 0, :])
        if self.name == "mean":
            return _wide(last.mean(dim=1))
        n = last.shape[1]
        if not -n <= self.arg < n:
            raise NSTheoryError(f"--functional pos:{self.arg} out of range for n = {n} tokens")
        return _wide(last[:, self.arg, :])


def _wide(t):
    """float32 at least (half-precision outputs are widened; float64 is kept)."""
    import torch

    return t if t.dtype == torch.float64 else t.float()


def parse_functional(spec: str, kind: str = "encoder") -> Functional:
    """Parse one spec (see the module table); ``kind`` is the model kind.

    >>> parse_functional("layer:3")
    Functional(name='layer', arg=3)
    >>> parse_functional("pos:x")                       # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --functional 'pos:x': the index must be an integer ...
    """
    s = str(spec).strip()
    if s in ("cls", "mean", "logprobs"):
        if s == "logprobs" and kind != "causal-lm":
            raise NSTheoryError(f"--functional logprobs needs a causal LM; this model is an {kind}")
        return Functional(s)
    head, _, arg = s.partition(":")
    if head in ("pos", "layer") and arg:
        try:
            k = int(arg)
        except ValueError:
            raise NSTheoryError(f"--functional {s!r}: the index must be an integer "
                                f"(accepted: {', '.join(SPECS)})") from None
        return Functional(head, k)
    raise NSTheoryError(f"--functional {s!r} not understood (accepted: {', '.join(SPECS)})")


def parse_functionals(text: str, kind: str = "encoder") -> list[Functional]:
    """Comma-separated specs, duplicates removed, order kept.

    >>> parse_functionals("")                           # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --functional is empty (accepted: cls, mean, ...)
    """
    parts = [p for p in str(text).split(",") if p.strip()]
    if not parts:
        raise NSTheoryError(f"--functional is empty (accepted: {', '.join(SPECS)})")
    out: list[Functional] = []
    for p in parts:
        f = parse_functional(p, kind)
        if f not in out:
            out.append(f)
    return out


def default_functionals(kind: str) -> list[Functional]:
    """``cls, mean, pos:-1`` for encoders; ``mean, pos:-1, logprobs`` for causal LMs.

    Examples
    --------
    >>> [f.spec for f in default_functionals("causal-lm")]
    ['mean', 'pos:-1', 'logprobs']
    >>> "logprobs" in [f.spec for f in default_functionals("encoder")]
    False
    """
    return parse_functionals("mean,pos:-1,logprobs" if kind == "causal-lm" else "cls,mean,pos:-1",
                             kind)


def evaluate(lm, embeds, functionals, grad: bool = False) -> dict:
    """``{spec: (batch, m) tensor}`` for all ``functionals`` from ONE forward pass of ``embeds``
    (batch, n, d); under ``torch.no_grad`` unless ``grad``.

    >>> import torch
    >>> from nstheory.models.loading import tiny_model
    >>> lm = tiny_model("gpt2")
    >>> ids = torch.randint(4, 64, (3, 10))
    >>> out = evaluate(lm, lm.embed(ids), parse_functionals("mean,logprobs", lm.kind))
    >>> tuple(out["mean"].shape), tuple(out["logprobs"].shape)
    ((3, 32), (3, 64))
    """
    import contextlib

    import torch

    ctx = contextlib.nullcontext() if grad else torch.no_grad()
    with ctx:
        out = lm.forward(embeds)
        return {f.spec: f(out) for f in functionals}
