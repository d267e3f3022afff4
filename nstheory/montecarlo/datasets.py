"""Small classification tasks for the architecture comparison (no downloads at run time).

* :func:`boolean_task` -- x in {-1, 1}^n as tokens {0, 1}; the label is a named Boolean
  function of a few coordinates (default Maj_3 of the first three bits, a 3-junta).
* :func:`sparse_token_task` -- sequences over a vocabulary of *frequent* tokens and a few
  *sparse* tokens; two cues predict the label: the class-biased frequent tokens (a
  low-sensitivity cue: changing one token rarely changes the majority) and one class-specific
  sparse token (a high-sensitivity cue). A reconstruction of the sensitivity paper's
  synthetic task (its exact sizes were not retrieved).
* :func:`digits_task` -- scikit-learn's 8x8 digits (ships with scikit-learn), pixels scaled to
  [-1, 1] like the paper's Normalize(0.5, 0.5).
* :func:`fortunes_task` -- topic classification over Debian's fortunes files: the first
  ``seq_len`` words of each quotation, word vocabulary from the training split.

Each returns a :class:`Task` with train/test tensors (split seeded) and a description.

Examples
--------
>>> t = boolean_task(n=6, n_train=40, seed=0)
>>> t.x_train.shape, t.kind, t.n_classes
(torch.Size([40, 6]), 'tokens', 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nstheory.errors import NSTheoryError, check_choice, check_int


@dataclass
class Task:
    """A classification task: train/test tensors, input kind and what the model needs.

    Parameters
    ----------
    name : str
        Task name (a key of :data:`TASKS`).
    kind : str
        ``"tokens"`` (integer sequences) or ``"image"`` (``(N, C, H, W)`` floats).
    x_train, y_train, x_test, y_test : torch.Tensor
        Inputs and integer labels.
    n_classes : int
        Number of classes.
    description : str
        One line for reports.
    meta : dict
        Extra facts (``vocab`` for token tasks, sizes, topics).

    Examples
    --------
    :meth:`model_kwargs` gives the shape arguments of
    :func:`nstheory.montecarlo.models.build_model`:

    >>> t = boolean_task(n=5, n_train=20)
    >>> t.model_kwargs()
    {'vocab': 2, 'seq_len': 5}
    >>> t.x_train.shape[0] + t.x_test.shape[0] == 2**5
    True
    """

    name: str
    kind: str  # "image" or "tokens"
    x_train: object
    y_train: object
    x_test: object
    y_test: object
    n_classes: int
    description: str
    meta: dict = field(default_factory=dict)

    def model_kwargs(self) -> dict:
        if self.kind == "image":
            return {"image_shape": tuple(self.x_train.shape[1:])}
        return {"vocab": self.meta["vocab"], "seq_len": int(self.x_train.shape[1])}


def _split(x, y, n_train, seed):
    import torch

    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(x.shape[0], generator=g)
    tr, te = perm[:n_train], perm[n_train:]
    return x[tr], y[tr], x[te], y[te]


def boolean_task(n: int = 12, junta: int = 3, n_train: int = 1000, seed: int = 0) -> Task:
    """Maj_``junta`` of the first ``junta`` bits of x in {-1,1}^n; tokens are (x + 1) / 2.

    Inputs are the whole cube when ``2**n`` is small, so the test set is the rest of it.

    Parameters
    ----------
    n : int
        Input length, 2..20.
    junta : int
        Odd number of relevant leading bits.
    n_train : int
        Training points (``< 2**n``).
    seed : int
        Split seed.

    Returns
    -------
    Task

    Examples
    --------
    The label is 1 iff most of the first three tokens are 1, and train plus test is the cube:

    >>> t = boolean_task(n=6, junta=3, n_train=40, seed=0)
    >>> bool(((t.x_train[:, :3].sum(1) >= 2).long() == t.y_train).all())
    True
    >>> len(t.x_train) + len(t.x_test), sorted(t.x_test.unique().tolist())
    (64, [0, 1])
    """
    import itertools

    import torch

    n = check_int(n, "n", lo=2, hi=20)
    junta = check_int(junta, "junta", lo=1, hi=n)
    if junta % 2 == 0:
        raise NSTheoryError("junta must be odd (majority without ties)")
    cube = torch.tensor(list(itertools.product([0, 1], repeat=n)), dtype=torch.long)
    if n_train >= cube.shape[0]:
        raise NSTheoryError(f"n_train must be < 2**n = {cube.shape[0]}")
    pm = cube * 2 - 1
    y = (pm[:, :junta].sum(-1) > 0).long()
    xtr, ytr, xte, yte = _split(cube, y, n_train, seed)
    return Task("boolean", "tokens", xtr, ytr, xte, yte, 2,
                f"Maj_{junta}(x_1..x_{junta}) on {{-1,1}}^{n}, tokens 0/1",
                {"vocab": 2, "n": n, "junta": junta})


def sparse_token_task(seq_len: int = 16, n_frequent: int = 16, n_sparse: int = 4,
                      bias: float = 0.7, n_train: int = 2000, n_test: int = 1000,
                      seed: int = 0) -> Task:
    """Two-cue synthetic token task (see the module docstring).

    Class c draws each frequent token from its own half of the frequent vocabulary with
    probability ``bias`` (else from the other half), and one position holds a sparse token
    from the class's half of the sparse vocabulary.

    Parameters
    ----------
    seq_len : int
        Sequence length.
    n_frequent, n_sparse : int
        Even sizes of the frequent and the sparse vocabularies.
    bias : float
        Probability that a frequent token comes from its class's half.
    n_train, n_test : int
        Split sizes.
    seed : int
        Data and split seed.

    Returns
    -------
    Task

    Examples
    --------
    Every sequence holds exactly one sparse token (id ``>= n_frequent``), from its class's
    half of the sparse vocabulary:

    >>> t = sparse_token_task(seq_len=8, n_frequent=6, n_sparse=4, n_train=50, n_test=10)
    >>> x, y = t.x_train, t.y_train
    >>> bool(((x >= 6).sum(1) == 1).all()), t.meta["vocab"]
    (True, 10)
    >>> bool((((x.max(1).values - 6) // 2) == y).all())
    True
    """
    import torch

    check_int(seq_len, "seq_len", lo=2)
    if n_frequent % 2 or n_sparse % 2:
        raise NSTheoryError("n_frequent and n_sparse must be even")
    g = torch.Generator().manual_seed(seed + 7919)
    N = n_train + n_test
    y = torch.randint(0, 2, (N,), generator=g)
    half = n_frequent // 2
    own = torch.rand(N, seq_len, generator=g) < bias
    cls_half = torch.where(own, y[:, None], 1 - y[:, None])
    x = cls_half * half + torch.randint(0, half, (N, seq_len), generator=g)
    pos = torch.randint(0, seq_len, (N,), generator=g)
    sp = n_frequent + y * (n_sparse // 2) + torch.randint(0, n_sparse // 2, (N,), generator=g)
    x[torch.arange(N), pos] = sp
    xtr, ytr, xte, yte = _split(x, y, n_train, seed)
    return Task("sparse-token", "tokens", xtr, ytr, xte, yte, 2,
                f"{n_frequent} frequent tokens (class bias {bias}) + 1 of {n_sparse} sparse "
                f"class tokens per sequence of {seq_len}",
                {"vocab": n_frequent + n_sparse, "n_frequent": n_frequent,
                 "n_sparse": n_sparse, "bias": bias})


def digits_task(n_train: int = 1200, seed: int = 0) -> Task:
    """scikit-learn's 8x8 digits, 10 classes, pixels in [-1, 1], shape (N, 1, 8, 8).

    Parameters
    ----------
    n_train : int
        Training images (the rest of the 1797 are the test set).
    seed : int
        Split seed.

    Returns
    -------
    Task

    Examples
    --------
    >>> t = digits_task(n_train=1000)
    >>> tuple(t.x_train.shape), len(t.x_test), t.n_classes
    ((1000, 1, 8, 8), 797, 10)
    >>> float(t.x_train.min()), float(t.x_train.max())
    (-1.0, 1.0)
    """
    import torch

    images, target = _digits_arrays()
    x = torch.tensor(images, dtype=torch.float32)[:, None] / 16 * 2 - 1
    y = torch.tensor(target, dtype=torch.long)
    xtr, ytr, xte, yte = _split(x, y, n_train, seed)
    return Task("digits", "image", xtr, ytr, xte, yte, 10,
                "scikit-learn digits 8x8, pixels scaled to [-1, 1]", {"n_total": len(y)})


def _digits_arrays():
    """The 1797 digits images ``(1797, 8, 8)`` and labels, read straight from the data file
    scikit-learn ships (importing scikit-learn itself takes most of a second); its
    ``load_digits`` when that file is not where this version of scikit-learn keeps it."""
    import importlib.util

    import numpy as np

    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",")
            if table.shape == (1797, 65):
                return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images, d.target


_WORD = re.compile(r"[a-z']+")


def fortunes_task(seq_len: int = 16, vocab_size: int = 2000, train_frac: float = 0.7,
                  seed: int = 0, topics=None) -> Task:
    """Topic classification over fortunes files: first ``seq_len`` words of each quotation.

    Quotations with fewer than ``seq_len`` words are dropped (fixed length, no padding, so
    position ``seq_len - 1`` is always the final token). Token 0 is UNK; the vocabulary is the
    ``vocab_size - 1`` most frequent training words.

    Parameters
    ----------
    seq_len : int
        Words kept per quotation.
    vocab_size : int
        Vocabulary size including UNK.
    train_frac : float
        Fraction of quotations in the training split.
    seed : int
        Split seed.
    topics : iterable of str, optional
        Topic files (default: :data:`nstheory.corpora.DEFAULT_TOPICS`).

    Returns
    -------
    Task

    Examples
    --------
    On a two-topic corpus in a temporary directory (``NSTHEORY_FORTUNES`` points to it):

    >>> import os, tempfile
    >>> from pathlib import Path
    >>> d = tempfile.mkdtemp()
    >>> _ = Path(d, "science").write_text("\\n%\\n".join(
    ...     ["the atom is mostly empty space and the rest is mostly energy"] * 10))
    >>> _ = Path(d, "love").write_text("\\n%\\n".join(
    ...     ["love is patient love is kind and it keeps no record of wrongs"] * 10))
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"NSTHEORY_FORTUNES": d}):
    ...     t = fortunes_task(seq_len=4, train_frac=0.5, topics=["science", "love"])
    >>> tuple(t.x_train.shape), t.n_classes
    ((10, 4), 2)
    >>> t.meta["vocab"]     # UNK + the, atom, is, mostly, love, patient ("is" is shared)
    7
    """
    from collections import Counter

    import torch

    from nstheory.corpora import DEFAULT_TOPICS, fortunes

    topics = tuple(topics or DEFAULT_TOPICS)
    data = fortunes(topics)
    seqs, labels = [], []
    for c, t in enumerate(topics):
        for q in data[t]:
            w = _WORD.findall(q.lower())
            if len(w) >= seq_len:
                seqs.append(w[:seq_len])
                labels.append(c)
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(seqs), generator=g).tolist()
    n_train = int(train_frac * len(seqs))
    tr, te = perm[:n_train], perm[n_train:]
    counts = Counter(w for i in tr for w in seqs[i])
    itos = ["<unk>"] + [w for w, _ in counts.most_common(vocab_size - 1)]
    stoi = {w: i for i, w in enumerate(itos)}
    x = torch.tensor([[stoi.get(w, 0) for w in s] for s in seqs], dtype=torch.long)
    y = torch.tensor(labels, dtype=torch.long)
    return Task("fortunes", "tokens", x[tr], y[tr], x[te], y[te], len(topics),
                f"fortunes topics {', '.join(topics)}; first {seq_len} words",
                {"vocab": len(itos), "topics": list(topics)})


TASKS = {"boolean": boolean_task, "sparse-token": sparse_token_task, "digits": digits_task,
         "fortunes": fortunes_task}


def get_task(name: str, seed: int = 0) -> Task:
    """A task by name (``boolean``, ``sparse-token``, ``digits``, ``fortunes``), with its
    default sizes.

    Parameters
    ----------
    name : str
        A key of :data:`TASKS`.
    seed : int
        Passed to the task builder.

    Returns
    -------
    Task

    Examples
    --------
    >>> get_task("digits").n_classes
    10
    >>> get_task("mnist")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: ...task...
    """
    check_choice(name, TASKS, "task")
    return TASKS[name](seed=seed)


__all__ = ["TASKS", "Task", "boolean_task", "digits_task", "fortunes_task", "get_task",
           "sparse_token_task"]
