"""Model text inputs and loading: a huge --text is read only up to a cap, the too-short-corpus
message states the true requirement, and a missing member of the models extra gets the
install hint instead of a traceback."""

import importlib
import json
import re
import sys
from types import SimpleNamespace

import pytest

from nstheory.errors import NSTheoryError
from nstheory.models import texts
from nstheory.models.loading import INSTALL_HINT, load_model, models_available
from nstheory.models.texts import corpus_text, text_windows


class WordTokenizer:
    """A stand-in for a Hugging Face tokenizer: one id per whitespace-separated word; records
    the length of every text it is given."""

    model_max_length = 512
    cls_token_id = sep_token_id = None

    def __init__(self):
        self.seen = []

    def __call__(self, text, add_special_tokens=True):
        self.seen.append(len(text))
        return {"input_ids": [len(w) for w in text.split()]}


def _lm(kind="causal-lm"):
    return SimpleNamespace(kind=kind, tokenizer=WordTokenizer(),
                           config=SimpleNamespace(n_positions=64))


def test_huge_text_is_read_only_up_to_the_cap(tmp_path, monkeypatch, capsys):
    """A --text file of hundreds of MB aborted the process inside the Rust tokenizer (it
    needs many GB): only the first MAX_TEXT_BYTES are read and tokenised, cut at a word, and
    the description and a note say so. (The cap is lowered to 1 MiB to keep the test quick.)"""
    cap = 2**20
    monkeypatch.setattr(texts, "MAX_TEXT_BYTES", cap)
    big = tmp_path / "big.txt"
    line = "noise stability of transformers under token resampling\n"
    big.write_text(line * (3 * cap // len(line)))
    size = big.stat().st_size
    text, desc = corpus_text(str(big))
    assert cap - len(line) < len(text) <= cap
    assert text.endswith(("transformers", "resampling"))  # a whole word, not a cut one
    assert f"first {len(text)} of {size} bytes" in desc
    err = capsys.readouterr().err
    assert err.startswith("note: --text") and f"{size} bytes" in err and err.count("\n") == 1
    lm = _lm()
    ids, desc = text_windows(lm, n=5, count=3, seed=0, source=str(big))
    assert tuple(ids.shape) == (3, 5) and "first" in desc
    assert max(lm.tokenizer.seen) <= cap  # the tokenizer never saw the whole file


def test_text_under_the_cap_reads_as_before(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(texts, "MAX_TEXT_BYTES", 64)
    p = tmp_path / "t.txt"
    p.write_bytes(b"caf\xc3\xa9 line one\r\nline two\rbad \xff byte")  # 36 bytes
    text, desc = corpus_text(str(p))
    assert text == p.read_text(encoding="utf-8", errors="replace")
    assert desc == f"text file {p}" and capsys.readouterr().err == ""


def test_too_short_corpus_message_states_the_true_requirement(tmp_path):
    """A window of k text tokens needs k + 1 corpus tokens; the message said 'the corpus has
    6 tokens, fewer than one window of 6'."""
    p = tmp_path / "small.txt"
    p.write_text("one two three four five six")
    with pytest.raises(NSTheoryError) as exc:
        text_windows(_lm(), n=6, count=1, source=str(p))
    msg = str(exc.value)
    assert "has 6 tokens" in msg and "need at least 7" in msg and "\n" not in msg
    p.write_text("one two three four five six seven")
    ids, _ = text_windows(_lm(), n=6, count=2, source=str(p))
    assert tuple(ids.shape) == (2, 6)


@pytest.mark.parametrize("missing", ["safetensors", "tokenizers", "transformers"])
def test_missing_member_of_the_models_extra_gets_the_install_hint(tmp_path, monkeypatch,
                                                                    missing):
    """Only transformers was checked: without tokenizers or safetensors the load fell through
    to a transformers-internal traceback."""
    for name in ("transformers", "safetensors", "tokenizers"):
        try:  # imported for real first, so no module caches "absent" from this test
            importlib.import_module(name)
        except ImportError:
            pass
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text(json.dumps({"model_type": "bert"}))
    monkeypatch.setitem(sys.modules, missing, None)  # restored after the test
    with pytest.raises(NSTheoryError, match=rf"loading models needs .*{missing}.*: run "
                                            rf"`{re.escape(INSTALL_HINT)}`"):
        load_model(str(model_dir), device="cpu")
    assert not models_available()
