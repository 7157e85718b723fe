"""The `tlm` command: one subcommand per module in `tlm/commands/`.

Each command module exposes `HELP` (its one-line summary) and `add_parser(subparsers)`, which
registers its parser and sets `func(args) -> int` as the default. Only the parser of the command
being run is built: a command whose options come from a settings dataclass imports TensorFlow to
build them, and `tlm --help` needs none of that, so it answers at once.
"""

import argparse
import importlib
import os
import sys

import tlm

# Command modules, in the order `tlm --help` lists them. A module that does not exist yet is
# skipped, so the command grows with the package.
COMMANDS = ("data", "train", "evaluate", "generate", "compare")


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
    # TensorFlow's C++ info lines would bury the output; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        # Bad input: one clear line, no traceback.
        print(f"tlm {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
