"""Real text that installs with a package, for the language experiments (no downloads at run time).

* :func:`fortunes` reads Debian's ``fortunes`` package (``apt-get install fortunes``; installed
  by ``.ci/run``): about 50 topic files of English quotations under
  ``/usr/share/games/fortunes``. Used for topic classification (sensitivity comparison) and, by
  default, as the next-token-prediction corpus.
* :func:`wikitext2` reads WikiText-2 from a local directory (``wiki.train.tokens`` etc., or the
  ``.raw`` variant); nstheory never downloads it.

Both raise :class:`~nstheory.errors.NSTheoryError` with the install hint when the data are absent.
A claim check that needs a corpus returns :func:`skipped_without_fortunes` instead of failing:
status ``skipped`` with the one command that installs the corpus.

``NSTHEORY_FORTUNES`` chooses the fortunes directory. When it is set, only that directory is
used: set it to an empty string (or a directory without fortune files) to make the corpus
unavailable, e.g. to test what a fresh install without it does.

>>> import os
>>> fortunes_available() in (True, False)
True
"""

from __future__ import annotations

import os
from pathlib import Path

from nstheory.errors import NSTheoryError

FORTUNES_DIRS = (
    "/usr/share/games/fortunes",
    "/usr/share/fortunes",
    "/usr/local/share/games/fortunes",
)
#: Topic files with enough quotations for classification, and distinct in style.
DEFAULT_TOPICS = ("computers", "definitions", "people", "politics", "science", "songs-poems")


#: The one command that installs the fortunes corpus (Debian / Ubuntu).
FORTUNES_INSTALL = "apt-get install fortunes"


def fortunes_dir() -> Path | None:
    """The directory of the installed fortunes files, or None when absent.

    When ``$NSTHEORY_FORTUNES`` is set it is the only place looked at (empty: absent);
    otherwise the standard Debian locations are searched.

    >>> import os
    >>> old = os.environ.get("NSTHEORY_FORTUNES")
    >>> os.environ["NSTHEORY_FORTUNES"] = ""
    >>> fortunes_dir() is None
    True
    >>> _ = os.environ.pop("NSTHEORY_FORTUNES") if old is None else os.environ.update(
    ...     NSTHEORY_FORTUNES=old)
    """
    env = os.environ.get("NSTHEORY_FORTUNES")
    dirs = (env,) if env is not None else FORTUNES_DIRS
    for d in dirs:
        if d and Path(d, "science").is_file():
            return Path(d)
    return None


def fortunes_available() -> bool:
    """True when Debian's ``fortunes`` package (or ``$NSTHEORY_FORTUNES``) is present.

    Examples
    --------
    ``$NSTHEORY_FORTUNES`` set to a directory holding a ``science`` file makes the corpus
    available; set to an empty string it makes it absent:

    >>> import tempfile
    >>> old = os.environ.get("NSTHEORY_FORTUNES")
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "science").write_text("E = m c^2, said Einstein.\\n")
    >>> os.environ["NSTHEORY_FORTUNES"] = str(d); fortunes_available()
    True
    >>> os.environ["NSTHEORY_FORTUNES"] = ""; fortunes_available()
    False
    >>> _ = os.environ.pop("NSTHEORY_FORTUNES") if old is None else os.environ.update(
    ...     NSTHEORY_FORTUNES=old)
    """
    return fortunes_dir() is not None


def fortunes(topics=None, min_chars: int = 20) -> dict[str, list[str]]:
    """Quotations by topic file: ``{topic: [text, ...]}``.

    Parameters
    ----------
    topics : iterable of str, optional
        Topic file names (default: every file that is not a ``.dat``/``.u8`` index).
    min_chars : int
        Drop quotations shorter than this.

    Examples
    --------
    Quotations are separated by ``%`` lines; short ones are dropped:

    >>> import tempfile
    >>> old = os.environ.get("NSTHEORY_FORTUNES")
    >>> d = Path(tempfile.mkdtemp())
    >>> text = "A long enough quotation.\\n%\\nToo short\\n%\\nAnother quotation, long enough.\\n"
    >>> _ = (d / "science").write_text(text)
    >>> os.environ["NSTHEORY_FORTUNES"] = str(d)
    >>> fortunes(["science"])
    {'science': ['A long enough quotation.', 'Another quotation, long enough.']}
    >>> fortunes(["poetry"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: no fortunes topic file 'poetry' in ...
    >>> _ = os.environ.pop("NSTHEORY_FORTUNES") if old is None else os.environ.update(
    ...     NSTHEORY_FORTUNES=old)
    """
    d = fortunes_dir()
    if d is None:
        raise NSTheoryError(
            f"Debian's fortunes corpus is not installed: run `{FORTUNES_INSTALL}` "
            "(or set NSTHEORY_FORTUNES to a directory of fortune files)"
        )
    names = topics or sorted(
        p.name for p in d.iterdir() if p.is_file() and not p.suffix and "-" not in p.name[:1]
    )
    out: dict[str, list[str]] = {}
    for name in names:
        path = d / name
        if not path.is_file():
            raise NSTheoryError(f"no fortunes topic file {name!r} in {d}")
        text = path.read_text(encoding="latin-1")
        items = [t.strip() for t in text.split("\n%\n")]
        out[name] = [t.replace("%", "").strip() for t in items if len(t.strip()) >= min_chars]
    return out


