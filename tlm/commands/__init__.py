"""Command-line subcommands of `tlm`; see `tlm.cli`."""
