"""Writing files so that a failure never leaves a half-written one behind."""

import os


def write_text_atomically(path, text):
    """Write `text` (UTF-8) to `path`: to a temporary file beside it, then rename it into place.

    A crash or an error mid-write leaves the old file (or none), never a truncated one: the
    rename is atomic on one file system.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> write_text_atomically(path, "hello\\n")
    >>> path.read_text(encoding="utf-8")
    'hello\\n'
    """
    path = os.fspath(path)
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)
