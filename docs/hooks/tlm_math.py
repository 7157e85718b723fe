"""MkDocs hook: formulas become MathML when the site is built, so a page needs no script to read.

Browsers draw MathML themselves, so the pages show their formulas offline and load nothing from
a CDN. The LaTeX is converted by `latex2mathml` (installed from PyPI with the docs extra):

- Markdown pages: pymdownx.arithmatex (generic mode) wraps each formula as
  `<span class="arithmatex">\\( ... \\)</span>` or `<div class="arithmatex">\\[ ... \\]</div>`.
- Notebook pages: mkdocs-jupyter leaves `$...$` and `$$...$$` as text in Markdown cells, as
  Jupyter does, and adds script tags that would fetch MathJax (and Mermaid) from a CDN: the
  formulas are converted and those scripts removed.

A formula the converter cannot read (an unknown command) is left as it was and logged as a
warning, which fails the strict build.
"""

from __future__ import annotations

import html
import logging
import re

log = logging.getLogger("mkdocs.hooks.tlm_math")

ARITHMATEX = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\s*\\(?P<open>[(\[])(?P<tex>.*?)\\[)\]]\s*</(?P=tag)>',
    re.S,
)
NOTEBOOK_MARKDOWN = re.compile(
    r'(<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^"]*"[^>]*>)(.*?)(</div>)', re.S
)
# Code in a Markdown cell keeps its dollar signs.
CODE = re.compile(r"(<code\b.*?</code>|<pre\b.*?</pre>)", re.S)
# Jupyter's rule: `$$...$$` anywhere, `$...$` on one line with no space just inside the dollars.
DISPLAY_DOLLARS = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE_DOLLARS = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]*?\S)\$(?![$\w])")
# Standard operator names the converter lacks, spelled as it can read them.
OPERATOR_NAMES = {"arg": r"\operatorname{arg}"}
OPERATOR = re.compile(r"\\(" + "|".join(OPERATOR_NAMES) + r")(?![A-Za-z])")
# What the converter leaves of a command or alignment mark it does not know: `<mi>\foo</mi>`.
UNREAD = re.compile(r">(\\[A-Za-z]+|&)<")
REMOTE_SCRIPT = re.compile(
    r"<script\b[^>]*>(?:(?!</script>).)*?https?://(?:(?!</script>).)*?</script>"
    r"|<script\b[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>"
    r"|<script type=\"text/x-mathjax-config\">.*?</script>",
    re.S,
)


class UnreadableFormula(ValueError):
    """The converter met LaTeX it does not know."""


def to_mathml(tex: str, display: bool) -> str:
    r"""MathML for one LaTeX formula.

    >>> to_mathml(r"\frac{1}{2}", display=False)[:54]
    '<math xmlns="http://www.w3.org/1998/Math/MathML" disp'
    >>> to_mathml(r"\unknowncommand x", display=True)
    Traceback (most recent call last):
    ...
    tlm_math.UnreadableFormula: cannot read '\\unknowncommand' in '\\unknowncommand x'
    """
    from latex2mathml.converter import convert

    readable = OPERATOR.sub(lambda match: OPERATOR_NAMES[match.group(1)], tex.strip())
    mathml = convert(readable, display="block" if display else "inline")
    unread = UNREAD.search(mathml)
    if unread:
        raise UnreadableFormula(f"cannot read {unread.group(1)!r} in {tex.strip()!r}")
    return mathml


def _render(tex: str, display: bool, where: str, original: str) -> str:
    try:
        return to_mathml(html.unescape(tex), display)
    except Exception as error:  # noqa: BLE001 - the converter raises many kinds; report them all
        log.warning("%s: formula left as LaTeX: %s", where, error)
        return original


def render_arithmatex(page_html: str, where: str = "page") -> str:
    """Replace every arithmatex span (inline) and div (display) by MathML."""

    def replace(match: re.Match) -> str:
        display = match.group("open") == "["
        mathml = _render(match.group("tex"), display, where, match.group(0))
        if mathml is match.group(0):
            return mathml
        return f'<div class="math">{mathml}</div>' if display else mathml

    return ARITHMATEX.sub(replace, page_html)


def render_dollars(text: str, where: str = "notebook") -> str:
    r"""Replace `$$...$$` and `$...$` in HTML text, outside code, by MathML.

    >>> render_dollars("<p>cost <code>$x$</code> and $5 or $6</p>")
    '<p>cost <code>$x$</code> and $5 or $6</p>'
    """
    parts = CODE.split(text)
    for index in range(0, len(parts), 2):  # even parts lie outside code
        part = DISPLAY_DOLLARS.sub(
            lambda m: _render(m.group(1), True, where, m.group(0)), parts[index]
        )
        parts[index] = INLINE_DOLLARS.sub(
            lambda m: _render(m.group(1), False, where, m.group(0)), part
        )
    return "".join(parts)


def render_notebook(page_html: str, where: str = "notebook") -> str:
    """Formulas of a notebook page's Markdown cells as MathML; CDN scripts removed."""
    page_html = REMOTE_SCRIPT.sub("", page_html)
    return NOTEBOOK_MARKDOWN.sub(
        lambda m: m.group(1) + render_dollars(m.group(2), where) + m.group(3), page_html
    )


def on_page_content(html_text, page, config, files):
    where = page.file.src_uri
    if where.endswith(".ipynb"):
        return render_notebook(html_text, where)
    return render_arithmatex(html_text, where)
