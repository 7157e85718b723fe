"""Checks of the documentation sources: both languages, the nav, the notebook hook.

Fast and without the docs extra; the full strict build is the `slow` test at the end.
"""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS_YML = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
CONCEPTS = sorted(p.stem for p in (DOCS / "concepts").glob("*.md") if p.stem != "index")
PACKAGES = ("data", "layers", "models", "generation", "training", "evaluation", "compare")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, DOCS / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tlm_docs = _load("tlm_docs")
griffe_doctest = _load("griffe_doctest")


def _notebook(path, *markdown):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": text} for text in markdown]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}), encoding="utf-8")


def test_concept_pages_follow_the_source_document():
    expected = {
        "llm",
        "transformer",
        "self-attention",
        "language-modelling",
        "preprocessing",
        "training",
        "perplexity",
        "decoding",
    }
    assert expected <= set(CONCEPTS)


@pytest.mark.parametrize("name", CONCEPTS)
def test_every_concept_page_has_a_chinese_twin_linked_both_ways(name):
    english = (DOCS / "concepts" / f"{name}.md").read_text(encoding="utf-8")
    chinese_path = DOCS / "zh" / "concepts" / f"{name}.md"
    assert chinese_path.is_file(), f"no Chinese page for concepts/{name}.md"
    chinese = chinese_path.read_text(encoding="utf-8")
    assert f"(../zh/concepts/{name}.md)" in english
    assert f"(../../concepts/{name}.md)" in chinese
    assert re.search(r"[\u4e00-\u9fff]", chinese), "the Chinese page has no Chinese text"


@pytest.mark.parametrize("name", CONCEPTS)
def test_every_concept_page_is_in_the_nav_in_both_languages(name):
    assert f" concepts/{name}.md" in MKDOCS_YML
    assert f" zh/concepts/{name}.md" in MKDOCS_YML


@pytest.mark.parametrize("name", CONCEPTS)
def test_every_concept_page_links_a_tlm_module_and_a_lesson(name):
    text = (DOCS / "concepts" / f"{name}.md").read_text(encoding="utf-8")
    links = LINK.findall(text)
    assert any("reference/" in link for link in links), f"{name}.md links no tlm module"
    if name != "llm":  # the background page has no lesson of its own
        assert any(link.endswith(".ipynb") for link in links), f"{name}.md links no notebook"


def test_links_to_notebooks_name_the_lessons():
    for page in DOCS.rglob("*.md"):
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            if link.endswith(".ipynb"):
                assert Path(link).stem in tlm_docs.LESSONS, f"{page}: unknown lesson {link}"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_has_a_reference_page_in_the_nav(package):
    page = (DOCS / "reference" / f"{package}.md").read_text(encoding="utf-8")
    assert f"::: tlm.{package}" in page
    assert f"reference/{package}.md" in MKDOCS_YML


def test_results_page_names_the_command_and_the_machine():
    text = (DOCS / "results.md").read_text(encoding="utf-8")
    assert "tlm compare" in text
    assert "Machine" in text


def test_every_notebook_in_notebooks_goes_into_the_nav(tmp_path):
    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "02_self_attention.ipynb", "# Self-attention by hand")
    _notebook(tmp_path / "notebooks" / "07_gpt2.ipynb", "Intro", "# GPT-2 through keras_hub")
    found = tlm_docs.find_notebooks(tmp_path)
    nav = [{"Home": "index.md"}, {"Notebooks": ["notebooks/index.md"]}]

    assert tlm_docs.add_notebooks_to_nav(nav, found)
    assert tlm_docs.add_notebooks_to_nav(nav, found)  # a second pass adds nothing twice

    assert nav[1]["Notebooks"] == [
        "notebooks/index.md",
        {"02 · Self-attention by hand": "notebooks/02_self_attention.ipynb"},
        {"07 · GPT-2 through keras_hub": "notebooks/07_gpt2.ipynb"},
    ]


def test_every_notebook_of_the_repository_would_be_rendered():
    found = tlm_docs.find_notebooks(ROOT)
    assert set(found) == {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}


def test_nav_without_a_notebooks_section_is_reported():
    assert not tlm_docs.add_notebooks_to_nav([{"Home": "index.md"}], {})


def test_module_exists_finds_modules_and_packages():
    assert tlm_docs.module_exists(ROOT, "tlm.data")  # a package
    assert tlm_docs.module_exists(ROOT, "tlm.cli")  # a module
    assert not tlm_docs.module_exists(ROOT, "tlm.no_such_module")


def test_doctest_lines_in_docstrings_become_code_blocks():
    docstring = (
        "Summary.\n\nExample:\n\n>>> x = [[1, 2]]\n>>> x[0][1]\n2\n\nAfter.\n\n"
        "```python\n>>> already_fenced\n```"
    )
    assert griffe_doctest.fence_doctests(docstring) == (
        "Summary.\n\nExample:\n\n```pycon\n>>> x = [[1, 2]]\n>>> x[0][1]\n2\n```\n\nAfter.\n\n"
        "```python\n>>> already_fenced\n```"
    )


def test_indented_doctest_blocks_keep_their_indentation():
    fenced = griffe_doctest.fence_doctests("Example:\n    >>> 1 + 1\n    2")
    assert fenced == "Example:\n    ```pycon\n    >>> 1 + 1\n    2\n    ```"


@pytest.mark.slow
def test_docs_build_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).parent / "mkdocs")
    completed = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert (tmp_path / "site" / "zh" / "concepts" / "self-attention" / "index.html").is_file()
