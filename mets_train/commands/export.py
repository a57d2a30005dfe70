"""`mets export`: the export command of training/export.py, with what it checks before the (slow) export
starts: --card must be a readable file, and an existing --out folder is replaced only with --overwrite (as
`mets corpus build` asks), since the export replaces the whole folder."""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    from ..training.export import register as register_export
    register_export(subparsers)
    p = subparsers.choices["export"]
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out folder (its MODEL_CARD.md is kept unless --card gives one)")
    p.set_defaults(func=checked_export_command)


def checked_export_command(args) -> int:
    from mets_core.commands.errors import usage

    from ..training.export import export_command
    problem = _card_problem(args.card) or _out_problem(args.out, args.overwrite)
    if problem:
        return usage(f"export: {problem}")
    return export_command(args)


def _card_problem(card: str | None) -> str | None:
    if card is None:
        return None
    path = Path(card)
    if not path.is_file():
        return (f"--card {card}: no such file; give the model card (a MODEL_CARD.md) to ship in the folder, or "
                f"leave --card out to keep the card the --out folder already has")
    try:
        path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return f"--card {card}: cannot be read as text ({getattr(err, 'strerror', None) or err}); give a UTF-8 Markdown file"
    return None


def _out_problem(out: str, overwrite: bool) -> str | None:
    path = Path(out)
    if path.exists() and not path.is_dir():
        return f"--out {out} is a file; give a folder for the model (new, or an old model folder with --overwrite)"
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        return (f"--out {out} already holds files; pass --overwrite to replace the model there (its MODEL_CARD.md "
                f"is kept unless --card gives one), or choose a new folder")
    return None
