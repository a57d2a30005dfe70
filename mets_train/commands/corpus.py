"""`mets corpus build`: the pretraining corpus from the open databases in a data folder."""
from __future__ import annotations

import argparse
import sys
import time


def _positive_int_or_none(text: str) -> int | None:
    if text.strip().lower() in ("0", "none", "all"):
        return None
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a positive number (or 0/none for no cap), got {text!r}")
    return n


def register(subparsers) -> None:
    from ..corpus.build import BuildOptions
    from ..corpus.sources import SOURCES

    default = BuildOptions()          # the build's own defaults (its rate and window: the model's input)

    corpus = subparsers.add_parser("corpus", help="pretraining corpus from the open ECG databases")
    sub = corpus.add_subparsers(dest="corpus_command", metavar="COMMAND")
    corpus.set_defaults(func=lambda args: choose_one("mets corpus", sub))
    b = sub.add_parser("build", help="cut every record into windows with machine-style reports",
                       description="Build the pretraining corpus (signals.npy, lead_mask.npy, windows.csv, "
                                   "corpus.json, CORPUS_CARD.md) from the databases found in --data-dir. "
                                   f"Databases looked for (sub-folders): {', '.join(SOURCES)}; absent ones "
                                   "are skipped.")
    b.add_argument("--data-dir", required=True, help="folder holding ludb/, mitdb/, ptbdb/, ... sub-folders")
    b.add_argument("--out", required=True, help="output folder (new or empty, or an old corpus with --overwrite)")
    b.add_argument("--fs", type=float, default=default.fs, help=f"corpus sampling rate, Hz (default {default.fs:g})")
    b.add_argument("--window-s", type=float, default=default.window_s,
                   help=f"window length, s (default {default.window_s:g})")
    b.add_argument("--seed", type=int, default=default.seed,
                   help=f"seed for phrasing, window choice and split (default {default.seed})")
    b.add_argument("--val-fraction", type=float, default=default.val_fraction,
                   help=f"share of patients in validation (default {default.val_fraction:g})")
    b.add_argument("--max-windows-per-record", type=_positive_int_or_none, default=default.max_windows_per_record,
                   help=f"cap per record, spread over the whole record (default {default.max_windows_per_record}; "
                        f"0 = no cap)")
    b.add_argument("--sources", default=None,
                   help=f"comma-separated subset of: {','.join(SOURCES)} (default: all present)")
    b.add_argument("--max-records", type=int, default=None, help="at most N records per source (for quick builds)")
    b.add_argument("--records", default=None,
                   help="only these records, as source:record,... (e.g. mitdb:119,ludb:24); implies --sources")
    b.add_argument("--overwrite", action="store_true", help="replace an existing corpus in --out")
    b.add_argument("--quiet", action="store_true", help="no progress output")
    b.set_defaults(func=run_build)


def _parse_records(text: str | None) -> dict[str, set[str]] | None:
    if not text:
        return None
    out: dict[str, set[str]] = {}
    for item in text.split(","):
        source, sep, record = item.strip().partition(":")
        if not sep or not record:
            raise ValueError(f"--records entries look like source:record (e.g. mitdb:119), got {item!r}")
        out.setdefault(source, set()).add(record)
    return out


def choose_one(command: str, sub) -> int:
    """A command of sub-commands named alone: say which there are (argparse would say "required:
    corpus_command")."""
    print(f"{command}: choose one of: {', '.join(sub.choices)} (`{command} --help` says what each does)",
          file=sys.stderr)
    return 2


def _no_database_here(data_dir: str, sources: list[str] | None) -> str | None:
    """Why --data-dir holds none of the databases looked for (with where they are when it names one of them,
    `--data-dir DATA/ludb`), or None when it holds one."""
    from pathlib import Path

    from ..corpus.sources import SOURCES, find_source_folder
    wanted = sources or list(SOURCES)
    folder = Path(data_dir)
    if not folder.is_dir():
        return f"--data-dir {data_dir}: no such folder; give the folder holding ludb/, mitdb/, ... sub-folders"
    if not any(s in SOURCES for s in wanted):      # unknown names only: the corpus builder names them
        return None
    if any(find_source_folder(folder, s) for s in wanted if s in SOURCES):
        return None
    hint = "give the folder that holds ludb/, mitdb/, ptbdb/, ... (`mets download` fetches them)"
    if any(find_source_folder(folder.parent, s) for s in wanted if s in SOURCES):
        hint = f"point --data-dir at the folder holding ludb/, mitdb/, ...: --data-dir {folder.parent}"
    return f"--data-dir {data_dir} holds none of the databases looked for ({', '.join(wanted)}); {hint}"


def run_build(args) -> int:
    from ..corpus.build import BuildOptions, CorpusBuildError, build_corpus

    try:
        records = _parse_records(args.records)
        sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
        if records and sources is None:
            sources = sorted(records)
        missing = _no_database_here(args.data_dir, sources)
        if missing:
            raise CorpusBuildError(missing)
        opts = BuildOptions(fs=args.fs, window_s=args.window_s, seed=args.seed, val_fraction=args.val_fraction,
                            max_windows_per_record=args.max_windows_per_record, sources=sources,
                            max_records=args.max_records, records=records)
        t0 = time.perf_counter()
        meta = build_corpus(args.data_dir, args.out, opts, overwrite=args.overwrite, verbose=not args.quiet)
    except (CorpusBuildError, ValueError) as exc:
        print(f"mets corpus build: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        c = meta["counts"]
        print(f"built in {time.perf_counter() - t0:.1f} s: {meta['n_windows']} windows, {meta['n_patients']} "
              f"patients, train/val windows {c['windows_by_split'].get('train', 0)}/"
              f"{c['windows_by_split'].get('val', 0)}; see {args.out}/CORPUS_CARD.md")
    return 0