def fortunes_text(topics=None) -> str:
    """All quotations of the given topics joined by blank lines (a plain English corpus).

    Examples
    --------
    >>> import tempfile
    >>> old = os.environ.get("NSTHEORY_FORTUNES")
    >>> d = Path(tempfile.mkdtemp())
    >>> text = "A long enough quotation.\\n%\\nAnother quotation, long enough.\\n"
    >>> _ = (d / "science").write_text(text)
    >>> os.environ["NSTHEORY_FORTUNES"] = str(d)
    >>> fortunes_text(["science"]).split("\\n\\n")
    ['A long enough quotation.', 'Another quotation, long enough.']
    >>> _ = os.environ.pop("NSTHEORY_FORTUNES") if old is None else os.environ.update(
    ...     NSTHEORY_FORTUNES=old)
    """
    return "\n\n".join(t for items in fortunes(topics).values() for t in items)


def wikitext2(path, split: str = "train") -> str:
    """Text of a WikiText-2 split read from a local directory (never downloaded).

    Looks for ``wiki.<split>.tokens`` or ``wiki.<split>.raw`` inside ``path``.

    Examples
    --------
    The ``.raw`` file is used when there is no ``.tokens`` file; a wrong split is refused:

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "wiki.valid.raw").write_text(" = Title = \\n")
    >>> wikitext2(d, "valid")
    ' = Title = \\n'
    >>> wikitext2(d, "dev")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: split must be train, valid or test, got 'dev'
    >>> _ = (d / "wiki.test.tokens").write_bytes(bytes([0x97, 0xff]))
    >>> wikitext2(d, "test")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: ...wiki.test.tokens is not UTF-8 text (byte 0: ...
    """
    if split not in ("train", "valid", "test"):
        raise NSTheoryError(f"split must be train, valid or test, got {split!r}")
    base = Path(path)
    for name in (f"wiki.{split}.tokens", f"wiki.{split}.raw"):
        if (base / name).is_file():
            try:
                return (base / name).read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise NSTheoryError(f"{base / name} is not UTF-8 text (byte {exc.start}: "
                                    f"{exc.reason}); WikiText-2 files are UTF-8") from None
    raise NSTheoryError(
        f"WikiText-2 not found in {base}: expected wiki.{split}.tokens or wiki.{split}.raw "
        "(nstheory does not download data; place the files there or use the fortunes corpus)"
    )


def skipped_without_fortunes():
    """For a claim check that needs the fortunes corpus: a ``skipped`` result naming the
    install command when the corpus is absent, else None (run the check).

    >>> import os
    >>> old = os.environ.get("NSTHEORY_FORTUNES"); os.environ["NSTHEORY_FORTUNES"] = ""
    >>> r = skipped_without_fortunes(); r.status.value, r.quantities[0][1]
    ('skipped', 'absent; install with: apt-get install fortunes')
    >>> _ = os.environ.pop("NSTHEORY_FORTUNES") if old is None else os.environ.update(
    ...     NSTHEORY_FORTUNES=old)
    """
    from nstheory.claims import CheckResult, Status

    if fortunes_available():
        return None
    return CheckResult(
        Status.SKIPPED,
        [("data source: Debian fortunes corpus", f"absent; install with: {FORTUNES_INSTALL}")],
        note=f"skipped: the fortunes corpus is not installed (run `{FORTUNES_INSTALL}`, or set "
        "NSTHEORY_FORTUNES to a directory of fortune files)",
    )


__all__ = ["DEFAULT_TOPICS", "FORTUNES_DIRS", "FORTUNES_INSTALL", "fortunes", "fortunes_available",
           "fortunes_dir", "fortunes_text", "skipped_without_fortunes", "wikitext2"]
