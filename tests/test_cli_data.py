"""Tests for `tlm data describe`, through tlm.cli.main and once through a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tlm.cli import main

# Reference corpora: $TLM_DATA_DIR, else the `shared/data` folder beside the repository.
SHARED_DATA = Path(
    os.environ.get("TLM_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)


def test_describe_defaults_to_shakespeare(capsys):
    assert main(["data", "describe", "--sample-length", "40"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Corpus: shakespeare\n")
    assert "split by play" in out
    for expected in ("characters", "words", "plays", "train", "validation", "test", "total"):
        assert expected in out
    assert "Distinct characters: " in out
    assert "Test plays: macbeth, the-tempest" in out
    assert "Sample (first 40 characters of train):\nTHESEUS:\n" in out


def test_describe_a_folder_counts_files_per_split(tmp_path, capsys):
    for i in range(4):
        (tmp_path / f"part{i}.txt").write_text(f"Part {i}: some words here.\n" * 3)
    assert main(["data", "describe", str(tmp_path), "--sample-length", "0"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("split"))
    assert header.split() == ["split", "characters", "words", "lines", "files"]
    train = next(line for line in lines if line.startswith("train"))
    assert train.split() == ["train", "151", "30", "7", "2"]  # files joined by "\n"
    total = next(line for line in lines if line.startswith("total"))
    assert total.split() == ["total", "301", "60", "13", "4"]
    assert "Test files: part3.txt" in out
    assert "Sample" not in out


def test_describe_reports_characters_missing_from_train(tmp_path, capsys):
    for name, text in [("a.txt", "abc\n"), ("b.txt", "abc\n"), ("c.txt", "abcz\n")]:
        (tmp_path / name).write_text(text * 5)
    assert main(["data", "describe", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Characters not in train (a char tokenizer maps them to [UNK]): 'z'" in out


@pytest.mark.skipif(
    not (SHARED_DATA / "tinyshakespeare.txt").is_file(),
    reason=f"Tiny Shakespeare not found in {SHARED_DATA} (set TLM_DATA_DIR)",
)
def test_describe_tiny_shakespeare_counts_test_once(capsys, monkeypatch):
    monkeypatch.setenv("TLM_DATA_DIR", str(SHARED_DATA))
    assert main(["data", "describe", "tiny_shakespeare"]) == 0
    out = capsys.readouterr().out
    assert "1,003,854" in out and "111,540" in out
    assert next(line for line in out.splitlines() if line.startswith("total")).split()[1] == (
        "1,115,394"
    )
    assert "Distinct characters: 65" in out
    assert "test is the same text as validation" in out


def test_help_explains_the_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "describe", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: tlm data describe" in out
    assert "tiny_shakespeare" in out and "folder of .txt files" in out
    assert main(["data"]) == 2  # no action: the help of `tlm data`
    assert "describe" in capsys.readouterr().out


def _describe(path, *options, environment=None):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tlm",
            *options,
            "data",
            "describe",
            str(path),
            "--sample-length",
            "12",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


def test_describe_runs_as_a_module_and_tensorflow_starts_quietly_unless_asked(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text("To be, or not to be, that is the question.\n" * 40)
    # A newcomer's shell: no TF_CPP_MIN_LOG_LEVEL. TensorFlow's start-up lines stay hidden.
    newcomer = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = _describe(path, environment=newcomer)
    assert quiet.returncode == 0, quiet.stderr
    assert f"Corpus: {path}" in quiet.stdout
    assert "To be, or no" in quiet.stdout
    assert quiet.stderr == ""
    # `tlm --verbose` lets TensorFlow's own log through (on any machine it logs at start-up).
    loud = _describe(path, "--verbose", environment=newcomer)
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr != ""
    assert loud.stdout == quiet.stdout


def test_start_up_log_is_shown_when_starting_fails(capfd, monkeypatch):
    from tlm import cli

    def broken_import(*args, **kwargs):
        os.write(2, b"native start-up line\n")
        raise ImportError("no TensorFlow here")

    monkeypatch.delitem(sys.modules, "tensorflow")
    monkeypatch.setattr("builtins.__import__", _failing_import("keras", broken_import))
    with pytest.raises(ImportError, match="no TensorFlow here"):
        cli.start_tensorflow(quiet=True)
    assert "native start-up line" in capfd.readouterr().err


def _failing_import(name, replacement):
    import builtins

    real_import = builtins.__import__

    def patched(module, *args, **kwargs):
        if module == name:
            return replacement(module, *args, **kwargs)
        return real_import(module, *args, **kwargs)

    return patched


def test_ctrl_c_ends_a_command_with_status_130_and_no_traceback(monkeypatch, capsys):
    from tlm.commands import data as data_command

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(data_command, "run", interrupted)
    assert main(["data", "describe"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "tlm data: interrupted\n"
