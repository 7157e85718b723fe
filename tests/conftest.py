"""Shared pytest setup: quiet TensorFlow, the Keras TensorFlow backend, and one real run."""

import os
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

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


ROOT = Path(__file__).resolve().parent.parent
# Screenshots of the site test: `$TLM_ARTIFACTS_DIR/site-screenshots` (artifacts/ by default).
SCREENSHOTS = Path(os.environ.get("TLM_ARTIFACTS_DIR", ROOT / "artifacts")) / "site-screenshots"
_STARTED = time.time()


@pytest.fixture(scope="session")
def screenshot_folder():
    """Where tests/test_site.py writes its screenshots (the run's summary prints the path)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter):
    # Printed by the main process, so it shows with parallel workers too.
    if SCREENSHOTS.is_dir():
        fresh = [p for p in SCREENSHOTS.glob("*.png") if p.stat().st_mtime >= _STARTED]
        if fresh:
            terminalreporter.write_line(f"screenshots of {len(fresh)} site pages in {SCREENSHOTS}")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The documentation site built by `mkdocs build --strict` once per test session.

    Yields `.site` (the folder) and `.completed` (the finished build: return code and output).
    Skipped where the docs extra is not installed.
    """
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    site = tmp_path_factory.mktemp("built") / "site"
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).parent / "mkdocs")
    completed = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return types.SimpleNamespace(site=site, completed=completed)


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
