"""The options the commands share: --model/--json, and RECORD... with --out, --resume, --batch-size, --workers,
--progress for the commands that score a dataset."""
from __future__ import annotations

import argparse
import os


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="DIR", default=None,
                   help="checkpoint folder (default: the shipped weights/, or $METS_WEIGHTS)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_dataset_options(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("records", nargs="+", metavar="RECORD",
                   help="ECG file, WFDB record name, folder, glob ('data/**/*.hea') or @LIST file")
    p.add_argument("--out", "-o", metavar="FILE", default=None, help=out_help)
    p.add_argument("--resume", action="store_true",
                   help="keep the rows already in --out and score only the records missing there")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="ECGs per encoder batch (64)")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), metavar="N",
                   help="processes reading records ahead of the encoder (default: up to 4)")
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show a progress bar (default: on a terminal, for more than one record)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
