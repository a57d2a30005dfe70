"""Scoring a dataset, the part `mets rank`, `retrieve` and `embed` share.

`DatasetRun.start` finds the records, opens --out (keeping what --resume finds done) and starts the reader
processes, all before the model loads, so reading overlaps start-up. `DatasetRun.score` then embeds the
records in batches, writes one row per record as it goes, shows a progress bar (ECGs/s, time left) and
prints one error line for a record that cannot be found, read or scored (the run goes on; exit code 1; the
record is a row with its ``error``). `DatasetRun.answer` prints the results of a run without --out, as a table
or as JSON. Every result says the span of the record it scored (``span``: the whole record and how many
windows were averaged, or the --start/--end stretch) and every row the model that scored it (``model``).
"""
from __future__ import annotations

import json
import sys
import time
from typing import Callable

from .errors import (EXIT_INTERRUPTED, EXIT_RECORD_ERROR, EXIT_SETUP_ERROR, SETUP_ERRORS, error, message,
                     usage)
from .model_loading import model_identity, preprocess_settings
from .options import read_options
from .output import RowWriter, check_out
from .read_ahead import RecordReader, batches
from .records import expand_records, record_identity, row_name

# score(ECGs, their prepared (windows, masks) or None) -> one result dict per ECG
Score = Callable[[list, "list | None"], list]
# the columns every --out file ends with, after the command's own
SHARED_COLUMNS = ["span", "model"]
NOT_FOUND = "not found: "      # the error of a record name that matches no file


def plural(n: int, noun: str) -> str:
    """'1 record', '2 records', '0 errors'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def describe_span(ecg, n_windows: int | None, settings: dict | None, stretch: bool) -> str:
    """What of the record was scored: "whole record, 1805 s, averaged over 360 windows" or, for a --start/--end
    stretch, "600-610 s". `settings`: the model's preprocessing (window and stride lengths, the most windows)."""
    seconds = ecg.duration
    averaged = ""
    if n_windows is not None and n_windows > 1:
        averaged = f", averaged over {n_windows} windows"
        if settings and n_windows >= settings.get("max_windows", n_windows + 1) and \
                seconds > settings["window_s"] + settings["stride_s"] * (n_windows - 1):
            averaged += " spread evenly over it (the most the model takes)"
    if stretch:
        start = float(ecg.metadata.get("cropped_from_s") or 0.0)
        return f"{start:.10g}-{round(start + seconds, 3):.10g} s{averaged}"
    return f"whole record, {round(seconds, 1):g} s{averaged}"


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
            print(f"mets: {plural(self.done, 'record')} ({plural(self.errors, 'error')}) written to {out} in "
                  f"{seconds:.1f} s, "
                  f"{rate:.1f} ECGs/s", file=sys.stderr)


def _score(score: Score, good: list) -> list[dict]:
    """score(ECGs, their prepared (windows, masks) or None) on what the reader returned for each record."""
    ecgs = [r[0] if isinstance(r, tuple) else r for _, r in good]
    prepared = [(r[1], r[2]) for _, r in good] if all(isinstance(r, tuple) for _, r in good) else None
    return score(ecgs, prepared)


