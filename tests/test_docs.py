"""Checks of the documentation sources: both languages, the nav, the notebook hook.

Fast and without the docs extra; the full strict build is the `slow` test at the end.
"""

import importlib.util
import json
import re
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


def _load(path):
    """The Python file at `path` as a module (the docs hooks and tools are not packages)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tlm_docs = _load(DOCS / "hooks" / "tlm_docs.py")
griffe_doctest = _load(DOCS / "hooks" / "griffe_doctest.py")


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
@pytest.mark.xdist_group("site")  # with tests/test_site.py, in the process that builds the site
def test_docs_build_strictly(built_site):
    assert built_site.completed.returncode == 0, built_site.completed.stderr[-4000:]
    site = built_site.site
    assert (site / "zh" / "concepts" / "self-attention" / "index.html").is_file()
    for notebook in NOTEBOOKS:
        html = (site / "notebooks" / notebook.stem / "index.html").read_text(encoding="utf-8")
        assert "../tlm/" not in html, f"{notebook.name}: a source link was not rewritten"
        assert "../docs/" not in html, f"{notebook.name}: a docs link was not rewritten"
        assert 'href="../../reference/' in html
        assert "<math " in html or "$" not in notebook.read_text(encoding="utf-8")
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


tlm_math = _load(DOCS / "hooks" / "tlm_math.py")
EXECUTED = DOCS / "executed"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_lesson_has_an_executed_copy_with_the_same_code(notebook):
    executed_path = EXECUTED / notebook.name
    regenerate = f"python tools/execute_lessons.py {notebook.stem}"
    assert executed_path.is_file(), f"no executed copy of {notebook.name}: run {regenerate}"
    executed = json.loads(executed_path.read_text(encoding="utf-8"))
    ours = json.loads(notebook.read_text(encoding="utf-8"))
    problem = tlm_docs.executed_copy_problem(ours, executed)
    assert problem is None, f"{executed_path.name} is out of date ({problem}): run {regenerate}"
    run = executed["metadata"]["tlm_executed"]
    assert run["mode"] == "full" and run["device"].startswith("CPU"), run
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert outputs, f"{executed_path.name} has no outputs"
    assert not [o for o in outputs if o["output_type"] == "error"], "an executed cell failed"
    as_text = [o for o in outputs if "image/png" not in o.get("data", {"image/png": None})
               and "".join(o["data"].get("text/plain", "")).startswith("<Figure size")]
    assert not as_text, f"{executed_path.name}: a figure shown as text, not drawn"


def test_a_changed_code_cell_makes_the_executed_copy_stale():
    cell = lambda text: {"cell_type": "code", "source": text, "outputs": []}  # noqa: E731
    notebook = {"cells": [{"cell_type": "markdown", "source": "# Title"}, cell("x = 1")]}
    assert tlm_docs.executed_copy_problem(notebook, {"cells": [cell("x = 2")]}) == (
        "code cell 0 differs"
    )
    assert "2 code cells" in tlm_docs.executed_copy_problem(
        notebook, {"cells": [cell("x = 1"), cell("y")]}
    )


def test_the_page_shows_the_notebooks_prose_with_the_executed_outputs():
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": "# Title\n\nNew prose."},
            {"cell_type": "code", "source": "print(1)", "outputs": [], "execution_count": None},
        ]
    }
    executed = {
        "metadata": {"tlm_executed": {"mode": "full", "device": "CPU (2 cores, x86_64)",
                                      "seconds": 120, "date": "2026-01-02",
                                      "tensorflow": "2.21.0"}},
        "cells": [
            {"cell_type": "markdown", "source": "# Title\n\nOld prose."},
            {"cell_type": "code", "source": "print(1)", "execution_count": 1,
             "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]},
        ],
    }
    merged = tlm_docs.with_outputs(notebook, executed)
    assert [cell["cell_type"] for cell in merged["cells"]] == ["markdown", "markdown", "code"]
    assert merged["cells"][0]["source"] == "# Title\n\nNew prose."
    assert "full mode on a CPU (2 cores, x86_64), in 2 minutes, on 2026-01-02" in (
        merged["cells"][1]["source"]
    )
    assert merged["cells"][2]["outputs"][0]["text"] == "1\n"
    assert notebook["cells"][1]["outputs"] == []  # the notebook itself is left alone


def test_solution_links_lead_to_the_solution_pages():
    page = tlm_docs.solution_page("03_lstm", "def exercise_1():\n    assert True\n")
    assert page.startswith("# Solutions to the exercises of lesson 03")
    assert "[Back to the lesson](../03_lstm.ipynb)" in page
    assert "```python\ndef exercise_1():\n    assert True\n```" in page
    assert tlm_docs.SOLUTION_LINK.findall('<a href="solutions/03_lstm.py">') == ["03_lstm"]


def _formulas():
    """(where, LaTeX, display) of every formula in the Markdown pages and the lessons' prose."""
    dollars = re.compile(r"\$\$(.+?)\$\$|(?<![\\$\w])\$(?=\S)([^$\n]*?\S)\$(?![$\w])", re.S)
    sources = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"))
               for p in DOCS.rglob("*.md")]
    for notebook in NOTEBOOKS:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        sources.append((notebook.name, text))
    for where, text in sources:
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text)
        for match in dollars.finditer(text):
            yield where, match.group(1) or match.group(2), match.group(1) is not None


