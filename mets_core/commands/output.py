"""--out files: one row per record (errors included, as rows with an ``error``), .csv, .jsonl or .parquet.

CSV and JSONL rows are appended and flushed per batch, so an interrupted run keeps what it wrote and
``--resume`` scores only the records missing there or written as errors (a file fixed or found since is tried
again; the old error rows are dropped); Parquet rows are written at the end. Every file is
written under a temporary name and moved into place, so an existing file is never left half-written, and a run
that cannot start (its model, index or prompts cannot be used) leaves it as it was. Each row
names the model that made it (``model``: its folder and weights hash), and ``--resume`` refuses a file that
another model wrote.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import usage

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".parquet")


def check_out(out: str | None, allowed: tuple[str, ...] = OUTPUT_SUFFIXES) -> str | None:
    """The suffix of --out FILE (None without --out), after checking that it can be written: a usage error
    (SystemExit) for another suffix, a missing folder, or .parquet without pyarrow."""
    if out is None:
        return None
    suffix = Path(out).suffix.lower()
    if suffix not in allowed:
        raise SystemExit(usage(f"--out {out}: the file name must end in {', '.join(allowed)}"))
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise SystemExit(usage("writing .parquet needs pyarrow (pip install pyarrow); or use .csv/.jsonl"))
    if not Path(out).resolve().parent.is_dir():
        raise SystemExit(usage(f"--out {out}: the folder {Path(out).parent} does not exist"))
    return suffix


class RowWriter:
    """CSV or JSONL rows appended and flushed per batch; Parquet rows collected and written at the end."""

    def __init__(self, path: str, columns: list[str], resume: bool, model: str | None = None):
        self.path, self.columns = Path(path), columns
        self.suffix = self.path.suffix.lower()
        earlier = _existing_rows(self.path, self.suffix, columns) if resume else []
        _check_same_model(self.path, earlier, model)
        self.kept: list[dict] = [r for r in earlier if not failed(r)]
        self.retried = len(earlier) - len(self.kept)     # error rows of the earlier run: their records run again
        self.parquet_rows = list(self.kept) if self.suffix == ".parquet" else None
        self.written = 0                       # rows this run wrote (the kept ones not counted)
        self.file = None
        # the rows kept are written under a temporary name now (a folder that cannot be written is said before
        # the model loads) and moved into place at the first rows or at close: the writer is made before the
        # model loads, and a model or index that cannot be used must not cost the user an earlier run's file
        self.tmp = self.path.with_name(self.path.name + ".tmp") if self.suffix in (".csv", ".jsonl") else None
        if self.suffix == ".csv":
            import csv
            with open(self.tmp, "w", newline="", encoding="utf-8") as f:     # complete rows only, then append
                w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
                w.writeheader()
                w.writerows(self.kept)
        elif self.suffix == ".jsonl":
            with open(self.tmp, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in self.kept)

    def _open(self) -> None:
        """The kept rows moved into place, and the file opened to append this run's rows (CSV, JSONL)."""
        if self.tmp is None:
            return
        os.replace(self.tmp, self.path)
        self.tmp = None
        self.file = open(self.path, "a", newline="" if self.suffix == ".csv" else None, encoding="utf-8")
        if self.suffix == ".csv":
            import csv
            self.csv = csv.DictWriter(self.file, fieldnames=self.columns, extrasaction="ignore")

    @property
    def done(self) -> set[str]:
        return {str(r.get("record")) for r in self.kept}

    def write(self, rows: list[dict]) -> None:
        self._open()
        if self.parquet_rows is not None:
            self.parquet_rows.extend(rows)
            self.written += len(rows)          # written at close, which an interrupt reaches too
            return
        for r in rows:
            if self.suffix == ".csv":
                self.csv.writerow({k: _cell(v) for k, v in r.items()})
            else:          # every column in every row, as CSV and Parquet have: --resume can then check them
                self.file.write(json.dumps({c: r.get(c) for c in self.columns}, ensure_ascii=False) + "\n")
            self.written += 1                  # counted row by row: an interrupt can land between two rows
        self.file.flush()

    def close(self) -> None:
        self._open()
        if self.file is not None:
            self.file.close()
        if self.parquet_rows is not None:
            import pandas as pd
            frame = pd.DataFrame([{c: _cell(r.get(c)) for c in self.columns} for r in self.parquet_rows],
                                 columns=self.columns)
            tmp = self.path.with_name(self.path.name + ".tmp")
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, self.path)

    def abandon(self) -> None:
        """Stop before any row was written (the model, index or prompts cannot be used, or Ctrl-C while the
        model loads): an earlier file at --out is left as it was."""
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None
        self.parquet_rows = None


def failed(row: dict) -> bool:
    """An error row (its ``error`` a non-empty text; a successful row's is empty, or NaN from Parquet)."""
    error = row.get("error")
    return isinstance(error, str) and error != ""


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
        _same_columns(path, list(reader.fieldnames or columns), columns)
        rows = [dict(r) for r in reader if None not in r]
    elif suffix == ".jsonl":
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                _same_columns(path, list(row), columns)
                rows.append(row)
    else:
        import pandas as pd
        frame = pd.read_parquet(path)
        _same_columns(path, list(frame.columns), columns)
        rows = frame.to_dict("records")
    return [r for r in rows if r.get("record")]


def _same_columns(path: Path, found: list[str], columns: list[str]) -> None:
    """--resume: a usage error (SystemExit) when the earlier rows have other columns than this run's (other
    prompts, another command, an earlier mets): the records they hold count as done and would never be scored
    with this run's prompts, leaving one file of two prompt sets. The same in every --out format."""
    if list(found) == list(columns):
        return
    why = ("was written by an earlier mets, without the model column" if "model" not in found
           else "has other columns (other prompts, or an earlier mets?)")
    raise SystemExit(usage(f"--resume: {path} {why}; use a new --out file"))


def _check_same_model(path: Path, kept: list[dict], model: str | None) -> None:
    """--resume: a usage error (SystemExit) when the rows kept were made by another model than `model` (its
    weights hash differs, or the rows do not say), since one file would then mix two models' scores."""
    from .model_loading import weights_hash
    if not kept or model is None:
        return
    theirs = {m if isinstance(m, str) else "" for m in (r.get("model") for r in kept)}   # parquet: NaN if absent
    if {weights_hash(m) for m in theirs} == {weights_hash(model)}:
        return
    named = sorted(m for m in theirs if m) or ["a model it does not name"]
    raise SystemExit(usage(f"--resume: {path} was written with {' and '.join(named)}, not with this run's model "
                           f"({model}); use a new --out file, or resume with the same --model"))
