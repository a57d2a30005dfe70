"""`mets` command line. Each command module exposes `register(subparsers)`; this file only dispatches.

Fast start: `mets --help`, `mets` alone and an unknown command are answered from the table below without
importing any command module (several import torch); a command imports only the modules that register it.
"""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

# Modules that add sub-commands, in registration order. Each defines register(subparsers) and sets a
# `func(args) -> int` default. mets_core.ptbxl.commands extends train/evaluate, so it follows training.
COMMAND_MODULES = [
    "mets_core.commands",          # rank, retrieve, embed, info
    "mets_core.training.commands",  # train, evaluate
    "mets_core.download",          # download (PhysioNet databases)
    "mets_core.ptbxl.commands",    # ptbxl translate-report/text-check; train --recipe, evaluate --protocol
    "mets_core.corpus.commands",    # corpus build
    "mets_core.training.export",   # export (run -> shippable weights folder + report index)
]

# command -> (one-line help shown by `mets --help`, modules to import for it). tests/test_cli_fast.py checks
# that this table lists exactly the commands the modules register, with the same help.
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rank": ("rank free-text prompts by similarity to each ECG record", ("mets_core.commands",)),
    "retrieve": ("nearest reports of the index to each ECG record", ("mets_core.commands",)),
    "embed": ("write the ECG embeddings of records (.npz or .parquet) for your own classifiers",
              ("mets_core.commands",)),
    "info": ("the model, its text encoder and its training data", ("mets_core.commands",)),
    "train": ("contrastive pretraining on a corpus (DDP under torchrun)",
              ("mets_core.training.commands", "mets_core.ptbxl.commands")),
    "evaluate": ("zero-shot evaluation on a corpus's validation patients",
                 ("mets_core.training.commands", "mets_core.ptbxl.commands")),
    "download": ("download PhysioNet databases (resumable, SHA256-verified)", ("mets_core.download",)),
    "ptbxl": ("PTB-XL tools: report translation, text-side check",
              ("mets_core.training.commands", "mets_core.ptbxl.commands")),
    "corpus": ("pretraining corpus from the open ECG databases", ("mets_core.corpus.commands",)),
    "export": ("export a training run as a model folder with its report index", ("mets_core.training.export",)),
}

DESCRIPTION = "METS zero-shot ECG reading (similarities between ECGs and text, not diagnoses)"


def build_parser(modules: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser (every command module), or one with only ``modules`` registered."""
    parser = argparse.ArgumentParser(prog="mets", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in (COMMAND_MODULES if modules is None else [m for m in COMMAND_MODULES if m in modules]):
        import_module(mod).register(sub)
    return parser


def _overview_parser() -> argparse.ArgumentParser:
    """Commands and their help from the table, without importing them."""
    parser = argparse.ArgumentParser(prog="mets", description=DESCRIPTION,
                                     epilog="`mets COMMAND --help` for a command's options")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, _) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in COMMANDS:
        _overview_parser().parse_args(argv)     # prints help, or the usage error; exits
        return 2                                # pragma: no cover - parse_args exits above
    args = build_parser(list(COMMANDS[command][1])).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
