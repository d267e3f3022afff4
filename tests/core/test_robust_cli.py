"""Each bad input reported by users gives one line naming the argument and exit code 2; text
tables show the same numbers as ``--json`` on extreme values."""

import json
import math
import re

import pytest
import torch

from nstheory.cli import main
from nstheory.errors import NSTheoryError, check_rho, parse_seeds
from nstheory.validate import check_integer, check_real


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text.txt").write_text("not a checkpoint\n")
    (tmp_path / "corrupt.pt").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "adir").mkdir()
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    return tmp_path


BAD = [
    (["boolean", "majority", ""], "majority N"),
    (["boolean", "random", "3", "--seed", "-1"], "--seed"),
    (["boolean", "threshold", "1,1", "--theta", "nan"], "--theta"),
    (["propagate", "--depth", "2", "--bits", "100000"], "--bits"),
    (["propagate", "--mc-samples", "10", "--per-net", "0"], "--per-net"),
    (["propagate", "--state-dict", "corrupt.pt"], "--state-dict"),
    (["propagate", "--state-dict", "module.pt"], "--state-dict"),
    (["propagate", "--state-dict", "text.txt"], "--state-dict"),
    (["propagate", "--state-dict", "list.pt"], "--state-dict"),
    (["propagate", "--state-dict", "adir"], "--state-dict"),
    (["propagate", "--state-dict", "missing.pt"], "--state-dict"),
    (["propagate", "--width", "0"], "--width"),
    (["propagate", "--rho", "nan"], "--rho"),
    (["propagate", "--depth", "100000", "--mc-samples", "100000"], "limit"),
    (["mc", "stab", "--model-file", "module.pt", "--input-shape", "3", "--n", "10"],
     "--input-shape"),
    (["mc", "stab", "--model-file", "module.pt", "--input-shape", "a,b"], "--input-shape"),
    (["mc", "stab", "--model", "mlp", "--input-shape", "0", "--n", "10"], "--input-shape"),
    (["activation", "gelu", "--rho", "0.5", "--q1", "1e300"], "trapezoid nodes"),
    (["propagate", "--arch", "attention", "--mode", "random", "--tokens", "4096",
      "--mc-samples", "400"], "inputs per network"),
    (["propagate", "--depth", "3", "--width", "16384", "--mc-samples", "200"],
     "projected sampler"),
    (["mc", "stab", "--model-file", "text.txt", "--input-shape", "2"], "--model-file"),
    (["mc", "stab", "--n", "10", "--out", "text.txt"], "--out"),
    (["mc", "stab", "--n", "10", "--out", "nodir/r.json"], "--out"),
    (["mc", "stab", "--n", "10", "--out", "adir"], "--out"),
    (["mc", "stab", "--cv-degree", "40"], "--cv-degree"),
    (["mc", "stab", "--n", "1e12"], "--n"),
    (["sensitivity", "compare", "--log", "corrupt.pt"], "--log"),
    (["sensitivity", "model", "--model-file", "module.pt"], "does not fit module.pt"),
    (["sensitivity", "compare", "--epochs", "-1"], "--epochs"),
    (["sensitivity", "compare", "--seeds", "-1"], "--seeds"),
    (["train", "parity", "--reg-gamma", "nan"], "--reg-gamma"),
    (["train", "parity", "--reg-gamma", "inf"], "--reg-gamma"),
    (["train", "parity", "--out", "text.txt"], "--out"),
]


