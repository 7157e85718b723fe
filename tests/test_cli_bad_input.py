"""Bad input to every command: one table of invocations, each refused the same careful way.

Each case runs `tlm ...` in a fresh folder that holds a few corpus files, beside a real run
directory written by `tlm train` (the `trained_run` fixture), and checks that:

- the exit status is 2;
- the error is one line, `tlm COMMAND: error: ...` (argparse's own usage line may come first for
  a malformed option), matching the case's pattern, which names the argument and the value;
- there is no traceback;
- no file or folder was created, changed or removed, neither in the folder nor in the run.

Below the table: unusual but valid text (control characters, right-to-left scripts, emoji, a
100,000-character line) in prompts and corpora is accepted.
"""

# One case per line reads as a table: long lines are allowed in this file.
# ruff: noqa: E501

import hashlib
import json
import math
import os
import re
import subprocess
import sys

import pytest
from toy_corpus import TOY_TEXT

from tlm.cli import main

TRAIN = ["train", "--corpus", "{toy}", "--model", "lstm", "--sequence-length", "16"]
TRAIN += ["--batch-size", "4", "--steps-per-epoch", "2", "--out", "{new}", "--verbose", "0"]
COMPARE = ["compare", "--quick", "--out", "{new}"]
LONE_SURROGATE = "\ud800"
# What undecodable bytes in a command line become in Python (surrogateescape).
UNDECODABLE = "caf\udce9"

