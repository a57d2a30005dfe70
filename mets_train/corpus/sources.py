"""The open ECG databases the corpus is built from: where their records are, which patient each record
belongs to, and what each record's own labels say (as vocabulary `Finding`s).

One scanner per database. A scanner reads headers, label files and annotations only (no signals), so the
whole plan (windows, labels, patient split) is known before the first signal is read.

Patient identity (the split is patient-wise, so these decide what counts as leakage):
  ludb        record = patient (LUDB has one ECG per patient)
  ptbdb       patientNNN (folder, record name or "Source: record ptbdb/patientNNN/..." comment); records with
              none of these are grouped by their identical clinical summary (age, sex, dates, diagnoses,
              medication), which is how PTB's own s00* records of one patient look alike
  mitdb       record, except 201 and 202 (one patient in MIT-BIH)
  qtdb        selNNN with NNN in 100..234 is an excerpt of MIT-BIH record NNN -> that MIT-BIH patient;
              other QTDB records (European ST-T, SVDB, NSRDB, LTDB, sudden death) -> record
  cinc2017    record (no patient ids published)
  cpsc2021    data_P_S -> patient P
  ptbxl       patient_id column
  challenge2021  HRnnnnn records are PTB-XL ecg_id nnnnn -> that PTB-XL patient (when ptbxl_database.csv is
              in the data folder), any other record -> record
"""
from __future__ import annotations

import ast
import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import wfdb

from mets_core.ecg import standard_lead
from mets_core.file_labels import ptbdb_patient_id
from ..ptbxl.dataset import FOLDS as PTBXL_FOLDS, TEST_FOLDS, VALIDATION_FOLDS
from .annotations import Annotations, read_annotations
from .vocabulary import Finding

LABEL_MAPS_PATH = Path(__file__).with_name("label_maps.json")

# folder names we accept for each database under --data-dir (ours first, then PhysioNet's download names)
FOLDER_NAMES: dict[str, tuple[str, ...]] = {
    "ludb": ("ludb", "lobachevsky-university-electrocardiography-database-1.0.1"),
    "ptbdb": ("ptbdb", "ptb-diagnostic-ecg-database-1.0.0"),
    "mitdb": ("mitdb", "mit-bih-arrhythmia-database-1.0.0"),
    "qtdb": ("qtdb", "qt-database-1.0.0"),
    "cinc2017": ("cinc2017", "training2017", "challenge-2017"),
    "cpsc2021": ("cpsc2021", "cpsc2021-1.0.0", "training_I", "training_II"),
    "challenge2021": ("challenge2021", "challenge-2021"),
    "ptbxl": ("ptbxl", "ptb-xl", "ptb-xl-1.0.3"),
}
SOURCES: tuple[str, ...] = tuple(FOLDER_NAMES)

MITDB_SAME_PATIENT = {"202": "201"}   # MIT-BIH: records 201 and 202 come from the same subject
QTDB_FROM_MITDB = range(100, 235)     # QTDB selNNN excerpts of MIT-BIH Arrhythmia records 100..234

_NOT_GIVEN = {"", "no", "n/a", "na", "unknown", "none"}


def load_label_maps(path: str | Path | None = None) -> dict:
    return json.loads(Path(path or LABEL_MAPS_PATH).read_text(encoding="utf-8"))


@dataclass
class RecordSpec:
    """One record to cut into windows, with everything known about it before its signal is read."""
    source: str
    record: str
    path: Path                          # wfdb record path, without extension
    patient: str
    fs: float
    n_samples: int
    findings: list[Finding] = field(default_factory=list)   # record-level labels (every window gets them)
    annotations: Annotations | None = None                  # beat/rhythm annotations, counted per window
    lead_names: list[str] | None = None   # replaces the header's names (QTDB ECG1 -> II)
    measure_rate: bool = True             # run R-peak detection when annotations give no rate
    rate_upgrade: bool = False            # "sinus rhythm" + brady/tachy rate -> sinus brady/tachycardia
    notes: list[str] = field(default_factory=list)
    report: str | None = None             # the record's own report text (PTB-XL), used instead of a generated one
    split: str | None = None              # fixed side ("train" / "val") from the database's own folds
    form: str = "mv"                      # "mv", or "zscore": band-passed and z-scored per lead, not mV


