"""MkDocs hook for the tlm site: the notebooks in notebooks/ become pages, with no copy in docs/.

- Every `notebooks/*.ipynb` joins the build at `notebooks/<name>.ipynb` (rendered by
  mkdocs-jupyter, never executed) and the nav's "Notebooks" section, in file order, titled by its
  first `# ` heading.
- Each page shows the notebook's cells with the outputs of its executed copy in docs/executed/
  (written by `python tools/execute_lessons.py`: a full-mode run on a CPU), and says when and
  how that run was made. The Markdown is always the notebook's own; a copy whose code cells
  differ from the notebook's is not used and the build warns (so a strict build fails).
- The notebooks link the code they use as `../tlm/<package>/<module>.py`, which works in Jupyter
  and on GitHub; on the site those links go to the package's API reference page instead.
- Lessons link documentation pages as `../docs/<page>.md` (right in Jupyter and on GitHub);
  on the site those links go to the page itself.
- Each lesson's exercises link their solutions as `solutions/<name>.py`: every
  notebooks/solutions/*.py becomes a page showing its code, and those links lead there.
"""

from __future__ import annotations

import json
import logging
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

NOTEBOOKS_SECTION = "Notebooks"
SOURCE_LINK = re.compile(r'href="\.\./tlm/([^"#]*)(#[^"]*)?"')
SOLUTION_LINK = re.compile(r'href="solutions/([\w-]+)\.py"')
# A lesson's link to a documentation page, as it works in Jupyter: ../docs/concepts/lstm.md.
DOCS_LINK = re.compile(r'href="\.\./docs/([^"#]+\.md)(#[^"]*)?"')
EXECUTED_DIR = Path("docs") / "executed"
# Where the merged notebooks of the current build are written (a temporary folder).
_build = {}


def find_notebooks(repo: Path) -> dict[str, Path]:
    """Map of notebook stem to path for every notebooks/*.ipynb, sorted by name."""
    return {path.stem: path for path in sorted((repo / "notebooks").glob("*.ipynb"))}


def notebook_title(path: Path) -> str:
    """The text of the notebook's first Markdown `# ` heading, else its name in words."""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            source = cell["source"]
            for line in ("".join(source) if isinstance(source, list) else source).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem.replace("_", " ")


def add_notebooks_to_nav(nav: list, notebooks: dict[str, Path]) -> bool:
    """Append `{"NN · title": "notebooks/<name>.ipynb"}` to the nav's Notebooks section.

    Entries already listed there are left as they are. Returns False when the nav has no such
    section.
    """
    for item in nav:
        if isinstance(item, dict) and NOTEBOOKS_SECTION in item:
            section = item[NOTEBOOKS_SECTION]
            listed = {v for entry in section if isinstance(entry, dict) for v in entry.values()}
            for name, path in notebooks.items():
                src_uri = f"notebooks/{name}.ipynb"
                if src_uri not in listed and src_uri not in section:
                    number = name.split("_", 1)[0]
                    title = notebook_title(path)
                    section.append({f"{number} · {title}" if number.isdigit() else title: src_uri})
            return True
    return False


