"""PTB-XL (Wagner et al. 2020): metadata, reports, the standard folds, labels at every level, records.

Layout read (PhysioNet's, version 1.0.3): `ptbxl_database.csv`, `scp_statements.csv`, and signals in
`records500/NNNNN/NNNNN_hr.{hea,dat}` and/or `records100/NNNNN/NNNNN_lr.{hea,dat}`. Any subset of the
records may be present; metadata and reports are used for all rows.

Number formatting: the CSVs may come from a spreadsheet round trip ("1.0" vs "1", "10" vs "10.0",
"True" vs "1"); every numeric field is parsed leniently, and `scp_codes` (a Python dict literal) with
`ast.literal_eval`.

Labels follow the PTB-XL benchmark (Strodthoff et al. 2020): a record carries a statement whatever its
likelihood (form and rhythm statements are always recorded with likelihood 0); levels
  - "diagnostic": the 44 diagnostic statements,  "subclass": their 23 `diagnostic_subclass`,
  - "superclass": the 5 `diagnostic_class` (NORM MI STTC CD HYP),
  - "form": the 19 form statements,  "rhythm": the 12 rhythm statements,  "all": the 71 statements.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TRAIN_FOLDS = (1, 2, 3, 4, 5, 6, 7, 8)
VALIDATION_FOLDS = (9,)
TEST_FOLDS = (10,)
PRETRAINING_FOLDS = TRAIN_FOLDS + VALIDATION_FOLDS          # METS: fold 10 stays unseen
LEVELS = ("superclass", "subclass", "diagnostic", "form", "rhythm", "all")
SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
SAMPLING_RATES = {500: "filename_hr", 100: "filename_lr"}


class PTBXLError(ValueError):
    """The folder is not a readable PTB-XL copy; the message says what is missing and what is expected."""


def _as_float(value) -> float:
    """"1", "1.0", "1,0", 1, True, "True", "" -> float (nan when empty)."""
    if value is None:
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    if not text or text.lower() in {"nan", "none", "null"}:
        return math.nan
    if text.lower() in {"true", "yes"}:
        return 1.0
    if text.lower() in {"false", "no"}:
        return 0.0
    return float(text.replace(",", "."))


def _as_int(value) -> int:
    number = _as_float(value)
    if math.isnan(number) or number != int(number):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def _flag(value) -> bool:
    number = _as_float(value)
    return not math.isnan(number) and number > 0


def parse_scp_codes(text) -> dict[str, float]:
    """"{'NORM': 100.0, 'SR': 0.0}" -> {"NORM": 100.0, "SR": 0.0} (never eval: ast.literal_eval)."""
    if isinstance(text, dict):
        return {str(k): float(v) for k, v in text.items()}
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return {}
    try:
        value = ast.literal_eval(str(text).strip())
    except (ValueError, SyntaxError) as err:
        raise PTBXLError(f"scp_codes is not a dict literal: {str(text)[:80]!r}") from err
    if not isinstance(value, dict):
        raise PTBXLError(f"scp_codes is not a dict: {str(text)[:80]!r}")
    return {str(k): _as_float(v) for k, v in value.items()}


@dataclass(frozen=True)
class Statement:
    code: str
    description: str
    diagnostic: bool
    form: bool
    rhythm: bool
    diagnostic_class: str | None
    diagnostic_subclass: str | None


def read_statements(path: str | Path) -> dict[str, Statement]:
    """scp_statements.csv -> {code: Statement}."""
    import pandas as pd

    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    code_column = table.columns[0]
    out = {}
    for _, row in table.iterrows():
        code = row[code_column].strip()
        if not code:
            continue
        out[code] = Statement(
            code=code, description=row.get("description", "").strip(),
            diagnostic=_flag(row.get("diagnostic")), form=_flag(row.get("form")),
            rhythm=_flag(row.get("rhythm")),
            diagnostic_class=row.get("diagnostic_class", "").strip() or None,
            diagnostic_subclass=row.get("diagnostic_subclass", "").strip() or None)
    return out


def labels_of(scp_codes: dict[str, float], statements: dict[str, Statement], level: str,
              min_likelihood: float = 0.0) -> set[str]:
    """The labels of one record at one level (statements with likelihood >= min_likelihood)."""
    if level not in LEVELS:
        raise ValueError(f"unknown label level {level!r}; levels: {', '.join(LEVELS)}")
    out: set[str] = set()
    for code, likelihood in scp_codes.items():
        st = statements.get(code)
        if st is None or (not math.isnan(likelihood) and likelihood < min_likelihood):
            continue
        if level == "all":
            out.add(code)
        elif level == "diagnostic" and st.diagnostic:
            out.add(code)
        elif level == "subclass" and st.diagnostic and st.diagnostic_subclass:
            out.add(st.diagnostic_subclass)
        elif level == "superclass" and st.diagnostic and st.diagnostic_class:
            out.add(st.diagnostic_class)
        elif level == "form" and st.form:
            out.add(code)
        elif level == "rhythm" and st.rhythm:
            out.add(code)
    return out


class PTBXL:
    """One PTB-XL folder. `records` is the metadata table (pandas, index ecg_id) with parsed columns
    `scp` (dict), `strat_fold` (int) and the report text."""

    def __init__(self, data_dir: str | Path, sampling_rate: int | None = None):
        import pandas as pd

        self.root = Path(data_dir).expanduser()
        database = self.root / "ptbxl_database.csv"
        statements = self.root / "scp_statements.csv"
        missing = [p.name for p in (database, statements) if not p.is_file()]
        if missing:
            raise PTBXLError(
                f"{self.root} is not a PTB-XL folder: missing {', '.join(missing)} (expected "
                f"ptbxl_database.csv, scp_statements.csv and records100/ or records500/; "
                f"`mets download ptbxl --to DIR` fetches it from PhysioNet)")
        table = pd.read_csv(database, dtype=str, keep_default_na=False)
        for column in ("ecg_id", "patient_id", "report", "scp_codes", "strat_fold"):
            if column not in table.columns:
                raise PTBXLError(f"{database} has no {column!r} column; is it PTB-XL's ptbxl_database.csv?")
        table["ecg_id"] = table["ecg_id"].map(_as_int)
        table["patient_id"] = table["patient_id"].map(lambda v: _as_int(v) if str(v).strip() else -1)
        table["strat_fold"] = table["strat_fold"].map(_as_int)
        table["scp"] = table["scp_codes"].map(parse_scp_codes)
        table["report"] = table["report"].fillna("").astype(str)
        self.records = table.set_index("ecg_id", drop=False).sort_index()
        self.statements = read_statements(statements)
        self.sampling_rate = sampling_rate or self._detect_sampling_rate()

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return (f"PTBXL({str(self.root)!r}, {len(self)} records, "
                f"{len(self.available_ids())} with signals at {self.sampling_rate} Hz)")

    # ----------------------------------------------------------------------------- folds, labels

    def ids(self, folds: tuple[int, ...] | list[int] | None = None) -> list[int]:
        """ecg_ids of the given folds (all when None), ascending."""
        table = self.records
        if folds is not None:
            table = table[table["strat_fold"].isin(list(folds))]
        return [int(i) for i in table.index]

    def reports(self, ids: list[int] | None = None) -> list[str]:
        ids = self.ids() if ids is None else ids
        return self.records.loc[ids, "report"].tolist()

    def labels(self, level: str, ids: list[int] | None = None, min_likelihood: float = 0.0) -> list[set[str]]:
        if level not in LEVELS:
            raise ValueError(f"unknown label level {level!r}; levels: {', '.join(LEVELS)}")
        ids = self.ids() if ids is None else ids
        return [labels_of(scp, self.statements, level, min_likelihood) for scp in self.records.loc[ids, "scp"]]

    def classes(self, level: str) -> list[str]:
        """Every label of a level that scp_statements.csv defines, sorted."""
        out = set()
        for st in self.statements.values():
            out |= labels_of({st.code: 100.0}, self.statements, level)
        return sorted(out)

    def label_matrix(self, level: str, ids: list[int] | None = None, classes: list[str] | None = None
                     ) -> tuple[list[str], np.ndarray]:
        """(class names, bool array (n_records, n_classes)) -- multi-label."""
        classes = list(classes) if classes is not None else self.classes(level)
        column = {c: j for j, c in enumerate(classes)}
        labels = self.labels(level, ids)
        y = np.zeros((len(labels), len(classes)), dtype=bool)
        for i, found in enumerate(labels):
            for c in found:
                if c in column:
                    y[i, column[c]] = True
        return classes, y

    # ----------------------------------------------------------------------------- signals

    def _detect_sampling_rate(self) -> int:
        for rate in (500, 100):
            folder = self.root / ("records500" if rate == 500 else "records100")
            if folder.is_dir() and any(folder.glob("*/*.hea")):
                return rate
        return 500

    def record_path(self, ecg_id: int) -> Path:
        """Record path without extension (what wfdb.rdrecord takes), at self.sampling_rate."""
        column = SAMPLING_RATES[self.sampling_rate]
        name = str(self.records.at[int(ecg_id), column]).strip() if column in self.records.columns else ""
        if not name:
            sub = "records500" if self.sampling_rate == 500 else "records100"
            suffix = "hr" if self.sampling_rate == 500 else "lr"
            name = f"{sub}/{int(ecg_id) // 1000 * 1000:05d}/{int(ecg_id):05d}_{suffix}"
        return self.root / name

    def has_signal(self, ecg_id: int) -> bool:
        path = self.record_path(ecg_id)
        return path.with_suffix(".hea").is_file() and path.with_suffix(".dat").is_file()

    def available_ids(self, folds: tuple[int, ...] | list[int] | None = None) -> list[int]:
        """ecg_ids (of the folds) whose signal files are present."""
        return [i for i in self.ids(folds) if self.has_signal(i)]

    def read(self, ecg_id: int):
        """The record as an `ECG` (mV, 12 standard leads)."""
        from mets_core.readers import read_ecg

        path = self.record_path(ecg_id)
        if not self.has_signal(ecg_id):
            raise PTBXLError(f"no signal for ecg_id {ecg_id}: {path}.hea/.dat not found")
        return read_ecg(str(path.with_suffix(".hea")), name=f"ptbxl-{int(ecg_id):05d}")
