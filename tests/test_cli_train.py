import json
import os
import subprocess
import sys

import pytest

from tlm.cli import main

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
    assert main(_train_arguments(corpus_file, out, "--warmup-steps", "1", "--clip", "1")) == 0
    printed = capsys.readouterr().out
    assert f"run directory: {out}" in printed and "best validation: epoch" in printed
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
        (["--learning-rate", "0"], "`learning_rate` must be positive. Received: learning_rate=0"),
        (["--epochs", "0"], "`epochs` must be an integer >= 1. Received: epochs=0"),
        (["--optimizer", "rmsprop"], "`optimizer` must be one of"),
        (["--batch-size", "500"], "fewer than one full batch"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(corpus_file, tmp_path, capsys, extra, message):
    out = tmp_path / "run"
    assert main(_train_arguments(corpus_file, str(out), *extra)) == 2
    error = capsys.readouterr().err
    assert error.startswith("tlm train: error:") and message in error
    assert not out.exists()


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
        "--clip",
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
