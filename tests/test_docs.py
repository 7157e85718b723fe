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
PACKAGES = (
    "data",
    "layers",
    "models",
    "generation",
    "training",
    "evaluation",
    "pretrained",
    "export",
    "compare",
    "plotting",
    "checks",
    "provenance",
)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
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


def test_links_to_notebooks_name_notebooks_of_the_repository():
    lessons = {path.stem for path in NOTEBOOKS}
    linked = set()
    for page in DOCS.rglob("*.md"):
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            if link.endswith(".ipynb"):
                assert Path(link).stem in lessons, f"{page}: unknown lesson {link}"
                linked.add(Path(link).stem)
    assert linked == lessons, f"lessons no page links: {lessons - linked}"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_has_a_reference_page_in_the_nav(package):
    page = (DOCS / "reference" / f"{package}.md").read_text(encoding="utf-8")
    assert f"::: tlm.{package}" in page
    assert f"reference/{package}.md" in MKDOCS_YML


def test_results_page_names_every_benchmark_and_the_machines():
    text = (DOCS / "results.md").read_text(encoding="utf-8")
    assert "`tlm compare`" in text and "## Machines" in text
    benchmarks = {path.name for path in (ROOT / "benchmarks").glob("*.py")}
    # Every script that measures something has its section (the page's own generator aside).
    assert benchmarks - {"results_page.py"} == set(re.findall(r"benchmarks/(\w+\.py)", text)) - {
        "results_page.py"
    }


@pytest.mark.parametrize("page", ["getting-started.md", "zh/getting-started.md"])
def test_getting_started_gives_the_readme_commands(page):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    text = (DOCS / page).read_text(encoding="utf-8")
    for command in (
        "python -m pip install -e . && tlm compare",
        'python -m pip install -e ".[dev,notebooks]" && python -m pytest -q',
    ):
        assert f"\n{command}\n" in readme
        assert f"\n{command}\n" in text
    for command in ("data describe", "train", "evaluate", "generate", "compare"):
        assert f"| `tlm {command}" in text
    assert "tlm compare --quick" in text


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
    assert list(found.values()) == NOTEBOOKS
    assert len(found) >= 6


def test_a_notebook_without_a_heading_is_titled_by_its_name(tmp_path):
    _notebook(tmp_path / "08_extra_lesson.ipynb", "No heading here.")
    assert tlm_docs.notebook_title(tmp_path / "08_extra_lesson.ipynb") == "08 extra lesson"


def test_nav_without_a_notebooks_section_is_reported():
    assert not tlm_docs.add_notebooks_to_nav([{"Home": "index.md"}], {})


def test_source_links_map_to_the_package_reference_page():
    assert tlm_docs.reference_page("data/tokenizers.py") == "reference/data.md"
    assert tlm_docs.reference_page("evaluation.py") == "reference/evaluation.md"
    assert tlm_docs.reference_page("generation/") == "reference/generation.md"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_source_link_of_a_notebook_has_a_reference_page(notebook):
    links = re.findall(r"\]\(\.\./tlm/([^)#\s]+)", notebook.read_text(encoding="utf-8"))
    assert links, f"{notebook.name} links no tlm module"
    for link in links:
        page = tlm_docs.reference_page(link)
        assert (DOCS / page).is_file(), f"{notebook.name}: ../tlm/{link} has no {page}"
        assert f" {page}" in MKDOCS_YML


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
    site = tmp_path / "site"
    assert (site / "zh" / "concepts" / "self-attention" / "index.html").is_file()
    for notebook in NOTEBOOKS:
        html = (site / "notebooks" / notebook.stem / "index.html").read_text(encoding="utf-8")
        assert "../tlm/" not in html, f"{notebook.name}: a source link was not rewritten"
        assert 'href="../../reference/' in html
    for package in PACKAGES:
        html = (site / "reference" / package / "index.html").read_text(encoding="utf-8")
        module = importlib.import_module(f"tlm.{package}")
        names = getattr(module, "__all__", None) or [
            name
            for name, value in vars(module).items()
            if callable(value)
            and getattr(value, "__module__", "") == module.__name__
            and not name.startswith("_")  # private helpers are not on the reference pages
        ]
        assert names
        for name in names:
            assert re.search(rf'id="tlm\.{package}\.(\w+\.)?{name}"', html), f"tlm.{package}.{name}"