CASES = [
    # tlm export
    (["export", "{folder}", "{new}"], r"`path` is not a tlm run directory .* Received: path='.*folder'"),
    (["export", "{run}", "{folder}"], r"`out_dir` must not exist or be empty .* Received: out_dir='.*folder', which holds files"),
    (["export", "{run}", "{notes}"], r"`out_dir` must be a folder or not exist\. Received: out_dir='.*notes\.txt', a file"),
    (["export", "{run}", "{new}", "--format", "onnx"], r"argument --format: invalid choice: 'onnx'"),
    (["export", "{run}", "{new}", "--format", "litert"], r"`format='litert'` exports models with a context .* Received: format='litert' and a LSTMLanguageModel"),
    # tlm data describe
    (["data", "describe", "hamlet"], r"`name_or_path` must be one of shakespeare.* name_or_path='hamlet'"),
    (["data", "describe", "{new}/none.txt"], r"looks like a path but does not exist\. Received: '.*none\.txt'"),
    (["data", "describe", "--sample-length", "-1"], r"`--sample-length` must be 0 or more\. Received: --sample-length=-1"),
    (["data", "describe", "--sample-length", "ten"], r"argument --sample-length: invalid int value: 'ten'"),
    (["data", "describe", "{latin1}"], r"File .*latin1\.txt is not UTF-8: byte 0xe9 at byte offset 3"),
    (["data", "describe", "{surrogate}"], r"File .*surrogate\.txt is not UTF-8: byte 0xed"),
    (["data", "describe", "{mixed}"], r"File .*mixed/bad\.txt is not UTF-8"),
    (["data", "describe", "{empty}"], r"Corpus .*empty\.txt is empty"),
    (["data", "describe", LONE_SURROGATE], r"`name_or_path` must be one of .* Received: name_or_path='\\ud800'"),
    (["data", "describe", UNDECODABLE + ".txt"], r"does not exist\. Received: 'caf\\udce9\.txt'"),
    # tlm train
    ([*TRAIN, "--learning-rate", "0"], r"`learning_rate` must be a finite number greater than 0\. Received: learning_rate=0\.0"),
    ([*TRAIN, "--learning-rate", "nan"], r"`learning_rate` must be a finite number .* Received: learning_rate=nan"),
    ([*TRAIN, "--learning-rate", "fast"], r"argument --learning-rate: invalid float value: 'fast'"),
    ([*TRAIN, "--epochs", "0"], r"`epochs` must be an integer of at least 1\. Received: epochs=0"),
    ([*TRAIN, "--epochs", "2.5"], r"argument --epochs: invalid int value: '2\.5'"),
    ([*TRAIN, "--optimizer", "rmsprop"], r"`optimizer` must be one of 'adamw', 'adam', 'sgd'\. Received: optimizer='rmsprop'"),
    ([*TRAIN, "--strategy", "tpu"], r"`strategy` must be one of None, 'mirrored'\. Received: strategy='tpu'"),
    ([*TRAIN, "--batch-size", "500"], r"too small for one batch.*batch_size=500"),
    ([*TRAIN, "--sequence-length", "0"], r"`sequence_length` must be None or an integer of at least 1\. Received: sequence_length=0"),
    ([*TRAIN, "--batch-size", "-4"], r"`batch_size` must be an integer of at least 1\. Received: batch_size=-4"),
    ([*TRAIN, "--vocabulary-size", "0"], r"`vocabulary_size` must be None or an integer of at least 1\. Received: vocabulary_size=0"),
    ([*TRAIN, "--steps-per-epoch", "0"], r"Received: steps_per_epoch=0"),
    ([*TRAIN, "--stride", "0"], r"`stride` must be None or an integer of at least 1\. Received: stride=0"),
    ([*TRAIN, "--backup-every-steps", "-1"], r"Received: backup_every_steps=-1"),
    ([*TRAIN, "--evaluate-every-steps", "0"], r"Received: evaluate_every_steps=0"),
    ([*TRAIN, "--steps-per-execution", "0"], r"Received: steps_per_execution=0"),
    ([*TRAIN, "--sample-max-new-tokens", "0"], r"Received: sample_max_new_tokens=0"),
    ([*TRAIN, "--time-budget", "0"], r"`time_budget` must be None or a finite number greater than 0\. Received: time_budget=0"),
    ([*TRAIN, "--warmup-steps", "-1"], r"`warmup_steps` must be an integer of at least 0\. Received: warmup_steps=-1"),
    ([*TRAIN, "--dropout", "1"], r"`dropout` must be a number in \[0, 1\)\. Received: dropout=1\.0"),
    ([*TRAIN, "--beta-1", "1.5"], r"`beta_1` must be a number in \[0, 1\)\. Received: beta_1=1\.5"),
    ([*TRAIN, "--weight-decay", "-1"], r"`weight_decay` must be a finite number of at least 0\. Received: weight_decay=-1\.0"),
    ([*TRAIN, "--clipnorm", "0"], r"`clipnorm` must be None or a finite number greater than 0\. Received: clipnorm=0\.0"),
    ([*TRAIN, "--seed", "-2"], r"`seed` must be an integer of at least 0\. Received: seed=-2"),
    ([*TRAIN, "--model", "gru"], r"`kind` must be one of 'transformer', 'lstm', 'gpt2'\. Received: kind='gru'"),
    ([*TRAIN, "--preset", "huge"], r"`preset` must be one of 'tiny', 'nanogpt-cpu', 'nanogpt-gpu'.*'huge'"),
    ([*TRAIN, "--tokenizer", "klingon"], r"`tokenizer` must be one of 'char', .* Received: tokenizer='klingon'"),
    ([*TRAIN, "--sample-prompts", LONE_SURROGATE], r"`sample_prompts` must be valid Unicode text: .* Received: sample_prompts='\\ud800'"),
    ([*TRAIN, "--cache-dir", "{notes}"], r"`cache_dir` must be a folder .* Received: cache_dir='.*notes\.txt'"),
    ([*TRAIN, "--corpus", "{latin1}"], r"File .*latin1\.txt is not UTF-8"),
    ([*TRAIN, "--corpus", "{empty}"], r"Corpus .*empty\.txt is empty"),
    ([*TRAIN, "--corpus", "{new}/missing.txt"], r"does not exist\. Received: '.*missing\.txt'"),
    ([*TRAIN, "--out", "{notes}"], r"`out` exists and is not a tlm run directory .* Received: out='.*notes\.txt'"),
    ([*TRAIN, "--out", "{folder}"], r"`out` exists and is not a tlm run directory .* Received: out='.*folder'"),
    ([*TRAIN, "--out", "{run}"], r"`--out` holds a finished run .* Received: out='.*run'"),
    # tlm evaluate
    (["evaluate", "{new}"], r"`path` must be a run directory or a \.keras file\. Received: path='.*new'"),
    (["evaluate", "{toy}"], r"`path` must be a run directory or a \.keras file\. Received: path='.*toy\.txt'"),
    (["evaluate", "{folder}"], r"`path` is not a tlm run directory .* Received: path='.*folder'"),
    (["evaluate", "{run}", "--batch-size", "0"], r"`batch_size` must be None or an integer of at least 1\. Received: batch_size=0"),
    (["evaluate", "{run}", "--split", "dev"], r"argument --split: invalid choice: 'dev'"),
    (["evaluate", "{run}", "--corpus", "hamlet"], r"`name_or_path` must be one of .* Received: name_or_path='hamlet'"),
    (["evaluate", "{run}", "--corpus", "{latin1}"], r"File .*latin1\.txt is not UTF-8"),
    (["evaluate", "{run}", "--corpus", "{empty}"], r"Corpus .*empty\.txt is empty"),
    # tlm generate
    (["generate", "{new}"], r"`path` must be a run directory or a \.keras file\. Received: path='.*new'"),
    (["generate", "{toy}"], r"Received: path='.*toy\.txt'"),
    (["generate", "{run}", "--strategy", "beam"], r"argument --strategy: invalid choice: 'beam'"),
    (["generate", "{run}", "--strategy", "top_k", "--top-k", "0"], r"`top_k` must be None or an integer of at least 1\. Received: top_k=0"),
    (["generate", "{run}", "--strategy", "top_p", "--top-p", "2"], r"`top_p` must be in \(0, 1\]\. Received: top_p=2\.0"),
    (["generate", "{run}", "--temperature", "0"], r"`temperature` must be a finite number greater than 0\. Received: temperature=0\.0"),
    (["generate", "{run}", "--temperature", "inf"], r"Received: temperature=inf"),
    (["generate", "{run}", "--max-new-tokens", "-1"], r"`max_new_tokens` must be an integer of at least 0\. Received: max_new_tokens=-1"),
    (["generate", "{run}", "--seed", "-1"], r"`seed` must be an integer of at least 0\. Received: seed=-1"),
    (["generate", "{run}", "--repetition-penalty", "nan"], r"`repetition_penalty` must be None or a finite number greater than 0\. Received: repetition_penalty=nan"),
    (["generate", "{run}", "--stop", ""], r"`stop` must be a non-empty string or a list of them\. Received: stop=\[''\]"),
    (["generate", "{run}", "--prompt", ""], r"`prompt` must encode to at least one token.* Received: prompt=''"),
    (["generate", "{run}", "--prompt", "to " + LONE_SURROGATE], r"`prompt` must be valid Unicode text: it holds a lone surrogate \('\\ud800' at index 3\).* Received: prompt='to \\ud800'"),
    (["generate", "{run}", "--prompt", UNDECODABLE], r"`prompt` must be valid Unicode text: .* Received: prompt='caf\\udce9'"),
    (["generate", "{run}", "--stop", LONE_SURROGATE], r"`stop` must be valid Unicode text: .* Received: stop='\\ud800'"),
    # tlm compare
    ([*COMPARE, "--budget-value", "0"], r"`budget_value` must be a finite number greater than 0\. Received: budget_value=0"),
    ([*COMPARE, "--budget", "time", "--budget-value", "inf"], r"Received: budget_value=inf"),
    ([*COMPARE, "--budget", "days"], r"`budget` must be one of 'steps', 'time', 'flops'\. Received: budget='days'"),
    ([*COMPARE, "--models", "transformer", "gru"], r"`models` must be one of .* Received: models='gru'"),
    ([*COMPARE, "--preset", "huge"], r"Unknown preset for the transformer model.*'huge'"),
    ([*COMPARE, "--presets", "lstm=big"], r"Unknown preset for the lstm model.*'big'"),
    ([*COMPARE, "--presets", "lstm"], r"`presets` must hold KIND=PRESET pairs.*'lstm'"),
    ([*COMPARE, "--seeds", "0", "0"], r"`seeds` must be a number or a list of distinct integers >= 0\. Received: seeds=\(0, 0\)"),
    ([*COMPARE, "--seeds", "-1"], r"Received: seeds=\(-1,\)"),
    ([*COMPARE, "--tokenizer", "bytes"], r"`tokenizer` must be one of 'char', .* Received: tokenizer='bytes'"),
    ([*COMPARE, "--sequence-length", "0"], r"`sequence_length` must be an integer of at least 1\. Received: sequence_length=0"),
    ([*COMPARE, "--batch-size", "0"], r"Received: batch_size=0"),
    ([*COMPARE, "--max-eval-batches", "0"], r"Received: max_eval_batches=0"),
    ([*COMPARE, "--curve-batches", "0"], r"Received: curve_batches=0"),
    ([*COMPARE, "--max-new-tokens", "0"], r"Received: max_new_tokens=0"),
    ([*COMPARE, "--top-k", "0"], r"Received: top_k=0"),
    ([*COMPARE, "--vocabulary-size", "-5"], r"Received: vocabulary_size=-5"),
    ([*COMPARE, "--learning-rate", "nan"], r"Received: learning_rate=nan"),
    ([*COMPARE, "--prompts", LONE_SURROGATE], r"`prompts` must be valid Unicode text: .* Received: prompts='\\ud800'"),
    ([*COMPARE, "--corpus", "{latin1}"], r"File .*latin1\.txt is not UTF-8"),
    ([*COMPARE, "--corpus", "{empty}"], r"Corpus .*empty\.txt is empty"),
    (["compare", "--quick", "--out", "{notes}"], r"`out` must be a directory, but a file of that name exists.*notes\.txt"),
    ([*COMPARE, "--corpus", "{toy}", "--sequence-length", "4000"], r"fewer than sequence_length \+ 1.*sequence_length=4000"),
]  # fmt: skip