class DatasetRun:
    """The records of one command, its --out writer (or None) and the reader already reading them."""

    def __init__(self, args, records: list[str], status: int, writer: RowWriter | None, reader: RecordReader,
                 not_found: list[dict] | None = None, model: str | None = None):
        self.args, self.records, self.writer, self.reader = args, records, writer, reader
        self.status = status          # EXIT_RECORD_ERROR once a record could not be found, read or scored
        self.not_found = not_found or []      # the error rows of names that match no file
        self.model = model                    # model_identity of --model: what each row names as its model

    @classmethod
    def start(cls, args, columns: list[str] | None, numbers: tuple[str, ...] = ()) -> "DatasetRun | int":
        """Records found (less those --resume finds done), the --out writer (`columns`: its columns, `numbers`
        those of them that hold numbers, the others text; None: the command writes its file itself) and the
        reader already reading them: all before the model loads. An int: the exit code when there is nothing to
        do or --out cannot be used."""
        suffix = check_out(args.out) if columns is not None else None
        if columns is not None and args.out is not None and args.json:    # rank, retrieve: --json would print nothing
            raise SystemExit(usage(f"--json prints the results on stdout, and with --out they go to {args.out}: drop "
                                   f"one (an --out file ending in .jsonl holds them as JSON, one record a line)"))
        if args.resume and args.out is None:          # else every record is scored again, and printed
            raise SystemExit(usage("--resume goes on with the --out file of an earlier run: add --out FILE, the "
                                   "same file"))
        if args.start is not None and args.end is not None and args.end <= args.start:
            raise SystemExit(usage(f"--end {args.end:g} must be after --start {args.start:g} (seconds into each "
                                   f"record)"))
        records, missing = expand_records(args.records)
        if args.out is not None and record_identity(args.out) in {record_identity(r) for r in records}:
            # `mets embed ecg.npz --out ecg.npz`, `mets rank DATA/ --out DATA/some_ecg.npz`: the ECG was replaced
            raise SystemExit(usage(f"--out {args.out} is one of the ECG records to read, and writing the results "
                                   f"would replace it: give --out another file name"))
        for name, why in missing:
            error(name, why)
        not_found = [{"record": name, "error": NOT_FOUND + why} for name, why in missing]
        model = model_identity(args.model)
        writer = None
        if suffix:
            try:
                writer = RowWriter(args.out, columns + [c for c in SHARED_COLUMNS if c not in columns], args.resume,
                                   model, numbers)
            except (ValueError, OSError) as err:
                error(args.out, err)
                return EXIT_SETUP_ERROR
            if writer.retried:
                print(f"mets: --resume: {plural(writer.retried, 'record')} written as errors before, tried again",
                      file=sys.stderr)
            done = {record_identity(r) for r in writer.done}     # however the earlier run named them
            records = [r for r in records if record_identity(r) not in done]
            not_found = [r for r in not_found if record_identity(r["record"]) not in done]
            if not records and not not_found:      # every record is there: the model is not loaded for nothing
                writer.abandon()
                print(f"mets: --resume: every record named is already in {args.out}; nothing left to score",
                      file=sys.stderr)
                return EXIT_RECORD_ERROR if missing else 0
        status = EXIT_RECORD_ERROR if missing else 0
        reader = RecordReader(records, args.workers, preprocess_settings(args.model), read_options=read_options(args))
        run = cls(args, records, status, writer, reader, not_found, model)
        if not records and missing:
            # nothing to read: the rows of the names that match nothing, without loading the model
            return run.answer(run.score(None), lambda r: None) if columns is not None else status
        return run

    def setup_failed(self, what: str, err: BaseException) -> int:
        """Loading the model or index failed: stop reading (the reader processes ended, not awaited) and leave
        --out as it was. A setup error (errors.SETUP_ERRORS: the model or index cannot be used) is one error line
        and exit code 2; anything else (Ctrl-C while torch imports) is raised again."""
        self.reader.close(terminate=True)
        if self.writer is not None:
            self.writer.abandon()
        if not isinstance(err, SETUP_ERRORS):
            raise err
        error(what, err)
        return EXIT_SETUP_ERROR

    def score(self, score: Score | None, to_row: Callable[[str, dict], dict] | None = None,
              finish: Callable[[str, dict], dict] | None = None) -> list[dict]:
        """Read ahead, score in batches, write rows with `to_row(record, result)` (and the span and model) to
        --out. The results ({"record": ..., **result, "span": ..., "model": ...} or {"record": ..., "error":
        why}) when there is no --out writer. The names that match no file come first, as error rows.
        `finish(record, result) -> result`: applied to every result once, before it is written or returned."""
        results: list[dict] = []
        to_row = to_row or (lambda record, result: result)

        def keep(out_batch: list[dict], found: bool = True) -> None:
            if finish is not None:
                out_batch = [finish(r["record"], r) for r in out_batch]
            for r in out_batch:
                r["model"] = self.model or ""
            if self.writer is not None:
                # a record found is named by its full path (row_name); a name that matches no file (a pattern, a
                # list file's line) as it was given
                self.writer.write([{**to_row(r["record"], r), **({"record": row_name(r["record"])} if found else {}),
                                    "span": r.get("span", ""), "model": r["model"]} for r in out_batch])
            else:
                results.extend(out_batch)

        progress = Progress(len(self.not_found) + len(self.records), self.args.progress, self.reader.started)
        try:
            with self.reader:          # an exception (an interrupt) ends the reader processes, unwaited
                try:
                    if self.not_found:
                        keep([dict(r) for r in self.not_found], found=False)
                        progress.update(len(self.not_found), len(self.not_found))
                    for batch in batches(self.reader, self.args.batch_size):
                        out_batch, errors = self._score_batch(score, batch, progress)
                        keep(out_batch)
                        progress.update(len(batch), errors)
                finally:
                    if self.writer is not None:
                        self.writer.close()
        except KeyboardInterrupt as err:
            if progress.bar is not None:
                progress.bar.close()
            print(f"mets: {self.interrupted_words()}", file=sys.stderr)
            raise SystemExit(getattr(err, "exit_code", EXIT_INTERRUPTED)) from None
        progress.close(self.args.out)
        return results

    def interrupted_words(self) -> str:
        """What an interrupted run kept, and how to go on."""
        if self.writer is None and self.args.out is not None:        # embed: its file is written at the end
            return (f"interrupted; nothing was written to {self.args.out} (it is written once, at the end: a file "
                    f"already there is left as it was); run the command again to write it")
        if self.writer is None:
            return "interrupted; nothing was written (without --out the results are printed at the end)"
        # counted by the writer, not the progress bar: an interrupt can land between a batch's rows and its count
        kept = len(self.writer.kept) + self.writer.written
        return (f"interrupted; {plural(kept, 'record')} written to {self.args.out}; rerun the same command with "
                f"--resume to score the rest")

    def _span(self, read) -> str:
        """The span of a record the reader returned (an ECG, or (ECG, windows, masks))."""
        ecg, n_windows = (read[0], len(read[1])) if isinstance(read, tuple) else (read, None)
        return describe_span(ecg, n_windows, self.reader.settings,
                             self.args.start is not None or self.args.end is not None)

    def _score_batch(self, score: Score, batch: list, progress: Progress) -> tuple[list[dict], int]:
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
                error(rec, res)
                res = {"error": message(rec, res)}
                errors += 1
                self.status = EXIT_RECORD_ERROR
            else:
                res = {**res, "span": self._span(ecg)}
            out_batch.append({"record": rec, **res})
        return out_batch, errors

    def answer(self, results: list[dict], print_result: Callable[[dict], None], ensure_ascii: bool = True) -> int:
        """Without --out: the results as JSON (--json, errors included) or each answered record printed by
        `print_result`. The exit code."""
        if self.writer is None:
            if self.args.json:
                print(json.dumps(results, indent=2, ensure_ascii=ensure_ascii))
            else:
                for r in results:
                    if "error" not in r:
                        print_result(r)
                        print(f"  scored: {r['span']}")
        return self.status
