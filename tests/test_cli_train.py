import dataclasses
import json
import math
import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest
from help_defaults import parse_stated, stated_defaults
from numpy_reference import numpy_nats

from tlm.cli import main
from tlm.commands.train import TrainJob
from tlm.data import load_corpus
from tlm.training import TrainConfig, load_run

TEXT = "".join(f"{word} {i % 7}, said the {word}\n" for i, word in enumerate(["ab", "ca"] * 120))


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "toy.txt"
    path.write_text(TEXT)
    return str(path)


def _train_arguments(corpus_file, out, *extra):
    return [
        "train",
        "--corpus",
        corpus_file,
        "--model",
        "lstm",
        "--sequence-length",
        "16",
        "--batch-size",
        "4",
        "--epochs",
        "2",
        "--steps-per-epoch",
        "2",
        "--out",
        out,
        "--verbose",
        "0",
        *extra,
    ]


def test_train_then_evaluate_from_the_command_line(corpus_file, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert (
        main(_train_arguments(corpus_file, out, "--warmup-steps", "1", "--global-clipnorm", "1"))
        == 0
    )
    printed = capsys.readouterr().out
    assert f"run directory: {out}" in printed and "best validation: epoch" in printed
    assert f"Preparing {corpus_file!r} with the char tokenizer" in printed
    assert re.search(r"Prepared in [\d.]+ s: [\d,]+ training tokens, vocabulary \d+", printed)
    assert os.path.isfile(os.path.join(out, "model.keras"))
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["model"]["kind"] == "lstm" and config["data"]["corpus"] == corpus_file
    assert config["training"]["global_clipnorm"] == 1.0

    assert main(["evaluate", out, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "test" and 1 < result["perplexity"] < 100
    assert result["bits_per_character"] == pytest.approx(result["bits_per_token"], rel=0.01)
    assert main(["evaluate", out]) == 0
    assert "bits per character:" in capsys.readouterr().out
    assert main(_train_arguments(corpus_file, out)) == 2
    assert "`--out` holds a finished run" in capsys.readouterr().err


def test_train_help_states_the_dataclass_defaults(monkeypatch, capsys):
    stated = stated_defaults("train", monkeypatch, capsys)
    fields = {f.name: f for cls in (TrainConfig, TrainJob) for f in dataclasses.fields(cls)}
    options = {name for name, f in fields.items() if f.metadata.get("cli", True)}
    assert set(stated) == options  # every setting is an option, and states its default
    for name, (text, quick) in stated.items():
        default = fields[name].default
        assert parse_stated(text, default) == default, (name, text, default)
        assert quick is None


def test_help_documents_every_option():
    finished = subprocess.run(
        [sys.executable, "-m", "tlm", "train", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0
    for option in (
        "--model",
        "--preset",
        "--corpus",
        "--tokenizer",
        "--sequence-length",
        "--batch-size",
        "--epochs",
        "--steps-per-epoch",
        "--optimizer",
        "--learning-rate",
        "--warmup-steps",
        "--global-clipnorm",
        "--seed",
        "--time-budget",
        "--mixed-precision",
        "--strategy",
        "--out",
    ):
        assert option in finished.stdout
    evaluate = subprocess.run(
        [sys.executable, "-m", "tlm", "evaluate", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "RUN_DIR" in evaluate.stdout and "--split" in evaluate.stdout


def test_a_run_directory_in_use_is_refused_in_one_line(corpus_file, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": "2026-01-01T00:00:00"}
    (out / ".lock").write_text(json.dumps(holder))
    assert main(_train_arguments(corpus_file, str(out))) == 2
    err = capsys.readouterr().err
    assert err.startswith("tlm train: error: The run directory is in use: `out` is being written")
    assert f"process {os.getpid()}" in err and "Traceback" not in err
    assert [path.name for path in out.iterdir()] == [".lock"]


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_the_same_command_then_finishes(
    corpus_file, small_filesystem, capsys
):
    small_filesystem.resize("1m")  # room for the config and history, not for the model
    out = small_filesystem.path / "run"
    arguments = _train_arguments(corpus_file, str(out))
    assert main(arguments) == 1
    error, hint = capsys.readouterr().err.strip().splitlines()
    assert re.fullmatch(rf"tlm train: error: No space left on device: '{out}/.+'", error), error
    assert hint.startswith("tlm train: once the cause is fixed, run the same command again")
    assert not [p for p in out.rglob(".*")]  # no temporary (and no lock) left behind

    small_filesystem.resize("50m")
    assert main(arguments) == 0
    assert "run directory:" in capsys.readouterr().out
    assert (out / "model.keras").is_file() and not (out / "backup").exists()


def test_evaluate_equals_numpy_over_the_test_windows_of_a_real_run(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)

    # The reference: the test split's non-overlapping windows, cut and scored in NumPy.
    run = load_run(str(trained_run))
    length = run.config["data"]["sequence_length"]
    ids = run.tokenizer.encode(load_corpus(str(trained_run.parent / "toy.txt")).test)
    starts = range(0, len(ids) - length, length)
    x = np.stack([ids[start : start + length] for start in starts])
    y = np.stack([ids[start + 1 : start + length + 1] for start in starts])
    nats, tokens = numpy_nats(run.model, [(x, y)])
    assert result["tokens"] == tokens
    assert result["loss"] == pytest.approx(nats / tokens, rel=1e-5)
    assert result["perplexity"] == pytest.approx(math.exp(nats / tokens), rel=1e-5)
