"""What an ECG file itself says about the patient: its own diagnostic labels, age and sex, in plain words.

``file_labels(ecg) -> FileLabels``. Read from the header comments the readers keep in
``ecg.metadata["comments"]`` (memory only: nothing here is logged or written).

Decoded sources
- PhysioNet/CinC Challenge 2020/2021 headers: ``# Dx: 426177001,713426002`` -> SNOMED CT concept ids, named
  from ``SNOMED_CT`` (the Challenges' diagnosis codes, in plain clinical words);
- PTB-XL SCP-ECG statements: ``scp_codes: {'NORM': 100.0, 'SR': 0.0}`` or ``SCP: NORM, SR`` -> ``SCP_ECG``
  (the 71 statements of PTB-XL's scp_statements.csv, with the statement likelihood when given);
- LUDB: the free-text lines after ``<diagnoses>:`` (already English, cleaned up);
- PTB Diagnostic DB and other WFDB/CSV headers: lines whose key says they are a diagnosis
  (``Reason for admission``, ``Acute infarction (localization)``, ``Diagnosis``, ``Rhythm``, ...);
- a comment line without a key made only of the words of diagnoses (``# persistent atrial fibrillation``,
  CPSC 2021's class; ``#Coronary artery disease``, QTDB): see ``DIAGNOSIS_WORDS``.
- Age and sex from ``Age:``/``<age>:``/``age:`` and ``Sex:``/``<sex>:``/``sex:`` lines, one line holding both
  (``Age: 47  Sex: M``, QTDB), and MIT-BIH's first comment line ``69 M 1085 1629 x1`` (age, sex, then the
  record's own numbers).

Patient ids (``FileLabels.patient_id``), where the database gives one: PTB-XL's ``patient_id`` column
(``ptbxl:15709``), PTB-DB's patient number from the record's folder or name (``patient201/s0420_re``,
``patient201_s0420_re``) or its ``Source: record ptbdb/patient201/...`` line (``ptbdb:patient201``). Never
made up: a file without one has none. ``same_patient(a, b)`` compares them; they are never shown.

PTB-XL's own WFDB headers carry no labels: its statements, age and sex are in the database's table,
``ptbxl_database.csv``. ``ptbxl_labels(ecg, folder)`` reads them from the user's copy of PTB-XL for a record
named as PTB-XL names them (``00307_lr``, ``00307_hr``), checked against the signal of that record in the copy
when it is there (``FileLabels.origin`` says so).

A code this module does not know is still shown, as "SNOMED CT code N (not in this decoder's table)":
labels are never dropped silently. Other comment lines are only counted (``other_lines``): free text can
carry names or record numbers, so the dashboard shows them on request only. That is why a line without a key
is shown only when every word of it is a word of a diagnosis: a name, a number or a recorder's model is not.
"""
from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ecg import ECG

