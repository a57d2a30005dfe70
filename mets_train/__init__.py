"""METS trainer: corpus building, training, PTB-XL recipe and evaluation protocols, export.

The engine (`mets_core`) never imports this package; this package imports the engine (the model, the
checkpoint format, preprocessing, prompts). Its `mets` sub-commands (train, evaluate, corpus, ptbxl, export)
reach the engine's command line through the `mets.commands` entry point group (pyproject.toml), listed in
`mets_train.commands.COMMANDS`.

Importing `mets_train` is cheap (no torch): the command table must load fast for `mets --help`.
"""
from __future__ import annotations

from pathlib import Path

# Training configs and recipes ship inside the package (package data): mets_train/configs/*.json
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
