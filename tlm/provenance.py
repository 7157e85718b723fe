"""Where a measured figure comes from: the command, tlm version and commit, machine and date.

Every figure tlm publishes (a `tlm compare` results.json, a benchmark's JSON, the results page
made from them) carries this record, so a speed can be read against the machine that measured
it, and two figures from different machines are never taken for one comparison.

- `describe_machine()`: CPU model, cores, memory, accelerators, and the software versions.
- `provenance(command)`: that, plus the command, tlm's version and git commit, and the UTC date.
- `write_figures(path, name, tables, ...)`: a benchmark's figures as JSON, with their provenance.
"""

import datetime
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from tlm.files import write_text_atomically

# The JSON format of a benchmark's figures (`write_figures`).
FIGURES_FORMAT = 1
_PACKAGES = ("tensorflow", "keras", "keras-hub", "tensorflow-text", "numpy")


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib():
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def _accelerators():
    """Names of the GPUs TensorFlow sees (an empty list on a CPU-only machine)."""
    if "tensorflow" not in sys.modules:
        return []  # nothing imported TensorFlow: nothing was measured on a device
    import tensorflow as tf

    names = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        names.append(details.get("device_name", device.name))
    return names


def _versions():
    versions = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def describe_machine():
    """The machine and software a figure was measured on, as JSON-ready data.

    Example:

    >>> machine = describe_machine()
    >>> sorted(machine)
    ['accelerators', 'cores', 'cpu', 'memory_gib', 'platform', 'software']
    >>> machine["cores"] == os.cpu_count()
    True
    """
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "accelerators": _accelerators(),
        "platform": platform.platform(),
        "software": _versions(),
    }


def machine_name(machine):
    """A short name for a machine record: `"2-core AMD EPYC 7B13, no GPU"`.

    >>> machine_name({"cpu": "AMD EPYC 7B13", "cores": 2, "accelerators": []})
    '2-core AMD EPYC 7B13, no GPU'
    >>> machine_name({"cpu": "Intel Xeon", "cores": 16, "accelerators": ["NVIDIA H200"]})
    'NVIDIA H200 (16-core Intel Xeon)'
    """
    cpu = f"{machine.get('cores')}-core {machine.get('cpu')}"
    accelerators = machine.get("accelerators") or []
    if accelerators:
        return f"{', '.join(accelerators)} ({cpu})"
    return f"{cpu}, no GPU"


def source_commit():
    """The git commit of tlm's source tree (with `-dirty` if it has changes), or None."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return commit.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


def current_command():
    """The command line that is running, as its user typed it (`tlm compare --quick`)."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program == "__main__.py":
        program = "python -m tlm"
    elif program.endswith(".py"):
        program = f"python {os.path.relpath(sys.argv[0])}"
    return " ".join([program, *sys.argv[1:]])


def provenance(command=None):
    """The record every published figure carries.

    Args:
        command: the command that measured it; default: the running command line.

    Example:

    >>> record = provenance("tlm compare --quick")
    >>> record["command"], sorted(record)
    ('tlm compare --quick', ['command', 'commit', 'date', 'machine', 'tlm_version'])
    """
    import tlm

    return {
        "command": command or current_command(),
        "tlm_version": tlm.__version__,
        "commit": source_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": describe_machine(),
    }


def write_figures(path, name, tables, notes=(), command=None):
    """Write a benchmark's figures as JSON, with their provenance.

    Args:
        path: the JSON file to write (written whole or not at all).
        name: the benchmark's name (`"data_pipeline"`).
        tables: a list of `{"title": str, "columns": [str], "rows": [[value]]}`, each with an
            optional `"decimals": [int or None]` (one per column: how many decimals the page
            shows for a float; None: 4 significant digits). Values are numbers as measured,
            strings, or None (not measured); the page formats them (ints with thousands
            separators).
        notes: sentences that belong with the figures (how to read them).
        command: the command that measured them; default: the running command line.

    Returns:
        The record written.
    """
    for table in tables:
        width = len(table["columns"])
        rows = list(table["rows"]) + ([table["decimals"]] if "decimals" in table else [])
        if any(len(row) != width for row in rows):
            raise ValueError(
                f"Every row (and `decimals`) of table {table.get('title')!r} must have {width} "
                f"values, one per column. Received lengths {[len(row) for row in rows]}"
            )
    record = {
        "tlm_figures": FIGURES_FORMAT,
        "benchmark": name,
        "provenance": provenance(command),
        "tables": [dict(table) for table in tables],
        "notes": list(notes),
    }
    write_text_atomically(Path(path), json.dumps(record, indent=2) + "\n")
    return record
