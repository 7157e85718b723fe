"""`python -m tlm` runs the `tlm` command."""

from tlm.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
