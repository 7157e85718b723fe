"""`tlm generate`: through `tlm.cli.main` and once through a subprocess."""

import os
import subprocess
import sys

import keras
import pytest

from tlm.cli import main
from tlm.commands import generate as generate_command
from tlm.data.tokenizers import build_tokenizer
from tlm.generation import STRATEGIES, generate
from tlm.models import LSTMLanguageModel
from tlm.training import load_run
from tlm.training.runs import model_description, write_json

TEXT = "to be, or not to be, that is the question:\nwhether 'tis nobler in the mind"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run directory written by hand, as `tlm train` lays it out (random weights)."""
    directory = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(0)
    tokenizer = build_tokenizer("char", TEXT)
    model = LSTMLanguageModel(
        tokenizer.vocabulary_size, embedding_dim=8, hidden_dim=16, num_layers=1
    )
    model(keras.ops.zeros((1, 4), "int32"))
    model.save(directory / "model.keras")
    tokenizer.save(str(directory / "tokenizer"))
    write_json(directory / "config.json", {"tlm_run": 1, "model": model_description(model)})
    return str(directory)


def test_cli_strategies_are_the_library_strategies():
    assert generate_command.STRATEGIES == STRATEGIES


def test_generate_prints_the_prompt_then_the_same_text_as_the_library(run_dir, capsys):
    options = ["--strategy", "top_k", "--top-k", "5", "--temperature", "0.8", "--seed", "1"]
    assert main(["generate", run_dir, "--prompt", "to be", "--max-new-tokens", "12", *options]) == 0
    printed = capsys.readouterr().out
    loaded = load_run(run_dir)
    expected = generate(
        loaded.model, loaded.tokenizer, "to be", 12, "top_k", top_k=5, temperature=0.8, seed=1
    )
    assert printed == "to be" + expected + "\n"
    # The same seed prints the same text again (also without streaming).
    assert (
        main(
            [
                "generate",
                run_dir,
                "--prompt",
                "to be",
                "--max-new-tokens",
                "12",
                *options,
                "--no-stream",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == printed


def test_several_prompts_are_printed_one_after_the_other(run_dir, capsys):
    argv = [
        "generate",
        run_dir,
        "--prompt",
        "to",
        "--prompt",
        "that is\\n",
        "--max-new-tokens",
        "5",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    first, second = printed.split("\n" + "-" * 40 + "\n")
    assert first.startswith("to") and second.startswith("that is\n")


@pytest.mark.parametrize(
    "options, message",
    [
        (
            ["--top-k", "0", "--strategy", "top_k"],
            "`top_k` must be None or an integer of at least 1",
        ),
        (["--top-p", "2", "--strategy", "top_p"], r"`top_p` must be in (0, 1]"),
        (["--temperature", "0"], "`temperature` must be a finite number greater than 0"),
        (["--max-new-tokens", "-1"], "`max_new_tokens` must be an integer of at least 0"),
    ],
)
def test_bad_options_print_one_line_and_exit_2(run_dir, capsys, options, message):
    assert main(["generate", run_dir, *options]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_missing_run_exits_2(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "nowhere")]) == 2
    assert "must be a run directory or a .keras file" in capsys.readouterr().err


def test_unknown_strategy_is_refused_by_the_parser(run_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", run_dir, "--strategy", "beam"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'beam'" in capsys.readouterr().err


def test_generate_through_a_subprocess(run_dir):
    command = [
        sys.executable,
        "-m",
        "tlm",
        "generate",
        os.path.join(run_dir, "model.keras"),
        "--prompt",
        "to be",
        "--max-new-tokens",
        "8",
        "--seed",
        "0",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("to be") and len(result.stdout) >= len("to be") + 8