# SNOMED CT concept ids used as diagnoses by the PhysioNet/CinC Challenges 2020-2021, in plain words.
SNOMED_CT: dict[str, str] = {
    "426783006": "sinus rhythm",
    "426177001": "sinus bradycardia",
    "427084000": "sinus tachycardia",
    "427393009": "sinus arrhythmia",
    "164889003": "atrial fibrillation",
    "164890007": "atrial flutter",
    "195080001": "atrial fibrillation and flutter",
    "713422000": "atrial tachycardia",
    "426761007": "supraventricular tachycardia",
    "67198005": "paroxysmal supraventricular tachycardia",
    "164895002": "ventricular tachycardia",
    "425856008": "paroxysmal ventricular tachycardia",
    "164896001": "ventricular fibrillation",
    "426627000": "bradycardia",
    "17366009": "atrial arrhythmia",
    "10370003": "paced rhythm",
    "251268003": "atrial pacing",
    "426995002": "junctional escape beats",
    "426648003": "junctional tachycardia",
    "426664006": "accelerated junctional rhythm",
    "75532003": "ventricular escape beats",
    "81898007": "ventricular escape rhythm",
    "61277005": "accelerated idioventricular rhythm",
    "60423000": "sinus node dysfunction",
    "5609005": "sinus arrest",
    "50799005": "atrioventricular dissociation",
    "59118001": "right bundle branch block",
    "713427006": "complete right bundle branch block",
    "713426002": "incomplete right bundle branch block",
    "164909002": "left bundle branch block",
    "733534002": "complete left bundle branch block",
    "251120003": "incomplete left bundle branch block",
    "6374002": "bundle branch block",
    "445118002": "left anterior fascicular block",
    "445211001": "left posterior fascicular block",
    "698252002": "non-specific intraventricular conduction delay",
    "233917008": "atrioventricular block",
    "270492004": "first degree AV block",
    "195042002": "second degree AV block",
    "54016002": "second degree AV block, Mobitz I (Wenckebach)",
    "28189009": "second degree AV block, Mobitz II",
    "27885002": "third degree AV block",
    "74390002": "Wolff-Parkinson-White pattern",
    "164947007": "prolonged PR interval",
    "49578007": "short PR interval",
    "284470004": "premature atrial contractions",
    "63593006": "supraventricular premature beats",
    "427172004": "premature ventricular contractions",
    "17338001": "premature ventricular contractions",     # the Challenges score it as 427172004: one finding
    "164884008": "ventricular ectopic beats",
    "11157007": "ventricular bigeminy",
    "251180001": "ventricular trigeminy",
    "251173003": "atrial bigeminy",
    "39732003": "left axis deviation",
    "47665007": "right axis deviation",
    "164873001": "left ventricular hypertrophy",
    "55827005": "left ventricular hypertrophy",
    "89792004": "right ventricular hypertrophy",
    "67741000119109": "left atrial enlargement",
    "446813000": "left atrial enlargement",
    "446358003": "right atrial enlargement",
    "164865005": "myocardial infarction",
    "57054005": "acute myocardial infarction",
    "54329005": "anterior myocardial infarction",
    "164867002": "old myocardial infarction",
    "164861001": "myocardial ischaemia",
    "413444003": "acute myocardial ischaemia",
    "426434006": "anterior ischaemia",
    "425419005": "inferior ischaemia",
    "425623009": "lateral ischaemia",
    "164934002": "T wave abnormality",
    "59931005": "T wave inversion",
    "55930002": "ST segment changes",
    "428750005": "non-specific ST-T abnormality",
    "164930006": "ST interval abnormality",
    "429622005": "ST depression",
    "164931005": "ST elevation",
    "164917005": "abnormal Q waves",
    "251146004": "low QRS voltage",
    "111975006": "prolonged QT interval",
    "365413008": "poor R wave progression",
    "164912004": "P wave change",
    "164937009": "U wave abnormality",
    "251199001": "counterclockwise rotation",
    "251198002": "clockwise rotation",
    # the rest of the Challenge's unscored diagnoses (its dx_mapping_unscored.csv): shown as raw codes before,
    # abnormal QRS alone on 3,389 of its PTB-XL records
    "164951009": "abnormal QRS",
    "251200008": "indeterminate cardiac axis",
    "428417006": "early repolarization",
    "195126007": "atrial hypertrophy",
    "253352002": "left atrial abnormality",
    "253339007": "right atrial abnormality",
    "266249003": "ventricular hypertrophy",
    "370365005": "left ventricular strain",
    "413844008": "chronic myocardial ischaemia",
    "704997005": "inferior ST segment depression",
    "251259000": "high T wave voltage",
    "164921003": "R wave abnormality",
    "77867006": "short QT interval",
    "82226007": "diffuse intraventricular block",
    "204384007": "congenital incomplete AV block",
    "65778007": "sinoatrial block",
    "29320008": "AV junctional rhythm",
    "49260003": "idioventricular rhythm",
    "111288001": "ventricular flutter",
    "195060002": "ventricular pre-excitation",
    "195101003": "wandering atrial pacemaker",
    "251266004": "ventricular pacing",
    "13640000": "fusion beats",
    "251164006": "junctional premature complexes",
    "251170000": "blocked premature atrial contractions",
    "251182009": "paired ventricular premature complexes",
    "251168009": "supraventricular bigeminy",
    "282825002": "paroxysmal atrial fibrillation",
    "426749004": "chronic atrial fibrillation",
    "314208002": "rapid atrial fibrillation",
    "74615001": "brady-tachy syndrome",
    "698247007": "cardiac dysrhythmia",
    "251139008": "arm leads possibly reversed",
    "53741008": "coronary heart disease",
    "84114007": "heart failure",
    "368009": "heart valve disorder",
    "266257000": "transient ischaemic attack",
}

