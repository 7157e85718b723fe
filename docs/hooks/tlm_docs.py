"""MkDocs hook for the tlm site: notebooks from notebooks/, and reference pages that wait for code.

Three jobs, so that `mkdocs build --strict` passes at every stage of the project:

1. Every `notebooks/*.ipynb` of the repository joins the build at `notebooks/<name>.ipynb`
   (rendered by mkdocs-jupyter, never executed) and the "Notebooks" section of the nav, in file
   order. No symlink and no copy in docs/: the notebooks stay where Jupyter users find them.
2. A lesson of `LESSONS` that has no notebook yet gets a one-cell stand-in page saying so, so that
   concept pages can link every lesson now. With `TLM_DOCS_REQUIRE_ALL=1` a missing lesson is a
   warning instead (and `--strict` fails): set it in CI once all the notebooks have landed.
3. A reference page's `::: tlm.<package>` whose package is not in tlm/ yet is replaced by a note
   saying so; it renders from the docstrings as soon as the package exists. With
   `TLM_DOCS_REQUIRE_ALL=1` a missing package is a warning too.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

try:
    from mkdocs.plugins import event_priority
except ImportError:  # lets tests/test_docs.py check the helpers without the docs extra

    def event_priority(priority):
        return lambda function: function


log = logging.getLogger("mkdocs.hooks.tlm_docs")


# The lessons the concept pages link to, in teaching order.
LESSONS = {
    "01_text_preprocessing": "Text preprocessing",
    "02_self_attention": "Self-attention",
    "03_lstm_language_model": "LSTM language model",
    "04_transformer_language_model": "Transformer language model",
    "05_text_generation": "Text generation",
    "06_lstm_vs_transformer": "LSTM vs Transformer",
}
NOTEBOOKS_SECTION = "Notebooks"
DIRECTIVE = re.compile(r"^::: (tlm(?:\.\w+)*)[ \t]*\n((?:[ \t]+.*\n|[ \t]*\n)*)", re.MULTILINE)

_state: dict = {"notebooks": {}, "stub_dir": None}


def _require_all() -> bool:
    return os.environ.get("TLM_DOCS_REQUIRE_ALL", "") not in ("", "0")


def _repo_root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def notebook_title(path: Path) -> str | None:
    """The text of the notebook's first Markdown `# ` heading, or None."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return None
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        for line in source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return None


def _stub_notebook(name: str, title: str) -> str:
    text = (
        f"# {title}\n\n"
        f"This lesson (`notebooks/{name}.ipynb`) is not written yet. "
        "Its page appears here, rendered from the notebook, as soon as it lands."
    )
    cell = {"cell_type": "markdown", "id": "stub", "metadata": {}, "source": text}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1)


def find_notebooks(repo: Path) -> dict[str, Path]:
    """Map of notebook stem to path for every notebooks/*.ipynb, sorted by name."""
    folder = repo / "notebooks"
    paths = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    return {path.stem: path for path in paths}


def on_config(config):
    repo = _repo_root(config)
    notebooks = find_notebooks(repo)
    missing = [name for name in LESSONS if name not in notebooks]
    if missing and _require_all():
        log.warning("Notebooks not found in notebooks/: %s", ", ".join(missing))
    elif missing:
        log.info("Stand-in pages for the notebooks not written yet: %s", ", ".join(missing))
        stub_dir = Path(tempfile.mkdtemp(prefix="tlm-docs-"))
        _state["stub_dir"] = stub_dir
        (stub_dir / "notebooks").mkdir()
        for name in missing:
            path = stub_dir / "notebooks" / f"{name}.ipynb"
            path.write_text(_stub_notebook(name, LESSONS[name]), encoding="utf-8")
            notebooks[name] = path
    notebooks = dict(sorted(notebooks.items()))
    _state["notebooks"] = notebooks

    if not add_notebooks_to_nav(config.nav or [], notebooks):
        log.warning("mkdocs.yml nav has no %r section for the notebooks", NOTEBOOKS_SECTION)
    return config


def add_notebooks_to_nav(nav: list, notebooks: dict[str, Path]) -> bool:
    """Append `{label: "notebooks/<name>.ipynb"}` to the nav's Notebooks section, in order.

    Entries already listed there are left as they are. Returns False when the nav has no such
    section.
    """
    for item in nav:
        if isinstance(item, dict) and NOTEBOOKS_SECTION in item:
            section = item[NOTEBOOKS_SECTION]
            listed = {v for entry in section if isinstance(entry, dict) for v in entry.values()}
            listed |= {entry for entry in section if isinstance(entry, str)}
            for name, path in notebooks.items():
                src_uri = f"notebooks/{name}.ipynb"
                if src_uri in listed:
                    continue
                number = name.split("_", 1)[0]
                title = notebook_title(path) or LESSONS.get(name) or name.replace("_", " ")
                section.append({f"{number} · {title}" if number.isdigit() else title: src_uri})
            return True
    return False


# Before mkdocs-jupyter's on_files (priority 0), which turns .ipynb files into pages.
@event_priority(100)
def on_files(files, config):
    from mkdocs.structure.files import File

    for name, path in _state["notebooks"].items():
        src_uri = f"notebooks/{name}.ipynb"
        if files.get_file_from_path(src_uri) is not None:
            continue  # a notebook placed in docs/notebooks/ wins
        # A plain File rooted two levels up (not File.generated): mkdocs-jupyter's wrapper reads
        # the source path from `src_dir`, which generated files lack.
        file = File(
            src_uri,
            src_dir=str(path.parent.parent),
            dest_dir=config.site_dir,
            use_directory_urls=config.use_directory_urls,
        )
        files.append(file)
    return files


def module_exists(repo: Path, dotted: str) -> bool:
    """True when the module or package `dotted` (e.g. "tlm.data") has a source file in the repo."""
    base = repo.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def on_page_markdown(markdown, page, config, files):
    if not page.file.src_uri.startswith("reference/"):
        return markdown
    repo = _repo_root(config)

    def replace(match: re.Match) -> str:
        dotted = match.group(1)
        if module_exists(repo, dotted):
            return match.group(0)
        if _require_all():
            log.warning("%s: module %s not found", page.file.src_uri, dotted)
        return (
            '!!! info "Not available yet"\n\n'
            f"    `{dotted}` is not in this version of tlm yet. This page is generated from its\n"
            "    docstrings as soon as it lands.\n\n"
        )

    return DIRECTIVE.sub(replace, markdown)


def on_serve(server, config, builder):
    server.watch(str(_repo_root(config) / "notebooks"))
    return server


def on_post_build(config):
    stub_dir = _state.get("stub_dir")
    if stub_dir is not None:
        shutil.rmtree(stub_dir, ignore_errors=True)
        _state["stub_dir"] = None
