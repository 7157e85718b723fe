"""Griffe extension: show doctest examples in docstrings as Python console code blocks.

tlm docstrings write their examples keras-hub style, a line `Example:` followed by `>>>` lines,
indented under it or not. Python-Markdown would read `>>>` as nested quotes and `x[0][1]` as a
reference link; this extension fences every run of doctest lines as ```` ```pycon ```` before the
docstring is parsed, so examples render as code and their brackets are left alone.
"""

from __future__ import annotations

try:
    from griffe import Extension
except ImportError:  # lets tests/test_docs.py check `fence_doctests` without the docs extra
    Extension = object


def fence_doctests(text: str) -> str:
    """Wrap each block of doctest lines (a `>>>` line up to the next blank line) in a fence."""
    lines = text.splitlines()
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        if in_fence or not (stripped == ">>>" or stripped.startswith(">>> ")):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(stripped)]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class FenceDoctests(Extension):
    """Fence the doctest blocks of every docstring griffe loads."""

    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