# The 71 SCP-ECG statements of PTB-XL (scp_statements.csv), in plain words.
SCP_ECG: dict[str, str] = {
    "NORM": "normal ECG", "SR": "sinus rhythm", "AFIB": "atrial fibrillation", "STACH": "sinus tachycardia",
    "SARRH": "sinus arrhythmia", "SBRAD": "sinus bradycardia", "PACE": "paced rhythm",
    "SVARR": "supraventricular arrhythmia", "BIGU": "bigeminy", "AFLT": "atrial flutter",
    "SVTAC": "supraventricular tachycardia", "PSVT": "paroxysmal supraventricular tachycardia",
    "TRIGU": "trigeminy",
    "IMI": "inferior myocardial infarction", "ASMI": "anteroseptal myocardial infarction",
    "ILMI": "inferolateral myocardial infarction", "AMI": "anterior myocardial infarction",
    "ALMI": "anterolateral myocardial infarction", "LMI": "lateral myocardial infarction",
    "IPLMI": "inferoposterolateral myocardial infarction", "IPMI": "inferoposterior myocardial infarction",
    "PMI": "posterior myocardial infarction",
    "LVH": "left ventricular hypertrophy", "RVH": "right ventricular hypertrophy",
    "SEHYP": "septal hypertrophy", "VCLVH": "voltage criteria for left ventricular hypertrophy",
    "LAO/LAE": "left atrial enlargement", "RAO/RAE": "right atrial enlargement",
    "LAFB": "left anterior fascicular block", "LPFB": "left posterior fascicular block",
    "IRBBB": "incomplete right bundle branch block", "CRBBB": "complete right bundle branch block",
    "ILBBB": "incomplete left bundle branch block", "CLBBB": "complete left bundle branch block",
    "IVCD": "non-specific intraventricular conduction delay", "WPW": "Wolff-Parkinson-White pattern",
    "1AVB": "first degree AV block", "2AVB": "second degree AV block",
    "3AVB": "third degree AV block", "LPR": "prolonged PR interval",
    "ISC_": "non-specific ischaemic changes", "ISCAL": "ischaemia in anterolateral leads",
    "ISCIN": "ischaemia in inferior leads", "ISCIL": "ischaemia in inferolateral leads",
    "ISCAS": "ischaemia in anteroseptal leads", "ISCLA": "ischaemia in lateral leads",
    "ISCAN": "ischaemia in anterior leads",
    "INJAS": "subendocardial injury in anteroseptal leads", "INJAL": "subendocardial injury in anterolateral leads",
    "INJIN": "subendocardial injury in inferior leads", "INJLA": "subendocardial injury in lateral leads",
    "INJIL": "subendocardial injury in inferolateral leads",
    "NDT": "non-diagnostic T wave abnormalities", "NST_": "non-specific ST changes",
    "DIG": "digitalis effect", "LNGQT": "prolonged QT interval",
    "ANEUR": "ST-T changes compatible with ventricular aneurysm",
    "EL": "electrolyte disturbance or drug effect", "ABQRS": "abnormal QRS", "PVC": "premature ventricular contractions",
    "STD_": "non-specific ST depression", "QWAVE": "Q waves present", "LOWT": "low amplitude T waves",
    "NT_": "non-specific T wave changes", "PAC": "premature atrial contractions",
    "INVT": "inverted T waves", "LVOLT": "low QRS voltages in the frontal and horizontal leads",
    "HVOLT": "high QRS voltage", "TAB_": "T wave abnormality", "STE_": "non-specific ST elevation",
    "PRC(S)": "premature complexes",
}

# header keys (lower-case, before the colon) whose value is a diagnosis in free text
DIAGNOSIS_KEYS = ("reason for admission", "acute infarction (localization)", "former infarction (localization)",
                  "additional diagnoses", "diagnosis", "diagnoses", "diagnose", "interpretation", "rhythm",
                  "statement", "statements", "report", "findings")
QUALIFYING_KEYS = ("acute infarction (localization)", "former infarction (localization)")
# keys whose value lists several diagnoses, one label each (PTB-DB's "Additional diagnoses: Atrial fibrillation,
# Hypertropic cardiomyopathy": as one label it was ranked as one phrase, and never matched a ranked "atrial
# fibrillation"). Other keys' commas are a diagnosis's own ("Atrial flutter, typical").
LIST_KEYS = ("additional diagnoses",)
NOT_GIVEN = {"", "n/a", "na", "nan", "none", "unknown", "no", "-", "?"}

_AGE_AND_SEX = re.compile(r"^age\s*:\s*(\S+)\s+sex\s*:\s*(\S+)\s*$", re.I)
# MIT-BIH's headers (and the databases made like them) begin with "<age> <sex> <numbers...>", "??" if unknown
_MIT_AGE_SEX = re.compile(r"^(\d{1,3}|\?+)\s+([MF]|\?+)(?:\s+\S+)*\s*$")
_KEY_VALUE = re.compile(r"^\s*<?\s*([A-Za-z][A-Za-z _()/.-]*?)\s*>?\s*:\s*(.*)$")
_CODE = re.compile(r"^\d{5,18}$")
_WORD = re.compile(r"[A-Za-z]+|[^A-Za-z\s]")


