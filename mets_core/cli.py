"""`mets` command line. Each command module exposes `register(subparsers)`; this file only dispatches."""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

# Modules that add sub-commands. Each defines register(subparsers) and sets a `func(args) -> int` default.
COMMAND_MODULES = [
    "mets_core.commands",          # rank, retrieve, info
    "mets_core.training.commands",  # train, evaluate
    "mets_core.download",          # download (PhysioNet databases)
    "mets_core.ptbxl.commands",    # ptbxl translate-report/text-check; train --recipe, evaluate --protocol
    "mets_core.corpus.commands",    # corpus build
    "mets_core.training.export",   # export (run -> shippable weights folder + report index)
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mets", description="METS zero-shot ECG reading")
    sub = parser.add_subparsers(dest="command", required=True)
    for mod in COMMAND_MODULES:
        import_module(mod).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
