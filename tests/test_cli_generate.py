"""`tlm generate` on a run directory written by a real `tlm train` (the `trained_run` fixture).

Greedy output is checked against a reference that shares nothing with tlm's decoder: a plain
loop that runs the model over the whole context and takes the arg-max, token by token. (Bad
options are in the CLI's bad-input table, tests/test_cli_bad_input.py.)
"""

import os
import subprocess
import sys

import numpy as np

from tlm.cli import main
from tlm.commands import generate as generate_command
from tlm.generation import STRATEGIES
from tlm.training import load_run

SEPARATOR = "\n" + "-" * 40 + "\n"


def _full_forward_greedy(run_dir, prompt, max_new_tokens):
    """Greedy continuation by re-running the model over the whole context at every token."""
    run = load_run(str(run_dir))
    ids = list(run.tokenizer.encode(prompt))
    new = []
    for _ in range(max_new_tokens):
        logits = np.asarray(run.model(np.array([ids + new], "int32")))[0, -1].astype("float64")
        logits[run.tokenizer.pad_id] = -np.inf  # padding is never generated
        new.append(int(np.argmax(logits)))
    return run.tokenizer.decode(new)


def test_cli_strategies_are_the_library_strategies():
    assert generate_command.STRATEGIES == STRATEGIES


def test_greedy_output_is_the_arg_max_of_a_full_forward_pass(trained_run, capsys):
    argv = ["generate", str(trained_run), "--prompt", "ab 3, said", "--max-new-tokens", "12"]
    assert main(argv) == 0
    expected = "ab 3, said" + _full_forward_greedy(trained_run, "ab 3, said", 12) + "\n"
    assert capsys.readouterr().out == expected
    # Without the key/value cache or the state carried between steps: the same text.
    assert main([*argv, "--no-cache", "--no-stream"]) == 0
    assert capsys.readouterr().out == expected


def test_a_seed_gives_the_same_sample_streamed_or_not(trained_run, capsys):
    argv = ["generate", str(trained_run), "--prompt", "ca", "--max-new-tokens", "30"]
    argv += ["--strategy", "top_k", "--top-k", "5", "--temperature", "1.5"]
    texts = []
    for extra in (["--seed", "1"], ["--seed", "1", "--no-stream"], ["--seed", "2"]):
        assert main([*argv, *extra]) == 0
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1] and texts[0].startswith("ca") and len(texts[0]) > len("ca\n")
    assert texts[2] != texts[0]  # 30 draws from 5 tokens at temperature 1.5: never all equal


def test_several_prompts_are_printed_one_after_the_other(trained_run, capsys):
    argv = ["generate", str(trained_run), "--prompt", "ab", "--prompt", "ca\\n"]
    assert main([*argv, "--max-new-tokens", "5"]) == 0
    first, second = capsys.readouterr().out.split(SEPARATOR)
    assert first == "ab" + _full_forward_greedy(trained_run, "ab", 5) + "\n"
    assert second == "ca\n" + _full_forward_greedy(trained_run, "ca\n", 5) + "\n"


def test_generate_through_a_subprocess(trained_run):
    command = [sys.executable, "-m", "tlm", "generate", os.path.join(trained_run, "model.keras")]
    command += ["--prompt", "ab", "--max-new-tokens", "8"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ab" + _full_forward_greedy(trained_run, "ab", 8) + "\n"