@pytest.mark.parametrize(("argv", "names"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_one_line_exit_2(files, capsys, monkeypatch, argv, names):
    # progress bars (stderr, shown after 2 s of a long run) are not part of the message
    monkeypatch.setenv("NSTHEORY_PROGRESS", "0")
    before = {p.name: p.read_bytes() for p in files.iterdir() if p.is_file()}
    assert main(argv) == 2
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert err.startswith("nstheory ") and "\n" not in err, err
    assert names in err and "Traceback" not in err
    after = {p.name: p.read_bytes() for p in files.iterdir() if p.is_file()}
    assert after == before  # nothing clobbered, nothing written
    assert sorted(p.name for p in files.iterdir()) == sorted([*before, "adir"])


def test_library_accepts_the_cli_number_forms():
    from nstheory.gaussian.activations import get_activation
    from nstheory.montecarlo.estimators import gaussian_stability

    assert check_rho("1/2") == "1/2"  # unchanged: high-precision callers read strings exactly
    relu = get_activation("relu")
    assert relu.raw("1/2", dps=40) == relu.raw("0.5", dps=40)
    assert relu.raw("0.9", dps=40) != relu.raw(0.9, dps=40)  # the float 0.9 is not 9/10
    import torch

    est = gaussian_stability(lambda z: z, (3,), "1/2", 4000,
                             generator=torch.Generator().manual_seed(0))
    assert est.raw.z(1.5) ** 2 < 16  # E<X, Y> = 3 rho for the identity on R^3
    assert check_real("-3/4", "x", lo=-1) == -0.75
    assert check_integer("1e3", "n") == 1000
    for bad in ("nan", "inf", "", "1/0", "abc"):
        with pytest.raises(NSTheoryError):
            check_real(bad, "x")
    assert parse_seeds("0-2,7") == [0, 1, 2, 7]
    with pytest.raises(NSTheoryError):
        parse_seeds("0-99999999")


def _propagate(argv, capsys):
    assert main(["propagate", *argv]) == 0
    text = capsys.readouterr().out
    assert main(["propagate", *argv, "--json"]) == 0
    return text, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("rho", "sigma2"), [
    ("1", "2"), ("-1", "2"), ("0", "2"), (str(1 - 1e-7), "2"), (str(-(1 - 1e-7)), "2"),
    ("1e-300", "2"), ("0.5", "1e6"), ("0.5", "1e-6"), ("-1", "1e-6")])
def test_propagate_table_equals_json(capsys, rho, sigma2):
    text, js = _propagate(["--depth", "3", "--rho", rho, "--sigma2", sigma2], capsys)
    rows = [ln for ln in text.splitlines() if re.match(r"\s+\d+\s+\[", ln)]
    assert len(rows) == len(js["layers"]) == 3
    for line, lay in zip(rows, js["layers"], strict=True):
        m = re.match(r"\s+(\d+)\s+\[\s*(\S+),\s*(\S+)\]\s+(\S+)\s*$", line)
        assert m, line
        assert int(m[1]) == lay["layer"]
        assert (m[2], m[3]) == (lay["lo"], lay["hi"])  # the certified strings, untouched
        assert float(m[4]) == lay["point"]
    assert "Monte Carlo" not in text.splitlines()[2] and "MC" not in text


def test_propagate_table_tiny_values_keep_their_exponent(capsys):
    # rho = -1: layer 1 of ReLU is 0 up to ~1e-26; the old table printed it as -3.29...
    text, js = _propagate(["--depth", "2", "--rho", "-1"], capsys)
    lo, hi = js["layers"][0]["lo"], js["layers"][0]["hi"]
    assert "e-" in lo and "e-" in hi
    row = next(ln for ln in text.splitlines() if re.match(r"\s+1\s+\[", ln))
    assert re.search(rf"\[\s*{re.escape(lo)}, \s*{re.escape(hi)}\]", row), row


def test_propagate_mc_table_equals_json(capsys):
    args = ["--depth", "2", "--rho", "0.5", "--width", "8", "--mc-samples", "40",
            "--per-net", "20", "--device", "cpu"]
    text, js = _propagate(args, capsys)
    rows = [ln for ln in text.splitlines() if re.match(r"\s+\d+\s+\[", ln)]
    for line, lay in zip(rows, js["layers"], strict=True):
        parts = line.split("]", 1)[1].split()  # point, mean, ±, SE, z, in?, tight
        mean, se, z, tight = float(parts[1]), float(parts[3]), float(parts[4]), parts[6]
        assert mean == lay["mc_mean"]
        assert math.isclose(se, lay["mc_stderr"], rel_tol=5e-3)
        assert math.isclose(z, lay["z"], rel_tol=5e-4, abs_tol=1e-12)
        assert math.isclose(float(tight), lay["tightness"], rel_tol=5e-3)
    assert "in? = yes if" in text and "standard error" in text


@pytest.mark.parametrize(("rho", "extra"), [("-1", ["--antithetic"]), ("1", []),
                                            ("0.5", ["--cv-degree", "4", "--antithetic"]),
                                            (str(-(1 - 1e-7)), [])])
def test_mc_stab_text_equals_json(capsys, rho, extra):
    argv = ["mc", "stab", "--rho", rho, "--n", "2000", "--device", "cpu", *extra]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    m = re.search(r"estimate (\S+) ± (\S+) \(± = standard error; 95% CI \[(\S+), (\S+)\]", text)
    assert m, text
    red = js["reduced"]
    assert math.isclose(float(m[1]), red["mean"], rel_tol=1e-7, abs_tol=1e-300)
    assert math.isclose(float(m[2]), red["stderr"], rel_tol=5e-2, abs_tol=1e-300)
    assert math.isclose(float(m[3]), red["ci95"][0], rel_tol=1e-7, abs_tol=1e-300)
    assert math.isclose(float(m[4]), red["ci95"][1], rel_tol=1e-7, abs_tol=1e-300)
    assert "nan" not in text.lower().replace("variance", "")


def test_zero_variance_antithetic_at_rho_minus_one(capsys):
    # ReLU(X) ReLU(-X) = 0 on every draw: an exact 0 with SE 0 and an undefined VRF
    assert main(["mc", "stab", "--rho", "-1", "--antithetic", "--n", "100", "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["reduced"]["mean"] == 0 and js["reduced"]["stderr"] == 0
    assert js["vrf"] is None


def test_one_output_model_says_normalised_is_undefined(files, capsys):
    torch.save(torch.nn.Linear(2, 1), files / "one.pt")
    argv = ["mc", "stab", "--model-file", "one.pt", "--input-shape", "2", "--n", "50"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "normalised correlation    = undefined" in text and "nan" not in text
    assert main([*argv, "--json"]) == 0
    assert "undefined" in json.loads(capsys.readouterr().out)["normalised_note"]


def test_numbers_longer_than_pythons_int_string_limit(capsys):
    # Python refuses int <-> str conversions beyond 4300 digits by default; these inputs made
    # tracebacks: rho^24 at rho = 1e-200 has a 4801-digit denominator (printed in full), at
    # rho = 1e-1000 a 24001-digit one (reported by its size; 1e-100000 too), and a 5000-digit
    # activation value parsed back for the reduction cross-check
    assert main(["boolean", "parity", "24", "--rho", "1e-200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stab"]["exact"] == "1/1" + "0" * 4800
    assert main(["boolean", "parity", "24", "--rho", "1e-1000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stab"]["exact"] is None and "not printed" in out["stab"]["exact_omitted"]
    assert out["stab"]["float"] == 0.0
    assert main(["boolean", "parity", "24", "--rho", "1e-1000"]) == 0
    assert "not printed" in capsys.readouterr().out
    assert main(["activation", "relu", "--rho", "0.999999", "--dps", "5000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["value"].startswith("0.4999995001500527268621548520")


@pytest.mark.parametrize("argv, key, exact", [
    # leaky ReLU at rho = 1: E[phi(U)^2] = (a^2 + 1) / 2 = 0.505 for a = 1/10
    (["activation", "leaky_relu", "--slope", "0.1", "--rho", "1"], None, "0.505"),
    # polynomial 0.1 x at rho = 1: 0.1^2 = 0.01
    (["activation", "polynomial", "--coeffs", "0,0.1", "--rho", "1"], None, "0.01"),
    # one leaky-ReLU layer on the 1-cube: the degree-0 NNGP eigenvalue is (K(1) + K(-1)) / 2
    # with K(1) = (1 + a^2)/2 and K(-1) = E[phi(U) phi(-U)] = -a: 0.2025 at a = 1/10
    (["spectrum", "--n", "1", "--act", "leaky_relu", "--slope", "0.1", "--depth", "1",
      "--sw2", "1"], "nngp", "0.2025"),
])
def test_decimal_parameters_are_read_exactly(capsys, argv, key, exact):
    # "0.1" was read as the binary double nearest 0.1: at 30 digits the value printed
    # 0.5050000000000000005551 and the certified enclosure excluded the exact 0.505
    import mpmath

    assert main([*argv, "--dps", "30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lo, hi = out["degrees"][0][f"{key}_enclosure"] if key else out["enclosure"]
    with mpmath.workdps(50):
        assert mpmath.mpf(lo) <= mpmath.mpf(exact) <= mpmath.mpf(hi)
        assert mpmath.mpf(hi) - mpmath.mpf(lo) < mpmath.mpf("1e-29")


def test_spectrum_and_comparison_log_edge_cases(tmp_path, capsys):
    # tracebacks before: a kernel that vanishes with depth (man_exp of a NaN midpoint), a
    # recursion that loses its precision ("rho must be a finite ball"), and a resume log whose
    # lines are JSON but not run records (KeyError 'key')
    assert main(["spectrum", "--n", "10", "--depth", "1000", "--sw2", "1e-300"]) == 2
    assert "vanishes" in capsys.readouterr().err
    assert main(["spectrum", "--n", "10", "--depth", "200", "--sw2", "0.5"]) == 2
    assert "raise --dps" in capsys.readouterr().err
    log = tmp_path / "log.jsonl"
    log.write_text('{"a": 1}\n')
    argv = ["sensitivity", "compare", "--tasks", "boolean", "--archs", "mlp", "--seeds", "0",
            "--epochs", "1", "--log", str(log)]
    assert main(argv) == 2
    assert "not a run record" in capsys.readouterr().err


def test_activation_value_printed_to_the_digits_its_ball_fixes(capsys):
    # tanh near rho = 1 at 200 digits: the value is the certified ball's midpoint, whose
    # radius (~1e-61) fixes ~60 digits; it was printed and labelled as 200
    import mpmath

    assert main(["activation", "tanh", "--rho", "0.999999", "--dps", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lo, hi = (mpmath.mpf(x) for x in out["enclosure"])
    assert 40 <= out["value_digits"] < 200
    assert len(out["value"].split(".")[1]) <= out["value_digits"] + 1
    with mpmath.workdps(250):
        width = -mpmath.log10((hi - lo) / mpmath.mpf(out["value"]))
    assert out["value_digits"] <= width + 1


def test_negative_numbers_in_every_accepted_form(capsys):
    # argparse took "-5e-1" and "-1/2" for options ("expected one argument"), though the
    # number arguments document exponent and fraction forms
    values = []
    for rho in ("-0.5", "-5e-1", "-1/2", "-.5"):
        assert main(["activation", "relu", "--rho", rho, "--json"]) == 0
        values.append(json.loads(capsys.readouterr().out)["value"])
    assert len(set(values)) == 1
    assert main(["activation", "relu", "--rho", "-inf"]) == 2
    assert "finite" in capsys.readouterr().err
