"""Validators for numbers, files and outputs, and ``argparse`` types built from them.

Every command-line argument of ``nstheory`` is declared with one of the ``arg_*`` types below,
so a bad value is refused while the command line is parsed: one line naming the argument, the
value and the accepted range, exit code 2. The same checks serve the library API, which accepts
the same number forms as the command line (``0.5``, ``"1/2"``, ``"1e-3"``).

Examples
--------
>>> parse_real("1/2", "rho")
0.5
>>> check_real("nan", "--theta")
Traceback (most recent call last):
...
nstheory.errors.NSTheoryError: --theta must be a finite real number, got 'nan'
>>> arg_int(1, 10)("3")
3
"""

from __future__ import annotations

import argparse
import math
import os
from fractions import Fraction
from numbers import Real
from pathlib import Path

from nstheory.errors import NSTheoryError, fraction_of_text

#: Largest seed accepted anywhere (numpy and torch both take 32-bit seeds without surprise).
MAX_SEED = 2**32 - 1
def _range_text(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f" {'>' if lo_open else '>='} {lo}"
    if lo is None:
        return f" {'<' if hi_open else '<='} {hi}"
    return f" in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


def parse_real(value, name: str, finite: bool = True):
    """``value`` as a real number; strings may be decimals, exponents or fractions ``p/q``.

    Numbers pass through unchanged; a string becomes the float nearest to its exact value.
    NaN is always refused, and so are infinities when ``finite``.

    >>> parse_real("3/4", "x"), parse_real(2, "x"), parse_real(" 1e-3 ", "x")
    (0.75, 2, 0.001)
    >>> parse_real("", "--rho")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --rho must be a finite real number, got ''
    """
    what = "a finite real number" if finite else "a real number"
    if isinstance(value, str):
        text = value.strip()
        try:
            x = float(fraction_of_text(text, name))
        except (NSTheoryError, OverflowError) as exc:
            if "exponent beyond" in str(exc):
                raise
            x = None
            if finite is False and text.lower().lstrip("+-") in ("inf", "infinity"):
                x = float(text)
        if x is None or (finite and math.isinf(x)):
            raise NSTheoryError(f"{name} must be {what}, got {value!r}")
        return x
    if isinstance(value, bool) or not isinstance(value, Real | Fraction):
        try:
            f = float(value)
        except (TypeError, ValueError, OverflowError):
            raise NSTheoryError(f"{name} must be {what}, got {value!r}") from None
    else:
        try:
            f = float(value)
        except OverflowError:
            f = math.inf
    if math.isnan(f) or (finite and math.isinf(f)):
        raise NSTheoryError(f"{name} must be {what}, got {value!r}")
    return value


def check_real(value, name: str, lo=None, hi=None, *, lo_open: bool = False,
               hi_open: bool = False, finite: bool = True):
    """``value`` parsed by :func:`parse_real` and checked against ``[lo, hi]`` (or open ends).

    >>> check_real("0", "--slack", lo=0)
    0.0
    >>> check_real(0, "--sigma", lo=0, lo_open=True)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --sigma must be a finite real number > 0, got 0
    """
    x = parse_real(value, name, finite)
    bad = ((lo is not None and (x <= lo if lo_open else x < lo))
           or (hi is not None and (x >= hi if hi_open else x > hi)))
    if bad:
        what = "a finite real number" if finite else "a real number"
        raise NSTheoryError(f"{name} must be {what}{_range_text(lo, hi, lo_open, hi_open)}, "
                            f"got {value!r}")
    return x


def check_integer(value, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int within ``[lo, hi]``; strings such as ``"12"`` or ``"1e3"`` accepted.

    >>> check_integer("1e3", "--n", lo=2)
    1000
    >>> check_integer("-1", "--seed", lo=0, hi=MAX_SEED)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --seed must be an integer in [0, 4294967295], got '-1'
    """
    what = f"an integer{_range_text(lo, hi)}"
    if isinstance(value, bool):
        raise NSTheoryError(f"{name} must be {what}, got {value!r}")
    if isinstance(value, int):
        x = value
    else:
        try:
            q = Fraction(value.strip()) if isinstance(value, str) else Fraction(value)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            raise NSTheoryError(f"{name} must be {what}, got {value!r}") from None
        if q.denominator != 1:
            raise NSTheoryError(f"{name} must be {what}, got {value!r}")
        x = int(q)
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise NSTheoryError(f"{name} must be {what}, got {value!r}")
    return x


def check_seed(value, name: str = "seed") -> int:
    """A seed: an integer in ``[0, MAX_SEED]``.

    >>> check_seed(7)
    7
    """
    return check_integer(value, name, 0, MAX_SEED)


def parse_int_list(text: str, name: str, lo: int | None = None, hi: int | None = None,
                   min_len: int = 1, max_len: int | None = None) -> list[int]:
    """A comma-separated list of integers, each within ``[lo, hi]``.

    >>> parse_int_list("1, 8,8", "--input-shape", lo=1)
    [1, 8, 8]
    >>> parse_int_list("", "majority N", lo=1, max_len=1)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: majority N must be 1 comma-separated integer(s) >= 1, got ''
    """
    parts = [p for p in str(text).split(",") if p.strip()]
    count = f"{min_len}" if max_len == min_len else (
        f"{min_len} or more" if max_len is None else f"{min_len} to {max_len}")
    what = f"{count} comma-separated integer(s){_range_text(lo, hi)}"
    if len(parts) < min_len or (max_len is not None and len(parts) > max_len):
        raise NSTheoryError(f"{name} must be {what}, got {text!r}")
    try:
        return [check_integer(p, name, lo, hi) for p in parts]
    except NSTheoryError:
        raise NSTheoryError(f"{name} must be {what}, got {text!r}") from None


# ----------------------------------------------------------------------------- files


def check_input_file(path, name: str) -> Path:
    """``path`` as a ``Path`` to an existing, readable regular file (not a directory).

    >>> check_input_file("/nonexistent/x.pt", "--state-dict")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --state-dict: no such file: '/nonexistent/x.pt'
    """
    text = str(path)
    if not text.strip():
        raise NSTheoryError(f"{name} must name a file, got {text!r}")
    p = Path(text).expanduser()
    if p.is_dir():
        raise NSTheoryError(f"{name}: {text!r} is a directory, not a file")
    if not p.exists():
        raise NSTheoryError(f"{name}: no such file: {text!r}")
    if not p.is_file():
        raise NSTheoryError(f"{name}: {text!r} is not a regular file")
    if not os.access(p, os.R_OK):
        raise NSTheoryError(f"{name}: {text!r} is not readable")
    return p


def check_output_file(path, name: str, kind: str = "json") -> Path:
    """``path`` as a ``Path`` that may be written: its parent directory must exist (nothing is
    created silently above it) and an existing file there must be of the same ``kind``.

    ``kind`` ``"json"``: an existing file is overwritten only if it holds JSON; ``"jsonl"``: an
    existing file (a log to resume) must hold one JSON value per line; ``"markdown"``: an
    existing file is overwritten only if its name ends in ``.md`` or ``.markdown``.

    >>> check_output_file("/no-dir/out.json", "--out")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --out: directory '/no-dir' does not exist (create it first)
    """
    text = str(path)
    if not text.strip():
        raise NSTheoryError(f"{name} must name a file, got {text!r}")
    p = Path(text).expanduser()
    parent = p.parent
    if not parent.is_dir():
        raise NSTheoryError(f"{name}: directory '{parent}' does not exist (create it first)")
    if p.is_dir():
        raise NSTheoryError(f"{name}: {text!r} is a directory; give a file name")
    if p.exists():
        if not p.is_file():
            raise NSTheoryError(f"{name}: {text!r} exists and is not a regular file")
        if kind in ("json", "jsonl") and not _holds_json(p, kind):
            raise NSTheoryError(f"{name}: {text!r} exists and is not a {kind.upper()} file; "
                                "refusing to read or overwrite it (remove it or choose another "
                                "name)")
        if kind == "markdown" and p.suffix.lower() not in (".md", ".markdown"):
            raise NSTheoryError(f"{name}: {text!r} exists and is not a Markdown (.md) file; "
                                "refusing to overwrite it (remove it or choose another name)")
    if not os.access(parent, os.W_OK):
        raise NSTheoryError(f"{name}: directory '{parent}' is not writable")
    return p


def _holds_json(p: Path, kind: str) -> bool:
    import json

    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read(50_000_001)
        if len(text) > 50_000_000:
            return False
        if kind == "jsonl":
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
            return True
        json.loads(text)
        return True
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def check_output_dir(path, name: str) -> Path:
    """``path`` as a ``Path`` of a directory that may be created: either it is an existing
    directory, or its parent exists (only the last component is created).

    >>> check_output_dir("/no-dir/run", "--out")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --out: directory '/no-dir' does not exist (create it first)
    """
    text = str(path)
    if not text.strip():
        raise NSTheoryError(f"{name} must name a directory, got {text!r}")
    p = Path(text).expanduser()
    if p.exists():
        if not p.is_dir():
            raise NSTheoryError(f"{name}: {text!r} exists and is not a directory")
        return p
    if not p.parent.is_dir():
        raise NSTheoryError(f"{name}: directory '{p.parent}' does not exist (create it first)")
    if not os.access(p.parent, os.W_OK):
        raise NSTheoryError(f"{name}: directory '{p.parent}' is not writable")
    return p


def load_torch_file(path, name: str, expect: str = "state dict"):
    """Load a ``torch.save``-d file; anything else gives an :class:`NSTheoryError`.

    ``expect="state dict"``: the file must hold a dict of tensors and is loaded with
    ``weights_only=True`` (a pickled module is refused, never executed).
    ``expect="module"``: an ``nn.Module`` (pickled; loading runs its pickle: trusted files
    only) or a TorchScript archive.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> d = tempfile.mkdtemp()
    >>> good, bad = os.path.join(d, "w.pt"), os.path.join(d, "bad.pt")
    >>> torch.save({"w": torch.ones(2)}, good)
    >>> load_torch_file(good, "--weights")["w"].tolist()
    [1.0, 1.0]
    >>> with open(bad, "w") as fh:
    ...     _ = fh.write("not a torch file")
    >>> try:
    ...     load_torch_file(bad, "--weights")
    ... except NSTheoryError as exc:
    ...     print(str(exc).startswith("--weights:"), "is not a torch file" in str(exc))
    True True
    """
    import pickle
    import warnings
    import zipfile

    import torch

    p = check_input_file(path, name)
    if expect == "module":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return torch.jit.load(str(p), map_location="cpu")
        except Exception:  # not TorchScript: try a pickled module below
            pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(p, map_location="cpu", weights_only=(expect != "module"))
    except pickle.UnpicklingError as exc:
        if "global" in str(exc).lower():
            raise NSTheoryError(f"{name}: {str(path)!r} holds pickled Python objects (e.g. a "
                                f"whole nn.Module), not a {expect}; save "
                                "model.state_dict() instead") from None
        raise NSTheoryError(f"{name}: {str(path)!r} is not a torch file "
                            f"(expected a torch.save-d {expect})") from None
    except (RuntimeError, EOFError, ValueError, TypeError, AttributeError, ImportError,
            zipfile.BadZipFile, KeyError, IndexError, UnicodeDecodeError, OSError):
        raise NSTheoryError(f"{name}: {str(path)!r} is not a readable torch file "
                            f"(expected a torch.save-d {expect})") from None
    if expect == "module":
        if not isinstance(obj, torch.nn.Module):
            raise NSTheoryError(f"{name}: {str(path)!r} holds a {type(obj).__name__}, not an "
                                "nn.Module (save the module itself, or a TorchScript file)")
        return obj
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items()):
        raise NSTheoryError(f"{name}: {str(path)!r} holds a {type(obj).__name__} that is not "
                            "a state dict (a non-empty dict of named tensors)")
    return obj


# ----------------------------------------------------------------------------- argparse types


def _argtype(fn, label: str):
    def convert(text):
        try:
            return fn(text)
        except NSTheoryError as exc:
            msg = str(exc)
            for prefix in ("value: ", "value "):
                if msg.startswith(prefix):
                    msg = msg[len(prefix):]
                    break
            raise argparse.ArgumentTypeError(msg) from None

    convert.__name__ = label
    return convert


def arg_real(lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False):
    """An ``argparse`` type: a finite real number (decimal, exponent or ``p/q``) in range.

    >>> arg_real(0, 1)("1/4")
    0.25
    """
    return _argtype(lambda t: check_real(t, "value", lo, hi, lo_open=lo_open, hi_open=hi_open),
                    "real")


def exact_real(value, name: str) -> Fraction:
    """``value`` as an exact rational: a string by its decimal or ``p/q`` value (``0.1`` is
    ``1/10``, not the double nearest it), a number by its exact (binary) value. NaN and
    infinities are refused.

    >>> exact_real("0.1", "w"), exact_real(0.5, "w"), exact_real("-3/4", "w")
    (Fraction(1, 10), Fraction(1, 2), Fraction(-3, 4))
    >>> import mpmath
    >>> x = mpmath.mpf(1) / 3
    >>> q = exact_real(x, "w")
    >>> mpmath.mpf(q.numerator) / q.denominator == x, q.denominator.bit_length()   # 53 bits
    (True, 55)
    >>> exact_real("inf", "--theta")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --theta must be a finite real number, got 'inf'
    """
    x = parse_real(value, name)
    if isinstance(value, str):
        return fraction_of_text(value, name)
    if type(value).__name__ == "mpf":          # every mpf is a dyadic rational: exactly
        man, exp = value.man_exp
        return Fraction(int(man)) * Fraction(2) ** int(exp)
    return Fraction(x)


def arg_exact_real():
    """An ``argparse`` type: a finite real number, kept exactly as a ``Fraction``.

    >>> arg_exact_real()("0.3")
    Fraction(3, 10)
    """
    return _argtype(lambda t: exact_real(t, "value"), "real")


def arg_int(lo: int | None = None, hi: int | None = None):
    """An ``argparse`` type: an integer within ``[lo, hi]``.

    >>> arg_int(0)("12")
    12
    """
    return _argtype(lambda t: check_integer(t, "value", lo, hi), "int")


def arg_rho():
    """An ``argparse`` type: a correlation in [-1, 1].

    >>> arg_rho()("-1")
    -1.0
    """
    return arg_real(-1, 1)


def arg_seed():
    """An ``argparse`` type: a seed in ``[0, MAX_SEED]``.

    >>> arg_seed()("0")
    0
    """
    return arg_int(0, MAX_SEED)


def arg_seeds(max_count: int = 10_000):
    """An ``argparse`` type: seeds such as ``0-4`` or ``0,2,5`` (at most ``max_count``).

    >>> arg_seeds()("0-2,7")
    [0, 1, 2, 7]
    """
    def parse(text):
        from nstheory.errors import parse_seeds

        return parse_seeds(text, max_count=max_count, name="value")

    return _argtype(parse, "seeds")


def arg_input_file(name: str = "file"):
    """An ``argparse`` type: an existing readable regular file (returned as ``str``).

    >>> arg_input_file()(__file__) == __file__
    True
    """
    return _argtype(lambda t: (check_input_file(t, "value"), t)[1], name)


def arg_output_file(kind: str = "json"):
    """An ``argparse`` type: a file that may be written (see :func:`check_output_file`).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "r.json")
    >>> arg_output_file()(p) == p
    True
    """
    return _argtype(lambda t: (check_output_file(t, "value", kind), t)[1], "path")


def arg_output_dir():
    """An ``argparse`` type: a directory that exists or whose parent exists.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> arg_output_dir()(d) == d
    True
    """
    return _argtype(lambda t: (check_output_dir(t, "value"), t)[1], "dir")


def arg_nonempty(label: str = "text"):
    """An ``argparse`` type: a non-blank string.

    >>> arg_nonempty()("relu")
    'relu'
    """
    def check(t):
        if not str(t).strip():
            raise NSTheoryError(f"must not be empty, got {t!r}")
        return t

    return _argtype(check, label)


__all__ = [
    "MAX_SEED", "arg_exact_real", "arg_input_file", "arg_int", "arg_nonempty", "arg_output_dir",
    "arg_output_file", "arg_real", "arg_rho", "arg_seed", "arg_seeds", "check_input_file",
    "check_integer", "check_output_dir", "check_output_file", "check_real", "check_seed",
    "exact_real", "load_torch_file", "parse_int_list", "parse_real",
]
