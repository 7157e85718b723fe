"""The lessons in notebooks/: committed without outputs, and each runs top to bottom in quick mode.

Each notebook is executed in a real Jupyter kernel (nbclient, kernel "python3" from ipykernel)
with `TLM_QUICK=1`, which shrinks corpora and training so a lesson takes well under a minute on a
laptop CPU. The kernel starts in a temporary folder, so the run directories and figures a lesson
writes never land in the repository. Any error in any cell fails the test, and so does a Python
warning printed in a cell's output (a lesson must run clean).

Needs the `notebooks` extra (`pip install -e ".[notebooks]"`: nbclient, nbformat, ipykernel);
without it the execution tests are skipped and the output check still runs.
"""

import json
import os
import re
import time
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = (
    "01_text_preprocessing",
    "02_self_attention",
    "03_lstm_language_model",
    "04_transformer_language_model",
    "05_text_generation",
    "06_lstm_vs_transformer",
    "07_pretrained_gpt2",
    "08_chinese_language_model",
)
CELL_TIMEOUT = 300  # seconds per cell; a whole quick-mode lesson should take under one minute
# A Python warning shown in a cell: "<file>:<line>: SomethingWarning: message".
WARNING_LINE = re.compile(r"^.*:\d+: \w*Warning: .*$", re.MULTILINE)
# Warnings that come from the environment, not from a lesson: tqdm without ipywidgets.
ENVIRONMENT_WARNINGS = ("TqdmWarning",)


def _path(name):
    return NOTEBOOKS_DIR / f"{name}.ipynb"


@pytest.mark.parametrize("name", LESSONS)
def test_notebook_is_committed_without_outputs(name):
    notebook = json.loads(_path(name).read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code_cells, f"{name} has no code cells"
    for index, cell in enumerate(code_cells):
        assert cell.get("outputs") == [], f"{name}: code cell {index} has outputs"
        assert cell.get("execution_count") is None, f"{name}: code cell {index} has a count"


@pytest.mark.parametrize("name", LESSONS)
def test_notebook_reads_quick_mode_from_the_environment(name):
    source = "".join(
        "".join(cell["source"])
        for cell in json.loads(_path(name).read_text(encoding="utf-8"))["cells"]
    )
    assert 'QUICK = os.environ.get("TLM_QUICK") == "1"' in source


def _kernel_or_skip():
    nbclient = pytest.importorskip("nbclient", reason="needs the notebooks extra (nbclient)")
    nbformat = pytest.importorskip("nbformat", reason="needs the notebooks extra (nbformat)")
    kernelspec = pytest.importorskip(
        "jupyter_client.kernelspec", reason="needs the notebooks extra (jupyter_client)"
    )
    try:
        kernelspec.KernelSpecManager().get_kernel_spec("python3")
    except kernelspec.NoSuchKernel:
        pytest.skip("needs the python3 Jupyter kernel: pip install ipykernel")
    return nbclient, nbformat


def _figures_shown_as_text(notebook):
    """Cells whose figure came out as its text form ("<Figure size 1000x400 with 2 Axes>")."""
    return [
        f"cell {index}: {output['data']['text/plain']}"
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if "image/png" not in output.get("data", {"image/png": None})
        and str(output["data"].get("text/plain", "")).startswith("<Figure size")
    ]


def _printed_warnings(notebook):
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream":
                continue
            for line in WARNING_LINE.findall(output.get("text", "")):
                if not any(allowed in line for allowed in ENVIRONMENT_WARNINGS):
                    found.append(f"cell {index}: {line.strip()}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_notebook_runs_top_to_bottom_in_quick_mode(name, tmp_path, monkeypatch):
    nbclient, nbformat = _kernel_or_skip()
    monkeypatch.setenv("TLM_QUICK", "1")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    # The inline backend is what Jupyter uses; unlike Agg it draws every figure, so drawing
    # problems (missing glyphs, layout warnings) show up here too.
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(_path(name), as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    before = sorted(os.listdir(NOTEBOOKS_DIR))
    started = time.monotonic()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    print(f"{name}: {time.monotonic() - started:.1f} s in quick mode")
    assert not _printed_warnings(notebook), "\n".join(_printed_warnings(notebook))
    assert not _figures_shown_as_text(notebook), "\n".join(_figures_shown_as_text(notebook))
    assert sorted(os.listdir(NOTEBOOKS_DIR)) == before, "the lesson wrote into notebooks/"
