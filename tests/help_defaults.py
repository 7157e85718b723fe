"""Reading the defaults that `tlm COMMAND --help` states, to hold them against the dataclasses."""

import ast
import re

import pytest

from tlm.cli import main


def stated_defaults(command, monkeypatch, capsys):
    """`{option dest: (default text, quick default text or None)}` from `tlm COMMAND --help`."""
    monkeypatch.setenv("COLUMNS", "2000")  # one line per option: no wrapped words
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    # One block per option: its line, and the help lines indented below it.
    blocks = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("  -"):
            blocks.append(line.strip())
        elif line.startswith("   ") and blocks:
            blocks[-1] += " " + line.strip()
        else:
            blocks.append("")
    stated = {}
    for block in blocks:
        match = re.match(r"--([a-z0-9-]+)(?:, --no-[a-z0-9-]+)?\b.*\(default: (.*?)\)$", block)
        if match:
            default, _, quick = match.group(2).partition("; --quick: ")
            stated[match.group(1).replace("-", "_")] = (default, quick or None)
    return stated


def parse_stated(text, like):
    """The value `text` states, read as the type of `like` (the dataclass default)."""
    if text == "None":
        return None
    if isinstance(like, bool):
        return {"true": True, "false": False}[text]
    if isinstance(like, tuple):
        if text == "none":
            return ()
        # Items with spaces or newlines are shown as Python string literals.
        items = re.findall(r"'(?:[^'\\]|\\.)*'|\S+", text)
        return tuple(
            ast.literal_eval(item) if item.startswith("'") else type(like[0])(item)
            for item in items
        )
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