def _workspace(folder):
    """The files the cases refer to, written in `folder`; returns the placeholders' values."""
    latin1 = "café au lait\n".encode("latin-1") * 20
    files = {
        "toy.txt": TOY_TEXT.encode(),
        "notes.txt": b"my notes\n",
        "latin1.txt": latin1,
        # A UTF-16 surrogate written as if it were a character (CESU-8): not valid UTF-8.
        "surrogate.txt": b"ab \xed\xa0\x80 cd\n" * 20,
        "empty.txt": b"",
        "mixed/good.txt": TOY_TEXT.encode(),
        "mixed/bad.txt": latin1,
        "folder/notes.txt": b"mine\n",
    }
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    paths = {name.split(".")[0]: str(folder / name) for name in files if "/" not in name}
    return {**paths, "mixed": str(folder / "mixed"), "folder": str(folder / "folder")}


def _snapshot(*folders):
    """Every file and folder below `folders`: path -> (size, modification time, sha256)."""
    state = {}
    for folder in folders:
        for root, directories, files in os.walk(folder):
            for name in directories:
                state[os.path.join(root, name)] = "folder"
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as file:
                    digest = hashlib.sha256(file.read()).hexdigest()
                stat = os.stat(path)
                state[path] = (stat.st_size, stat.st_mtime_ns, digest)
    return state