def test_every_formula_converts_to_mathml():
    pytest.importorskip("latex2mathml", reason="needs the docs extra (latex2mathml)")
    formulas = list(_formulas())
    assert len(formulas) > 300
    unreadable = []
    for where, tex, display in formulas:
        try:
            tlm_math.to_mathml(tex, display)
        except Exception as error:  # noqa: BLE001 - report every kind the converter raises
            unreadable.append(f"{where}: {error}")
    assert not unreadable, "\n".join(unreadable)


def test_arithmatex_formulas_become_mathml():
    pytest.importorskip("latex2mathml", reason="needs the docs extra (latex2mathml)")
    page = (
        '<p>so <span class="arithmatex">\\(a &lt; b_i\\)</span>.</p>'
        '<div class="arithmatex">\\[\\frac{1}{N}\\]</div>'
    )
    html = tlm_math.render_arithmatex(page)
    assert "arithmatex" not in html and "\\(" not in html
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in html
    assert "<mo>&#x0003C;</mo>" in html  # the escaped "<" was read as the less-than sign
    block = '<div class="math"><math xmlns="http://www.w3.org/1998/Math/MathML" display="block">'
    assert block in html
    assert "<mfrac>" in html


def test_notebook_formulas_become_mathml_and_cdn_scripts_go():
    pytest.importorskip("latex2mathml", reason="needs the docs extra (latex2mathml)")
    page = (
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js"> </script>'
        '<script type="text/x-mathjax-config">init_mathjax()</script>'
        '<script type="module">await import("https://cdnjs.cloudflare.com/mermaid.mjs")</script>'
        '<script>local()</script>'
        '<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput" x="1">'
        "<p>Inline $x_i^2$, costs $5 or $6, <code>$kept$</code>.</p><p>$$\\sqrt{d_k}$$</p></div>"
        '<div class="jp-OutputArea"><pre>$not markdown$</pre></div>'
    )
    html = tlm_math.render_notebook(page)
    assert "https://" not in html and "mathjax" not in html
    assert "<script>local()</script>" in html
    assert html.count("<math ") == 2 and "<msqrt>" in html
    assert "costs $5 or $6" in html and "<code>$kept$</code>" in html
    assert "<pre>$not markdown$</pre>" in html


def test_a_formula_the_converter_cannot_read_is_left_and_reported(caplog):
    pytest.importorskip("latex2mathml", reason="needs the docs extra (latex2mathml)")
    page = '<span class="arithmatex">\\(\\nosuchcommand x\\)</span>'
    with caplog.at_level("WARNING"):
        assert tlm_math.render_arithmatex(page, "concepts/x.md") == page
    assert "concepts/x.md: formula left as LaTeX: cannot read '\\\\nosuchcommand'" in caplog.text
    assert "arg" in tlm_math.to_mathml(r"\arg\max_w p", display=False)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_docs_link_of_a_notebook_names_a_page(notebook):
    for link in re.findall(r"\]\(\.\./docs/([^)#\s]+)", notebook.read_text(encoding="utf-8")):
        assert (DOCS / link).is_file(), f"{notebook.name}: ../docs/{link} is not a page"
        assert tlm_docs.DOCS_LINK.match(f'href="../docs/{link}"'), link


def _execute_lessons():
    return _load(ROOT / "tools" / "execute_lessons.py")


def test_execute_lessons_refuses_an_unknown_lesson_before_running_anything(capsys):
    execute_lessons = _execute_lessons()
    with pytest.raises(SystemExit) as exit_info:
        execute_lessons.main(["03_lstm_language_model", "09_no_such_lesson"])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "NAME: 09_no_such_lesson is not a notebook in notebooks/" in message
    assert "01_text_preprocessing" in message  # the names it would take


def test_executed_outputs_keep_what_a_reader_would_see():
    nbformat = pytest.importorskip("nbformat", reason="needs the notebooks extra (nbformat)")
    execute_lessons = _execute_lessons()
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [
        nbformat.v4.new_output(
            "stream", name="stderr",
            text="WARNING: All log messages before absl::InitializeLog() is called are written "
            "to STDERR\nI0000 00:00:1796139703.667013    1280 cudart_stub.cc:31] No GPU.\n",
        ),
        nbformat.v4.new_output(
            "stream", name="stdout", text="1/3 loss 2.0\r2/3 loss 1.5\r3/3 loss 1.2\nsaved to "
            "/scratch/run-x/model.keras\n",
        ),
        nbformat.v4.new_output(
            "display_data",
            data={"text/plain": "Progress", "application/vnd.jupyter.widget-view+json": {}},
        ),
    ]
    notebook.cells.append(cell)
    execute_lessons.clean_outputs(notebook, "/scratch/run-x")
    outputs = notebook.cells[0].outputs
    assert [output.output_type for output in outputs] == ["stream", "display_data"]
    assert outputs[0].text == "3/3 loss 1.2\nsaved to model.keras\n"
    assert dict(outputs[1].data) == {"text/plain": "Progress"}
