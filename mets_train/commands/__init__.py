"""The trainer's `mets` sub-commands, as a plug-in of the engine's command line.

pyproject.toml registers this table in the entry point group `mets.commands`; `mets_core.cli` reads it
without importing anything heavy (so `mets --help` stays fast) and imports a command's modules only when
that command runs. Each module defines `register(subparsers)` and sets a `func(args) -> int` default.
"""
from __future__ import annotations

# command -> (one-line help shown by `mets --help`, modules that register it)
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "train": ("contrastive pretraining on a corpus (DDP under torchrun)", ("mets_train.commands.train",)),
    "evaluate": ("zero-shot evaluation on a corpus's validation patients", ("mets_train.commands.train",)),
    "ptbxl": ("PTB-XL tools: report translation, text-side check", ("mets_train.commands.ptbxl",)),
    "corpus": ("pretraining corpus from the open ECG databases", ("mets_train.commands.corpus",)),
    "export": ("export a training run as a model folder with its report index", ("mets_train.commands.export",)),
}
