"""One writer per run directory: a lock file that `train` holds while it writes a run.

Two `tlm train --out runs/x` started together would write the same config, checkpoints and backup
(and h5py would refuse the second one a file lock mid-run). So `train` first creates
`runs/x/.lock`, atomically (`O_CREAT | O_EXCL`: of two processes, exactly one succeeds), holding
the process id, the host and the start time, and removes it when it ends, however it ends. A
second writer meets a `RunInUseError` (a `FileExistsError`: the lock file exists) naming the
holder. A lock left by a process that no longer
runs (killed, machine restarted) is taken over with a message; a lock from another host cannot
be checked, so it is refused with the path to delete if that host is done with it.
"""

import contextlib
import datetime
import json
import os
import socket
import sys

LOCK_FILE = ".lock"


class RunInUseError(FileExistsError):
    """Another live process holds the lock of the run directory."""


def _process_is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _read_holder(path):
    try:
        with open(path, encoding="utf-8") as file:
            holder = json.load(file)
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _describe(holder):
    return (
        f"process {holder.get('pid')} on host {holder.get('host')!r}, "
        f"started {holder.get('started')}"
    )


def _create(path):
    """Create the lock file at `path` for this process; False if it exists already."""
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(holder, file)
    return True


@contextlib.contextmanager
def run_lock(out):
    """Hold the lock of run directory `out` (created if missing) for the `with` block.

    Raises:
        RunInUseError: another live process holds it (the message names it).

    A folder this lock created and that is still empty at the end is removed again, so a
    refused or failed run leaves nothing behind.

    Example:

    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "run")
    >>> with run_lock(out):
    ...     os.path.exists(os.path.join(out, LOCK_FILE))
    True
    >>> os.path.exists(out)  # created for the lock, empty again: removed
    False
    """
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(
            "`out` exists and is not a tlm run directory (it is not a folder). Choose a new "
            f"folder. Received: out={out!r}"
        )
    created = not os.path.exists(out)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, LOCK_FILE)
    if not _create(path):
        holder = _read_holder(path) or {}
        same_host = holder.get("host") == socket.gethostname()
        pid = holder.get("pid")
        if same_host and isinstance(pid, int) and not _process_is_running(pid):
            print(
                f"tlm: taking over the lock of {out!r} left by {_describe(holder)}, which no "
                "longer runs.",
                file=sys.stderr,
                flush=True,
            )
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            taken = _create(path)
        else:
            taken = False
        if not taken:
            holder = _read_holder(path) or holder
            where = "" if same_host else f" If that host no longer uses it, delete {path!r}."
            raise RunInUseError(
                f"The run directory is in use: `out` is being written by {_describe(holder)}. "
                f"Wait for it to end or choose another folder.{where} Received: out={out!r}"
            )
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(out)  # only if empty
