"""Scoring a dataset, the part `mets rank`, `retrieve` and `embed` share.

`DatasetRun.start` finds the records, opens --out (keeping what --resume finds done) and starts the reader
processes, all before the model loads, so reading overlaps start-up. `DatasetRun.score` then embeds the
records in batches, writes one row per record as it goes, shows a progress bar (ECGs/s, time left) and
prints one error line for a record that cannot be read or scored (the run goes on; exit code 1).
`DatasetRun.answer` prints the results of a run without --out, as a table or as JSON.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Callable

from .errors import EXIT_RECORD_ERROR, EXIT_SETUP_ERROR, error, first_line, usage
from .model_loading import preprocess_settings
from .output import RowWriter, check_out
from .read_ahead import RecordReader, batches
from .records import expand_records

# score(ECGs, their prepared (windows, masks) or None) -> one result dict per ECG
Score = Callable[[list, "list | None"], list]


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


def _score(score: Score, good: list) -> list[dict]:
    """score(ECGs, their prepared (windows, masks) or None) on what the reader returned for each record."""
    ecgs = [r[0] if isinstance(r, tuple) else r for _, r in good]
    prepared = [(r[1], r[2]) for _, r in good] if all(isinstance(r, tuple) for _, r in good) else None
    return score(ecgs, prepared)


class DatasetRun:
    """The records of one command, its --out writer (or None) and the reader already reading them."""

    def __init__(self, args, records: list[str], status: int, writer: RowWriter | None, reader: RecordReader):
        self.args, self.records, self.writer, self.reader = args, records, writer, reader
        self.status = status          # EXIT_RECORD_ERROR once a record could not be found, read or scored

    @classmethod
    def start(cls, args, columns: list[str] | None) -> "DatasetRun | int":
        """Records found (less those --resume finds done), the --out writer (`columns`: its columns; None: the
        command writes its file itself) and the reader already reading them: all before the model loads. An
        int: the exit code when there is nothing to do or --out cannot be used."""
        suffix = check_out(args.out) if columns is not None else None
        if args.batch_size < 1 or args.workers < 1:
            raise SystemExit(usage("--batch-size and --workers must be at least 1"))
        records, missing = expand_records(args.records)
        for name, why in missing:
            error(name, why)
        status = EXIT_RECORD_ERROR if missing else 0
        if not records:
            return status or EXIT_RECORD_ERROR
        writer = None
        if suffix:
            try:
                writer = RowWriter(args.out, columns, args.resume)
            except (ValueError, OSError) as err:
                error(args.out, err)
                return EXIT_SETUP_ERROR
            records = [r for r in records if r not in writer.done]
        return cls(args, records, status, writer, RecordReader(records, args.workers, preprocess_settings(args.model)))

    def setup_failed(self, what: str, err: BaseException) -> int:
        """The model or index cannot be used: stop reading, close --out, one error line, exit code 2."""
        self.reader.close()
        if self.writer is not None:
            self.writer.close()
        error(what, err)
        return EXIT_SETUP_ERROR

    def score(self, score: Score, to_row: Callable[[str, dict], dict] | None = None) -> list[dict]:
        """Read ahead, score in batches, write rows with `to_row(record, result)` to --out. The results
        ({"record": ..., **result} or {"record": ..., "error": why}) when there is no --out writer."""
        results: list[dict] = []
        with self.reader:
            progress = Progress(len(self.records), self.args.progress, self.reader.started)
            try:
                for batch in batches(self.reader, self.args.batch_size):
                    out_batch, errors = self._score_batch(score, batch, progress)
                    if self.writer is not None:
                        self.writer.write([to_row(r["record"], r) for r in out_batch])
                    else:
                        results.extend(out_batch)
                    progress.update(len(batch), errors)
            finally:
                if self.writer is not None:
                    self.writer.close()
                progress.close(self.args.out)
        return results

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
                res = {"error": first_line(res)}
                errors += 1
                self.status = EXIT_RECORD_ERROR
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
        return self.status
