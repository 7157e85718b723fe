"""The `tlm` command: one subcommand per module in `tlm/commands/`.

Each command module exposes `HELP` (its one-line summary) and `add_parser(subparsers)`, which
registers its parser and sets `func(args) -> int` as the default. Only the parser of the command
being run is built: a command whose options come from a settings dataclass imports TensorFlow to
build them, and `tlm --help` needs none of that, so it answers at once.

TensorFlow starts quietly: its start-up lines (absl and C++ logging, among them a "failed call to
cuInit" error on every machine without a GPU) are kept out of the terminal, and are shown if
starting fails. `tlm --verbose COMMAND`, or a `TF_CPP_MIN_LOG_LEVEL` of the user's own, lets
them through.
"""

import argparse
import contextlib
import importlib
import os
import sys
import tempfile

import tlm

# Command modules, in the order `tlm --help` lists them. A module that does not exist yet is
# skipped, so the command grows with the package.
COMMANDS = ("data", "train", "evaluate", "generate", "export", "compare")
# Commands whose options are built from settings dataclasses, which import TensorFlow.
_PARSERS_IMPORT_TENSORFLOW = ("train", "compare")


@contextlib.contextmanager
def _native_stderr_to(file):
    """Send file descriptor 2 (C++ logging writes there directly, not to `sys.stderr`) to `file`."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def start_tensorflow(quiet=True):
    """Import TensorFlow and Keras and find the devices, keeping their start-up log out of sight.

    With `quiet=False` nothing is hidden. If starting fails, what TensorFlow wrote is shown
    before the error goes on.
    """
    if not quiet or "tensorflow" in sys.modules:
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile() as log:
        try:
            with _native_stderr_to(log):
                import keras  # noqa: F401
                import tensorflow as tf

                # Finding the devices runs the CUDA probe that logs on a machine without a GPU.
                tf.config.list_physical_devices()
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
    # TensorFlow's Python warnings too: what matters to a tlm user, tlm says in its own words.
    tf.get_logger().setLevel("ERROR")


# What to do after a command failed for want of space or permission, by command.
_RESUMES = {
    "train": "once the cause is fixed, run the same command again: it resumes from the last "
    "backup (if one was written).",
}


def describe_os_error(error):
    """One line for an `OSError`: what failed, on which file, without the `[Errno N]` prefix.

    >>> describe_os_error(OSError(28, "No space left on device", "runs/x/model.keras"))
    "No space left on device: 'runs/x/model.keras'"
    """
    text = error.strerror or str(error)
    if error.filename:
        text += f": {os.fspath(error.filename)!r}"
    return text


def build_parser(command=None):
    """The `tlm` parser; the full parser of `command` only (all of them when it is "all")."""
    parser = argparse.ArgumentParser(
        prog="tlm",
        description=(
            "Build, train, evaluate and sample small language models (LSTM and Transformer) "
            "with Keras 3 and TensorFlow."
        ),
        epilog="Run `tlm COMMAND --help` for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"tlm {tlm.__version__}")
    parser.add_argument(
        "--verbose",
        dest="show_tensorflow_log",
        action="store_true",
        help="show TensorFlow's own start-up and C++ log lines (hidden otherwise)",
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tlm.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"tlm.commands.{name}":
                raise
            continue
        if command in (name, "all"):
            module.add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=module.HELP)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    before_command = argv[: argv.index(command)] if command else argv
    quiet = "--verbose" not in before_command and "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    if quiet:
        # TensorFlow's C++ info and warning lines would bury the output; errors still show.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if command in _PARSERS_IMPORT_TENSORFLOW:
        start_tensorflow(quiet)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    start_tensorflow(quiet)
    try:
        return args.func(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        # Bad input: one clear line, no traceback.
        print(f"tlm {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # The machine refused (no space left, no permission): one line, and what to do next.
        print(f"tlm {args.command}: error: {describe_os_error(error)}", file=sys.stderr)
        if args.command in _RESUMES:
            print(f"tlm {args.command}: {_RESUMES[args.command]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C: what was worth keeping is kept (`train` saves its backup); no traceback.
        print(f"tlm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
