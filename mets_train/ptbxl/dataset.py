"""PTB-XL (Wagner et al. 2020): metadata, reports, the standard folds, labels at every level, records.

Layout read (PhysioNet's, version 1.0.3): `ptbxl_database.csv`, `scp_statements.csv`, and signals in
`records100/NNNNN/NNNNN_lr.{hea,dat}` and/or `records500/NNNNN/NNNNN_hr.{hea,dat}`; besides those, a
`zscore100/NNNNN/NNNNN.npy` form (band-passed 0.5-40 Hz and z-scored per lead by a third party: not mV) that
only the development data folder has. Any subset of the records may be present, in any mix of forms;
metadata and reports are used for all rows. Each record is read in the first of the dataset's `forms`
(SIGNAL_FORMS order by default) that holds it.

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
FOLDS = PRETRAINING_FOLDS + TEST_FOLDS                      # strat_fold's values
LEVELS = ("superclass", "subclass", "diagnostic", "form", "rhythm", "all")
SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
# A record's signal forms, in the order a record is looked for: PhysioNet's 100 Hz records (mV, the model's own
# rate; a user with PTB-XL has all of them and of records500), its 500 Hz records (mV, resampled to the model
# rate anyway), and the z-scored arrays (not mV) of the development data folder.
SIGNAL_FORMS = ("records100", "records500", "zscore100")
FORM_OF_RATE = {100: "records100", 500: "records500"}
_WFDB_FORMS = {"records100": ("filename_lr", "lr"), "records500": ("filename_hr", "hr")}
FORM_WORDS = {"records100": "mV, 100 Hz", "records500": "mV, 500 Hz", "zscore100": "z-scored per lead, not mV"}


def forms_for_input(normalise: str, forms=SIGNAL_FORMS) -> tuple[str, ...]:
    """The forms a model whose input step is `normalise` (PreprocessConfig.normalise) may be given. A model
    that z-scores each lead itself never sees absolute amplitude, so a record z-scored by someone else reaches
    it nearly as its mV twin does (docs/ptbxl_recipe.md gives the measured agreement); a model fed mV
    ("none") must not be given z-scored arrays as if they were mV."""
    return tuple(f for f in forms if normalise == "zscore" or f != "zscore100")


def describe_forms(counts: dict[str, int]) -> str:
    """{"records100": 859, "zscore100": 1560} -> "859 records100 (mV, 100 Hz) + 1560 zscore100 (z-scored ...)"."""
    return " + ".join(f"{n} {form} ({FORM_WORDS[form]})" for form, n in counts.items() if n) or "none"


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


def _as_fold(value) -> int:
    fold = _as_int(value)
    if fold not in FOLDS:
        raise ValueError(f"expected one of PTB-XL's folds {FOLDS[0]}-{FOLDS[-1]}, got {value!r}")
    return fold


def _parse_column(table, column: str, parse, database: Path) -> list:
    """`parse` applied to every cell of a column of ptbxl_database.csv; a cell it cannot read stops the load
    with its line, ecg_id and what to do (the parser alone said "expected a whole number, got ''", of no
    file, row or column)."""
    out = []
    for i, value in enumerate(table[column]):
        try:
            out.append(parse(value))
        except (ValueError, PTBXLError) as err:
            ecg_id = str(table["ecg_id"].iloc[i]).strip()
            raise PTBXLError(f"{database}, line {i + 2} (ecg_id {ecg_id or '(empty)'}): {column} cannot be read "
                             f"({err}). The file is damaged: mend that cell, or fetch the file again from PhysioNet "
                             f"(`mets download ptbxl --to DIR` replaces a file whose checksum is wrong)") from None
    return out


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

    def __init__(self, data_dir: str | Path, sampling_rate: int | None = None, forms=SIGNAL_FORMS):
        """`forms`: the signal forms to read, in order of preference (SIGNAL_FORMS); `sampling_rate` 100 or
        500 instead reads only that rate's mV records (records100/ or records500/)."""
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
        table["ecg_id"] = _parse_column(table, "ecg_id", _as_int, database)
        table["patient_id"] = _parse_column(table, "patient_id", lambda v: _as_int(v) if str(v).strip() else -1,
                                            database)
        table["strat_fold"] = _parse_column(table, "strat_fold", _as_fold, database)
        table["scp"] = _parse_column(table, "scp_codes", parse_scp_codes, database)
        table["report"] = table["report"].fillna("").astype(str)
        self.records = table.set_index("ecg_id", drop=False).sort_index()
        self.statements = read_statements(statements)
        if sampling_rate is not None:
            if int(sampling_rate) not in FORM_OF_RATE:
                raise PTBXLError(f"PTB-XL has records at 100 or 500 Hz, not {sampling_rate}; leave the sampling "
                                 f"rate unset to read whichever form holds each record")
            forms = (FORM_OF_RATE[int(sampling_rate)],)
        unknown = [f for f in forms if f not in SIGNAL_FORMS]
        if unknown or not forms:
            raise PTBXLError(f"unknown PTB-XL signal forms {unknown or list(forms)}; known: {', '.join(SIGNAL_FORMS)}")
        self.forms = tuple(forms)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return (f"PTBXL({str(self.root)!r}, {len(self)} records, with signals: "
                f"{describe_forms(self.form_counts(self.available_ids()))})")

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

    def form_path(self, ecg_id: int, form: str) -> Path:
        """Where `form` keeps this record: WFDB path without extension (records100/500, what wfdb.rdrecord
        takes; the CSV's filename_lr/_hr column when filled) or the .npy file (zscore100)."""
        ecg_id = int(ecg_id)
        folder = f"{form}/{ecg_id // 1000 * 1000:05d}"
        if form == "zscore100":
            return self.root / folder / f"{ecg_id:05d}.npy"
        column, suffix = _WFDB_FORMS[form]
        name = str(self.records.at[ecg_id, column]).strip() if column in self.records.columns else ""
        return self.root / (name or f"{folder}/{ecg_id:05d}_{suffix}")

    def _form_present(self, ecg_id: int, form: str) -> bool:
        path = self.form_path(ecg_id, form)
        if form == "zscore100":
            return path.is_file()
        return path.with_suffix(".hea").is_file() and path.with_suffix(".dat").is_file()

    def signal_form(self, ecg_id: int) -> str | None:
        """The first of self.forms that holds this record's signal; None when none does."""
        return next((f for f in self.forms if self._form_present(ecg_id, f)), None)

    def has_signal(self, ecg_id: int) -> bool:
        return self.signal_form(ecg_id) is not None

    def available_ids(self, folds: tuple[int, ...] | list[int] | None = None) -> list[int]:
        """ecg_ids (of the folds) whose signal is present in one of self.forms."""
        return [i for i in self.ids(folds) if self.has_signal(i)]

    def form_counts(self, ids: list[int]) -> dict[str, int]:
        """How many of `ids` are read in each form (self.forms order; records without a signal not counted)."""
        counts = dict.fromkeys(self.forms, 0)
        for i in ids:
            form = self.signal_form(i)
            if form is not None:
                counts[form] += 1
        return counts

    def read(self, ecg_id: int):
        """The record as an `ECG` on the 12 standard leads: mV from records100/500, z-score units from
        zscore100 (its metadata says so; `read_zscore_array`, which the corpus builder reads that form with)."""
        from mets_core.readers import read_ecg

        form = self.signal_form(ecg_id)
        name = f"ptbxl-{int(ecg_id):05d}"
        if form is None:
            raise PTBXLError(f"no signal for ecg_id {ecg_id} in {self.root} (looked in {', '.join(self.forms)})")
        path = self.form_path(ecg_id, form)
        if form != "zscore100":
            return read_ecg(str(path.with_suffix(".hea")), name=name)
        return read_zscore_array(path, 100.0, name)


def read_zscore_array(path, fs: float, name: str):
    """A z-scored (12, n) .npy in standard lead order (PTB-XL's zscore100 form) as an `ECG` whose units are
    standard deviations of each lead, not mV (its metadata says so); non-finite samples become 0, an all-zero
    lead is absent."""
    from mets_core.ecg import ECG
    signal = np.load(path, allow_pickle=False).astype(np.float32)
    signal = np.nan_to_num(signal, nan=0.0, posinf=0.0, neginf=0.0)
    return ECG(signal=signal, fs=fs, lead_mask=np.abs(signal).max(axis=1) > 0, name=name,
               metadata={"units": "z-score per lead (not mV)"})
