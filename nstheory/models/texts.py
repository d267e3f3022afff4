"""Real-text inputs of a fixed token length for model measurements.

:func:`text_windows` cuts ``count`` windows of exactly ``n`` tokens from a real corpus (Debian's
fortunes by default, or a local text file), at seeded random offsets of the tokenised corpus.
Encoders get ``[CLS] ... [SEP]`` (their own special tokens) around ``n - 2`` text tokens; causal
LMs get ``n`` text tokens. Models without a tokenizer (built in memory) get uniformly random
non-special ids, which is stated in the returned description.

>>> from nstheory.models.loading import tiny_model
>>> ids, desc = text_windows(tiny_model("bert"), n=8, count=2, seed=0)
>>> tuple(ids.shape), desc.startswith("random")
((2, 8), True)
"""

from __future__ import annotations

import sys
from pathlib import Path

from nstheory.errors import NSTheoryError, check_int

#: The most bytes of a ``--text`` file that are read (4 MiB, about a million tokens): the whole
#: corpus is tokenised in one call, and a file of hundreds of MB would need many GB inside the
#: tokenizer (it aborted the process). Only a longer file's first 4 MiB are read, cut back to
#: the last whole line or word; the description and a note on stderr say so.
MAX_TEXT_BYTES = 4 * 2**20


def corpus_text(source: str | None = None) -> tuple[str, str]:
    """``(text, description)`` of the corpus: ``None``/``"fortunes"`` or a text-file path.

    A text file is read as UTF-8 (undecodable bytes replaced, newlines normalised to ``\\n``).
    At most :data:`MAX_TEXT_BYTES` (4 MiB) of it are read: of a longer file only the first
    4 MiB, up to the last whole line or word, which the description states (and a note on
    stderr).

    Raises
    ------
    NSTheoryError
        If the path is not a readable file or the file is empty.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> _ = p.write_text("noise stability of transformers")
    >>> text, desc = corpus_text(str(p))
    >>> text, desc.startswith("text file")
    ('noise stability of transformers', True)
    >>> corpus_text(str(p) + ".missing")                     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --text '...missing' is not a readable text file
    """
    if source in (None, "fortunes"):
        from nstheory.corpora import DEFAULT_TOPICS, fortunes_text

        return fortunes_text(DEFAULT_TOPICS), "Debian fortunes (" + ",".join(DEFAULT_TOPICS) + ")"
    p = Path(source).expanduser()
    if not p.is_file():
        raise NSTheoryError(f"--text {source!r} is not a readable text file")
    limit = MAX_TEXT_BYTES
    with open(p, "rb") as fh:
        data = fh.read(limit + 1)
    desc = f"text file {p}"
    if len(data) > limit:
        size = p.stat().st_size
        size = f"{size} bytes" if size > limit else f"more than {limit} bytes"
        data = data[:limit]
        end = max(data.rfind(b"\n"), data.rfind(b" "))  # no word or character cut in two
        if end > 0:
            data = data[:end]
        desc += f" (its first {len(data)} of {size}: at most {limit} are read)"
        print(f"note: --text {source} has {size}; only its first {len(data)} are read "
              f"(the limit is {limit} bytes)", file=sys.stderr)
    # as Path.read_text(errors="replace") reads it: universal newlines
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise NSTheoryError(f"--text {source!r} is empty")
    return text, desc


def _tokenise_corpus(tok, text: str) -> list[int]:
    """Token ids of the whole corpus, without the tokenizer's "sequence length is longer than
    the specified maximum" warning: the corpus is cut into windows of ``n`` tokens afterwards
    (``--n`` is checked against the model's positions), so its full length is never fed to the
    model. Other warnings are left alone.
    """
    limit = getattr(tok, "model_max_length", None)
    try:
        if limit is not None:
            tok.model_max_length = int(1e30)  # transformers' "no limit" value
        return tok(text, add_special_tokens=False)["input_ids"]
    finally:
        if limit is not None:
            tok.model_max_length = limit


def text_windows(lm, n: int = 256, count: int = 8, seed: int = 0, source: str | None = None):
    """``(ids, description)``: a (count, n) LongTensor of token ids and where they came from.

    Parameters
    ----------
    lm : LoadedModel
        The model (its tokenizer cuts the corpus).
    n : int, optional
        Tokens per window, at least 3.
    count : int, optional
        Number of windows.
    seed : int, optional
        Seed of the offsets.
    source : str, optional
        ``None``/``"fortunes"`` or a text-file path (see :func:`corpus_text`: only the first
        :data:`MAX_TEXT_BYTES`, 4 MiB, of a file are read and tokenised).

    Raises
    ------
    NSTheoryError
        If the corpus is too short: windows of ``k`` text tokens (``n``, or ``n - 2`` for an
        encoder's ``[CLS]``/``[SEP]``) need at least ``k + 1`` corpus tokens; or ``n``
        exceeds the model's positions.

    Examples
    --------
    A model without a tokenizer gets random non-special ids:

    >>> from nstheory.models.loading import tiny_model
    >>> lm = tiny_model("gpt2")
    >>> ids, desc = text_windows(lm, n=5, count=3, seed=1)
    >>> tuple(ids.shape), bool(set(ids.flatten().tolist()) <= set(lm.resample_ids.tolist()))
    ((3, 5), True)
    >>> text_windows(lm, n=2)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: n must be >= 3, got 2
    """
    import torch

    n = check_int(n, "n", lo=3, hi=100000)
    count = check_int(count, "inputs", lo=1, hi=100000)
    g = torch.Generator().manual_seed(int(seed))
    if lm.tokenizer is None:
        pick = torch.randint(len(lm.resample_ids), (count, n), generator=g)
        return lm.resample_ids[pick], "random non-special ids (model has no tokenizer)"
    text, desc = corpus_text(source)
    tok = lm.tokenizer
    body = _tokenise_corpus(tok, text)
    specials = (lm.kind == "encoder" and tok.cls_token_id is not None
                and tok.sep_token_id is not None)
    k = n - 2 if specials else n
    if len(body) < k + 1:
        raise NSTheoryError(f"the corpus has {len(body)} tokens; windows of {k} text tokens "
                            f"need at least {k + 1} (use a longer --text or a smaller --n)")
    body = torch.tensor(body, dtype=torch.long)
    starts = torch.randint(len(body) - k, (count,), generator=g)
    rows = [body[s:s + k] for s in starts.tolist()]
    if specials:
        cls_, sep = tok.cls_token_id, tok.sep_token_id
        rows = [torch.cat([torch.tensor([cls_]), r, torch.tensor([sep])]) for r in rows]
    max_pos = getattr(lm.config, "max_position_embeddings", None) or \
        getattr(lm.config, "n_positions", None)
    if max_pos is not None and n > max_pos:
        raise NSTheoryError(f"--n {n} exceeds the model's {max_pos} positions")
    return torch.stack(rows), f"{desc}; {count} windows of {n} tokens, seed {seed}"