def _source(cell) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def code_sources(notebook: dict) -> list[str]:
    """The source of every code cell, in order."""
    return [_source(cell) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def executed_copy_problem(notebook: dict, executed: dict) -> str | None:
    """Why an executed copy cannot stand for the notebook (its code differs), or None.

    >>> cell = lambda text: {"cell_type": "code", "source": text}
    >>> executed_copy_problem({"cells": [cell("x = 1")]}, {"cells": [cell("x = 1")]}) is None
    True
    >>> executed_copy_problem({"cells": [cell("x = 2")]}, {"cells": [cell("x = 1")]})
    'code cell 0 differs'
    """
    ours, theirs = code_sources(notebook), code_sources(executed)
    if len(ours) != len(theirs):
        return f"{len(theirs)} code cells, the notebook has {len(ours)}"
    for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
        if mine != other:
            return f"code cell {index} differs"
    return None


def run_description(executed: dict) -> str:
    """One sentence on how the executed copy was made, from its metadata."""
    run = executed.get("metadata", {}).get("tlm_executed", {})
    minutes = run.get("seconds", 0) / 60
    return (
        f"*The outputs below come from running this notebook top to bottom in "
        f"{run.get('mode', 'full')} mode on a {run.get('device', 'CPU')}, in "
        f"{minutes:.0f} minutes, on {run.get('date', 'an unrecorded date')} (TensorFlow "
        f"{run.get('tensorflow', '?')}). `python tools/execute_lessons.py` runs it again.*"
    )


def with_outputs(notebook: dict, executed: dict) -> dict:
    """The notebook's cells with the executed copy's outputs and counts, and a note on the run.

    The code cells must be the same (see `executed_copy_problem`); Markdown cells are the
    notebook's own.
    """
    outputs = [cell for cell in executed["cells"] if cell["cell_type"] == "code"]
    merged = json.loads(json.dumps(notebook))
    code = iter(outputs)
    for cell in merged["cells"]:
        if cell["cell_type"] == "code":
            run = next(code)
            cell["outputs"] = run.get("outputs", [])
            cell["execution_count"] = run.get("execution_count")
    note = {"cell_type": "markdown", "metadata": {}, "source": run_description(executed)}
    headed = next(
        (i + 1 for i, cell in enumerate(merged["cells"])
         if cell["cell_type"] == "markdown" and _source(cell).lstrip().startswith("# ")),
        0,
    )
    merged["cells"].insert(headed, note)
    return merged


def solution_page(name: str, code: str) -> str:
    """Markdown for the page of notebooks/solutions/<name>.py."""
    number = name.split("_", 1)[0]
    return (
        f"# Solutions to the exercises of lesson {number}\n\n"
        f"[Back to the lesson](../{name}.ipynb). Each function solves one exercise and checks "
        f"its answer; the tests run them all.\n\n"
        f"```python\n{code.rstrip()}\n```\n"
    )


def reference_page(source_path: str) -> str:
    """The reference page of the package a `tlm/` source path belongs to.

    >>> reference_page("data/tokenizers.py"), reference_page("evaluation.py")
    ('reference/data.md', 'reference/evaluation.md')
    """
    package = source_path.split("/", 1)[0].removesuffix(".py")
    return f"reference/{package}.md"


def _repo(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_config(config):
    if not add_notebooks_to_nav(config.nav, find_notebooks(_repo(config))):
        log.warning("mkdocs.yml nav has no %r section for the notebooks", NOTEBOOKS_SECTION)


# Before mkdocs-jupyter's on_files (priority 0), which turns .ipynb files into pages.
@event_priority(100)
def on_files(files, config):
    from mkdocs.structure.files import File

    repo = _repo(config)
    if "folder" in _build:
        shutil.rmtree(_build["folder"], ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix="tlm-docs-"))
    _build["folder"] = folder
    (folder / "notebooks").mkdir()
    for name, path in find_notebooks(repo).items():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        executed_path = repo / EXECUTED_DIR / path.name
        if not executed_path.is_file():
            log.warning("%s has no executed copy: run python tools/execute_lessons.py %s",
                        path.name, name)
        else:
            executed = json.loads(executed_path.read_text(encoding="utf-8"))
            problem = executed_copy_problem(notebook, executed)
            if problem:
                log.warning("%s: the executed copy is out of date (%s): run "
                            "python tools/execute_lessons.py %s", path.name, problem, name)
            else:
                notebook = with_outputs(notebook, executed)
        (folder / "notebooks" / path.name).write_text(json.dumps(notebook), encoding="utf-8")
        # A File with a real `src_dir` (not File.generated): mkdocs-jupyter reads the
        # notebook from there.
        files.append(
            File(
                f"notebooks/{path.name}",
                src_dir=str(folder),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    for path in sorted((repo / "notebooks" / "solutions").glob("*.py")):
        files.append(
            File.generated(
                config,
                f"notebooks/solutions/{path.stem}.md",
                content=solution_page(path.stem, path.read_text(encoding="utf-8")),
            )
        )
    return files


def on_post_build(config):
    shutil.rmtree(_build.pop("folder", ""), ignore_errors=True)
    # The theme's language selector reads the sitemap of each alternate language's root (zh/):
    # the one sitemap lists every page of both.
    site = Path(config.site_dir)
    for alternate in config.extra.get("alternate", []):
        root = site / alternate["link"].strip("./")
        if root != site and root.is_dir() and (site / "sitemap.xml").is_file():
            shutil.copyfile(site / "sitemap.xml", root / "sitemap.xml")


def on_page_content(html, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"):
        return html

    def replace(match: re.Match) -> str:
        target = files.get_file_from_path(reference_page(match.group(1)))
        if target is None:
            log.warning("%s: no reference page for ../tlm/%s", page.file.src_uri, match.group(1))
            return match.group(0)
        return f'href="{target.url_relative_to(page.file)}"'

    def replace_solution(match: re.Match) -> str:
        target = files.get_file_from_path(f"notebooks/solutions/{match.group(1)}.md")
        if target is None:
            log.warning("%s: no solutions file notebooks/solutions/%s.py",
                        page.file.src_uri, match.group(1))
            return match.group(0)
        return f'href="{target.url_relative_to(page.file)}"'

    def replace_docs(match: re.Match) -> str:
        target = files.get_file_from_path(match.group(1))
        if target is None:
            log.warning("%s: no page docs/%s", page.file.src_uri, match.group(1))
            return match.group(0)
        return f'href="{target.url_relative_to(page.file)}{match.group(2) or ""}"'

    html = SOURCE_LINK.sub(replace, html)
    html = DOCS_LINK.sub(replace_docs, html)
    return SOLUTION_LINK.sub(replace_solution, html)


def on_serve(server, config, builder):
    server.watch(str(_repo(config) / "notebooks"))
    return server
