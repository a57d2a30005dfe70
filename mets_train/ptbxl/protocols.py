"""Zero-shot evaluation protocols: the METS paper's, the PTB-XL benchmark's, and MIT-BIH beats.

- `mets`: from PTB-XL fold 10, per task (superclass, form, rhythm) 5 classes x 200 ECGs, single-label
  (an ECG is drawn for class c only if c is the only one of the task's 5 classes it carries), seeded;
  zero-shot = argmax of cosine similarity over the 5 class prompts; accuracy and macro P/R/F1.
- `ptbxl-auc`: every fold-10 ECG, multi-label; per level (superclass, subclass, form, rhythm) the ROC AUC of
  each class's prompt similarity against its labels, macro-averaged over classes with both outcomes.
- `mitbih`: 5 beat classes (N, LBBB=L, RBBB=R, APB=A, PVC=V) x 100 beats, drawn uniformly (seeded) from all
  annotated beats of that symbol in the given records; each beat is shown to the model as the 10 s window
  centred on it (shifted inward at record edges). Why 10 s: the encoder is trained on, and only ever sees,
  10 s windows -- a single beat zero-padded to 10 s would be out of distribution. What it means: an LBBB or
  RBBB window is a run of bundle-branch-block beats (those rhythms persist), while an APB or PVC window is
  a 10 s strip *containing* that premature beat among others; the question asked is "which of the five
  does this strip show", as a clinician reading a strip would answer it.

The paper's numbers are consistent with F1 = 2PR/(P+R) of the macro precision and recall (e.g. superclass
.694/.626 -> .658, reported .657); we report that (`f1_of_macro_pr`) and the usual mean of per-class F1
(`macro_f1`).

Evaluation metadata (which ECGs, which beats) is sampled from labels alone, before any signal is read, so the
same seed gives the same test set on any machine; only ECGs whose signals are present are then evaluated and
`n_evaluated` says how many (`forms_read`: in which signal form, dataset.SIGNAL_FORMS; z-scored arrays only
for a model that z-scores each lead itself). `folds` replaces the protocol's test fold 10, e.g. [9] to run
a protocol on the validation fold. With few ECGs a score means little: each result carries the 95% (Wilson)
interval of its accuracy and the classes with fewer than MIN_VALIDATION_POSITIVES ECGs, and the table warns.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mets_core.index import record_key
from mets_core.knowledge import MIN_VALIDATION_POSITIVES
from mets_core.prompts import build_prompt_embeddings
from ..metrics import macro, roc_auc
from .dataset import PTBXL, TEST_FOLDS, PTBXLError, describe_forms, forms_for_input

PROTOCOLS = ("mets", "ptbxl-auc", "mitbih")
DEFAULT_PROMPTS, DEFAULT_SAMPLE_SEED = "paper", 0      # the paper's single template; the sampling seed
# MIT-BIH records with paced beats; the AAMI convention (and de Chazal's DS1/DS2 split) leaves them out.
PACED_RECORDS = ("102", "104", "107", "217")


@lru_cache(maxsize=None)
def load_protocols() -> dict:
    data = json.loads((Path(__file__).with_name("protocols.json")).read_text(encoding="utf-8"))
    data.pop("_comment", None)
    return data


# ---------------------------------------------------------------------------------------- metrics

def classification_metrics(y_true: list[str] | np.ndarray, y_pred: list[str] | np.ndarray,
                           classes: list[str]) -> dict:
    """Accuracy, per-class and macro precision/recall/F1 (a class never predicted has precision 0, as
    sklearn's zero_division=0), F1 of the macro P and R (the paper's convention), and the confusion matrix
    (rows = truth, columns = prediction, in `classes` order)."""
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} vs {len(y_pred)}")
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in np.concatenate([y_true, y_pred]) if v not in index})
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {classes}")
    k = len(classes)
    confusion = np.zeros((k, k), dtype=int)
    for t, p in zip(y_true, y_pred):
        confusion[index[t], index[p]] += 1
    tp = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0).astype(float)
    support = confusion.sum(axis=1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    present = support > 0                      # macro over classes that occur in the test set
    n = int(confusion.sum())
    correct = int(tp.sum())
    mp = float(precision[present].mean()) if present.any() else float("nan")
    mr = float(recall[present].mean()) if present.any() else float("nan")
    return {
        "n": n,
        "accuracy": float(correct / n) if n else float("nan"),
        "accuracy_ci95": wilson_interval(correct, n),
        "classes_under_min": {c: int(support[i]) for i, c in enumerate(classes)
                              if support[i] < MIN_VALIDATION_POSITIVES},
        "macro_precision": mp,
        "macro_recall": mr,
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "f1_of_macro_pr": float(2 * mp * mr / (mp + mr)) if n and (mp + mr) > 0 else (0.0 if n else float("nan")),
        "per_class": {c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                          "support": int(support[i])} for i, c in enumerate(classes)},
        "confusion": confusion.tolist(),
        "classes": list(classes),
    }


def wilson_interval(k: int, n: int, z: float = 1.96) -> list[float] | None:
    """95% Wilson score interval of a proportion k/n ([low, high]; None when n is 0). Unlike k/n +- z*SE it
    stays inside [0, 1] and is wide when n is small: 2 of 2 correct gives [0.34, 1.00]."""
    if n <= 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


# ---------------------------------------------------------------------------------------- prompts

def class_prompt_embeddings(model, phrases: list[str], kind: str, prompts: str = "paper") -> np.ndarray:
    """(k, d) L2-normalised prompt embeddings. "paper": the single METS template of the model's template set
    ("The ECG of {label}, a type of diagnostic."); "ensemble": as the product scores a typed prompt
    (`METS.embed_prompts`: knowledge expansion, the set's template ensemble)."""
    if prompts == "paper":
        return build_prompt_embeddings(model.embed_text, list(phrases), [model.templates["zero_shot"][kind]])
    if prompts == "ensemble":
        return model.embed_prompts(list(phrases), kind)
    raise ValueError(f"unknown prompt style {prompts!r}; use paper or ensemble")


def zero_shot_similarities(model, ecgs, phrases: list[str], kind: str, prompts: str = "paper") -> np.ndarray:
    """(n_ecgs, k) cosine similarities of each ECG to each class prompt."""
    if not ecgs:
        return np.zeros((0, len(phrases)), dtype=np.float32)
    return model.embed_ecg(list(ecgs)) @ class_prompt_embeddings(model, phrases, kind, prompts).T


# ---------------------------------------------------------------------------------------- PTB-XL

def sample_single_label(dataset: PTBXL, level: str, classes: list[str], folds, n_per_class: int,
                        seed: int) -> dict[str, list[int]]:
    """class -> ecg_ids: up to n_per_class ECGs of the folds whose labels (at `level`) include that class
    and none of the other classes; drawn without replacement by a seeded generator, from metadata only."""
    ids = dataset.ids(list(folds))
    labels = dataset.labels(level, ids)
    wanted = set(classes)
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {}
    for c in classes:
        eligible = np.array([i for i, found in zip(ids, labels) if (found & wanted) == {c}], dtype=np.int64)
        take = min(n_per_class, len(eligible))
        out[c] = sorted(int(i) for i in rng.choice(eligible, size=take, replace=False)) if take else []
    return out


class HeldBackTestFold(PTBXLError):
    """PTB-XL's test fold is asked for, but the folder holds the signals of only some of its ECGs (a copy whose
    test fold is held back, or an incomplete download): none of them is read. `present` of `total` have one."""

    def __init__(self, root: Path, present: int, total: int):
        self.root, self.present, self.total = root, present, total
        super().__init__(f"only {present} of the {total} ECGs of PTB-XL's test fold {TEST_FOLDS[0]} have a signal in "
                         f"{root} (a held-back or incomplete copy): none is read; evaluate on folds=[9] (the "
                         f"validation fold), or complete the copy")


def check_test_fold(dataset: PTBXL, folds) -> None:
    """Refuse the test fold unless every one of its ECGs has a signal, before any signal is read. A folder
    whose test fold is held back may still hold a few of its ECGs (the development folder has 2 of fold 10 at
    500 Hz): scoring those read ECGs the project never reads, and gave a "macro AUC" of 2 ECGs."""
    test = [f for f in folds if f in TEST_FOLDS]
    if not test:
        return
    ids = dataset.ids(test)
    present = sum(dataset.has_signal(i) for i in ids)
    if present < len(ids):
        raise HeldBackTestFold(dataset.root, present, len(ids))


def _read_present(dataset: PTBXL, ids: list[int]) -> tuple[list[int], list]:
    present = [i for i in ids if dataset.has_signal(i)]
    return present, [dataset.read(i) for i in present]


def run_mets_protocol(model, dataset: PTBXL, seed: int = 0, prompts: str = "paper",
                      n_per_class: int | None = None, folds: list[int] | None = None,
                      corpus: str | Path | None = None) -> dict:
    spec = load_protocols()["mets"]
    n_per_class = n_per_class or spec["n_per_class"]
    folds = list(folds or spec["folds"])
    check_test_fold(dataset, folds)
    out = {}
    for task, t in spec["tasks"].items():
        classes = list(t["classes"])
        drawn = sample_single_label(dataset, t["level"], classes, folds, n_per_class, seed)
        truth = {i: c for c, ids in drawn.items() for i in ids}
        present, ecgs = _read_present(dataset, sorted(truth))
        sims = zero_shot_similarities(model, ecgs, [t["classes"][c] for c in classes], t["kind"], prompts)
        pred = [classes[j] for j in sims.argmax(axis=1)] if len(present) else []
        metrics = classification_metrics([truth[i] for i in present], pred, classes)
        out[task] = {"folds": folds, "n_target": n_per_class * len(classes),
                     "n_sampled": {c: len(v) for c, v in drawn.items()}, "n_evaluated": len(present),
                     "evaluated_ids": present, "forms_read": dataset.form_counts(present),
                     "pretraining": pretraining_exposure(model, "ptbxl", present, corpus), **metrics}
    return out


def run_ptbxl_auc(model, dataset: PTBXL, prompts: str = "paper", folds: list[int] | None = None,
                  corpus: str | Path | None = None) -> dict:
    spec = load_protocols()["ptbxl-auc"]
    folds = list(folds or spec["folds"])
    check_test_fold(dataset, folds)
    ids, ecgs = _read_present(dataset, dataset.ids(folds))
    emb = model.embed_ecg(ecgs) if ecgs else None
    out = {}
    for level, kind in spec["levels"].items():
        classes = dataset.classes(level)
        phrase_table = spec.get(f"{level}_phrases") or {}
        phrases = [phrase_table.get(c) or dataset.statements[c].description for c in classes]
        _, y = dataset.label_matrix(level, ids, classes)
        auc: dict[str, float | None] = {c: None for c in classes}
        if emb is not None:
            sims = emb @ class_prompt_embeddings(model, phrases, kind, prompts).T
            auc = {c: roc_auc(y[:, j], sims[:, j]) for j, c in enumerate(classes)}
        defined = [c for c in classes if auc[c] is not None]
        positives = dict(zip(classes, y.sum(axis=0).astype(int).tolist()))
        out[level] = {"n_evaluated": len(ids), "n_classes": len(classes), "n_classes_scored": len(defined),
                      "macro_auc": macro(auc.values()), "auc": auc, "n_positive": positives,
                      "n_scored_under_min": sum(positives[c] < MIN_VALIDATION_POSITIVES for c in defined)}
    out["folds"] = folds
    out["evaluated_ids"] = ids
    out["forms_read"] = dataset.form_counts(ids)
    out["pretraining"] = pretraining_exposure(model, "ptbxl", ids, corpus)
    return out


# ---------------------------------------------------------------------------------------- MIT-BIH

@dataclass(frozen=True)
class Beat:
    record: str
    sample: int          # annotation sample index at the record's rate
    symbol: str
    label: str           # protocol class name (N, LBBB, RBBB, APB, PVC)


def mitbih_records(mitdb_dir: str | Path, records: list[str] | None = None,
                   exclude_paced: bool = True) -> list[str]:
    """Records of the folder that have a header, a signal and an .atr annotation file."""
    folder = Path(mitdb_dir)
    if records:
        names = [str(r) for r in records]
    else:
        names = sorted(p.stem for p in folder.glob("*.atr"))
        if exclude_paced:
            names = [r for r in names if r not in PACED_RECORDS]
    missing = [r for r in names if not all((folder / f"{r}.{e}").is_file() for e in ("hea", "atr"))]
    if missing:
        raise FileNotFoundError(f"MIT-BIH records {missing} lack .hea/.atr files in {folder}")
    if not names:
        raise FileNotFoundError(f"no MIT-BIH records (*.hea + *.atr) in {folder}; `mets download mitdb --to DIR`")
    return names


def sample_beats(mitdb_dir: str | Path, records: list[str], n_per_class: int, seed: int,
                 classes: dict | None = None) -> list[Beat]:
    """n_per_class beats per class, uniformly without replacement from all beats of the class's symbol in
    the records (pooled), seeded. Fewer if fewer exist."""
    import wfdb

    classes = classes or load_protocols()["mitbih"]["classes"]
    symbol_to_label = {v["symbol"]: k for k, v in classes.items()}
    pool: dict[str, list[tuple[str, int, str]]] = {k: [] for k in classes}
    for r in records:
        ann = wfdb.rdann(str(Path(mitdb_dir) / r), "atr")
        for s, sym in zip(ann.sample, ann.symbol):
            if sym in symbol_to_label:
                pool[symbol_to_label[sym]].append((r, int(s), sym))
    rng = np.random.default_rng(seed)
    beats = []
    for label in classes:
        candidates = pool[label]
        take = min(n_per_class, len(candidates))
        for j in sorted(rng.choice(len(candidates), size=take, replace=False)) if take else []:
            r, s, sym = candidates[j]
            beats.append(Beat(r, s, sym, label))
    return beats


def beat_window(sample: int, fs: float, sig_len: int, window_s: float) -> tuple[int, int]:
    """[start, stop) of the window_s window centred on `sample`, shifted inward at the record's edges."""
    n = int(round(window_s * fs))
    if n > sig_len:
        raise ValueError(f"record of {sig_len} samples is shorter than a {window_s:g} s window")
    start = int(sample) - n // 2
    start = max(0, min(start, sig_len - n))
    return start, start + n


def read_beat_window(mitdb_dir: str | Path, beat: Beat, window_s: float):
    import wfdb

    from mets_core.ecg import ECG

    path = str(Path(mitdb_dir) / beat.record)
    header = wfdb.rdheader(path)
    start, stop = beat_window(beat.sample, header.fs, header.sig_len, window_s)
    rec = wfdb.rdrecord(path, sampfrom=start, sampto=stop)
    return ECG.from_leads(rec.p_signal.T, list(rec.sig_name), rec.fs,
                          name=f"mitdb-{beat.record}-{beat.sample}")


def run_mitbih(model, mitdb_dir: str | Path, records: list[str] | None = None, seed: int = 0,
               prompts: str = "paper", n_per_class: int | None = None, corpus: str | Path | None = None) -> dict:
    spec = load_protocols()["mitbih"]
    n_per_class = n_per_class or spec["n_per_class"]
    names = mitbih_records(mitdb_dir, records)
    beats = sample_beats(mitdb_dir, names, n_per_class, seed, spec["classes"])
    classes = list(spec["classes"])
    ecgs = [read_beat_window(mitdb_dir, b, spec["window_s"]) for b in beats]
    sims = zero_shot_similarities(model, ecgs, [spec["classes"][c]["phrase"] for c in classes], spec["kind"], prompts)
    pred = [classes[j] for j in sims.argmax(axis=1)]
    metrics = classification_metrics([b.label for b in beats], pred, classes)
    counts = {c: sum(b.label == c for b in beats) for c in classes}
    return {"records": names, "window_s": spec["window_s"], "n_target": n_per_class * len(classes),
            "n_sampled": counts, "n_evaluated": len(beats),
            "pretraining": pretraining_exposure(model, "mitdb", names, corpus), **metrics}


# ---------------------------------------------------------------------------------------- exposure

UNTRAINED = "an untrained (random-init) model"


def pretraining_exposure(model, source: str, records: list, corpus: str | Path | None = None) -> dict:
    """Were these records in the model's pretraining? Read from the windows.csv of `corpus` (a copy of the
    model's pretraining corpus), else of the corpus the checkpoint names (training.corpus). {"status": "seen" |
    "partly seen" | "unseen" | "unknown", "train": [...], "val": [...], "absent": [...]}: "train" records were
    trained on, "val" ones only validated on (they chose the checkpoint: not trained on, yet not untouched).
    Without the corpus, the weights' knowledge.json still says which databases were in it and how many of
    their windows were trained on ("training_windows"); a database it does not list was never seen."""
    training = getattr(model, "training", None) or {}
    if not training and getattr(model, "source", None) is None:
        return {"status": "unseen", "why": UNTRAINED, "train": [], "val": [], "absent": []}
    named = corpus or training.get("corpus")
    table = Path(named) / "windows.csv" if named else None
    if table is None or not table.is_file():
        why = ("the checkpoint does not name its pretraining corpus" if not named else
               f"its pretraining corpus {named} is not on this machine")
        knowledge = getattr(model, "knowledge", None)
        summary = knowledge.summary() if knowledge is not None else None
        by_source = (summary or {}).get("training_data") or {}
        if by_source and source not in by_source:
            return {"status": "unseen", "why": f"the weights' knowledge.json lists the databases the model trained "
                                               f"on ({', '.join(sorted(by_source))}); {source} is not one of them",
                    "train": [], "val": [], "absent": sorted({record_key(r) for r in records})}
        out = {"status": "unknown", "why": why, "source": source}
        if source in by_source:
            counts = by_source[source]
            out["training_windows"] = {"train": int(counts.get("train windows", 0)),
                                       "val": int(counts.get("val windows", 0))}
        return out
    import csv

    split: dict[str, set[str]] = {}
    with open(table, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("source") == source:
                split.setdefault(record_key(row["record"]), set()).add(row.get("split", "train"))
    keys = [record_key(r) for r in records]
    train = sorted({k for k in keys if "train" in split.get(k, ())})
    val = sorted({k for k in keys if k in split and "train" not in split[k]})
    absent = sorted({k for k in keys if k not in split})
    status = "seen" if train and not (val or absent) else "unseen" if not train else "partly seen"
    return {"status": status, "corpus": str(named), "train": train, "val": val, "absent": absent}


# ---------------------------------------------------------------------------------------- locate data

def locate(data_dir: str | Path, what: str) -> Path:
    """The PTB-XL or MIT-BIH folder: DIR itself, or DIR/ptbxl, DIR/mitdb (the layout of `mets download`)."""
    root = Path(data_dir).expanduser()
    sub = {"ptbxl": "ptbxl", "mitdb": "mitdb"}[what]
    for folder in (root, root / sub):
        if what == "ptbxl" and (folder / "ptbxl_database.csv").is_file():
            return folder
        if what == "mitdb" and any(folder.glob("*.atr")):
            return folder
    hint = "ptbxl_database.csv" if what == "ptbxl" else "MIT-BIH records (*.hea, *.dat, *.atr)"
    raise (PTBXLError if what == "ptbxl" else FileNotFoundError)(
        f"no {hint} in {root} or {root / sub}; `mets download {what} --to {root}` fetches it")


def run_protocol(name: str, model, data_dir: str | Path, seed: int = DEFAULT_SAMPLE_SEED,
                 prompts: str = DEFAULT_PROMPTS, records: list[str] | None = None, n_per_class: int | None = None,
                 folds: list[int] | None = None, corpus: str | Path | None = None) -> dict:
    """`folds`: PTB-XL folds to test on instead of the protocol's (fold 10); `corpus`: a copy of the model's
    pretraining corpus to check the records against (default the one its checkpoint names)."""
    if name in ("mets", "ptbxl-auc"):
        dataset = PTBXL(locate(data_dir, "ptbxl"), forms=forms_for_input(model.preprocess_cfg.normalise))
        if name == "mets":
            return run_mets_protocol(model, dataset, seed, prompts, n_per_class, folds, corpus)
        return run_ptbxl_auc(model, dataset, prompts, folds, corpus)
    if name == "mitbih":
        if folds:
            raise ValueError("--folds chooses PTB-XL folds; the mitbih protocol takes --records instead")
        return run_mitbih(model, locate(data_dir, "mitdb"), records, seed, prompts, n_per_class, corpus)
    raise ValueError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")


# ---------------------------------------------------------------------------------------- tables

PAPER = {  # METS (Li et al., MIDL 2023) zero-shot: accuracy, macro precision, recall, F1
    "superclass": (0.842, 0.694, 0.626, 0.657), "form": (0.734, 0.537, 0.503, 0.518),
    "rhythm": (0.746, 0.576, 0.612, 0.593), "mitbih": (0.794, 0.680, 0.735, 0.706),
}


def _f(x) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


def _exposure(e: dict | None) -> str:
    """The short verdict printed at the end of a result row (exposure_note gives the why)."""
    if not e or e["status"] == "unknown":
        return "records in pretraining: not known (below)"
    if e["status"] == "unseen":
        if e.get("val"):
            return f"records not trained on ({len(e['val'])} were its validation records)"
        return "records UNSEEN in pretraining"
    return (f"records SEEN in pretraining ({len(e['train'])} trained on"
            + (f", {len(e['val'])} validation only" if e["val"] else "")
            + (f", {len(e['absent'])} absent" if e["absent"] else "") + ")")


def exposure_note(name: str, source: str, e: dict | None) -> str | None:
    """One line on what is known about a model's pretraining when its record list is not at hand."""
    if not e or "corpus" in e or e.get("why") == UNTRAINED:       # a record-by-record answer, or nothing to add
        return None
    source = e.get("source", source)
    if e["status"] == "unseen":
        return f"{name}: {source} records unseen: {e['why']}"
    line = f"{name}: which {source} records the model trained on is not known: {e.get('why', 'no corpus')}"
    windows = e.get("training_windows")
    if windows:
        line += (f"; its knowledge.json says it trained on {windows['train']} {source} windows and validated on "
                 f"{windows['val']}")
    return line + "; pass --corpus DIR (a copy of its pretraining corpus) to check record by record"


def small_n_warnings(name: str, task: str, r: dict) -> list[str]:
    """Warnings for a result too small to mean much: fewer ECGs than the protocol's n, or classes with fewer
    than MIN_VALIDATION_POSITIVES ECGs (their precision and recall, and the macro averages, are noise)."""
    n, target = r.get("n_evaluated", 0), r.get("n_target")
    drawn = sum((r.get("n_sampled") or {}).values())
    few = r.get("classes_under_min") or {}
    if not (few or n < drawn or (target and drawn < target)):
        return []
    ci = r.get("accuracy_ci95")
    size = f"n={n}" + (f" of {drawn} drawn, the others have no signal here" if n < drawn else "")
    acc = f"accuracy {_f(r.get('accuracy'))} ({size}; 95% CI {ci[0]:.2f}-{ci[1]:.2f})" if ci else f"{size}: no score"
    under = ", ".join(f"{c} {k}" for c, k in few.items())
    return [f"warning: {name} {task}: {acc}" + (f"; the protocol draws {target}" if target and drawn < target else "")
            + (f"; classes with fewer than {MIN_VALIDATION_POSITIVES}: {under}" if under else "")
            + ": this number means little"]


def format_results(protocol: str, results: dict[str, dict]) -> str:
    """results: model column name -> protocol output."""
    lines, notes = [], []
    if protocol in ("mets", "mitbih"):
        head = (f"{'model':14s} {'task':11s} {'n':>5s} {'acc':>6s} {'acc 95% CI':>11s} {'P':>6s} {'R':>6s} {'F1':>6s} "
                f"{'F1(P,R)':>8s}   paper acc/P/R/F1")
        lines += [head, "-" * len(head)]
        for name, res in results.items():
            tasks = res.items() if protocol == "mets" else [("mitbih", res)]
            for task, r in tasks:
                paper = "/".join(f"{v:.3f}" for v in PAPER[task])
                ci = r.get("accuracy_ci95")
                ci_text = f"{ci[0]:.2f}-{ci[1]:.2f}" if ci else "-"
                lines.append(f"{name[:14]:14s} {task:11s} {r['n_evaluated']:5d} {_f(r['accuracy']):>6s} "
                             f"{ci_text:>11s} {_f(r['macro_precision']):>6s} {_f(r['macro_recall']):>6s} "
                             f"{_f(r['macro_f1']):>6s} {_f(r['f1_of_macro_pr']):>8s}   {paper}   "
                             f"{_exposure(r.get('pretraining'))}")
                notes += small_n_warnings(name, task, r)
            first = next(iter(res.values())) if protocol == "mets" else res
            note = exposure_note(name, "mitdb" if protocol == "mitbih" else "ptbxl", first.get("pretraining"))
            notes += [note] if note else []
            if protocol == "mets":
                forms = list(first["forms_read"])
                notes.append(f"{name}: PTB-XL folds {first['folds']}; ECGs read per task ({' / '.join(forms)}): "
                             + ", ".join(f"{task} " + "/".join(str(r["forms_read"][f]) for f in forms)
                                         for task, r in res.items()))
    else:
        head = (f"{'model':14s} {'level':11s} {'n':>5s} {'classes scored':>15s} {'<%d pos.' % MIN_VALIDATION_POSITIVES:>8s} "
                f"{'macro AUC':>10s}")
        lines += [head, "-" * len(head)]
        for name, res in results.items():
            for level, r in res.items():
                if not isinstance(r, dict) or "n_classes" not in r:
                    continue
                lines.append(f"{name[:14]:14s} {level:11s} {r['n_evaluated']:5d} "
                             f"{r['n_classes_scored']:>7d} of {r['n_classes']:<5d} {r['n_scored_under_min']:>8d} "
                             f"{_f(r['macro_auc']):>10s}")
                if r["n_scored_under_min"]:
                    notes.append(f"warning: {name} {level}: macro AUC over {r['n_classes_scored']} classes of which "
                                 f"{r['n_scored_under_min']} have fewer than {MIN_VALIDATION_POSITIVES} positive ECGs "
                                 f"among n={r['n_evaluated']}: it means little")
            note = exposure_note(name, "ptbxl", res.get("pretraining"))
            notes += [note] if note else []
            notes.append(f"{name}: PTB-XL folds {res['folds']}, ECGs read: {describe_forms(res['forms_read'])}; "
                         f"{_exposure(res.get('pretraining'))}")
    return "\n".join(lines + notes)