@dataclass(frozen=True)
class FileLabel:
    text: str              # plain words
    source: str            # "SNOMED CT", "SCP-ECG", "header text"
    code: str | None = None
    known: bool = True     # False: a code this decoder has no name for
    likelihood: float | None = None   # PTB-XL's statement likelihood (%), where given
    detail: str | None = None         # how much of the recording a rhythm annotation covers, e.g. "2:31 in 4 episodes"

    @property
    def words(self) -> str:
        """The label as every page lists it: with PTB-XL's likelihood, or how much of the recording an annotated
        rhythm covers: "atrial fibrillation (10:06 in 3 episodes)"."""
        return self.text + (f" ({self.likelihood:.0f}% likely)" if self.likelihood else
                            f" ({self.detail})" if self.detail else "")

    @property
    def phrase(self) -> str:
        """The label as a phrase to rank (label_phrase for a header's "Key: value" line; else its text)."""
        return label_phrase(self.text) if self.source == "header text" else self.text


def label_phrase(text: str) -> str:
    """A header's "Key: value" label as a phrase: its value alone where the key only says what kind of statement
    follows ("Rhythm: Sinus bradycardia") or the value names a finding by itself ("Electric axis of the heart:
    left axis deviation"); else whole, since such a value says only where or which kind ("STEMI: septal",
    PTB-DB's "Acute infarction (localization): infero-latera": "septal" alone is no finding, and the STEMI was
    lost). Text without a key is itself."""
    key, colon, value = text.partition(":")
    key, value = key.strip().lower(), value.strip()
    if not colon or not value:
        return text
    names_kind = key in DIAGNOSIS_KEYS and key not in QUALIFYING_KEYS
    return value if names_kind or value.lower() in finding_names() else text


@dataclass
class FileLabels:
    labels: list[FileLabel] = field(default_factory=list)
    age: str | None = None
    sex: str | None = None
    other_lines: int = 0   # comment lines that are neither labels nor age/sex (shown only on request)
    origin: str = ""       # where the labels come from when not from the file itself (a sentence)
    # The database's id of the patient ("ptbxl:15709", "ptbdb:patient201"), where the file or the database's
    # table gives one, else None. It identifies a person: kept in memory only to tell whether two files are one
    # patient's (same_patient), never shown on a page, printed in the PDF, logged or put in an error message
    # (repr=False keeps it out of the dataclass's repr, which an error or a log line could carry).
    patient_id: str | None = field(default=None, repr=False)

    @property
    def empty(self) -> bool:
        return not self.labels and self.age is None and self.sex is None


def same_patient(a: FileLabels | None, b: FileLabels | None) -> bool | None:
    """Whether two files are one patient's by the ids their database gives them (``FileLabels.patient_id``);
    None when either gives none, or they come from different databases (whose ids do not name the same
    people)."""
    if a is None or b is None or a.patient_id is None or b.patient_id is None:
        return None
    if a.patient_id.partition(":")[0] != b.patient_id.partition(":")[0]:
        return None
    return a.patient_id == b.patient_id


# PTB-DB's records are <patientNNN>/<sNNNNxxx> (a copy may flatten them to patientNNN_sNNNNxxx): the patient
# number is in the folder's name, whichever of the record's path, name or "Source: record ..." line gives it
_PTBDB_PATIENT = re.compile(r"(?:^|[/\\])(patient\d{3})[/\\_]s\d{4}\w{0,4}$", re.I)


def ptbdb_patient_id(*names: str, comments: Iterable[str] = ()) -> str | None:
    """``ptbdb:patientNNN`` from the first of `names` (a record's path or name) or of the header `comments`'
    ``Source: record ptbdb/patientNNN/sNNNN_re`` lines that names a PTB-DB record of a patient's folder; None
    when none does (PTB's own ``s0010_re`` names no patient). The one rule: the corpus builder groups PTB-DB
    records into patients with it too."""
    sources = [ln.split(":", 1)[1].strip().removeprefix("record").strip()
               for ln in (str(c).strip().lstrip("#%").strip() for c in comments) if ln.lower().startswith("source:")]
    for name in (*names, *sources):
        match = _PTBDB_PATIENT.search(str(name or "").strip())
        if match:
            return f"ptbdb:{match.group(1).lower()}"
    return None


def decode_snomed(codes: str) -> list[FileLabel]:
    out = []
    for code in re.split(r"[,;\s]+", codes.strip()):
        if not code:
            continue
        if code in SNOMED_CT:
            out.append(FileLabel(SNOMED_CT[code], "SNOMED CT", code))
        elif _CODE.match(code):
            out.append(FileLabel(f"SNOMED CT code {code} (not in this decoder's table)", "SNOMED CT", code,
                                 known=False))
    return out


