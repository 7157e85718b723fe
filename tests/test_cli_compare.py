"""Tests of the `tlm compare` command: help, bad input, and the `--quick` smoke run CI relies on."""

import dataclasses
import json
import math
import os
import subprocess
import sys

import pytest
from help_defaults import parse_stated, stated_defaults

from tlm.cli import main
from tlm.compare.settings import QUICK, CompareConfig


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--corpus",
        "--tokenizer",
        "--preset",
        "--presets",
        "--budget",
        "--budget-value",
        "--sequence-length",
        "--batch-size",
        "--seeds",
        "--out",
        "--quick",
        "--max-eval-batches",
    ):
        assert option in text, option
    assert "about 10 minutes" in text


def test_help_states_the_dataclass_defaults(monkeypatch, capsys):
    stated = stated_defaults("compare", monkeypatch, capsys)
    fields = {field.name: field for field in dataclasses.fields(CompareConfig)}
    assert set(stated) == set(fields)
    for name, (text, quick) in stated.items():
        default = fields[name].default
        assert parse_stated(text, default) == default, (name, text, default)
        if name in QUICK:
            assert parse_stated(quick, default) == QUICK[name], (name, quick)
        else:
            assert quick is None, name


@pytest.mark.slow
def test_quick_comparison_runs_end_to_end_in_a_subprocess(tmp_path):
    """The CI smoke test: `tlm compare --quick` on the bundled corpus, offline."""
    out = tmp_path / "quick"
    # As a newcomer runs it: no TF_CPP_MIN_LOG_LEVEL of their own.
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    completed = subprocess.run(
        [sys.executable, "-m", "tlm", "compare", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    text = completed.stdout
    assert "| Transformer |" in text and "| LSTM |" in text
    assert "Test perplexity" in text and "Caveats:" in text
    assert "Epoch 1/" in text  # Keras progress for each model
    # A quiet start: none of TensorFlow's start-up log, and no re-tracing while sampling.
    for line in ("cuInit", "E0000", "I0000", "absl::", "retracing"):
        assert line not in completed.stderr and line not in text, line

    data = json.loads((out / "results.json").read_text())
    assert data["settings"]["corpus"] == "shakespeare"
    assert data["settings"]["budget"] == {"kind": "steps", "value": 30}
    for run in data["runs"]:
        assert run["figures"]["steps"] == 30
        assert 1 < run["figures"]["test_perplexity"] < 100
    for name in ("report.md", "validation_perplexity.png", "final_figures.png", "attention.png"):
        assert (out / name).is_file(), name
    for kind in ("transformer", "lstm"):
        for name in ("model.keras", "config.json", "history.json", "tokenizer"):
            assert (out / kind / name).exists(), (kind, name)


@pytest.mark.slow
def test_a_word_level_comparison_on_penn_treebank_reports_bits_per_word(tmp_path):
    if not os.path.isfile(os.path.join(os.environ.get("TLM_DATA_DIR", ""), "ptb", "ptb.train.txt")):
        pytest.skip("needs TLM_DATA_DIR with ptb/")
    out = tmp_path / "ptb"
    arguments = ["compare", "--quick", "--corpus", "ptb", "--tokenizer", "word", "--out", str(out)]
    completed = subprocess.run(
        [sys.executable, "-m", "tlm", *arguments],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())
    assert data["settings"]["vocabulary_size"] == 10_001  # PTB's 10,000 words and [PAD]
    for run in data["runs"]:
        figures = run["figures"]
        # Each PTB token is a word: bits per word are the test loss in bits.
        assert figures["test_bits_per_word"] == pytest.approx(figures["test_loss"] / math.log(2))
        assert figures["test_perplexity"] < 10_001  # it learned something in the quick budget
    report = (out / "report.md").read_text()
    assert "Test bits/word" in report
    assert "reached a test perplexity of 114.5" in report  # the published LSTM, for orientation


@pytest.mark.slow
def test_a_comparison_on_the_tang_poems_writes_chinese_verse(tmp_path):
    if not os.path.isfile(
        os.path.join(os.environ.get("TLM_DATA_DIR", ""), "tang_poems", "LICENSE")
    ):
        pytest.skip("needs TLM_DATA_DIR with tang_poems/")
    out = tmp_path / "tang"
    arguments = ["compare", "--quick", "--corpus", "tang_poems", "--out", str(out)]
    completed = subprocess.run(
        [sys.executable, "-m", "tlm", *arguments],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())
    assert data["settings"]["prompts"] == ["春曉\n孟浩然\n", "靜夜思\n李白\n"]
    sampled = "".join(text for sample in data["samples"] for text in sample["texts"].values())
    # Chinese characters and the poems' own full-width punctuation, never its ASCII rewrite.
    assert sum("\u4e00" <= c <= "\u9fff" for c in sampled) > 20
    assert "，" in sampled or "。" in sampled
    assert "," not in sampled
    report = (out / "report.md").read_text()
    assert "`春曉<br>孟浩然<br>`" in report and "tang_poems" in report
    # The terminal shows the samples side by side, aligned by display columns.
    assert "Prompt '春曉\\n孟浩然\\n', top_k:" in completed.stdout
    assert (out / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        "missing from font" not in completed.stderr and "No installed font" not in completed.stderr
    )
