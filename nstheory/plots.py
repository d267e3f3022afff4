"""The figure registry behind ``nstheory figures``.

Each area of the toolkit registers its paper and teaching figures in a module named
``figures`` (e.g. ``nstheory/boolean/figures.py``) with the :func:`figure` decorator; a figure
function receives the output ``Path`` of its PNG and writes it (plus, if it likes, a JSON file
of the plotted data beside it). ``nstheory figures`` imports every such module, and regenerates
all of them (or those matching ``--only``) into ``figures/``.

>>> @figure("demo_line", "a straight line", register=False)
... def _demo(path):
...     pass
>>> _demo.__name__
'_demo'
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cycler import cycler

from nstheory.errors import NSTheoryError
from nstheory.validate import arg_output_dir


@dataclass
class FigureSpec:
    """One registered figure: its ``name`` (the PNG stem), a one-line ``description``, the
    producer ``fn(path)`` and whether it is ``slow`` (skipped unless asked for).

    Examples
    --------
    >>> spec = FigureSpec("demo", "a demo figure", lambda path: None)
    >>> spec.name, spec.slow
    ('demo', False)
    """

    name: str
    description: str
    fn: Callable[[Path], None]
    slow: bool = False


FIGURES: dict[str, FigureSpec] = {}


def figure(name: str, description: str, slow: bool = False, register: bool = True):
    """Register ``fn(path)`` as the producer of ``figures/<name>.png``.

    With ``register=False`` the function is returned untouched and nothing is recorded.

    Examples
    --------
    >>> @figure("demo_unregistered", "not recorded", register=False)
    ... def draw(path):
    ...     pass
    >>> "demo_unregistered" in FIGURES, callable(draw)
    (False, True)
    """

    def deco(fn):
        if register:
            if name in FIGURES and FIGURES[name].fn is not fn:
                raise NSTheoryError(f"figure {name!r} is registered twice")
            FIGURES[name] = FigureSpec(name, description, fn, slow)
        return fn

    return deco


def discover() -> dict[str, FigureSpec]:
    """Import every ``nstheory.<area>.figures`` module so its figures register.

    Returns the registry, a dict from figure name to :class:`FigureSpec`.

    Examples
    --------
    >>> figs = discover()
    >>> "attention_sn_curves" in figs, all(isinstance(f, FigureSpec) for f in figs.values())
    (True, True)
    """
    import nstheory

    for info in pkgutil.walk_packages(nstheory.__path__, "nstheory."):
        if info.name.rsplit(".", 1)[-1] == "figures":
            importlib.import_module(info.name)
    return FIGURES


def setup_matplotlib():
    """Headless matplotlib with the toolkit's plot style; returns ``pyplot``.

    Examples
    --------
    >>> plt = setup_matplotlib()
    >>> plt.get_backend().lower(), plt.rcParams["mathtext.fontset"]
    ('agg', 'cm')
    """
    import os

    # the backend is forced to Agg below, so MPLBACKEND does not matter; an invalid value
    # would otherwise make ``import matplotlib`` itself fail
    os.environ.pop("MPLBACKEND", None)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def save_png(fig, path, **savefig_kwargs) -> None:
    """``fig.savefig(path, **savefig_kwargs)`` atomically: a failed write (a full disk, an
    interrupt) leaves the previous file intact instead of a truncated image.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> plt = setup_matplotlib()
    >>> fig, ax = plt.subplots()
    >>> png = Path(tempfile.mkdtemp()) / "demo.png"
    >>> save_png(fig, png, dpi=20); plt.close(fig)
    >>> png.read_bytes()[:4], [p.name for p in png.parent.iterdir()]
    (b'\\x89PNG', ['demo.png'])
    """
    from nstheory.store import atomic_output

    with atomic_output(path) as tmp:
        fig.savefig(tmp, **savefig_kwargs)


#: The one plot style of the toolkit: mathtext in Computer Modern for every formula, a
#: colour-blind-safe cycle, light grids, frameless legends placed where the data is not
#: (``loc="best"``), and sizes readable when a figure is shrunk to a paper's column width.
STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=[
        "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]),
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "legend.loc": "best",
    "mathtext.fontset": "cm",
    "lines.linewidth": 1.5,
}


def register_cli(sub) -> None:
    """Add the ``figures`` sub-command to ``sub`` (an ``add_subparsers`` object).

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> register_cli(sub)
    >>> args = sub.choices["figures"].parse_args(["--only", "attention_*", "--list"])
    >>> args.only, args.list, args.include_slow, args.func is run_cli
    (['attention_*'], True, False, True)
    """
    p = sub.add_parser("figures", help="regenerate the committed figures (PNG) into figures/")
    p.add_argument("--only", nargs="*", metavar="GLOB", help="only figures whose name matches")
    p.add_argument("--out", type=arg_output_dir(), default="figures",
                   help="output directory (default: figures/; its parent must exist)")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    p.add_argument("--include-slow", action="store_true", help="also regenerate slow figures")
    p.set_defaults(func=run_cli)


def run_cli(args) -> int:
    """Run ``nstheory figures``: list the figures, or draw the chosen ones into ``--out``.

    Returns the exit code; a ``--only`` that matches nothing raises :class:`NSTheoryError`
    (exit code 2 from the command line).

    Examples
    --------
    >>> import contextlib, io
    >>> from nstheory.cli import main
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf):
    ...     code = main(["figures", "--list", "--only", "attention_sn_curves"])
    >>> code, buf.getvalue().split()[0], len(buf.getvalue().splitlines())
    (0, 'attention_sn_curves', 1)
    >>> with contextlib.redirect_stderr(io.StringIO()):
    ...     main(["figures", "--only", "no_such_figure"])
    2
    """
    from fnmatch import fnmatchcase

    figs = discover()
    chosen = [
        f
        for f in sorted(figs.values(), key=lambda f: f.name)
        if (not args.only or any(fnmatchcase(f.name, g) for g in args.only))
        and (args.include_slow or not f.slow or args.only)
    ]
    if args.list:  # every figure, or those --only matches (slow ones included)
        for f in sorted(figs.values(), key=lambda f: f.name):
            if not args.only or any(fnmatchcase(f.name, g) for g in args.only):
                print(f"{f.name:40s} {'(slow) ' if f.slow else ''}{f.description}")
        return 0
    if not chosen:
        raise NSTheoryError("no figure matches --only " + " ".join(args.only or []))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    setup_matplotlib()
    for f in chosen:
        t0 = time.perf_counter()
        f.fn(out / f"{f.name}.png")
        dt = time.perf_counter() - t0
        print(f"wrote {out / (f.name + '.png')}  ({dt:.1f} s)  {f.description}")
    return 0