def decode_scp(value: str) -> list[FileLabel]:
    """"{'NORM': 100.0, 'SR': 0.0}" (PTB-XL's scp_codes column) or "NORM, SR"."""
    value = value.strip()
    items: list[tuple[str, float | None]]
    if value.startswith("{"):
        try:
            parsed = ast.literal_eval(value)     # a literal only: no code is ever run
        except (ValueError, SyntaxError):
            parsed = {}
        items = [(str(k), float(v) if isinstance(v, (int, float)) else None)
                 for k, v in (parsed.items() if isinstance(parsed, dict) else [])]
    else:
        items = [(c, None) for c in re.split(r"[,;\s]+", value) if c]
    out = []
    for code, likelihood in items:
        code_u = code.upper()
        if code_u in SCP_ECG:
            out.append(FileLabel(SCP_ECG[code_u], "SCP-ECG", code_u, likelihood=likelihood))
        else:
            out.append(FileLabel(f"SCP-ECG statement {code} (not in this decoder's table)", "SCP-ECG", code,
                                 known=False, likelihood=likelihood))
    return out


def _plain(text: str) -> str:
    return " ".join(text.split()).strip(" .;")


def _listed_items(text: str) -> list[str]:
    """The items of a comma-separated list, a comma in brackets kept ("Coronary artery disease (PTCA, Stent)")."""
    items, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)          # an unmatched ")" does not hide the commas after it
        elif ch == "," and depth == 0:
            items.append(text[start:k])
            start = k + 1
    return [*items, text[start:]]


def _sex(value: str) -> str | None:
    """A header's sex in words; None when not said. A number is not read: PTB-XL's table codes 1 as female, ISO
    5218 (and other tables) as male, so a header's "Sex: 1" says nothing certain (PTB-XL's own: `_ptbxl_sex`)."""
    v = value.strip().lower()
    if v in ("m", "male", "man"):
        return "male"
    if v in ("f", "female", "woman", "w"):
        return "female"
    return None


PTBXL_SEX = {0: "male", 1: "female"}       # PTB-XL's table: "sex ... 0 male, 1 female"


def _ptbxl_sex(value: str) -> str | None:
    """The sex of a row of PTB-XL's table, written "1" or "1.0" (a copy saved by a spreadsheet); None otherwise."""
    try:
        return PTBXL_SEX.get(int(float(value)))
    except (ValueError, OverflowError):         # blank, "nan", "inf"
        return None


def _age(value: str) -> str | None:
    v = value.strip()
    m = re.match(r"^(\d{1,3})(?:\.\d+)?\s*(?:y|yr|yrs|years?)?$", v, re.I)
    if m and 0 <= int(m.group(1)) <= 130:
        return m.group(1)
    return None


# header keys that identify a person: such a line ends a diagnosis block and is only counted, never shown
IDENTIFYING_KEYS = frozenset({"patient", "name", "dob", "birth", "date of birth", "born", "mrn", "id", "patient id",
                              "record number", "address", "phone", "ssn", "insurance", "surname", "first name"})


# Words of diagnoses beyond those of the decoders' own names (SNOMED_CT, SCP_ECG, the rhythm annotations'):
# those of QTDB's and CPSC 2021's diagnosis lines. Not medications, procedures or recorders.
EXTRA_DIAGNOSIS_WORDS = frozenset("""coronary artery disease hypertension valvular paroxysmal persistent permanent
    non serum potassium imbalance cardiomyopathy heart failure subject lbbb rbbb or episodes""".split())
DIAGNOSIS_LINE_WORDS = 8         # longer free text is prose (MIT-BIH's notes), only counted


@functools.lru_cache(maxsize=1)
def finding_names() -> frozenset[str]:
    """The names (lower case) of the diagnoses this module names: SNOMED_CT's, SCP_ECG's, the rhythm annotations'."""
    from .readers.beat_labels import RHYTHM_WORDS
    return frozenset(name.lower() for name in (*SNOMED_CT.values(), *SCP_ECG.values(), *RHYTHM_WORDS.values()))


@functools.lru_cache(maxsize=1)
def diagnosis_words() -> frozenset[str]:
    """Every word (lower case) of the diagnoses this module names, and EXTRA_DIAGNOSIS_WORDS."""
    return frozenset(w for name in finding_names() for w in re.findall(r"[a-z]+", name)) | EXTRA_DIAGNOSIS_WORDS


