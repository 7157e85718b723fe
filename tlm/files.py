"""Writing files so that a failure never leaves a half-written one behind."""

import contextlib
import os
import tempfile

# The permissions a plain `open(path, "w")` gives a new file (mkstemp's are owner-only).
_UMASK = os.umask(0)
os.umask(_UMASK)
_MODE = 0o666 & ~_UMASK


def write_text_atomically(path, text):
    """Write `text` (UTF-8) to `path`: to a temporary file beside it, then rename it into place.

    A crash or an error mid-write (no space left, text that cannot be encoded, an interrupt)
    leaves the old file (or none), never a truncated one: the rename is atomic on one file
    system, and the temporary file is removed on any error. Each call has its own temporary
    name, so two writers of the same path never write into one temporary file.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> write_text_atomically(path, "hello\\n")
    >>> path.read_text(encoding="utf-8")
    'hello\\n'
    """
    path = os.fspath(path)
    folder, name = os.path.split(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder or ".")
    try:
        os.chmod(temporary, _MODE)
        with open(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