def _run(argv, capsys):
    """`tlm ARGV` in this process: (exit status, stderr)."""
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, pattern",
    [pytest.param(argv, pattern, id=f"{i:02d}-{argv[0]}") for i, (argv, pattern) in enumerate(CASES)],
)  # fmt: skip
def test_bad_input_is_refused_in_one_line_and_leaves_the_disk_as_it_was(
    argv, pattern, trained_run, tmp_path, monkeypatch, capsys
):
    places = _workspace(tmp_path)
    places.update(run=str(trained_run), new=str(tmp_path / "new"))
    argv = [arg.format(**places) if "{" in arg else arg for arg in argv]
    monkeypatch.chdir(tmp_path)  # a default output folder (runs/...) would appear here
    before = _snapshot(tmp_path, trained_run)

    status, err = _run(argv, capsys)

    assert status == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    command = argv[0]
    if ": error: argument " in lines[-1]:  # argparse: the command's usage, then the error
        assert lines[0].startswith(f"usage: tlm {command}"), err
        assert lines[-1].startswith(f"tlm {command}"), err
    else:
        assert len(lines) == 1 and lines[0].startswith(f"tlm {command}: error: "), err
    assert re.search(pattern, lines[-1]), (pattern, lines[-1])
    assert _snapshot(tmp_path, trained_run) == before


