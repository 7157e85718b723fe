import dataclasses
import json
import os
import re
import socket
import subprocess
import sys

import pytest
from help_defaults import parse_stated, stated_defaults

from tlm.cli import main
from tlm.commands.train import TrainJob
from tlm.training import TrainConfig

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


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--learning-rate", "0"],
            "`learning_rate` must be a finite number greater than 0. Received: learning_rate=0.0",
        ),
        (["--epochs", "0"], "`epochs` must be an integer of at least 1. Received: epochs=0"),
        (["--optimizer", "rmsprop"], "`optimizer` must be one of 'adamw', 'adam', 'sgd'"),
        (["--strategy", "tpu"], "`strategy` must be one of None, 'mirrored'"),
        (["--batch-size", "500"], "too small for one batch"),
        # An explicit non-positive size is an error, never "not given".
        (["--sequence-length", "0"], "`sequence_length` must be None or an integer of at least"),
        (["--batch-size", "0"], "`batch_size` must be an integer of at least 1. Received: "),
        (["--batch-size", "-4"], "Received: batch_size=-4"),
        (["--vocabulary-size", "0"], "`vocabulary_size` must be None or an integer of at least"),
        (["--steps-per-epoch", "0"], "Received: steps_per_epoch=0"),
        (
            ["--stride", "0"],
            "`stride` must be None or an integer of at least 1. Received: stride=0",
        ),
        (["--backup-every-steps", "-1"], "Received: backup_every_steps=-1"),
        (["--evaluate-every-steps", "0"], "Received: evaluate_every_steps=0"),
        (["--steps-per-execution", "0"], "Received: steps_per_execution=0"),
        (["--sample-max-new-tokens", "0"], "Received: sample_max_new_tokens=0"),
        (["--time-budget", "0"], "`time_budget` must be None or a finite number greater than 0"),
        (["--warmup-steps", "-1"], "`warmup_steps` must be an integer of at least 0"),
        (["--dropout", "1"], "`dropout` must be a number in [0, 1). Received: dropout=1.0"),
        (["--model", "gru"], "`kind` must be one of 'transformer', 'lstm'. Received: kind='gru'"),
        (["--preset", "huge"], "`preset` must be one of 'tiny', 'nanogpt-cpu', 'nanogpt-gpu'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(corpus_file, tmp_path, capsys, extra, message):
    out = tmp_path / "run"
    assert main(_train_arguments(corpus_file, str(out), *extra)) == 2
    error = capsys.readouterr().err
    assert error.startswith("tlm train: error:") and message in error, error
    assert len(error.strip().splitlines()) == 1
    assert not out.exists()


def test_evaluate_refuses_an_explicit_non_positive_batch_size(tmp_path, capsys):
    # Checked before the run is even read: the folder need not exist.
    assert main(["evaluate", str(tmp_path / "run"), "--batch-size", "0"]) == 2
    error = capsys.readouterr().err
    assert "`batch_size` must be None or an integer of at least 1. Received: batch_size=0" in error


def test_train_help_states_the_dataclass_defaults(monkeypatch, capsys):
    stated = stated_defaults("train", monkeypatch, capsys)
    fields = {f.name: f for cls in (TrainConfig, TrainJob) for f in dataclasses.fields(cls)}
    options = {name for name, f in fields.items() if f.metadata.get("cli", True)}
    assert set(stated) == options  # every setting is an option, and states its default
    for name, (text, quick) in stated.items():
        default = fields[name].default
        assert parse_stated(text, default) == default, (name, text, default)
        assert quick is None


def test_an_existing_folder_that_is_not_a_run_is_refused(corpus_file, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(_train_arguments(corpus_file, str(tmp_path))) == 2
    assert "`out` exists and is not a tlm run directory" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "is not a tlm run directory" in capsys.readouterr().err


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
