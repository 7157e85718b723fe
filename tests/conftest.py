"""Shared pytest setup: quiet TensorFlow, the Keras TensorFlow backend, and one real run."""

import os
import shutil
import subprocess
import types

import pytest
from toy_corpus import TOY_TEXT

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A run directory written by a real `tlm train` (an LSTM, two steps): do not change it.

    Tests that damage a run work on `run_copy`. The run is the command's own output, so what
    reads runs (`load_run`, `tlm generate`, `tlm evaluate`) is tested on what users have.
    """
    from tlm.cli import main

    folder = tmp_path_factory.mktemp("trained")
    corpus = folder / "toy.txt"
    corpus.write_text(TOY_TEXT, encoding="utf-8")
    out = folder / "run"
    argv = ["train", "--corpus", str(corpus), "--model", "lstm", "--sequence-length", "16"]
    argv += ["--batch-size", "4", "--steps-per-epoch", "2", "--out", str(out), "--verbose", "0"]
    assert main(argv) == 0
    return out


@pytest.fixture
def run_copy(trained_run, tmp_path):
    """A copy of `trained_run` that a test may change."""
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    return copy


@pytest.fixture
def small_filesystem(tmp_path):
    """A real file system of 256 KiB (tmpfs), mounted for one test: writes run out of space.

    Yields `.path` (the mount point) and `.resize("20m")` to give it more room. Skipped where
    mounting is not allowed (not root, or a container without the capability).
    """
    mount_point = tmp_path / "small"
    mount_point.mkdir()

    def mount(*options):
        command = ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(mount_point)]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    if shutil.which("mount") is None or mount("size=256k").returncode != 0:
        pytest.skip("this machine does not allow mounting a small tmpfs")

    def resize(size):
        result = mount("remount", f"size={size}")
        assert result.returncode == 0, result.stderr

    yield types.SimpleNamespace(path=mount_point, resize=resize)
    subprocess.run(["umount", str(mount_point)], capture_output=True, check=False)