def is_diagnosis_line(line: str) -> bool:
    """A comment line without a key that is a diagnosis: a few words, every one of them a word of a diagnosis
    (no digit, no other character but a comma, a hyphen or brackets)."""
    tokens = _WORD.findall(line)
    words = [t.lower() for t in tokens if t.isalpha()]
    return (0 < len(words) <= DIAGNOSIS_LINE_WORDS and all(t in ",-()." for t in tokens if not t.isalpha())
            and all(w in diagnosis_words() for w in words))


def file_labels(ecg: ECG) -> FileLabels:
    """The file's own labels, age and sex (see the module docstring for what is decoded)."""
    out = FileLabels()
    # each line single-spaced first: a run of spaces made the key's pattern backtrack (2,000 spaces: 5 s a call)
    lines = [" ".join(ln.split()).lstrip("#%").strip() for ln in str(ecg.metadata.get("comments", "")).splitlines()]
    in_diagnoses = False
    seen: set[tuple[str, str]] = set()

    def add(labels: list[FileLabel]) -> None:
        for lab in labels:
            if (lab.source, lab.text.lower()) not in seen:
                seen.add((lab.source, lab.text.lower()))
                out.labels.append(lab)

    first = next((k for k, ln in enumerate(lines) if ln), None)
    out.patient_id = ptbdb_patient_id(ecg.metadata.get("record_name"), ecg.name, comments=lines)
    for k, line in enumerate(lines):
        if not line:
            continue
        both = _AGE_AND_SEX.match(line) or (_MIT_AGE_SEX.match(line) if k == first else None)
        if both:                     # "Age: 47  Sex: M" (QTDB), or MIT-BIH's first line "69 M 1085 1629 x1"
            out.age = _age(both.group(1)) or out.age
            out.sex = _sex(both.group(2)) or out.sex
            in_diagnoses = False
            continue
        match = _KEY_VALUE.match(line)
        key = match.group(1).strip().lower() if match else ""
        value = match.group(2).strip() if match else line
        if key in IDENTIFYING_KEYS or key.split(" ")[0] in IDENTIFYING_KEYS:
            out.other_lines += 1                       # a name, birth date or record number: never shown
            in_diagnoses = False
            continue
        if key == "age":
            out.age = _age(value) or out.age
            in_diagnoses = False
            continue
        if key == "sex":
            out.sex = _sex(value) or out.sex
            in_diagnoses = False
            continue
        if key == "dx":
            add(decode_snomed(value))
            continue
        if key in ("scp_codes", "scp codes", "scp"):
            add(decode_scp(value))
            continue
        if key == "diagnoses" and not value:          # LUDB: the diagnoses follow, one per line
            in_diagnoses = True
            continue
        if in_diagnoses:
            add([FileLabel(_plain(line), "header text")])
            continue
        if key in DIAGNOSIS_KEYS:
            if value.lower().strip(" .") not in NOT_GIVEN:     # "Former infarction: no" says nothing
                # a value that is no diagnosis alone (PTB-DB's "infero-latera") keeps what it is the value of
                text = f"{match.group(1).strip()}: {value}" if key in QUALIFYING_KEYS else value
                items = _listed_items(text) if key in LIST_KEYS else [text]
                add([FileLabel(_plain(item), "header text") for item in items
                     if _plain(item) and _plain(item).lower() not in NOT_GIVEN])
            continue
        if key in ("rx", "hx", "sx") and value.lower() in NOT_GIVEN:
            continue                                   # the Challenges' empty placeholders
        if not match and is_diagnosis_line(line):      # "# persistent atrial fibrillation" (CPSC 2021)
            add([FileLabel(_plain(line), "header text")])
            continue
        out.other_lines += 1
    return out


PTBXL_TABLE = "ptbxl_database.csv"
_PTBXL_RECORD = re.compile(r"^(\d{5})_(lr|hr)$")


def ptbxl_record_id(ecg: ECG) -> int | None:
    """The ecg_id of a record named as PTB-XL names them (``00307_lr``, ``06001_hr``: 307, 6001), else None."""
    match = _PTBXL_RECORD.match(str(ecg.metadata.get("record_name") or ecg.name))
    return int(match.group(1)) if match else None


