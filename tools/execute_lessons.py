"""Run the lessons in full mode and keep the executed copies the documentation site shows.

    python tools/execute_lessons.py                  # every lesson, one after the other
    python tools/execute_lessons.py 03_lstm_language_model 08_chinese_language_model

Each notebook in notebooks/ is run top to bottom in a Jupyter kernel, as a reader would run it
(full mode: `TLM_QUICK` unset; CPU only), in a temporary folder. The executed copy, outputs and
figures included, is written to docs/executed/<name>.ipynb; notebooks/ itself stays without
outputs. The site shows the notebook's cells with the outputs of its executed copy, and
tests/test_docs.py fails when a copy's code cells differ from the notebook's: change a code cell,
then run this again for that lesson. Prose (Markdown cells) is always taken from notebooks/, so
correcting a sentence needs no new run.

Needs the notebooks extra (`pip install -e ".[notebooks]"`). Each lesson takes minutes; its time
is printed and kept in the copy's metadata, and its page shows it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
EXECUTED = REPO / "docs" / "executed"
CELL_TIMEOUT = 3600  # seconds per cell
# Output types that only a live kernel can show (ipywidgets progress bars): their text form stays.
LIVE_ONLY = ("application/vnd.jupyter.widget-view+json",)
# TensorFlow's C++ log lines (absl's format) that reach a kernel's stderr as it starts on a
# machine without a GPU: about the machine, not the lesson.
LIBRARY_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] .*)$"
)


def lesson_names() -> list[str]:
    return sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb"))


def last_state_of_each_line(text: str) -> str:
    r"""What a terminal shows of text that redraws lines with carriage returns (progress bars).

    >>> last_state_of_each_line("1/3\r2/3\r3/3 done\nnext\n")
    '3/3 done\nnext\n'
    """
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def without_library_logs(text: str) -> str:
    r"""Text without TensorFlow's C++ log lines.

    >>> without_library_logs("I0000 00:00:17.66 1280 cudart_stub.cc:31] No GPU.\nkept\n")
    'kept\n'
    """
    return "".join(
        line for line in text.splitlines(keepends=True) if not LIBRARY_LOG.match(line.rstrip("\n"))
    )


def clean_outputs(notebook, folder: str) -> None:
    """Drop live-only outputs and library logs, settle progress bars, hide the temporary folder."""
    hide = re.compile(re.escape(folder) + r"/?")
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                output.text = without_library_logs(output.text)
        cell.outputs = [
            output for output in cell.outputs
            if not (output.output_type == "stream" and not output.text)
        ]
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = hide.sub("", last_state_of_each_line(output.text))
            elif "data" in output:
                for kind in LIVE_ONLY:
                    output.data.pop(kind, None)
                if "text/plain" in output.data:
                    output.data["text/plain"] = hide.sub("", output.data["text/plain"])


def _commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def execute(name: str) -> float:
    """Run notebooks/<name>.ipynb in full mode; write docs/executed/<name>.ipynb; its seconds."""
    import nbclient
    import nbformat

    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        folder = os.path.realpath(folder)
        client = nbclient.NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            resources={"metadata": {"path": folder}},
        )
        started = time.monotonic()
        client.execute()  # raises CellExecutionError, naming the cell, on any error
        seconds = time.monotonic() - started
        clean_outputs(notebook, folder)
    import tensorflow as tf

    notebook.metadata["tlm_executed"] = {
        "mode": "full",
        "date": datetime.date.today().isoformat(),
        "seconds": round(seconds),
        "commit": _commit(),
        "device": f"CPU ({os.cpu_count()} cores, {platform.machine()})",
        "tensorflow": tf.__version__,
    }
    EXECUTED.mkdir(parents=True, exist_ok=True)
    target = EXECUTED / f"{name}.ipynb"
    partial = target.with_suffix(".ipynb.partial")
    nbformat.write(notebook, partial)
    partial.replace(target)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the lessons in full mode on the CPU and write their executed copies to "
        "docs/executed/ (the site shows them).",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME",
        help="lessons to run, as notebook names without .ipynb (default: all of notebooks/)",
    )
    args = parser.parse_args(argv)
    known = lesson_names()
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"NAME: {', '.join(unknown)} is not a notebook in notebooks/ "
                     f"(expected one of: {', '.join(known)})")
    # Full mode on the CPU, as the page says: no quick mode, no accelerator.
    os.environ.pop("TLM_QUICK", None)
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    for name in args.names or known:
        print(f"{name}: running in full mode ...", flush=True)
        seconds = execute(name)
        print(f"{name}: {seconds / 60:.1f} min -> docs/executed/{name}.ipynb", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
