"""`mets rank`, `mets retrieve`, `mets embed`, `mets info`: the engine from the command line.

Records are named as files, WFDB record names (``ludb/data/1``), folders (searched recursively for
``RECORD_SUFFIXES``), glob patterns (``'data/**/*.xml'``) or list files (``@records.txt``, or a PhysioNet
``RECORDS`` file: one record per line, relative to the list's folder). Every name is checked before the
model loads: a name that matches nothing is one error line and the others go on.

Scoring a dataset: records are read by a pool of processes ahead of the encoder (started before the
model loads, so reading overlaps start-up), which embeds them in batches; ``--out FILE`` (``.csv``, ``.jsonl``, ``.parquet``) gets one row per record (errors included, as
rows with an ``error``), a progress bar shows ECGs/s and the time left, and ``--resume`` skips the
records an earlier, interrupted run already wrote. A record that cannot be read prints one error line on
stderr (``mets: RECORD: what was wrong``) and never stops the run; the exit code is then 1. A model, index
or output file that cannot be used is exit code 2. Scores are similarities, not diagnoses.

This module imports only the standard library at import time, so that ``mets --help`` and usage errors
are fast; torch and the readers load when a command runs.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import threading
import time
from pathlib import Path

EXIT_RECORD_ERROR = 1
EXIT_SETUP_ERROR = 2
# files taken from a folder: one per record (a WFDB record by its header; CSV and NumPy files are taken
# only when named or matched by a glob, since data folders hold CSV tables that are not ECGs)
RECORD_SUFFIXES = (".hea", ".xml", ".edf", ".bdf", ".scp", ".dcm", ".npz")
OUTPUT_SUFFIXES = (".csv", ".jsonl", ".parquet")
HELP = {
    "rank": "rank free-text prompts by similarity to each ECG record",
    "retrieve": "nearest reports of the index to each ECG record",
    "embed": "write the ECG embeddings of records (.npz or .parquet) for your own classifiers",
    "info": "the model, its text encoder and its training data",
}


def _error(what: str, err: BaseException | str) -> None:
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    for quoted in (repr(what), f"'{what}'"):     # the full path is named once, at the front
        msg = msg.replace(f": {quoted}", "").replace(f" {quoted}", " it")
    print(f"mets: {what}: {msg}", file=sys.stderr)


def _load_model(path: str | None, reader: "RecordReader | None" = None):
    """The model; with a reader, torch gets the cores its processes leave free. (Two threads fighting over
    cores that the readers use make a single small forward 10-40x slower on a busy 2-core machine.)"""
    import torch

    from .mets import METS
    if reader is not None:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - reader.workers))
    return METS.from_pretrained(path)


# --------------------------------------------------------------------------------------------------
# Arguments

def _add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="DIR", default=None,
                   help="checkpoint folder (default: the shipped weights/, or $METS_WEIGHTS)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_dataset_args(p: argparse.ArgumentParser, out_help: str) -> None:
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


def register(subparsers) -> None:
    p = subparsers.add_parser("rank", help=HELP["rank"],
                              description="Zero-shot: cosine similarity of each record to each prompt, and a "
                                          "softmax over the prompts. Similarities, not diagnoses.")
    p.add_argument("--prompt", "-p", dest="prompts", action="append", default=[], metavar="TEXT",
                   help="one phrase such as 'atrial fibrillation'; repeat the flag for each prompt")
    p.add_argument("--prompts-file", metavar="FILE", default=None,
                   help="prompts, one per line ('#' starts a comment)")
    p.add_argument("--kind", default="diagnostic", help="template ensemble: diagnostic, form or rhythm")
    _add_dataset_args(p, "write one row per record: .csv, .jsonl or .parquet (scores, percentiles, top "
                         "prompt, errors)")
    _add_model_arg(p)
    p.set_defaults(func=cmd_rank)

    p = subparsers.add_parser("retrieve", help=HELP["retrieve"])
    p.add_argument("-k", type=int, default=10, help="number of reports (default 10)")
    p.add_argument("--index", metavar="DIR", default=None, help="index folder (default: MODEL/index)")
    _add_dataset_args(p, "write the hits: .csv (one row per record and hit), .jsonl or .parquet")
    _add_model_arg(p)
    p.set_defaults(func=cmd_retrieve)

    p = subparsers.add_parser("embed", help=HELP["embed"],
                              description="L2-normalised ECG embeddings (the model's shared space), one row "
                                          "per readable record.")
    _add_dataset_args(p, "output file: .npz (arrays 'embeddings', 'records') or .parquet")
    _add_model_arg(p)
    p.set_defaults(func=cmd_embed)

    p = subparsers.add_parser("info", help=HELP["info"])
    _add_model_arg(p)
    p.set_defaults(func=cmd_info)


# --------------------------------------------------------------------------------------------------
# Records: names -> existing files, before any model is loaded

def _has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _segment_headers(folder_headers: list[Path]) -> set[Path]:
    """Headers that are segments (or layouts) of a multi-segment WFDB record in the same folder."""
    segments: set[Path] = set()
    for hea in folder_headers:
        try:
            with open(hea, "rb") as f:
                first = f.readline(4096).split()
                if not first or b"/" not in first[0]:
                    continue
                lines = f.read(1 << 20).decode("ascii", "ignore").splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts and not parts[0].startswith("#") and parts[0] != "~":
                segments.add(hea.with_name(parts[0] + ".hea"))
    return segments


def _records_in_folder(folder: Path) -> list[str]:
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in RECORD_SUFFIXES and p.is_file()
                   and not p.name.startswith("."))
    headers = [p for p in found if p.suffix.lower() == ".hea"]
    skip = _segment_headers(headers)
    return [str(p) for p in found if p not in skip]


def _read_list(spec: str) -> tuple[Path, list[str]]:
    path = Path(spec[1:] if spec.startswith("@") else spec)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    names = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return path.parent, names


def expand_records(specs: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """(records found, [(name, why not found)]) for the RECORD arguments, in order, without duplicates."""
    import glob
    found: list[str] = []
    missing: list[tuple[str, str]] = []

    def one(name: str, base: Path | None = None) -> None:
        path = Path(name)
        if base is not None and not path.is_absolute() and not path.exists() and (base / path).exists() \
                or base is not None and not path.is_absolute() and (base / (name + ".hea")).is_file():
            path = base / path
        if path.is_dir():
            inside = _records_in_folder(path)
            if not inside:
                missing.append((name, f"folder holds no ECG records ({', '.join(RECORD_SUFFIXES)})"))
            found.extend(inside)
        elif path.is_file() and path.name == "RECORDS" and base is None:
            list_dir, names = _read_list(str(path))
            for n in names:
                one(n, list_dir)
        elif path.is_file() or path.with_name(path.name + ".hea").is_file():
            found.append(str(path))
        elif _has_glob(name) and base is None:
            matches = sorted(glob.glob(name, recursive=True))
            if not matches:
                missing.append((name, "the pattern matches no file"))
            for m in matches:
                one(m, None) if Path(m).is_file() else None
        else:
            hint = ("; if this is a prompt, give each prompt its own --prompt flag"
                    if " " in name or (not path.suffix and os.sep not in name) else "")
            missing.append((name, f"no such file or folder{hint}"))

    for spec in specs:
        if spec.startswith("@") and len(spec) > 1:
            try:
                list_dir, names = _read_list(spec)
            except OSError as e:
                missing.append((spec, f"cannot read the list file ({e.strerror or e})"))
                continue
            if not names:
                missing.append((spec, "the list file names no records"))
            for n in names:
                one(n, list_dir)
        else:
            one(spec)
    return list(dict.fromkeys(found)), missing


def _prompts(args) -> list[str]:
    prompts = list(args.prompts or [])
    if args.prompts_file:
        try:
            text = Path(args.prompts_file).read_text(encoding="utf-8")
        except OSError as e:
            raise SystemExit(_usage(f"cannot read --prompts-file {args.prompts_file}: {e.strerror or e}"))
        prompts += [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    prompts = [p for p in prompts if p.strip()]
    if not prompts:
        raise SystemExit(_usage("rank needs prompts: --prompt 'atrial fibrillation' --prompt 'sinus rhythm' "
                                "(one flag per prompt) or --prompts-file FILE"))
    return list(dict.fromkeys(prompts))


def _usage(message: str) -> int:
    print(f"mets: {message}", file=sys.stderr)
    return EXIT_SETUP_ERROR


def _check_out(args) -> str | None:
    if args.out is None:
        return None
    suffix = Path(args.out).suffix.lower()
    allowed = (".npz", ".parquet") if args.command == "embed" else OUTPUT_SUFFIXES
    if suffix not in allowed:
        raise SystemExit(_usage(f"--out {args.out}: the file name must end in {', '.join(allowed)}"))
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise SystemExit(_usage("writing .parquet needs pyarrow (pip install pyarrow); or use .csv/.jsonl"))
    if not Path(args.out).resolve().parent.is_dir():
        raise SystemExit(_usage(f"--out {args.out}: the folder {Path(args.out).parent} does not exist"))
    return suffix


def _gather(args) -> tuple[list[str], int]:
    """Records to score, after the existence check; error lines for names that match nothing."""
    if args.batch_size < 1 or args.workers < 1:
        raise SystemExit(_usage("--batch-size and --workers must be at least 1"))
    records, missing = expand_records(args.records)
    for name, why in missing:
        _error(name, why)
    return records, (EXIT_RECORD_ERROR if missing else 0)


# --------------------------------------------------------------------------------------------------
# Reading ahead of the encoder, in batches

def _read_or_error(rec: str, preprocess_settings: dict | None):
    """read_ecg(rec) -> ECG, or (ECG, windows, masks) prepared for the model with `preprocess_settings`; or the
    exception (one bad record never stops a run) in a form that crosses processes."""
    from .readers import read_ecg
    try:
        ecg = read_ecg(rec)
        if preprocess_settings is None:
            return ecg
        from .preprocess import PreprocessConfig, to_model_input
        x, mask, _ = to_model_input(ecg, PreprocessConfig.from_dict(preprocess_settings))
        return ecg, x, mask
    except Exception as err:     # the CLI boundary
        try:
            pickle.dumps(err)
            return err
        except Exception:        # an exception type that cannot be pickled: its message is what we show
            return RuntimeError(str(err).strip() or type(err).__name__)


def _preprocess_settings(model_dir: str | None) -> dict | None:
    """The preprocessing the model will want, from its config.json (no torch needed), so that the reader
    processes prepare the windows too; None when it cannot be read (the model load will say why)."""
    from .checkpoint import default_weights_dir
    try:
        config = json.loads((Path(model_dir or default_weights_dir()) / "config.json").read_text(encoding="utf-8"))
        from .preprocess import PreprocessConfig
        return PreprocessConfig.from_dict(config.get("preprocess")).to_dict()
    except (OSError, ValueError, TypeError, AttributeError):
        return None


class RecordReader:
    """(record, ECG or the exception) in record order, read by a pool of processes up to ``depth`` ahead.

    Reading is Python and NumPy work that holds the GIL (wfdb parses headers through pandas), so threads
    would take turns with the encoder; processes read in parallel with it. The pool starts when the reader
    is made, which the commands do before loading the model, from a thread (starting the fork server waits
    for it to import the readers): the first records are read while torch imports. The processes come from
    a fork server that has imported the readers once (never torch, and never a fork of a process holding
    threads). With `preprocess_settings` they also resample, filter and
    window each ECG (an ECG comes back as (ECG, windows, masks)), so the encoding process never preprocesses
    and never imports scipy. A reader process that dies (a hostile file exhausting memory) fails its
    record; a new pool reads the rest."""

    def __init__(self, records: list[str], workers: int, preprocess_settings: dict | None = None,
                 depth: int = 256):
        from collections import deque
        self.settings = preprocess_settings
        self.started = time.perf_counter()
        self.workers, self.depth = max(1, min(workers, len(records))), depth
        self.pending = iter(records)
        self.queue: deque = deque()          # (record, future), in record order
        self.pool = None
        self._start_error: BaseException | None = None
        self._starting = threading.Thread(target=self._start, name="mets-read-start", daemon=True)
        if records:
            self._starting.start()

    def _start(self) -> None:
        try:
            self.pool = self._new_pool()
            self._fill()                     # the first submit starts the fork server and the workers
        except BaseException as err:         # raised where the records are consumed
            self._start_error = err

    def _ready(self) -> None:
        if self._starting.is_alive() or self._starting.ident is not None:
            self._starting.join()
        if self._start_error is not None:
            err, self._start_error = self._start_error, None
            raise err

    def _new_pool(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["mets_core.readers", "mets_core.preprocess", "scipy.signal"])
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)

    def _fill(self) -> None:
        while self.pool is not None and len(self.queue) < self.depth:
            rec = next(self.pending, None)
            if rec is None:
                return
            self.queue.append((rec, self.pool.submit(_read_or_error, rec, self.settings)))

    def __iter__(self):
        from collections import deque
        from concurrent.futures.process import BrokenProcessPool
        self._ready()
        while self.queue:
            rec, fut = self.queue.popleft()
            try:
                result = fut.result()
            except BrokenProcessPool:
                result = RuntimeError("the reader process died while reading it (out of memory?)")
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = self._new_pool()
                self.queue = deque((r, self.pool.submit(_read_or_error, r, self.settings)) for r, _ in self.queue)
            self._fill()
            yield rec, result

    def close(self) -> None:
        if self._starting.ident is not None:
            self._starting.join()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def __enter__(self) -> "RecordReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def batches(reader: RecordReader, batch_size: int):
    """Lists of (record, ECG or exception), each holding at most ``batch_size`` ECGs."""
    batch: list = []
    n_ecgs = 0
    for rec, result in reader:
        batch.append((rec, result))
        if not isinstance(result, BaseException):
            n_ecgs += 1
        if n_ecgs >= batch_size:
            yield batch
            batch, n_ecgs = [], 0
    if batch:
        yield batch


class Progress:
    """tqdm on stderr (ECGs/s and time left), when asked or on a terminal; a summary line at the end."""

    def __init__(self, total: int, enabled: bool | None, start: float | None = None):
        show = enabled if enabled is not None else (sys.stderr.isatty() and total > 1)
        # start: when reading began (before the model loaded), so the summary's ECGs/s counts that time too
        self.total, self.done, self.errors = total, 0, 0
        self.start = time.perf_counter() if start is None else start
        self.bar = None
        if show and total:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="ECG", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)

    def update(self, n: int, errors: int) -> None:
        self.done += n
        self.errors += errors
        if self.bar is not None:
            self.bar.update(n)
            if errors:
                self.bar.set_postfix(errors=self.errors, refresh=False)

    def close(self, out: str | None) -> None:
        if self.bar is not None:
            self.bar.close()
        if out is not None:
            seconds = time.perf_counter() - self.start
            rate = self.done / seconds if seconds > 0 else float("nan")
            print(f"mets: {self.done} records ({self.errors} errors) written to {out} in {seconds:.1f} s, "
                  f"{rate:.1f} ECGs/s", file=sys.stderr)


# --------------------------------------------------------------------------------------------------
# Output files: one row per record, appended as the run goes (so an interrupted run can resume)

class RowWriter:
    """CSV or JSONL rows appended and flushed per batch; Parquet rows collected and written at the end."""

    def __init__(self, path: str, columns: list[str], resume: bool):
        self.path, self.columns = Path(path), columns
        self.suffix = self.path.suffix.lower()
        self.kept: list[dict] = _existing_rows(self.path, self.suffix, columns) if resume else []
        self.parquet_rows = list(self.kept) if self.suffix == ".parquet" else None
        self.file = None
        if self.suffix == ".csv":
            import csv
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "w", newline="", encoding="utf-8") as f:     # complete rows only, then append
                w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
                w.writeheader()
                w.writerows(self.kept)
            os.replace(tmp, self.path)
            self.file = open(self.path, "a", newline="", encoding="utf-8")
            self.csv = csv.DictWriter(self.file, fieldnames=columns, extrasaction="ignore")
        elif self.suffix == ".jsonl":
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in self.kept)
            os.replace(tmp, self.path)
            self.file = open(self.path, "a", encoding="utf-8")

    @property
    def done(self) -> set[str]:
        return {str(r.get("record")) for r in self.kept}

    def write(self, rows: list[dict]) -> None:
        if self.parquet_rows is not None:
            self.parquet_rows.extend(rows)
            return
        for r in rows:
            if self.suffix == ".csv":
                self.csv.writerow({k: _cell(v) for k, v in r.items()})
            else:
                self.file.write(json.dumps(r, ensure_ascii=False) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.parquet_rows is not None:
            import pandas as pd
            frame = pd.DataFrame([{c: _cell(r.get(c)) for c in self.columns} for r in self.parquet_rows],
                                 columns=self.columns)
            tmp = self.path.with_name(self.path.name + ".tmp")
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, self.path)


def _cell(value):
    if isinstance(value, (list, tuple)):
        return "; ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _existing_rows(path: Path, suffix: str, columns: list[str]) -> list[dict]:
    """Complete rows of an earlier run (a partly written last line is dropped and redone)."""
    if not path.is_file():
        return []
    rows: list[dict] = []
    if suffix == ".csv":
        import csv
        with open(path, newline="", encoding="utf-8") as f:
            text = f.read()
        complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
        reader = csv.DictReader(complete.splitlines())
        if reader.fieldnames and list(reader.fieldnames) != columns:
            raise SystemExit(_usage(f"--resume: {path} has other columns (other prompts?); use a new --out file"))
        rows = [dict(r) for r in reader if None not in r]
    elif suffix == ".jsonl":
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    else:
        import pandas as pd
        rows = pd.read_parquet(path).to_dict("records")
    return [r for r in rows if r.get("record")]


# --------------------------------------------------------------------------------------------------
# rank

def _match_dict(m) -> dict:
    """A Match as a dict: the fields every version has, and percentile/known/expansion/... when present."""
    out = {"prompt": m.prompt, "similarity": m.similarity, "probability": m.probability}
    for name in ("percentile", "known", "validation_auc", "expansion", "statement"):
        value = getattr(m, name, None)
        if value is not None:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _rank_result(matches: list) -> dict:
    """Known prompts ranked; phrases the model does not know (known=False) listed apart."""
    ranked = [_match_dict(m) for m in matches if getattr(m, "known", True) is not False]
    unknown = [_match_dict(m) for m in matches if getattr(m, "known", True) is False]
    result = {"matches": ranked}
    if unknown:
        result["not_known"] = unknown
    return result


def _rank_columns(prompts: list[str]) -> list[str]:
    """The columns of `mets rank --out` (percentile columns stay empty with weights that have no reference)."""
    cols = ["record", "leads", "error", "top_prompt", "top_similarity", "top_probability", "top_percentile",
            "not_known"]
    for p in prompts:
        cols += [f"similarity[{p}]", f"probability[{p}]", f"percentile[{p}]"]
    return cols


def _start(args, columns: list[str] | None) -> tuple[list[str], int, RowWriter | None, RecordReader] | int:
    """Records found (less those --resume finds done), the output writer, and the reader already reading them:
    all before the model loads. An int: the exit code when there is nothing to do or --out cannot be used."""
    suffix = _check_out(args) if columns is not None else None
    records, status = _gather(args)
    if not records:
        return status or EXIT_RECORD_ERROR
    writer = None
    if suffix:
        try:
            writer = RowWriter(args.out, columns, args.resume)
        except (ValueError, OSError) as err:
            _error(args.out, err)
            return EXIT_SETUP_ERROR
        records = [r for r in records if r not in writer.done]
    return records, status, writer, RecordReader(records, args.workers, _preprocess_settings(args.model))


def _setup_failed(what: str, err: BaseException, writer: RowWriter | None, reader: RecordReader) -> int:
    reader.close()
    if writer is not None:
        writer.close()
    _error(what, err)
    return EXIT_SETUP_ERROR


def _rank_row(record: str, result: dict) -> dict:
    row = {"record": record, "leads": " ".join(result.get("leads", [])), "error": result.get("error", "")}
    if "error" in result:
        return row
    every = result["matches"] + result.get("not_known", [])
    for m in every:
        row[f"similarity[{m['prompt']}]"] = round(m["similarity"], 6)
        row[f"probability[{m['prompt']}]"] = round(m["probability"], 6)
        if m.get("percentile") is not None:
            row[f"percentile[{m['prompt']}]"] = round(m["percentile"], 2)
    if result["matches"]:
        top = result["matches"][0]
        row.update(top_prompt=top["prompt"], top_similarity=round(top["similarity"], 6),
                   top_probability=round(top["probability"], 6))
        if top.get("percentile") is not None:
            row["top_percentile"] = round(top["percentile"], 2)
    row["not_known"] = "; ".join(m["prompt"] for m in result.get("not_known", []))
    return row


def _print_rank(r: dict) -> None:
    print(f"{r['record']}  (leads: {' '.join(r['leads'])})")
    matches = r["matches"]
    if matches:
        width = max(len(m["prompt"]) for m in matches)
        has_pct = any(m.get("percentile") is not None for m in matches)
        if has_pct:
            # the headline: a prompt "stands out" when it scores at or above STANDS_OUT_PERCENTILE of the
            # reference ECGs; otherwise no prompt is crowned
            from .knowledge import STANDS_OUT_PERCENTILE
            out = [m["prompt"] for m in matches if (m.get("percentile") or 0) >= STANDS_OUT_PERCENTILE]
            print("  stands out: " + ", ".join(out) if out else
                  f"  no confident match: no prompt is above the {STANDS_OUT_PERCENTILE:g}th percentile of the "
                  f"reference ECGs")
        from .knowledge import reliability_label
        print(f"  {'prompt':<{width}}  " + ("percentile  " if has_pct else "") +
              "reliability            similarity  relative among these")
        for m in matches:
            pct = f"{m['percentile']:10.1f}  " if m.get("percentile") is not None else (" " * 12 if has_pct else "")
            line = (f"  {m['prompt']:<{width}}  {pct}{reliability_label(m.get('validation_auc')):<21}  "
                    f"{m['similarity']:+10.4f}  {m['probability']:19.4f}")
            expansion = m.get("expansion") or []
            if expansion and [e.lower() for e in expansion] != [m["prompt"].lower()]:
                more = f" +{len(expansion) - 3} more" if len(expansion) > 3 else ""
                line += f"  (scored as: {'; '.join(expansion[:3])}{more})"
            print(line.rstrip())
    if r.get("not_known"):
        print("  not known to the model (not ranked): " + ", ".join(m["prompt"] for m in r["not_known"]))


def _score(score, good: list) -> list[dict]:
    """score(ECGs, their prepared (windows, masks) or None) on what the reader returned for each record."""
    ecgs = [r[0] if isinstance(r, tuple) else r for _, r in good]
    prepared = [(r[1], r[2]) for _, r in good] if all(isinstance(r, tuple) for _, r in good) else None
    return score(ecgs, prepared)


def _run(args, reader: RecordReader, n_records: int, score, writer: RowWriter | None, to_row, keep: bool
         ) -> tuple[list[dict], int]:
    """Read ahead, score in batches (``score(list of (record, ECG)) -> list of result dicts``), write rows."""
    results: list[dict] = []
    status = 0
    progress = Progress(n_records, args.progress, reader.started)
    try:
        for batch in batches(reader, args.batch_size):
            good = [(rec, ecg) for rec, ecg in batch if not isinstance(ecg, BaseException)]
            try:
                scored = dict(zip([rec for rec, _ in good], _score(score, good))) if good else {}
            except Exception:       # e.g. an ECG the encoder cannot take: score one by one
                scored = {}
                for rec, ecg in good:
                    try:
                        scored[rec] = _score(score, [(rec, ecg)])[0]
                    except Exception as one_err:
                        scored[rec] = one_err
            out_batch, errors = [], 0
            for rec, ecg in batch:
                res = ecg if isinstance(ecg, BaseException) else scored[rec]
                if isinstance(res, BaseException):
                    if progress.bar is not None:
                        progress.bar.clear()
                    _error(rec, res)
                    msg = str(res).strip().splitlines()[0] if str(res).strip() else type(res).__name__
                    res = {"error": msg}
                    errors += 1
                    status = EXIT_RECORD_ERROR
                out_batch.append({"record": rec, **res})
            if writer is not None:
                writer.write([to_row(r["record"], r) for r in out_batch])
            if keep:
                results.extend(out_batch)
            progress.update(len(batch), errors)
    finally:
        if writer is not None:
            writer.close()
        progress.close(args.out)
    return results, status


def cmd_rank(args) -> int:
    prompts = _prompts(args)
    started = _start(args, _rank_columns(prompts))
    if isinstance(started, int):
        return started
    records, status, writer, reader = started
    try:
        model = _load_model(args.model, reader)
        model.embed_prompts(prompts, args.kind)       # fail early on a bad prompt or text model
    except (ValueError, OSError, RuntimeError) as err:
        return _setup_failed("rank", err, writer, reader)

    def score(ecgs, prepared):
        model.embed_ecg(ecgs, batch_size=max(args.batch_size, 1), model_input=prepared)   # one batched pass
        return [{"leads": ecg.leads, **_rank_result(model.rank(ecg, prompts, args.kind))} for ecg in ecgs]

    with reader:
        results, run_status = _run(args, reader, len(records), score, writer, _rank_row, keep=writer is None)
    status = status or run_status
    if writer is not None:
        return status
    if args.json:
        print(json.dumps(results, indent=2))
        return status
    for r in results:
        if "error" not in r:
            _print_rank(r)
    return status


# --------------------------------------------------------------------------------------------------
# retrieve

def _retrieve_row(record: str, result: dict) -> dict:
    return {"record": record, "error": result.get("error", ""),
            "reports": json.dumps(result.get("reports", []), ensure_ascii=False)}


def cmd_retrieve(args) -> int:
    started = _start(args, ["record", "error", "reports"])
    if isinstance(started, int):
        return started
    records, status, writer, reader = started
    suffix = Path(args.out).suffix.lower() if args.out else None
    try:
        from .index import ReportIndex
        model = _load_model(args.model, reader)
        folder = Path(args.index) if args.index else (Path(model.source) / "index" if model.source else None)
        if folder is None:
            raise ValueError("no index folder: pass --index DIR")
        index = ReportIndex.load(folder, model=model)
    except (ValueError, OSError, RuntimeError) as err:
        return _setup_failed("retrieve", err, writer, reader)

    def score(ecgs, prepared):
        emb = model.embed_ecg(ecgs, batch_size=max(args.batch_size, 1), model_input=prepared)
        return [{"reports": [{"report": h.report, "similarity": h.similarity, "source_id": h.source_id,
                             "n_ecgs": getattr(h, "n_ecgs", 1), "sources": list(getattr(h, "sources", ()))}
                             for h in index.search_embedding(e, k=args.k)]} for e in emb]

    to_row = _retrieve_row if suffix != ".jsonl" else (lambda rec, r: r)
    with reader:
        results, run_status = _run(args, reader, len(records), score, writer, to_row, keep=writer is None)
    status = status or run_status
    if writer is not None:
        return status
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return status
    for r in results:
        if "error" in r:
            continue
        print(r["record"])
        for h in r["reports"]:
            many = f" and {h['n_ecgs'] - 1} more ECGs ({', '.join(h['sources'])})" if h.get("n_ecgs", 1) > 1 else ""
            print(f"  {h['similarity']:+.4f}  [{h['source_id']}{many}]  {h['report']}")
    return status


# --------------------------------------------------------------------------------------------------
# embed

def cmd_embed(args) -> int:
    if args.out is None:
        raise SystemExit(_usage("embed needs --out FILE (.npz or .parquet)"))
    _check_out(args)
    started = _start(args, None)
    if isinstance(started, int):
        return started
    records, status, _, reader = started
    try:
        model = _load_model(args.model, reader)
    except (ValueError, OSError, RuntimeError) as err:
        return _setup_failed("embed", err, None, reader)
    import numpy as np

    names, vectors = [], []

    def score(ecgs, prepared):
        emb = model.embed_ecg(ecgs, batch_size=max(args.batch_size, 1), model_input=prepared)
        return [{"embedding": e} for e in emb]

    with reader:
        results, run_status = _run(args, reader, len(records), score, None, None, keep=True)
    errors = [(r["record"], r["error"]) for r in results if "error" in r]
    for r in results:
        if "embedding" in r:
            names.append(r["record"])
            vectors.append(r["embedding"])
    dim = model.model.cfg.proj_dim
    matrix = np.stack(vectors).astype(np.float32) if vectors else np.empty((0, dim), np.float32)
    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp" + out.suffix)
    if out.suffix.lower() == ".npz":
        np.savez(tmp, embeddings=matrix, records=np.array(names, dtype=str),
                 failed_records=np.array([e[0] for e in errors], dtype=str))
    else:
        import pandas as pd
        frame = pd.DataFrame({"record": names, "embedding": [v.tolist() for v in matrix]})
        frame.to_parquet(tmp, index=False)
    os.replace(tmp, out)
    print(f"mets: {len(names)} embeddings ({matrix.shape[1]}-d) written to {out}; {len(errors)} records failed",
          file=sys.stderr)
    return status or run_status


# --------------------------------------------------------------------------------------------------
# info

def cmd_info(args) -> int:
    try:
        model = _load_model(args.model)
    except (ValueError, OSError, RuntimeError) as err:
        _error("info", err)
        return EXIT_SETUP_ERROR
    info = model.info()
    index_dir = Path(model.source) / "index" if model.source else None
    info["index"] = None
    if index_dir is not None and (index_dir / "index.json").is_file():
        meta = json.loads((index_dir / "index.json").read_text(encoding="utf-8"))
        info["index"] = {"path": str(index_dir), "reports": meta.get("count")}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"model         {info['source']}")
    print(f"weights       sha256 {str(info['weights_sha256'])[:16]}...  {info['parameters']:,} parameters")
    m = info["model"]
    print(f"ECG encoder   {m.get('encoder', 'resnet1d18')} ({'-'.join(map(str, m['layers']))} blocks, width "
          f"{m['width']}), {m['in_leads']} leads")
    pp = info["preprocess"]
    print(f"input         {pp['window_s']:g} s windows at {pp['fs']:g} Hz (stride {pp['stride_s']:g} s), "
          f"band-pass {pp['highpass_hz']:g}-{pp['lowpass_hz']:g} Hz, normalise {pp['normalise']}")
    print(f"text encoder  {info['text_model']} (frozen) -> {info['embedding_dim']}-d shared space, "
          f"temperature {info['temperature']:.4f}")
    training = info["training"] or {}
    print("training      " + (", ".join(f"{k}={v}" for k, v in training.items() if not isinstance(v, (dict, list)))
                              or "no training summary in this checkpoint"))
    print("index         " + (f"{info['index']['reports']} reports at {info['index']['path']}"
                              if info["index"] else "none"))
    cal = info.get("calibration")
    if not cal:
        print("calibration   none: no percentiles, known-phrase check or validation AUCs with these weights")
        return 0
    for source, counts in (cal.get("training_data") or {}).items():
        print(f"data          {source:14s} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    sup = cal.get("superclass_auc") or {}
    if sup:
        print(f"validation    superclass macro AUC {cal['superclass_macro_auc']:.3f} ("
              + ", ".join(f"{k} {v:.3f}" for k, v in sup.items()) + ")")
    if cal.get("statement_macro_auc") is not None:
        print(f"validation    {cal['statements_validated']} statements with >= 10 positive validation ECGs: "
              f"macro AUC {cal['statement_macro_auc']:.3f}; weak (AUC < 0.7): {', '.join(cal['weak']) or 'none'}")
    ref = cal.get("reference") or {}
    print(f"reference     {ref.get('n_windows')} validation windows ({ref.get('twelve_lead')} 12-lead) for "
          f"percentiles; known-phrase threshold {cal.get('known_threshold'):.3f} (from the weights' knowledge.json)")
    return 0