def ptbxl_labels(ecg: ECG, ptbxl_folder) -> FileLabels | None:
    """PTB-XL's statements (``scp_codes``, with their likelihoods), age and sex for a PTB-XL record, from the
    ``ptbxl_database.csv`` of the user's copy of PTB-XL in `ptbxl_folder`; None when `ecg` is not named as a
    PTB-XL record (``NNNNN_lr`` / ``NNNNN_hr``), the table is not there or has no such ecg_id, or the copy
    holds that record's signal and it is not this ECG's (another file under a PTB-XL name)."""
    match = _PTBXL_RECORD.match(str(ecg.metadata.get("record_name") or ecg.name))
    table_path = Path(ptbxl_folder) / PTBXL_TABLE
    if match is None or not table_path.is_file():
        return None
    stat = table_path.stat()
    row = _ptbxl_rows(str(table_path), stat.st_mtime_ns, stat.st_size).get(int(match.group(1)))
    if row is None:
        return None
    how = _how_matched(ecg, Path(ptbxl_folder) / f"{row.get('filename_' + match.group(2), '')}.hea")
    if how is None:
        return None
    return _ptbxl_row_labels(row, f"From PTB-XL's table, ecg_id {int(match.group(1))} ({PTBXL_TABLE} in your "
                                  f"data folder; {how}): PTB-XL's own headers carry no labels.")


def ptbxl_labels_in(ecg: ECG, rows: dict[int, dict[str, str]], where: str) -> FileLabels | None:
    """The same labels from a PTB-XL table already read (``ptbxl_table_rows``), matched by the record's name
    alone: for a record fetched from the same PhysioNet database as the table. `where`: the table's origin
    in words ("PhysioNet's ptb-xl/1.0.3"). None when `ecg` is not named as a PTB-XL record or the table has no
    such ecg_id."""
    ecg_id = ptbxl_record_id(ecg)
    row = rows.get(ecg_id) if ecg_id is not None else None
    if row is None:
        return None
    return _ptbxl_row_labels(row, f"From PTB-XL's table, ecg_id {ecg_id} ({PTBXL_TABLE} of {where}; "
                                  f"matched by the record's name): PTB-XL's own headers carry no labels.")


def _ptbxl_row_labels(row: dict[str, str], origin: str) -> FileLabels:
    return FileLabels(labels=decode_scp(row.get("scp_codes", "")), age=_age(row.get("age", "")),
                      sex=_ptbxl_sex(row.get("sex", "")), origin=origin, patient_id=_ptbxl_patient(row))


def _ptbxl_patient(row: dict[str, str]) -> str | None:
    """``ptbxl:N`` from a row's patient_id ("15709" or "15709.0"), None when the row gives none."""
    try:
        return f"ptbxl:{int(float(row.get('patient_id') or ''))}"
    except (ValueError, OverflowError):         # blank, "nan", "inf": no id
        return None


def _how_matched(ecg: ECG, header: Path) -> str | None:
    """How a database's labels were matched to `ecg`, named as the copy's record `header`: by the name alone
    (the copy does not hold the record, or it cannot be read), by name and signal; None when the copy holds
    another signal under that name (so the labels are not this ECG's)."""
    same = is_recording_of(ecg, header)
    if same is False:
        return None
    return "matched by the record's name and its signal" if same else "matched by the record's name"


def is_recording_of(ecg: ECG, header: Path) -> bool | None:
    """Whether `ecg` is the record `header` of a database copy (the same samples, rate and leads: the
    project's one content hash); None when the copy does not hold it or it cannot be read."""
    header = Path(header)
    if not header.is_file():
        return None
    record, mtime = str(header.with_suffix("")), header.stat().st_mtime_ns
    shape = _record_shape(record, mtime)
    if shape is not None and shape != (float(ecg.fs), int(ecg.n_samples)):
        return False              # told by its header: a 30-min record is not read whole to say it is not this
    head = _record_head(record, mtime)
    if head is not None:          # ... nor by its first second (MIT-BIH's records are all 30 min at 360 Hz)
        mine = ecg.signal[:, :head.shape[1]]
        if mine.shape != head.shape or not np.array_equal(mine, head, equal_nan=True):
            return False
    theirs = _record_hash(record, mtime)
    return None if theirs is None else theirs == ecg.content_hash()


@functools.lru_cache(maxsize=256)
def _record_head(record: str, mtime_ns: int):
    """The first second of a record of the user's copy as read_ecg reads it (12 x n, mV), or None."""
    from .readers import read_ecg
    try:
        return read_ecg(record, end_s=1.0).signal
    except Exception:  # noqa: BLE001 - unreadable: the content hash decides, or nothing does
        return None


@functools.lru_cache(maxsize=256)
def _record_shape(record: str, mtime_ns: int) -> tuple[float, int] | None:
    """(sampling rate, samples per lead) of a record of the user's copy, from its header alone; None when the
    header does not say (or cannot be read): then only its samples can tell."""
    try:
        import wfdb
        hdr = wfdb.rdheader(record)
        return (float(hdr.fs), int(hdr.sig_len)) if hdr.fs and hdr.sig_len else None
    except Exception:  # noqa: BLE001 - unreadable: the content hash decides, or nothing does
        return None


