"""Writing files so that a failure never leaves a half-written one behind."""

import contextlib
import os
import re
import shutil
import tempfile

# The permissions a plain `open(path, "w")` gives a new file (mkstemp's are owner-only).
_UMASK = os.umask(0)
os.umask(_UMASK)
_MODE = 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_path(path, suffix=".tmp"):
    """Yield a new temporary path beside `path` to write; renamed to `path` if all goes well.

    For files another library writes (`model.save`, `figure.savefig`): write to the yielded
    path, and when the block ends without error the file is flushed to disk and renamed into
    place in one step. On any error (no space left, an interrupt) the temporary file is removed
    and `path` keeps its previous content. `suffix` ends the temporary name, for writers that
    check the extension (".keras", ".weights.h5", ".png"). Each call has its own name.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.keras"
    >>> with atomic_path(path, suffix=".keras") as temporary:
    ...     _ = pathlib.Path(temporary).write_bytes(b"weights")
    >>> path.read_bytes(), sorted(p.name for p in path.parent.iterdir())
    (b'weights', ['model.keras'])
    """
    path = os.fspath(path)
    folder, name = os.path.split(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder or ".")
    os.close(descriptor)
    try:
        os.chmod(temporary, _MODE)
        yield temporary
        with open(temporary, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        if isinstance(error, OSError) and getattr(error, "filename", None) in (None, temporary):
            # Writers such as h5py and zipfile do not say which file failed: name it.
            raise _named_error(error, path) from error
        raise


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a new empty folder beside `path` to fill; it replaces `path` if all goes well.

    For a folder another library writes whole (`tf.saved_model.save`): on any error the
    temporary folder is removed and `path` is as it was; on success an existing `path` is
    removed and the new folder renamed into its place (the caller decides whether an existing
    `path` may be replaced). The folder gets the permissions `os.mkdir` would give it.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "exported"
    >>> with atomic_directory(path) as folder:
    ...     _ = (pathlib.Path(folder) / "saved_model.pb").write_bytes(b"graph")
    >>> sorted(p.name for p in path.iterdir()), sorted(p.name for p in path.parent.iterdir())
    (['saved_model.pb'], ['exported'])
    """
    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f".{name}.", dir=parent)
    try:
        os.chmod(temporary, 0o777 & ~_UMASK)
        yield temporary
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _named_error(error, path):
    """`error` as an `OSError` naming `path`, with h5py's long report cut to its errno."""
    number = error.errno
    found = re.search(r"errno = (\d+)", str(error))
    if number is None and found:
        number = int(found.group(1))
    reason = os.strerror(number) if number is not None else (error.strerror or str(error))
    return OSError(number, reason, path)


def write_bytes_atomically(path, data):
    """Write `data` (bytes) to `path` through `atomic_path`: all of it, or nothing."""
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        file.write(data)


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
    write_bytes_atomically(path, text.encode("utf-8"))
