"""Real text that installs with a package, for the language experiments (no downloads at run time).

* :func:`fortunes` reads Debian's ``fortunes`` package (``apt-get install fortunes``; installed
  by ``.ci/run``): about 50 topic files of English quotations under
  ``/usr/share/games/fortunes``. Used for topic classification (sensitivity comparison) and, by
  default, as the next-token-prediction corpus.
* :func:`wikitext2` reads WikiText-2 from a local directory (``wiki.train.tokens`` etc., or the
  ``.raw`` variant); nstheory never downloads it.

Both raise :class:`~nstheory.errors.NSTheoryError` with the install hint when the data are absent.

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


def fortunes_dir() -> Path | None:
    """The directory of the installed fortunes files (``$NSTHEORY_FORTUNES`` overrides)."""
    env = os.environ.get("NSTHEORY_FORTUNES")
    for d in ((env,) if env else ()) + FORTUNES_DIRS:
        if d and Path(d, "science").is_file():
            return Path(d)
    return None


def fortunes_available() -> bool:
    """True when Debian's ``fortunes`` package (or ``$NSTHEORY_FORTUNES``) is present."""
    return fortunes_dir() is not None


def fortunes(topics=None, min_chars: int = 20) -> dict[str, list[str]]:
    """Quotations by topic file: ``{topic: [text, ...]}``.

    Parameters
    ----------
    topics : iterable of str, optional
        Topic file names (default: every file that is not a ``.dat``/``.u8`` index).
    min_chars : int
        Drop quotations shorter than this.
    """
    d = fortunes_dir()
    if d is None:
        raise NSTheoryError(
            "Debian's fortunes corpus is not installed: run `apt-get install fortunes` "
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
    """All quotations of the given topics joined by blank lines (a plain English corpus)."""
    return "\n\n".join(t for items in fortunes(topics).values() for t in items)


def wikitext2(path, split: str = "train") -> str:
    """Text of a WikiText-2 split read from a local directory (never downloaded).

    Looks for ``wiki.<split>.tokens`` or ``wiki.<split>.raw`` inside ``path``.
    """
    if split not in ("train", "valid", "test"):
        raise NSTheoryError(f"split must be train, valid or test, got {split!r}")
    base = Path(path)
    for name in (f"wiki.{split}.tokens", f"wiki.{split}.raw"):
        if (base / name).is_file():
            return (base / name).read_text(encoding="utf-8")
    raise NSTheoryError(
        f"WikiText-2 not found in {base}: expected wiki.{split}.tokens or wiki.{split}.raw "
        "(nstheory does not download data; place the files there or use the fortunes corpus)"
    )
