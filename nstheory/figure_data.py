"""The data a matplotlib figure shows, as JSON: titles, axis labels, every line and bar.

Figures whose data are not already saved beside their PNG write this record instead
(``figures/<name>.json``), so a regenerated figure can be compared with the committed one
number by number, titles and legends included (a PNG cannot be compared reliably).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots()
>>> _ = ax.plot([0, 1], [2.0, 3.0], label="a line"); _ = ax.set_title("t")
>>> d = figure_data(fig); plt.close(fig)
>>> d["axes"][0]["title"], d["axes"][0]["lines"][0]["y"]
('t', [2.0, 3.0])
"""

from __future__ import annotations

import math


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f if math.isfinite(f) else None


def _nums(values) -> list:
    import numpy as np

    arr = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan).ravel()
    return [_num(v) for v in arr]


def figure_data(fig) -> dict:
    """Titles, labels, lines (x, y, label) and bars (label, heights) of every axes of ``fig``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure

    Returns
    -------
    dict
        ``{"suptitle": str, "axes": [{"title", "xlabel", "ylabel", "lines", "bars",
        "texts"}, ...]}``; non-finite numbers are ``None``.

    Examples
    --------
    Bars are recorded with their heights; non-finite values become ``None``:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.bar(["a", "b"], [1.5, float("nan")], label="heights")
    >>> _ = ax.set_ylabel("count"); _ = fig.suptitle("demo")
    >>> d = figure_data(fig); plt.close(fig)
    >>> d["suptitle"], d["axes"][0]["ylabel"], d["axes"][0]["bars"][0]["heights"]
    ('demo', 'count', [1.5, None])
    """
    sup = getattr(fig, "_suptitle", None)
    out = {"suptitle": sup.get_text() if sup is not None else "", "axes": []}
    for ax in fig.get_axes():
        lines = [{"label": ln.get_label(), "x": _nums(ln.get_xdata()),
                  "y": _nums(ln.get_ydata())} for ln in ax.get_lines()]
        bars = []
        for c in ax.containers:
            if hasattr(c, "datavalues"):
                bars.append({"label": c.get_label(), "heights": _nums(c.datavalues)})
        ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        out["axes"].append({"title": ax.get_title(), "xlabel": ax.get_xlabel(),
                            "ylabel": ax.get_ylabel(), "xticklabels": ticks, "lines": lines,
                            "bars": bars, "texts": [t.get_text() for t in ax.texts]})
    return out


def save_figure(fig, path, **savefig_kwargs) -> None:
    """Save ``fig`` as the PNG ``path`` (``savefig_kwargs`` go to ``fig.savefig``) and its
    :func:`figure_data` beside it (``.json``).

    Examples
    --------
    The PNG and its JSON record are written side by side:

    >>> import tempfile, json
    >>> from pathlib import Path
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0.25, 0.5], label="line")
    >>> png = Path(tempfile.mkdtemp()) / "demo.png"
    >>> save_figure(fig, png, dpi=50); plt.close(fig)
    >>> png.is_file(), json.loads(png.with_suffix(".json").read_text())["axes"][0]["lines"][0]["y"]
    (True, [0.25, 0.5])
    """
    from pathlib import Path

    from nstheory.plots import save_png
    from nstheory.store import save_json

    path = Path(path)
    save_png(fig, path, **savefig_kwargs)
    save_json(figure_data(fig), path.with_suffix(".json"))


__all__ = ["figure_data", "save_figure"]