def test_the_table_covers_every_command_with_forty_cases_or_more():
    assert {argv[0] for argv, _ in CASES} == {
        "data", "train", "evaluate", "generate", "export", "compare"
    }  # fmt: skip
    assert len(CASES) >= 40


# Valid text that is easy to get wrong: control characters (NUL, bell, an ANSI colour code),
# right-to-left scripts with a direction override, emoji joined into one glyph, a long line.
UNUSUAL_TEXTS = [
    "ab\x00ca\x07 \x1b[31mred\x1b[0m",
    "\u202eשלום ab مرحبا\u202c ca",
    "ab 🙂 ca 👩\u200d👩\u200d👧 said",
    "ab ca " * 16_667,  # 100,002 characters on one line
]


def test_unusual_prompts_are_generated_and_printed_as_given(trained_run, capsys):
    argv = ["generate", str(trained_run), "--max-new-tokens", "4", "--strategy", "top_k"]
    for prompt in UNUSUAL_TEXTS:
        argv += ["--prompt", prompt]
    assert main([*argv, "--seed", "0"]) == 0
    printed = capsys.readouterr().out.split("\n" + "-" * 40 + "\n")
    assert len(printed) == len(UNUSUAL_TEXTS)
    for text, prompt in zip(printed, UNUSUAL_TEXTS, strict=True):
        assert text.startswith(prompt) and len(text) > len(prompt)


def test_unusual_corpora_are_described_and_scored(trained_run, tmp_path, capsys):
    corpus = tmp_path / "unusual.txt"
    corpus.write_text("\n".join(UNUSUAL_TEXTS * 3) + "\n" + TOY_TEXT, encoding="utf-8")
    assert main(["data", "describe", str(corpus), "--sample-length", "40"]) == 0
    assert f"Corpus: {corpus}" in capsys.readouterr().out
    assert main(["evaluate", str(trained_run), "--corpus", str(corpus), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["tokens"] > 0 and math.isfinite(scored["perplexity"])


def test_undecodable_bytes_in_a_real_command_line_are_refused_by_name(trained_run):
    # Bytes that are not UTF-8 reach Python as lone surrogates; through a real process, the
    # message must still print (stderr escapes what it cannot encode) and no traceback.
    command = [sys.executable, "-m", "tlm", "generate", str(trained_run), "--prompt", b"caf\xe9"]
    result = subprocess.run(command, capture_output=True, timeout=300, check=False)
    err = result.stderr.decode("utf-8", errors="replace")
    assert result.returncode == 2, err
    assert "`prompt` must be valid Unicode text" in err and "Traceback" not in err
    assert result.stdout == b""
