"""Every registered figure is committed under figures/ with its data, and the committed data are
what the current code draws: each figure is regenerated into a temporary directory and its JSON
compared with the committed JSON, so a stale committed figure (e.g. a title that still says 2
seeds when the study has 5) fails. Regenerate with ``nstheory figures``.

Numbers are compared to 1e-6 relative (decimal strings of interval bounds included): re-running
the same code on this machine class changes the data by at most ~1e-7 relative (Monte Carlo
float32 sums, last-bit differences of libm), while a stale figure differs in its structure, its
text, or its numbers by far more. Within a list of numbers, differences below 1e-14 of the
list's largest magnitude are ignored: they are the rounding residues of exact zeros (the tanh
and SiLU maps at rho = 0 give 1e-34 on one CPU and 7e-39 on another, against values of order
1), while a list of small numbers (enclosure radii, say) keeps its own small scale. The five
figures whose data take 15-120 s each on 2 cores are marked slow.
"""

import json
import math
from pathlib import Path

import pytest

from nstheory.plots import discover

ROOT = Path(__file__).resolve().parents[2]
FIGURES = discover()
#: Figures whose data are expensive (attention quadratures, interval propagation).
SLOW = {"attention_sn_curves", "attention_stab_vs_rho", "attention_thm52_convergence",
        "propagation_envelopes", "attention_random_many_tokens"}
REL = 1e-6


def _as_number(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _scale(values) -> float:
    nums = [abs(x) for x in map(_as_number, values) if x is not None and math.isfinite(x)]
    return max(nums, default=0.0)


def differences(new, old, where="$", out=None, limit=10, floor=0.0) -> list[str]:
    """Where two JSON values differ: structure and text exactly, numbers (and decimal strings)
    to REL relative or within ``floor`` (1e-14 of the largest magnitude in their list)."""
    out = [] if out is None else out
    if len(out) >= limit or new == old:
        return out
    a, b = _as_number(new), _as_number(old)
    if a is not None and b is not None:
        if not (math.isfinite(a) and math.isfinite(b)
                and abs(a - b) <= max(REL * max(abs(a), abs(b)), floor)):
            out.append(f"{where}: {new!r} != committed {old!r}")
    elif isinstance(new, dict) and isinstance(old, dict):
        if set(new) != set(old):
            out.append(f"{where}: keys {sorted(set(new) ^ set(old))} differ")
        for k in sorted(set(new) & set(old)):
            differences(new[k], old[k], f"{where}.{k}", out, limit)
    elif isinstance(new, list) and isinstance(old, list):
        if len(new) != len(old):
            out.append(f"{where}: length {len(new)} != committed {len(old)}")
        floor = 1e-14 * max(_scale(new), _scale(old))
        for i, (x, y) in enumerate(zip(new, old, strict=False)):
            differences(x, y, f"{where}[{i}]", out, limit, floor)
    else:
        out.append(f"{where}: {new!r} != committed {old!r}")
    return out


def test_differences_detects_what_it_must():
    # the comparison itself can fail: text, structure, numbers beyond REL
    assert differences({"t": "5 seeds"}, {"t": "2 seeds"})
    assert differences([1.0, 2.0], [1.0, 2.0, 3.0])
    assert differences({"x": 1.0}, {"x": 1.0 + 1e-5})
    assert differences({"lo": "0.9095383988"}, {"lo": "0.9095393988"})
    assert not differences({"x": 1.0, "s": "a"}, {"x": 1.0 + 1e-9, "s": "a"})
    # rounding residues of an exact zero beside O(1) values pass; small lists keep their scale
    assert not differences([0.5, 1.2e-34], [0.5, 6.8e-39])
    assert differences([0.5, 1e-12], [0.5, 0.0])
    assert differences([2e-15, 1e-15], [2e-15, 3e-15])


def test_every_registered_figure_has_a_committed_png_and_json():
    assert len(FIGURES) >= 20
    missing = [f"{name}.{ext}" for name in FIGURES for ext in ("png", "json")
               if not (ROOT / "figures" / f"{name}.{ext}").exists()]
    assert missing == []


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in sorted(FIGURES)])
def test_committed_figure_data_is_current(name, tmp_path):
    png = tmp_path / f"{name}.png"
    FIGURES[name].fn(png)
    new = json.loads(png.with_suffix(".json").read_text())
    old = json.loads((ROOT / "figures" / f"{name}.json").read_text())
    diff = differences(new, old)
    assert diff == [], f"figures/{name} is stale (run `nstheory figures --only {name}`): {diff}"
