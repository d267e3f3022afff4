"""Every registered figure is committed under figures/ (regenerate: ``nstheory figures``)."""

from pathlib import Path

from nstheory.plots import discover

ROOT = Path(__file__).resolve().parents[2]


def test_every_registered_figure_has_a_committed_png():
    figs = discover()
    assert len(figs) >= 20
    missing = [name for name in figs if not (ROOT / "figures" / f"{name}.png").exists()]
    assert missing == []
