"""Outputs are replaced atomically: a write that fails part-way (a full disk, an interrupt)
leaves the previous file as it was, never a truncated report or image."""

import json
from pathlib import Path

import pytest

from nstheory.errors import NSTheoryError


def _failing_after(monkeypatch, method_owner, name, keep=100):
    """Make ``method_owner.name`` write ``keep`` bytes of its output and then fail."""
    original = getattr(method_owner, name)

    def partial(self, target, *args, **kwargs):
        original(self, target, *args, **kwargs)
        path = Path(target)
        path.write_bytes(path.read_bytes()[:keep])
        raise OSError(27, "File too large")

    monkeypatch.setattr(method_owner, name, partial)


def test_a_failed_figure_write_keeps_the_old_png(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from nstheory.plots import save_png, setup_matplotlib

    plt = setup_matplotlib()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 2])
    png = tmp_path / "f.png"
    save_png(fig, png)
    good = png.read_bytes()
    _failing_after(monkeypatch, Figure, "savefig")
    with pytest.raises(NSTheoryError, match=f"cannot write {png}: File too large"):
        save_png(fig, png)
    plt.close(fig)
    assert png.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]


def test_a_failed_verify_report_keeps_the_old_one(tmp_path, monkeypatch, capsys):
    from nstheory.cli import main

    report, md = tmp_path / "v.json", tmp_path / "v.md"
    args = ["verify", "--claims", "boolean.majority.maj3", "--json", str(report),
            "--markdown", str(md)]
    assert main(args) == 0
    good_json, good_md = report.read_text(), md.read_text()
    json.loads(good_json)
    write = Path.write_text

    def full_disk(self, text, *a, **k):
        write(self, text[:50], *a, **k)
        raise OSError(27, "File too large")

    monkeypatch.setattr(Path, "write_text", full_disk)
    assert main(args) == 2
    assert f"cannot write {report}: File too large" in capsys.readouterr().err
    monkeypatch.undo()
    assert report.read_text() == good_json and md.read_text() == good_md
