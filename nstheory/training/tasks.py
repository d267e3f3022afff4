"""Data for the training experiments: modular addition, noisy k-sparse parity, next-token text.

Every task returns a :class:`TaskData` with train/validation tensors, the model's input
vocabulary, the number of output classes, and which input positions the regularizer's noise
may touch (operands for modular addition, bits for parity, every token for language), with the
token alphabet it resamples from.

>>> d = modular_addition(7, 0.5, seed=0)
>>> d.train_x.shape[1], d.vocab, d.n_out, d.noise_positions, d.noise_vocab
(3, 8, 7, [0, 1], 7)
>>> d.train_x.shape[0] + d.val_x.shape[0]
49
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

import torch

from nstheory.errors import NSTheoryError, check_int, check_probability
from nstheory.validate import check_real


@dataclass
class TaskData:
    """Train/validation tensors of a training task and what the model and the noise need.

    Parameters
    ----------
    train_x, train_y, val_x, val_y : torch.Tensor
        Token inputs ``(N, T)`` and integer targets.
    vocab : int
        Input vocabulary of the model.
    n_out : int
        Output classes.
    noise_positions : list of int or None
        Input positions the regularizer's noise may change (None: all).
    noise_vocab : int
        Alphabet the token noise resamples from.
    info : dict
        Task facts for reports.

    Examples
    --------
    >>> d = modular_addition(5, 0.6, seed=1)
    >>> d.info["n_train"], d.info["n_val"], d.noise_positions
    (15, 10, [0, 1])
    >>> d.to("cpu").train_x.device.type
    'cpu'
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    vocab: int
    n_out: int
    noise_positions: list | None  # None: all positions
    noise_vocab: int
    info: dict = field(default_factory=dict)

    def to(self, device) -> TaskData:
        for k in ("train_x", "train_y", "val_x", "val_y"):
            setattr(self, k, getattr(self, k).to(device))
        return self


def modular_addition(p: int, frac: float, seed: int) -> TaskData:
    """All pairs ``(a, b)`` as ``[a, b, =]`` (``=`` is token ``p``), label ``(a + b) mod p``;
    a fraction ``frac`` of the p^2 pairs (rounded down), chosen by ``seed``, is the train set.

    Parameters
    ----------
    p : int
        Modulus (``>= 2``).
    frac : float
        Training fraction of the ``p^2`` pairs.
    seed : int
        Split seed.

    Returns
    -------
    TaskData

    Examples
    --------
    >>> d = modular_addition(7, 0.5, seed=0)
    >>> x, y = d.train_x, d.train_y
    >>> bool(((x[:, 0] + x[:, 1]) % 7 == y).all()), bool((x[:, 2] == 7).all())
    (True, True)
    >>> len(x), len(d.val_x)                 # floor(0.5 * 49) = 24
    (24, 25)
    """
    p = check_int(p, "p", lo=2)
    check_probability(frac, "train fraction")
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    x = torch.stack([a, b, torch.full_like(a, p)], dim=1)
    y = (a + b) % p
    perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(seed))
    n_train = math.floor(Fraction(str(frac)) * p * p)   # 0.47 * 100 is 46.99999... in floats
    if not 0 < n_train < p * p:
        raise NSTheoryError(f"train fraction {frac} leaves an empty train or validation set")
    tr, va = perm[:n_train], perm[n_train:]
    return TaskData(x[tr], y[tr], x[va], y[va], vocab=p + 1, n_out=p, noise_positions=[0, 1],
                    noise_vocab=p, info={"task": "modadd", "p": p, "n_train": n_train,
                                         "n_val": p * p - n_train})


def sparse_parity(n: int, k: int, n_train: int, n_val: int, label_noise: float,
                  seed: int) -> TaskData:
    """Noisy k-sparse parity on ``n`` bits (tokens 0/1, then a read-out token 2).

    The label is the parity of ``k`` hidden bits chosen by ``seed``; each *training* label is
    flipped with probability ``label_noise`` (validation labels are clean).

    Parameters
    ----------
    n : int
        Number of bits.
    k : int
        Parity size.
    n_train, n_val : int
        Split sizes.
    label_noise : float
        Flip probability of training labels.
    seed : int
        Chooses the support and the data.

    Returns
    -------
    TaskData

    Examples
    --------
    >>> d = sparse_parity(10, 3, 64, 32, 0.1, seed=1)
    >>> d.train_x.shape, d.n_out, len(d.info["support"])
    (torch.Size([64, 11]), 2, 3)
    """
    n, k = check_int(n, "n", lo=1, hi=10_000), check_int(k, "k", lo=1, hi=n)
    check_probability(label_noise, "label_noise")
    g = torch.Generator().manual_seed(seed)
    support = torch.randperm(n, generator=g)[:k].sort().values
    bits = torch.randint(0, 2, (n_train + n_val, n), generator=g)
    y = bits[:, support].sum(1) % 2
    flip = (torch.rand(n_train, generator=g) < label_noise).long()
    y[:n_train] = y[:n_train] ^ flip
    x = torch.cat([bits, torch.full((n_train + n_val, 1), 2)], dim=1)
    return TaskData(x[:n_train], y[:n_train], x[n_train:], y[n_train:], vocab=3, n_out=2,
                    noise_positions=list(range(n)), noise_vocab=2,
                    info={"task": "parity", "n": n, "k": k, "support": support.tolist(),
                          "label_noise": label_noise, "flipped_train_labels": int(flip.sum())})