@dataclass
class SourceScan:
    name: str
    folder: Path | None
    records: list[RecordSpec] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)    # (record, reason)
    notes: list[str] = field(default_factory=list)


# -------------------------------------------------------------------------------------------- helpers

def find_source_folder(data_dir: Path, name: str) -> Path | None:
    for candidate in FOLDER_NAMES[name]:
        p = data_dir / candidate
        if p.is_dir():
            return p
    return None


def _header_paths(folder: Path, pattern: str = r".+") -> list[Path]:
    """Record paths (without .hea) under folder whose record name matches pattern, sorted naturally."""
    rx = re.compile(pattern)
    paths = [p.with_suffix("") for p in folder.rglob("*.hea") if rx.fullmatch(p.stem)]
    return sorted(paths, key=lambda p: (_natural(p.stem), str(p)))


def _natural(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _int(x) -> int:
    return int(float(str(x).strip().replace(",", ".")))


def _targets(specs: list[str]) -> list[Finding]:
    return [Finding.parse(s) for s in specs]


def parse_territories(text: str, maps: dict) -> tuple[str, ...]:
    """'infero-latera' -> ('inferior', 'lateral'); 'anterior wall' -> ('anterior',)."""
    out = []
    for token in re.split(r"[-\s,/]+", text.lower()):
        for prefix, terr in maps["territory_words"].items():
            if token.startswith(prefix) and terr not in out:
                out.append(terr)
    return tuple(out)


def _select(paths: list[Path], only: set[str] | None, limit: int | None) -> list[Path]:
    if only is not None:
        paths = [p for p in paths if p.stem in only]
    return paths[:limit] if limit else paths


class _Header:
    def __init__(self, path: Path):
        h = wfdb.rdheader(str(path))
        if not h.fs or not h.sig_len or not h.sig_name:
            raise ValueError(f"header has no sampling rate, length or signals (fs={h.fs}, len={h.sig_len})")
        self.fs = float(h.fs)
        self.n_samples = int(h.sig_len)
        self.sig_name = list(h.sig_name)
        self.comments = [str(c) for c in (h.comments or [])]

    def fields(self) -> dict[str, str]:
        """'# Key: value' comment lines as a dict (keys lower-cased)."""
        out = {}
        for c in self.comments:
            key, sep, value = c.partition(":")
            if sep:
                out.setdefault(key.strip().lower(), value.strip())
        return out


def _spec(source: str, path: Path, patient: str, h: _Header, **kw) -> RecordSpec:
    return RecordSpec(source=source, record=path.stem, path=path, patient=patient, fs=h.fs,
                      n_samples=h.n_samples, **kw)


# ------------------------------------------------------------------------------------------ scanners

def _ludb_lines_to_findings(lines: list[str], maps: dict) -> tuple[list[Finding], list[str]]:
    m = maps["ludb"]
    found: list[Finding] = []
    unmapped: list[str] = []
    for line in lines:
        if line in m["lines"]:
            found += _targets(m["lines"][line])
            continue
        key, sep, rest = line.partition(":")
        if sep and key.strip() in m["territorial"]:
            found.append(Finding(m["territorial"][key.strip()], parse_territories(rest, maps)))
            continue
        prefix = next((p for p in m["prefixes"] if line.startswith(p)), None)
        if prefix:
            found += _targets(m["prefixes"][prefix])
            continue
        unmapped.append(line)
    return found, unmapped


def _clean_line(line: str) -> str:
    return re.sub(r"\s+", " ", line.lstrip("#").strip().rstrip(".").strip().lower())


NORMAL_WHEN_ONLY = {"sinus_rhythm", "normal_axis", "vertical_axis", "horizontal_axis"}



def _readable_headers(scan: "SourceScan", paths):
    """(path, header) for each path whose header parses; the others are listed in scan.skipped with the reason."""
    for path in paths:
        try:
            yield path, _Header(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable header is skipped with its reason
            scan.skipped.append((path.stem, f"unreadable header: {exc}"))

def scan_ludb(folder: Path, maps: dict, ctx: dict, only=None, limit=None) -> SourceScan:
    scan = SourceScan("ludb", folder)
    table: dict[str, list[str]] = {}
    csv_path = next(iter(sorted(folder.rglob("ludb.csv"))), None)
    if csv_path is not None:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                lines = []
                for col, prefix in maps["ludb"]["csv_columns"].items():
                    for cell_line in (row.get(col) or "").splitlines():
                        if cell_line.strip():
                            lines.append(_clean_line(prefix + cell_line))
                table[str(row.get("ID", "")).strip()] = lines
    else:
        scan.notes.append("ludb.csv not found: diagnoses from the header comments only")
    for path, h in _readable_headers(scan, _select(_header_paths(folder, r"\d+"), only, limit)):
        lines = [_clean_line(c) for c in h.comments]
        lines = [ln for ln in lines if ln and not ln.startswith("<")]
        lines = list(dict.fromkeys(lines + table.get(path.stem, [])))
        findings, unmapped = _ludb_lines_to_findings(lines, maps)
        ids = {f.id for f in findings}
        # LUDB lists every finding a cardiologist saw: sinus rhythm with a normal-variant axis and
        # nothing else is a normal ECG
        if "sinus_rhythm" in ids and ids <= NORMAL_WHEN_ONLY and not unmapped:
            findings.append(Finding("normal_ecg"))
        notes = [f"unmapped LUDB diagnosis: {u}" for u in unmapped]
        scan.records.append(_spec("ludb", path, f"ludb:{path.stem}", h, findings=findings, notes=notes))
    return scan


_PTB_FINGERPRINT_KEYS = ("age", "sex", "reason for admission", "acute infarction (localization)",
                         "former infarction (localization)", "additional diagnoses", "infarction date (acute)",
                         "admission date", "medication pre admission", "additional medication")


def scan_ptbdb(folder: Path, maps: dict, ctx: dict, only=None, limit=None) -> SourceScan:
    scan = SourceScan("ptbdb", folder)
    m = maps["ptbdb"]
    for path, h in _readable_headers(scan, _select(_header_paths(folder), only, limit)):
        f = h.fields()
        findings: list[Finding] = []
        notes: list[str] = []
        reason = f.get("reason for admission", "").strip().lower()
        if reason in m["reason"]:
            findings += _targets(m["reason"][reason])
        elif reason not in _NOT_GIVEN:
            notes.append(f"unmapped reason for admission: {reason}")
        acute = f.get("acute infarction (localization)", "").strip().lower()
        former = f.get("former infarction (localization)", "").strip().lower()
        if acute not in _NOT_GIVEN:
            findings.append(Finding("mi_acute", parse_territories(acute, maps)))
        if former not in _NOT_GIVEN:
            findings.append(Finding("mi_old", parse_territories(former, maps)))
        if reason == "myocardial infarction" and acute in _NOT_GIVEN and former in _NOT_GIVEN:
            findings.append(Finding("mi"))
        for item in f.get("additional diagnoses", "").lower().split(","):
            for key, targets in m["additional"].items():
                if key in item:
                    findings += _targets(targets)
        patient = ptbdb_patient_id(str(path.with_suffix("")), comments=h.comments)
        if patient is None:
            summary = "|".join(f.get(k, "") for k in _PTB_FINGERPRINT_KEYS)
            patient = "ptbdb:summary-" + hashlib.sha1(summary.encode()).hexdigest()[:10]
            notes.append("no PTB patient number in folder, name or header: grouped by identical clinical summary")
        scan.records.append(_spec("ptbdb", path, patient, h, findings=findings, notes=notes))
    return scan


def mitdb_patient(record: str) -> str:
    return f"mitdb:{MITDB_SAME_PATIENT.get(record, record)}"


def _annotated(scan: SourceScan, path: Path, h: _Header, maps: dict, default_rhythm: str | None = None
               ) -> Annotations | None:
    if not path.with_suffix(".atr").is_file():
        return None
    try:
        ann = read_annotations(path, h.fs, h.n_samples, maps, default_rhythm=default_rhythm)
    except Exception as exc:  # noqa: BLE001
        scan.notes.append(f"{path.stem}: unreadable .atr ({exc}); rate measured from the signal instead")
        return None
    for note, n in sorted(ann.unknown_aux.items()):
        scan.notes.append(f"{path.stem}: rhythm note {note!r} ({n}x) is not in the vocabulary, ignored")
    return ann


def scan_mitdb(folder: Path, maps: dict, ctx: dict, only=None, limit=None) -> SourceScan:
    scan = SourceScan("mitdb", folder)
    for path, h in _readable_headers(scan, _select(_header_paths(folder, r"\d{3}"), only, limit)):
        ann = _annotated(scan, path, h, maps)
        notes = [] if ann else ["no .atr annotations: rhythm unknown, rate measured"]
        scan.records.append(_spec("mitdb", path, mitdb_patient(path.stem), h, annotations=ann,
                                  measure_rate=ann is None, rate_upgrade=True, notes=notes))
    return scan


def qtdb_patient(record: str) -> str:
    m = re.fullmatch(r"sel(\d{3})", record)
    if m and int(m.group(1)) in QTDB_FROM_MITDB:
        return mitdb_patient(m.group(1))
    return f"qtdb:{record}"


def scan_qtdb(folder: Path, maps: dict, ctx: dict, only=None, limit=None) -> SourceScan:
    scan = SourceScan("qtdb", folder)
    scan.notes.append("QTDB leads named ECG1/ECG2 are unknown leads: where none of a record's leads maps to "
                      "a standard lead, ECG1 is used as lead II (an approximation, noted per window) and ECG2 "
                      "is dropped; otherwise only the mapped leads are kept")
    for path, h in _readable_headers(scan, _select(_header_paths(folder, r"sel\w+"), only, limit)):
        lead_names, notes = None, []
        if not any(standard_lead(n) for n in h.sig_name):
            lead_names = ["II"] + [f"unmapped:{n}" for n in h.sig_name[1:]]
            notes.append(f"lead approximation: {h.sig_name[0]}->II (unknown lead), "
                         f"dropped {' '.join(h.sig_name[1:])}")
        ann = _annotated(scan, path, h, maps)
        if ann is None:
            notes.append("no .atr annotations: rhythm unknown, rate measured")
        scan.records.append(_spec("qtdb", path, qtdb_patient(path.stem), h, annotations=ann,
                                  lead_names=lead_names, measure_rate=ann is None, rate_upgrade=True,
                                  notes=notes))
    return scan


def scan_cinc2017(folder: Path, maps: dict, ctx: dict, only=None, limit=None) -> SourceScan:
    scan = SourceScan("cinc2017", folder)
    # the newest label revision wins: REFERENCE-v3.csv over REFERENCE.csv
    refs = sorted(folder.rglob("REFERENCE*.csv"),
                  key=lambda p: (int(m.group(1)) if (m := re.search(r"v(\d+)", p.stem)) else 0, str(p)))
    if not refs:
        scan.notes.append("no REFERENCE.csv: CinC 2017 records have no labels and are skipped")
        return scan
    labels: dict[str, str] = {}
    with open(refs[-1], newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            if len(row) >= 2:
                labels[row[0].strip()] = row[1].strip()
    for path in _select(_header_paths(folder), only, limit):
        label = labels.get(path.stem)
        if label not in maps["cinc2017"]:
            scan.skipped.append((path.stem, f"no usable class in {refs[-1].name} ({label!r})"))
            continue
        try:
            h = _Header(path)
        except Exception as exc:  # noqa: BLE001
            scan.skipped.append((path.stem, f"unreadable header: {exc}"))
            continue
        scan.records.append(_spec("cinc2017", path, f"cinc2017:{path.stem}", h,
                                  findings=_targets(maps["cinc2017"][label]),
                                  measure_rate=label != "~", rate_upgrade=True))
    return scan


def scan_cpsc2021(folder: Path, maps: dict, ctx: dict, only=None, limit=None) -> SourceScan:
    scan = SourceScan("cpsc2021", folder)
    for path, h in _readable_headers(scan, _select(_header_paths(folder, r"data_\d+_\d+"), only, limit)):
        kind = " ".join(h.comments).strip().lower()
        findings = _targets(maps["cpsc2021_header"].get(kind, []))
        # paroxysmal records start in non-AF rhythm before their first rhythm label
        ann = _annotated(scan, path, h, maps, default_rhythm="(N" if "paroxysmal" in kind else None)
        patient = f"cpsc2021:{path.stem.split('_')[1]}"
        scan.records.append(_spec("cpsc2021", path, patient, h, findings=findings, annotations=ann,
                                  measure_rate=ann is None))
    return scan


def _ptbxl_table(data_dir: Path) -> tuple[Path, list[dict]] | None:
    folder = find_source_folder(data_dir, "ptbxl")
    if folder is None:
        return None
    found = sorted(folder.rglob("ptbxl_database.csv"))
    if not found:
        return None
    with open(found[0], newline="", encoding="utf-8") as fh:
        return found[0].parent, list(csv.DictReader(fh))


def ptbxl_column(ctx: dict, column: str) -> dict[int, int]:
    """PTB-XL ecg_id -> a whole-number column (patient_id, strat_fold) of ptbxl_database.csv (cached in ctx)."""
    key = f"ptbxl_{column}"
    if key not in ctx:
        table = _ptbxl_table(ctx["data_dir"])
        out = {}
        for row in (table[1] if table else []):
            try:
                out[_int(row["ecg_id"])] = _int(row[column])
            except (KeyError, ValueError):
                continue
        ctx[key] = out
    return ctx[key]


def ptbxl_ecg_ids(ctx: dict) -> set[int]:
    """The ecg_ids of ptbxl_database.csv (whatever their other cells hold; cached in ctx)."""
    if "ptbxl_ecg_ids" not in ctx:
        table = _ptbxl_table(ctx["data_dir"])
        ids = set()
        for row in (table[1] if table else []):
            try:
                ids.add(_int(row["ecg_id"]))
            except (KeyError, ValueError):
                continue
        ctx["ptbxl_ecg_ids"] = ids
    return ctx["ptbxl_ecg_ids"]


# why a PTB-XL row (or a copy of its ECG) whose fold cannot be read stays out: it may be a test-fold ECG
UNKNOWN_FOLD = "strat_fold missing or not one of PTB-XL's folds 1-10: not read (it could be a fold-10 test ECG)"


def ptbxl_side(fold: int | None) -> str | None:
    """PTB-XL's patient-wise strat_fold -> corpus side: 1-8 train, 9 val, 10 "test" (never read); None for a
    fold that is missing or not one of PTB-XL's (a damaged row), which is never read either."""
    if fold not in PTBXL_FOLDS:
        return None
    return "test" if fold in TEST_FOLDS else "val" if fold in VALIDATION_FOLDS else "train"


def scan_challenge2021(folder: Path, maps: dict, ctx: dict, only=None, limit=None) -> SourceScan:
    scan = SourceScan("challenge2021", folder)
    linked = ptbxl_column(ctx, "patient_id")
    for path, h in _readable_headers(scan, _select(_header_paths(folder), only, limit)):
        codes = [c.strip() for c in h.fields().get("dx", "").split(",") if c.strip()]
        findings, notes = [], []
        for code in codes:
            if code in maps["snomed"]:
                findings += _targets(maps["snomed"][code])
            else:
                notes.append(f"SNOMED code {code} not in the vocabulary map, ignored")
        m = re.fullmatch(r"HR(\d+)", path.stem)
        side = None
        patient = f"challenge2021:{path.stem}"
        if m and int(m.group(1)) in ptbxl_ecg_ids(ctx):
            # a copy of a PTB-XL ECG takes its fold, whether or not its patient can be linked; a copy of a
            # test-fold ECG, or of one whose fold cannot be read, stays out like the original
            side = ptbxl_side(ptbxl_column(ctx, "strat_fold").get(int(m.group(1))))
            if side in ("test", None):
                scan.skipped.append((path.stem, "copy of a PTB-XL fold-10 (test) ECG: not read" if side else
                                     f"copy of PTB-XL ecg_id {int(m.group(1))}, whose {UNKNOWN_FOLD}"))
                continue
            if int(m.group(1)) in linked:
                patient = f"ptbxl:{linked[int(m.group(1))]}"
                notes.append(f"same ECG as PTB-XL ecg_id {int(m.group(1))}: patient linked to PTB-XL")
        scan.records.append(_spec("challenge2021", path, patient, h, findings=findings, notes=notes, split=side))
    return scan


def _scp_classes(root: Path) -> dict[str, str]:
    """SCP code -> PTB-XL diagnostic_class (NORM MI STTC CD HYP), from scp_statements.csv when present."""
    path = root / "scp_statements.csv"
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows or "diagnostic_class" not in rows[0]:
        return {}
    col = rows[0].index("diagnostic_class")
    return {r[0].strip(): r[col].strip() for r in rows[1:] if len(r) > col and r[0].strip() and r[col].strip()}


def _ptbxl_signal(root: Path, row: dict) -> tuple[Path, str] | None:
    """Where this PTB-XL row's signal is: the WFDB record (500 Hz preferred, then 100 Hz; mV) or else the
    z-scored form zscore100/NNNNN/NNNNN.npy (band-passed and z-scored per lead: not mV)."""
    for col in ("filename_hr", "filename_lr"):
        rel = (row.get(col) or "").strip()
        if rel and (root / (rel + ".hea")).is_file():
            return root / rel, "mv"
    ecg_id = _int(row["ecg_id"])
    npy = root / "zscore100" / f"{ecg_id // 1000 * 1000:05d}" / f"{ecg_id:05d}.npy"
    return (npy, "zscore") if npy.is_file() else None


def scan_ptbxl(folder: Path, maps: dict, ctx: dict, only=None, limit=None) -> SourceScan:
    """PTB-XL: every row with a signal in either form, with its own report and its SCP statements mapped
    onto the vocabulary (plus the diagnostic superclass ids). The side comes from strat_fold (1-8 train,
    9 validation); fold 10 is PTB-XL's test fold and is never read."""
    scan = SourceScan("ptbxl", folder)
    table = _ptbxl_table(ctx["data_dir"])
    if table is None:
        scan.notes.append("no ptbxl_database.csv: PTB-XL skipped")
        return scan
    root, rows = table
    classes = _scp_classes(root)
    if not classes:             # its superclass ids were left out without a word: every window lacked them
        scan.notes.append(f"no readable scp_statements.csv beside {root / 'ptbxl_database.csv'}: the diagnostic "
                          f"superclasses (NORM MI STTC CD HYP) are not added, so validation cannot score them; "
                          f"`mets download ptbxl --to DIR` fetches the file")
    candidates, test_fold, unknown_fold = [], 0, []
    for row in rows:
        found = _ptbxl_signal(root, row)
        if found is None:
            continue
        try:
            fold = _int(row["strat_fold"])
        except (KeyError, ValueError):
            fold = None
        side = ptbxl_side(fold)
        if side == "test":
            test_fold += 1
            continue
        if side is None:            # a damaged row: it could be a test-fold ECG, so its signal is never read
            unknown_fold.append(found[0].stem)
            continue
        candidates.append((*found, row, side))
    candidates.sort(key=lambda c: _int(c[2]["ecg_id"]))
    if only is not None:
        candidates = [c for c in candidates if c[0].stem in only or str(_int(c[2]["ecg_id"])) in only]
        unknown_fold = [r for r in unknown_fold if r in only or r.split("_")[0].lstrip("0") in only]
    if limit:
        candidates = candidates[:limit]
    scan.skipped += [(r, UNKNOWN_FOLD) for r in unknown_fold]
    forms = {f: sum(c[1] == f for c in candidates) for f in ("mv", "zscore")}
    scan.notes.append(f"{len(rows)} rows in ptbxl_database.csv; {len(candidates)} with signals in folds 1-9 "
                      f"({forms['mv']} in mV, {forms['zscore']} z-scored); {test_fold} of the test fold 10 not read"
                      + (f"; {len(unknown_fold)} with a signal but no readable strat_fold not read (see skipped)"
                         if unknown_fold else ""))
    for path, form, row, side in candidates:
        if form == "mv":
            try:
                h = _Header(path)
            except Exception as exc:  # noqa: BLE001
                scan.skipped.append((path.stem, f"unreadable header: {exc}"))
                continue
            fs, n_samples = h.fs, h.n_samples
        else:
            try:
                shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
            except Exception as exc:  # noqa: BLE001
                scan.skipped.append((path.stem, f"unreadable array: {exc}"))
                continue
            if len(shape) != 2 or shape[0] != 12:
                scan.skipped.append((path.stem, f"array of shape {shape}, expected (12, n)"))
                continue
            fs, n_samples = 100.0, int(shape[1])
        findings, notes = [], []
        try:
            codes = ast.literal_eval(row.get("scp_codes") or "{}")
        except (ValueError, SyntaxError):
            codes = {}
            notes.append("unparseable scp_codes")
        for code in codes:
            if code in maps["scp"]:
                findings += _targets(maps["scp"][code])
            else:
                notes.append(f"SCP code {code} not in the vocabulary map, ignored")
            findings += _targets(maps["scp_class"].get(classes.get(code, ""), []))
        axis = (row.get("heart_axis") or "").strip()
        findings += _targets(maps["ptbxl_axis"].get(axis, []))
        if (row.get("pacemaker") or "").strip():
            findings.append(Finding("pacemaker"))
        if any((row.get(c) or "").strip() for c in ("static_noise", "burst_noise")):
            findings.append(Finding("noise"))
        try:
            patient = f"ptbxl:{_int(row['patient_id'])}"
        except (KeyError, ValueError):
            patient = f"ptbxl:ecg{path.stem}"
        scan.records.append(RecordSpec(source="ptbxl", record=str(_int(row["ecg_id"])), path=path,
                                       patient=patient, fs=fs, n_samples=n_samples, findings=findings,
                                       notes=notes, measure_rate=False, report=" ".join(str(row.get("report") or "").split()),
                                       split=side, form=form))
    return scan


SCANNERS = {
    "ludb": scan_ludb, "ptbdb": scan_ptbdb, "mitdb": scan_mitdb, "qtdb": scan_qtdb, "cinc2017": scan_cinc2017,
    "cpsc2021": scan_cpsc2021, "challenge2021": scan_challenge2021, "ptbxl": scan_ptbxl,
}


def scan_sources(data_dir: str | Path, sources: list[str] | None = None, maps: dict | None = None,
                 only: dict[str, set[str]] | None = None, max_records: int | None = None
                 ) -> tuple[list[SourceScan], list[str]]:
    """Scan every requested database present under data_dir. Returns (scans, names of absent databases)."""
    data_dir = Path(data_dir)
    maps = maps or load_label_maps()
    ctx = {"data_dir": data_dir}
    unknown = sorted(set(sources or []) - set(SOURCES))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; known: {', '.join(SOURCES)}")
    scans, absent = [], []
    for name in [s for s in SOURCES if sources is None or s in sources]:   # always in the same order
        folder = find_source_folder(data_dir, name)
        if folder is None:
            absent.append(name)
            continue
        wanted = (only or {}).get(name)
        scan = SCANNERS[name](folder, maps, ctx, only=wanted, limit=max_records)
        seen = {r.record for r in scan.records} | {r.path.stem for r in scan.records} | {r for r, _ in scan.skipped}
        scan.skipped += [(r, "requested but not found in the data folder") for r in sorted(set(wanted or ()) - seen)]
        scans.append(scan)
    return scans, absent
