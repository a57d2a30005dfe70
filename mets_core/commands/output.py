"""--out files: one row per record (errors included, as rows with an ``error``), .csv, .jsonl or .parquet.

CSV and JSONL rows are appended and flushed per batch, so an interrupted run keeps what it wrote and
``--resume`` scores only the records missing there or written as errors (a file fixed or found since is tried
again; the old error rows are dropped); Parquet rows are written at the end. Every file is
written under a temporary name and moved into place, so an existing file is never left half-written, and a run
that cannot start (its model, index or prompts cannot be used) leaves it as it was. Each row
names the model that made it (``model``: its folder and weights hash), and ``--resume`` refuses a file that
another model wrote. A record found is named by its full path (``records.row_name``), so ``--resume`` knows it
from any working folder; Parquet columns are typed (text, or numbers where the command says: ``write_parquet``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import usage

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".parquet")


def check_out(out: str | None, allowed: tuple[str, ...] = OUTPUT_SUFFIXES) -> str | None:
    """The suffix of --out FILE (None without --out), after checking that it can be written: a usage error
    (SystemExit) for another suffix, .parquet without pyarrow, or a file that cannot be written there
    (`out_file_problem`)."""
    if out is None:
        return None
    suffix = Path(out).suffix.lower()
    if suffix not in allowed and not Path(out).is_dir():     # a folder: said as such below
        raise SystemExit(usage(f"--out {out}: the file name must end in {', '.join(allowed)}"))
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise SystemExit(usage("writing .parquet needs pyarrow (pip install pyarrow); or use .csv/.jsonl"))
    problem = out_file_problem(out, "results" + (suffix if suffix in allowed else allowed[0]))
    if problem:
        raise SystemExit(usage(f"--out {problem}"))
    return suffix


def out_file_problem(text: str, example: str) -> str | None:
    """Why an output file named `text` cannot be written, in a sentence that starts with its name (None when it
    can): it names a folder, its folder does not exist, or nothing can be written there. The one check of every
    output file a command writes (--out; `mets evaluate --json FILE`), made before the command runs: a long run's
    results were lost at the end when the file could not be written. `example`: a file name to suggest."""
    import tempfile
    path = Path(text)
    if path.is_dir():
        return f"{text} is a folder; give a file name in it, e.g. {path / example}"
    folder = path.resolve().parent
    if not folder.is_dir():
        return f"{text}: the folder {path.parent} does not exist; create it or write the file elsewhere"
    try:      # a file made and removed at once: permissions, a read-only disk or a system folder (/proc) refuse it
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".tmp"):
            pass
    except OSError:
        return (f"{text}: no file can be written in the folder {path.parent} (no permission, or a read-only "
                f"disk); write the file elsewhere")
    return None


class RowWriter:
    """CSV or JSONL rows appended and flushed per batch; Parquet rows collected and written at the end."""

    def __init__(self, path: str, columns: list[str], resume: bool, model: str | None = None,
                 numbers: tuple[str, ...] = ()):
        self.path, self.columns = Path(path), columns
        self.numbers = frozenset(numbers)      # the columns holding numbers; the others hold text
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
            import pyarrow as pa
            write_parquet(self.path, {c: pa.float64() if c in self.numbers else pa.string() for c in self.columns},
                          [{c: _parquet_cell(r.get(c), c in self.numbers) for c in self.columns}
                           for r in self.parquet_rows])

    def abandon(self) -> None:
        """Stop before any row was written (the model, index or prompts cannot be used, or Ctrl-C while the
        model loads): an earlier file at --out is left as it was."""
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None
        self.parquet_rows = None


def write_parquet(path: Path, types: dict, rows: list[dict]) -> None:
    """`rows` written to the Parquet file `path` with each column's type (a pyarrow type) said, not guessed from
    its values: a column with no value in any row (every record an error, weights without reference ECGs) was
    written as Parquet's "null" type, which a reader of text or numbers does not take (nor concatenates with
    another run's file). Written under a temporary name, then moved into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.Table.from_pylist(rows, schema=pa.schema(list(types.items())))
    tmp = path.with_name(path.name + ".tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:        # a full disk, Ctrl-C: no half-written file left beside the one asked for
        tmp.unlink(missing_ok=True)
        raise


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


def _parquet_cell(value, number: bool):
    """A value of a Parquet column of numbers (a float) or of text, None for no value (None, or NaN as an
    earlier Parquet file reads back through pandas)."""
    value = _cell(value)
    if value is None or isinstance(value, float) and value != value or type(value).__name__ == "NAType":
        return None
    return float(value) if number else str(value)


def _existing_rows(path: Path, suffix: str, columns: list[str]) -> list[dict]:
    """Complete rows of an earlier run (a partly written last line is dropped and redone)."""
    if not path.is_file():
        return []
    rows: list[dict] = []
    # what mets writes, read back: another file at --out (a Latin-1 table, an ECG) was said in Python's words
    # ("'utf-8' codec can't decode byte 0xe9 in position 13", "Parquet magic bytes not found in footer")
    not_ours = f"--resume: {path} does not hold the rows of an earlier mets run"
    if suffix in (".csv", ".jsonl"):
        data = path.read_bytes()
        try:          # its complete lines: a last line cut mid-character by a full disk is redone, not refused
            text = data[: data.rfind(b"\n") + 1].decode("utf-8")
        except UnicodeDecodeError:
            raise SystemExit(usage(f"{not_ours} (it is not UTF-8 text); give --out the file that run wrote, or a "
                                   f"new file")) from None
    if suffix == ".csv":
        import csv
        reader = csv.DictReader(text.splitlines())
        _same_columns(path, list(reader.fieldnames or columns), columns)
        rows = [dict(r) for r in reader if None not in r]
    elif suffix == ".jsonl":
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                _same_columns(path, list(row), columns)
                rows.append(row)
    else:
        import pandas as pd
        try:
            frame = pd.read_parquet(path)
        except ValueError:          # pyarrow's ArrowInvalid: not a Parquet file, or a damaged one
            raise SystemExit(usage(f"{not_ours} (it is not a Parquet file it can read); give --out the file that "
                                   f"run wrote, or a new file")) from None
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