@functools.lru_cache(maxsize=64)
def _record_hash(record: str, mtime_ns: int) -> str | None:
    """The content hash of a record of the user's copy of a database as read_ecg reads it (kept: the page asks
    for its labels on every run); None when it cannot be read."""
    from .readers import read_ecg
    try:
        return read_ecg(record).content_hash()
    except Exception:  # noqa: BLE001 - an unreadable copy cannot confirm the match: the name alone
        return None


@functools.lru_cache(maxsize=2)
def _ptbxl_rows(path: str, mtime_ns: int, size: int) -> dict[int, dict[str, str]]:
    """``ptbxl_table_rows`` of a file, read once per version of it."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return ptbxl_table_rows(f)


def ptbxl_table_rows(lines) -> dict[int, dict[str, str]]:
    """ecg_id -> the columns the PTB-XL labels use, as text, from the lines of a ``ptbxl_database.csv`` (an
    open file or a list of lines). The ids and numbers may be written as "1" or "1.0" (a copy saved by a
    spreadsheet); rows without an id are skipped."""
    import csv
    wanted = ("scp_codes", "age", "sex", "patient_id", "filename_lr", "filename_hr")
    rows: dict[int, dict[str, str]] = {}
    for rec in csv.DictReader(lines):
        try:
            ecg_id = int(float(rec.get("ecg_id") or ""))
        except ValueError:
            continue
        rows[ecg_id] = {k: str(rec.get(k) or "").strip() for k in wanted}
    return rows


CINC2017_REFERENCE = "REFERENCE.csv"
_CINC2017_RECORD = re.compile(r"^A\d{5}$")
# the PhysioNet/CinC Challenge 2017's four classes of a handheld single-lead recording
CINC2017_CLASSES = {"N": "normal sinus rhythm", "A": "atrial fibrillation",
                    "O": "other rhythm (neither normal nor atrial fibrillation)", "~": "too noisy to classify"}


def cinc2017_labels(ecg: ECG, cinc_folder) -> FileLabels | None:
    """The PhysioNet/CinC Challenge 2017's rhythm class of one of its records (``A00001``), from the
    ``REFERENCE.csv`` of the user's copy in `cinc_folder` (its records' headers carry none); None when `ecg` is
    not named as a Challenge 2017 record, the table is not there or does not list it, or the copy holds that
    record's signal and it is not this ECG's."""
    name = str(ecg.metadata.get("record_name") or ecg.name)
    table = Path(cinc_folder) / CINC2017_REFERENCE
    if not _CINC2017_RECORD.match(name) or not table.is_file():
        return None
    code = _cinc2017_rows(str(table), table.stat().st_mtime_ns).get(name)
    if code not in CINC2017_CLASSES:
        return None
    how = _how_matched(ecg, Path(cinc_folder) / f"{name}.hea")
    if how is None:
        return None
    return FileLabels(labels=[FileLabel(CINC2017_CLASSES[code], "CinC 2017 reference", code)],
                      origin=f"From the PhysioNet/CinC Challenge 2017's reference classes ({CINC2017_REFERENCE} in "
                             f"your data folder; {how}): its records' own files carry no labels.")


@functools.lru_cache(maxsize=2)
def _cinc2017_rows(path: str, mtime_ns: int) -> dict[str, str]:
    """record name -> class code, from a REFERENCE.csv ('A00001,N' per line), read once per version of it."""
    rows = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            name, _, code = line.strip().partition(",")
            if name:
                rows[name.strip()] = code.strip()
    return rows


def rhythm_labels(beats, fs: float, n_samples: int) -> list[FileLabel]:
    """The rhythms a recording's annotation file marks (``readers.beat_labels.Beats.rhythms``), one label per
    rhythm in the order first seen, with how long and in how many episodes; a note this module has no words
    for is shown as it is written. A note in the recording's last second begins no rhythm: CPSC 2021 marks
    the end of every record with one (``(N`` at the last sample of a persistent-AF record)."""
    from .readers.beat_labels import RHYTHM_WORDS, rhythm_words
    spans: dict[str, list[int]] = {}
    for start, end, note in beats.rhythm_spans(n_samples) if beats is not None else []:
        if start >= n_samples - fs:
            continue
        spans.setdefault(note, []).append(end - start)
    out = []
    for note, lengths in spans.items():
        total = int(round(sum(lengths) / fs))
        clock = f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}" if total >= 3600 else \
            f"{total // 60}:{total % 60:02d}"
        detail = f"{clock} in {len(lengths)} episode{'s' if len(lengths) != 1 else ''}"
        out.append(FileLabel(rhythm_words(note), f"rhythm annotation ({beats.source})", note,
                             known=note in RHYTHM_WORDS, detail=detail))
    return out