_WORD = re.compile(r"[a-z0-9']+|[^\sa-z0-9']")


class WordTokenizer:
    """The ``vocab - 1`` most frequent lower-cased words/punctuation marks, plus ``<unk>`` = 0.

    Ties in frequency are broken alphabetically, so the vocabulary is deterministic.

    Parameters
    ----------
    words : list of str
        The vocabulary, ``words[0] = '<unk>'``; build it with :meth:`train`.

    Examples
    --------
    >>> tok = WordTokenizer.train("the cat saw the dog . the end", vocab=4)
    >>> tok.words
    ['<unk>', 'the', '.', 'cat']
    >>> tok.encode("The cat flew")
    [1, 3, 0]
    """

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}

    @classmethod
    def train(cls, text: str, vocab: int = 500) -> WordTokenizer:
        check_int(vocab, "vocab", lo=2)
        counts = Counter(_WORD.findall(text.lower()))
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: vocab - 1]
        return cls(["<unk>"] + [w for w, _ in top])

    def encode(self, text: str) -> list[int]:
        return [self.index.get(w, 0) for w in _WORD.findall(text.lower())]


def load_corpus(corpus: str, path: str | None = None) -> str:
    """Text of ``"fortunes"`` (Debian package) or ``"wikitext2"`` (local directory ``path``).

    Parameters
    ----------
    corpus : str
        ``fortunes`` or ``wikitext2``.
    path : str, optional
        Directory holding ``wiki.train.tokens`` (wikitext2 only; never downloaded).

    Returns
    -------
    str

    Examples
    --------
    >>> import os, tempfile
    >>> from pathlib import Path
    >>> d = tempfile.mkdtemp()
    >>> _ = Path(d, "science").write_text("Entropy always increases.\\n%\\nE equals m c squared.")
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"NSTHEORY_FORTUNES": d}):
    ...     text = load_corpus("fortunes")
    >>> text.split("\\n\\n")
    ['Entropy always increases.', 'E equals m c squared.']
    >>> load_corpus("wikitext2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: corpus wikitext2 needs --corpus-path DIR ...
    """
    from nstheory import corpora

    if corpus == "fortunes":
        return corpora.fortunes_text()
    if corpus == "wikitext2":
        if not path:
            raise NSTheoryError("corpus wikitext2 needs --corpus-path DIR (the directory holding "
                                "wiki.train.tokens); nstheory never downloads it")
        return corpora.wikitext2(path, "train") + "\n" + corpora.wikitext2(path, "valid")
    raise NSTheoryError(f"corpus must be fortunes or wikitext2, got {corpus!r}")


def next_token(text: str, vocab: int, seq_len: int, max_tokens: int, val_frac: float = 0.1,
               seed: int = 0) -> TaskData:
    """Non-overlapping windows of ``seq_len + 1`` tokens; the last ``val_frac`` of the text is
    the validation set. ``x`` is a window's first ``seq_len`` tokens, ``y`` its shift by one.

    Parameters
    ----------
    text : str
        The corpus.
    vocab : int
        Vocabulary size including ``<unk>``.
    seq_len : int
        Context length.
    max_tokens : int
        Tokens of the text used.
    val_frac : float, optional
        Validation fraction (the end of the text).
    seed : int, optional
        Recorded in ``info`` (the windows and the split are deterministic).

    Returns
    -------
    TaskData

    Examples
    --------
    >>> d = next_token("a b c d e f g h i j " * 20, vocab=6, seq_len=4, max_tokens=10**6)
    >>> d.train_x.shape[1], d.n_out, d.info["unk_rate"] > 0
    (4, 6, True)
    """
    vocab = check_int(vocab, "vocab", lo=2, hi=1_000_000)
    seq_len = check_int(seq_len, "seq_len", lo=1)
    max_tokens = check_int(max_tokens, "max_tokens", lo=1)
    check_real(val_frac, "val_frac", lo=0, hi=1, lo_open=True, hi_open=True)
    tok = WordTokenizer.train(text, vocab)
    ids = torch.tensor(tok.encode(text)[:max_tokens])
    w = seq_len + 1
    n = ids.numel() // w
    if n < 4:
        raise NSTheoryError(f"corpus too small: {ids.numel()} tokens for windows of {w}")
    win = ids[: n * w].view(n, w)
    n_val = min(n - 1, max(1, int(val_frac * n)))  # both splits non-empty
    tr, va = win[: n - n_val], win[n - n_val:]
    return TaskData(tr[:, :-1], tr[:, 1:], va[:, :-1], va[:, 1:], vocab=vocab, n_out=vocab,
                    noise_positions=None, noise_vocab=vocab,
                    info={"task": "ntp", "tokens": int(ids.numel()), "windows_train": n - n_val,
                          "windows_val": n_val, "unk_rate": float((ids == 0).float().mean()),
                          "tokenizer": f"top-{vocab - 1} lower-cased words + <unk>",
                          "seed": seed})


__all__ = ["TaskData", "WordTokenizer", "load_corpus", "modular_addition", "next_token",
           "sparse_parity"]
