"""The options the commands share: --model/--json, and RECORD... with --out, --resume, --batch-size, --workers,
--progress, and how to read each record (--lead-names, --fs, --start, --end) for the commands that score a
dataset."""
from __future__ import annotations

import argparse
import math
import os


MODEL_HELP = "checkpoint folder (default: the shipped weights/, or $METS_WEIGHTS)"


def add_model_options(p: argparse.ArgumentParser, json_help: str = "print JSON instead of a table") -> None:
    p.add_argument("--model", metavar="DIR", default=None, help=MODEL_HELP)
    p.add_argument("--json", action="store_true", help=json_help)


def add_dataset_options(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("records", nargs="+", metavar="RECORD",
                   help="ECG file, WFDB record name, folder, glob ('data/**/*.hea') or @LIST file. Answers come in "
                        "this order (a folder's records sorted by name), after one error row for each name that "
                        "matches no file: the same order in --json and in --out")
    p.add_argument("--out", "-o", metavar="FILE", default=None, help=out_help)
    p.add_argument("--resume", action="store_true",
                   help="keep the rows already in --out and score only the records missing there or written "
                        "as errors (the same model only)")
    p.add_argument("--batch-size", type=at_least_one("--batch-size"), default=64, metavar="N",
                   help="ECGs per encoder batch (64)")
    p.add_argument("--workers", type=at_least_one("--workers"), default=min(4, os.cpu_count() or 1), metavar="N",
                   help="processes reading records ahead of the encoder (default: up to 4)")
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show a progress bar (default: on a terminal, for more than one record)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    add_reading_options(p)


def add_reading_options(p: argparse.ArgumentParser) -> None:
    """How to read each record: what `read_ecg` takes as lead_names, fs, start_s and end_s."""
    g = p.add_argument_group("reading the records")
    g.add_argument("--lead-names", type=lead_name_list, metavar="I,II,...", default=None,
                   help="names of the recorded channels, in order, for files whose channels have no standard "
                        "lead names (a Holter's ECG1,ECG2: e.g. --lead-names II,V5; a .npy)")
    g.add_argument("--fs", type=nonnegative_number("--fs", allow_zero=False), metavar="HZ", default=None,
                   help="sampling rate in Hz, for files that do not carry one (.npy, CSV without a time column)")
    g.add_argument("--start", type=nonnegative_number("--start"), metavar="S", default=None,
                   help="read from S seconds into each record (default: its start)")
    g.add_argument("--end", type=nonnegative_number("--end", allow_zero=False), metavar="S", default=None,
                   help="read up to S seconds into each record (default: its end). Without --start/--end a "
                        "long record is the average of all its windows")


def lead_name_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not text.strip() or any(not n for n in names):
        raise argparse.ArgumentTypeError(f"{text!r}: give the channel names separated by commas, e.g. II,V5")
    return names


def nonnegative_number(option: str, allow_zero: bool = True):
    """An argparse type: a finite number, at least 0 (`allow_zero`) or above 0."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{option} {text}: give a number {'>= 0' if allow_zero else '> 0'}")
        return value
    return parse


def at_least_one(option: str):
    """An argparse type: a whole number >= 1 (the one check of -k, --batch-size and --workers)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"{option} {text}: give a whole number of at least 1")
        return value
    return parse


def read_options(args) -> dict:
    """The keyword arguments of `read_ecg` the reading options ask for (none given: {})."""
    chosen = {"lead_names": getattr(args, "lead_names", None), "fs": getattr(args, "fs", None),
              "start_s": getattr(args, "start", None), "end_s": getattr(args, "end", None)}
    return {k: v for k, v in chosen.items() if v is not None}
