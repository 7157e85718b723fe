"""MkDocs hook for the tlm site: the notebooks in notebooks/ become pages, with no copy in docs/.

- Every `notebooks/*.ipynb` joins the build at `notebooks/<name>.ipynb` (rendered by
  mkdocs-jupyter, never executed) and the nav's "Notebooks" section, in file order, titled by its
  first `# ` heading.
- The notebooks link the code they use as `../tlm/<package>/<module>.py`, which works in Jupyter
  and on GitHub; on the site those links go to the package's API reference page instead.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

try:
    from mkdocs.plugins import event_priority
except ImportError:  # lets tests/test_docs.py check the helpers without the docs extra

    def event_priority(priority):
        return lambda function: function


log = logging.getLogger("mkdocs.hooks.tlm_docs")

NOTEBOOKS_SECTION = "Notebooks"
SOURCE_LINK = re.compile(r'href="\.\./tlm/([^"#]*)(#[^"]*)?"')


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
    for path in find_notebooks(repo).values():
        # A File rooted at the repository (not File.generated): mkdocs-jupyter reads the
        # notebook from `src_dir`, which generated files lack.
        files.append(
            File(
                f"notebooks/{path.name}",
                src_dir=str(repo),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


def on_page_content(html, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"):
        return html

    def replace(match: re.Match) -> str:
        target = files.get_file_from_path(reference_page(match.group(1)))
        if target is None:
            log.warning("%s: no reference page for ../tlm/%s", page.file.src_uri, match.group(1))
            return match.group(0)
        return f'href="{target.url_relative_to(page.file)}"'

    return SOURCE_LINK.sub(replace, html)


def on_serve(server, config, builder):
    server.watch(str(_repo(config) / "notebooks"))
    return server
