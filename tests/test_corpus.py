"""The pretraining corpus builder (mets_train/corpus): vocabulary, window layout, rate statements,
annotation counting, patient split, and builds on real records (METS_DATA_DIR) checked against the
databases' own labels, counted independently here."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from mets_core import read_ecg
from mets_core.cli import main as cli_main
from mets_core.file_labels import file_labels
from mets_train.corpus import BuildOptions, CorpusBuildError, Finding, Vocabulary, build_corpus
from mets_train.corpus.annotations import Annotations, window_findings
from mets_train.corpus.build import _truncate_npy, add_rate, window_starts
from mets_train.corpus.format import WINDOW_COLUMNS
from mets_train.corpus.sources import load_label_maps, mitdb_patient, parse_territories, qtdb_patient
from mets_train.corpus.split import split_patients

VOCAB = Vocabulary.load()
MAPS = load_label_maps()


# ------------------------------------------------------------------------------------ no data needed

def test_vocabulary_is_consistent_and_every_mapped_label_exists():
    targets = []
    for section in ("snomed", "scp", "ptbxl_axis", "cinc2017", "rhythm_aux", "st_episode", "cpsc2021_header"):
        targets += [t for ts in MAPS[section].values() for t in ts]
    targets += [t for ts in MAPS["ludb"]["lines"].values() for t in ts]
    targets += [t for ts in MAPS["ludb"]["prefixes"].values() for t in ts]
    targets += list(MAPS["ludb"]["territorial"].values()) + list(MAPS["beat_symbols"].values())
    targets += list(MAPS["non_beat_symbols"].values()) + list(MAPS["majority_beats"].values())
    for ts in MAPS["ptbdb"].values():
        targets += [t for v in ts.values() for t in v]
    for t in targets:
        VOCAB.check_finding(Finding.parse(t))       # raises on an unknown id or territory
    for s in VOCAB.statements.values():
        assert s.label_only or len(s.phrases) >= 2 or s.category == "clinical", f"{s.id} needs several phrasings"


def test_render_is_seeded_and_resolves_umbrellas_and_replacements():
    findings = [Finding("sinus_rhythm"), Finding("sinus_bradycardia", rate=48), Finding("pvc", count=3),
                Finding.parse("mi_acute@inferior+lateral"), Finding("paced_beats", count=1)]
    a = VOCAB.render(findings, np.random.default_rng(7))
    b = VOCAB.render(findings, np.random.default_rng(7))
    assert a == b
    report, labels = a
    assert "sinus_rhythm" not in labels                      # replaced by sinus bradycardia
    for sid in ("sinus_bradycardia", "bradycardia", "pvc", "mi_acute", "mi", "mi_inferior", "mi_lateral",
                "paced_beats", "pacemaker"):
        assert sid in labels
    assert re.search(r"\b3\b", report)                       # the PVC count is written
    assert report.endswith(".") and "bradycardia." not in report.split(". ")[1:]   # umbrella not repeated
    reports = {VOCAB.render(findings, np.random.default_rng(s))[0] for s in range(20)}
    assert len(reports) > 5                                  # several phrasings actually used


def test_a_window_where_af_starts_says_atrial_fibrillation_not_both():
    # CPSC 2021 labels every stretch outside AF "not AF": a window where AF starts or stops holds both labels,
    # and its report said "afib. no atrial fibrillation." (8 texts in the shipped index before this rule)
    for seed in range(20):
        report, labels = VOCAB.render([Finding("afib"), Finding("non_afib_rhythm"), Finding("pac", count=2)],
                                      np.random.default_rng(seed))
        assert {"afib", "non_afib_rhythm"} <= set(labels)                   # the labels stay as annotated
        assert not any(p in report for p in VOCAB.statements["non_afib_rhythm"].phrases), report
    report, labels = VOCAB.render([Finding("non_afib_rhythm")], np.random.default_rng(0))
    assert report and labels == ["non_afib_rhythm"]                        # said when AF is not in the window


def test_territories_parse_ptb_and_ludb_spellings():
    assert parse_territories("infero-latera", MAPS) == ("inferior", "lateral")
    assert parse_territories("infero-postero-lateral", MAPS) == ("inferior", "posterior", "lateral")
    assert parse_territories("antero-septal", MAPS) == ("anterior", "septal")
    assert parse_territories("anterior wall", MAPS) == ("anterior",)


def test_window_layout_cap_padding_and_tail():
    rng = np.random.default_rng(0)
    assert window_starts(400, 1000, 60, rng) == []                 # under half a window: skipped
    assert window_starts(900, 1000, 60, rng) == [(0, 50)]          # short record: one centred window
    assert window_starts(3600, 1000, 60, rng) == [(0, 0), (1000, 0), (2000, 0), (2600, 0)]  # tail covered
    assert window_starts(3200, 1000, 60, rng) == [(0, 0), (1000, 0), (2000, 0)]
    n = 180 * 1000                                                 # a 30-min record at 100 Hz
    starts = [s for s, _ in window_starts(n, 1000, 60, np.random.default_rng(1))]
    assert len(starts) == 60 and starts == sorted(set(starts))
    assert starts[0] < 3000 and starts[-1] >= n - 4000             # spread over the whole record
    assert starts == [s for s, _ in window_starts(n, 1000, 60, np.random.default_rng(1))]


@pytest.mark.parametrize("n_rows,keep", [(10, 9), (5, 3), (100001, 99999)])
def test_truncate_npy_keeps_the_first_rows(tmp_path, n_rows, keep):
    path = tmp_path / "x.npy"
    a = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n_rows, 2, 3))
    a[:] = np.arange(n_rows * 6, dtype=np.float32).reshape(n_rows, 2, 3) % 1000
    expected = np.array(a[:keep])
    del a
    _truncate_npy(path, keep)
    b = np.load(path, mmap_mode="r")
    assert b.shape == (keep, 2, 3) and b.dtype == np.float16 and np.array_equal(b, expected)
    assert path.stat().st_size == b.offset + keep * 2 * 3 * 2        # no stale tail left in the file


def test_rate_statements():
    ids = lambda fs: [f.id for f in fs]  # noqa: E731
    assert ids(add_rate([Finding("sinus_rhythm")], 52.0, True, VOCAB)) == ["sinus_bradycardia"]
    assert ids(add_rate([Finding("sinus_rhythm")], 52.0, False, VOCAB)) == ["sinus_rhythm"]   # label states rhythm
    assert ids(add_rate([Finding("sinus_rhythm")], 59.6, True, VOCAB)) == ["sinus_rhythm"]    # rounds to 60
    assert ids(add_rate([Finding("afib")], 130.0, False, VOCAB)) == ["afib", "tachycardia"]
    assert ids(add_rate([], 75.0, False, VOCAB)) == ["normal_rate"]
    assert ids(add_rate([Finding("afib")], 75.0, False, VOCAB)) == ["afib"]
    assert ids(add_rate([Finding("lvh")], None, False, VOCAB)) == ["lvh"]


def _synthetic_annotations() -> Annotations:
    fs = 100.0
    beats = [(50, "N"), (150, "V"), (250, "N"), (350, "V"), (450, "V"), (550, "N"), (650, "A"), (750, "N"),
             (1050, "V"), (1150, "L"), (1250, "L"), (1350, "L"), (1450, "N")]
    return Annotations(fs=fs, beat_samples=np.array([b[0] for b in beats]),
                       beat_symbols=np.array([b[1] for b in beats], dtype=object),
                       other_samples=np.array([700]), other_symbols=np.array(["x"], dtype=object),
                       rhythms=[(0, 520, "(N"), (520, 1600, "(B")], noise=[(1000, 1300)],
                       episodes=[(0, 300, "ST-")])


def test_annotations_are_counted_inside_the_window():
    ann = _synthetic_annotations()
    found, rate, counts = window_findings(ann, 0, 1000, MAPS, "mitdb")
    by = {f.id: f for f in found}
    assert counts["V"] == 3 and by["pvc"].count == 3               # the V at 1050 is outside
    assert by["ventricular_couplet"].count == 1                    # V at 350, 450
    assert by["pac"].count == 1 and by["blocked_pac"].count == 1
    assert "sinus_rhythm" in by and "ventricular_bigeminy" in by   # both episodes cover >= 1 s
    assert "st_depression" in by and "noise" not in by             # ST episode 3 s; no noise here
    assert rate == pytest.approx(60 * 7 / 7.0)
    found, _, counts = window_findings(ann, 1000, 2000, MAPS, "mitdb")
    ids = {f.id for f in found}
    assert "lbbb" in ids and "noise" in ids and "sinus_rhythm" not in ids   # 3 of 5 beats L; 3 s noise
    found, _, _ = window_findings(ann, 0, 1000, MAPS, "cpsc2021")
    assert "non_afib_rhythm" in {f.id for f in found}              # CPSC's (N is "not AF", not sinus


def test_patient_ids_link_records_of_one_person():
    assert mitdb_patient("202") == mitdb_patient("201")
    assert qtdb_patient("sel102") == mitdb_patient("102")
    assert qtdb_patient("sel232") == mitdb_patient("232")
    assert qtdb_patient("sel803") != mitdb_patient("803") and qtdb_patient("sele0104").startswith("qtdb:")


def test_split_is_patient_wise_stratified_in_windows_and_seeded():
    rng = np.random.default_rng(0)
    windows = {}
    for i in range(300):
        n = int(rng.choice([1, 3, 60], p=[0.5, 0.4, 0.1]))          # LUDB-, CinC- and MIT-BIH-sized patients
        labs = Counter({f"s{j}": int(rng.integers(1, n + 1)) for j in range(8) if rng.random() < 0.15})
        labs["__all_windows__"] = n
        windows[f"p{i}"] = labs
    a = split_patients(windows, 0.2, seed=3)
    assert a == split_patients(windows, 0.2, seed=3) and a != split_patients(windows, 0.2, seed=4)
    assert set(a) == set(windows) and set(a.values()) == {"train", "val"}
    val_windows = sum(c["__all_windows__"] for p, c in windows.items() if a[p] == "val")
    assert 0.17 < val_windows / sum(c["__all_windows__"] for c in windows.values()) < 0.23
    for lab in (f"s{j}" for j in range(8)):
        holders = [p for p, c in windows.items() if c[lab]]
        share = sum(windows[p][lab] for p in holders if a[p] == "val") / sum(windows[p][lab] for p in holders)
        assert 0.08 < share < 0.4, (lab, share)
    # a statement of three small patients next to many others still reaches validation;
    # a statement of a single patient stays in training
    rare = {"q0": Counter(rare=1), "q1": Counter(rare=1), "q2": Counter(rare=1), "solo": Counter(only=5),
            **{f"r{i}": Counter(x=3) for i in range(40)}}
    b = split_patients(rare, 0.2, 0)
    assert sum(b[p] == "val" for p in ("q0", "q1", "q2")) >= 1 and b["solo"] == "train"


def test_build_on_a_folder_with_one_database(tmp_path):
    """A user's folder holding only an LUDB-like database: absent ones are skipped and said so; a window
    nothing can be said about (flat signal, no diagnosis) is dropped and the files stay consistent."""
    import wfdb

    folder = tmp_path / "data" / "ludb"
    folder.mkdir(parents=True)
    t = np.arange(5000) / 500.0
    beat = np.exp(-((t % 0.8) - 0.4) ** 2 / 0.0004)          # a spike train at 75 bpm, in mV
    leads = ["i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"]
    wfdb.wrsamp("1", fs=500, units=["mV"] * 12, sig_name=leads, p_signal=np.tile(beat, (12, 1)).T,
                fmt=["16"] * 12, comments=["<diagnoses>:", "Rhythm: Atrial fibrillation."], write_dir=str(folder))
    wfdb.wrsamp("2", fs=500, units=["mV"] * 12, sig_name=leads, p_signal=np.zeros((5000, 12)),
                fmt=["16"] * 12, comments=["<diagnoses>:"], write_dir=str(folder))
    out = tmp_path / "corpus"
    meta = build_corpus(tmp_path / "data", out, BuildOptions(), verbose=False)
    assert meta["n_windows"] == 1 and meta["n_windows_dropped_without_statement"] == 1
    assert set(meta["absent_sources"]) == {"ptbdb", "mitdb", "qtdb", "cinc2017", "cpsc2021", "challenge2021", "ptbxl"}
    assert np.load(out / "signals.npy", mmap_mode="r").shape == (1, 12, 1000)
    assert np.load(out / "lead_mask.npy").shape == (1, 12)
    with open(out / "windows.csv", newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["record"] == "1" and row["split"] == "train" and row["statements"].split(";")[0] == "afib"
    assert "normal_rate" not in row["statements"] and "ptbdb" in (out / "CORPUS_CARD.md").read_text()


# -------------------------------------------------------------------------------- real data builds

DATA_DIR = os.environ.get("METS_DATA_DIR")
needs_data = pytest.mark.skipif(not DATA_DIR, reason="METS_DATA_DIR is not set: the corpus tests need the "
                                                     "PhysioNet databases (see DEVELOPERS.md)")
SUBSET = {
    "ludb": {"1", "24"},                               # 24: complete LBBB in its header
    "ptbdb": {"s0010_re", "s0014lre", "patient200_s0405_re"},
    "mitdb": {"119", "102", "201"},                    # PVCs + bigeminy; paced; 201 (same patient as 202)
    "qtdb": {"sel102", "sel30"},                       # MIT-BIH 102 excerpt; ECG1/ECG2 leads
    "cinc2017": {"A00004", "A00021", "A00041", "A00022"},   # classes A, N, O, ~
    "cpsc2021": {"data_101_6"},                        # paroxysmal AF
    "challenge2021": {"HR06002"},
    "ptbxl": {"6002"},
}
CAP = 20
FILES = ("signals.npy", "lead_mask.npy", "windows.csv", "corpus.json", "CORPUS_CARD.md", "window_details.jsonl")


def _records_arg() -> str:
    return ",".join(f"{s}:{r}" for s, recs in sorted(SUBSET.items()) for r in sorted(recs))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if not DATA_DIR:
        pytest.skip("METS_DATA_DIR is not set")
    present = [s for s in SUBSET if (Path(DATA_DIR) / s).is_dir()]
    if len(present) < len(SUBSET):
        pytest.skip(f"METS_DATA_DIR lacks {sorted(set(SUBSET) - set(present))}")
    out = tmp_path_factory.mktemp("corpus") / "c"
    rc = cli_main(["corpus", "build", "--data-dir", DATA_DIR, "--out", str(out), "--records", _records_arg(),
                   "--max-windows-per-record", str(CAP), "--seed", "0", "--quiet"])
    assert rc == 0
    with open(out / "windows.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    details = [json.loads(line) for line in (out / "window_details.jsonl").read_text().splitlines()]
    return out, rows, details


def _rows(rows, source, record):
    return [r for r in rows if r["source"] == source and r["record"] == record]


@needs_data
def test_output_contract(corpus):
    out, rows, details = corpus
    meta = json.loads((out / "corpus.json").read_text())
    signals = np.load(out / "signals.npy", mmap_mode="r")
    mask = np.load(out / "lead_mask.npy")
    n, T = len(rows), int(meta["fs"] * meta["window_s"])
    assert isinstance(signals, np.memmap) and signals.dtype == np.float16 and signals.shape == (n, 12, T)
    assert mask.dtype == bool and mask.shape == (n, 12) and len(details) == n
    with open(out / "windows.csv", newline="", encoding="utf-8") as fh:
        assert tuple(next(csv.reader(fh))) == WINDOW_COLUMNS
    assert [int(r["idx"]) for r in rows] == list(range(n)) == [d["idx"] for d in details]
    assert {r["split"] for r in rows} <= {"train", "val"}
    assert [int(r["n_leads"]) for r in rows] == mask.sum(axis=1).tolist()
    x = np.asarray(signals, dtype=np.float32)
    assert np.isfinite(x).all()
    assert not x[~mask].any()                                  # absent leads are zeros
    present_std = x.std(axis=2)[mask]
    assert np.median(present_std) < 0.6                        # mV, not z-scored (z-score gives 1.0)
    assert meta["n_windows"] == n and meta["fs"] == 100.0 and meta["window_s"] == 10.0 and meta["seed"] == 0
    assert set(meta["statements"]) == set(VOCAB.statements)
    used = {s for r in rows for s in r["statements"].split(";")}
    assert used <= set(meta["statements"]) and all(r["report"] and r["statements"] for r in rows)
    assert meta["counts"]["windows_by_source"] == dict(Counter(r["source"] for r in rows))
    card = (out / "CORPUS_CARD.md").read_text()
    for heading in ("Per source", "Per statement", "Per lead set", "Per split"):
        assert f"## {heading}" in card
    assert f"**{n}**" in card


@needs_data
def test_ludb_header_diagnoses_reach_the_report(corpus):
    _, rows, _ = corpus
    (r24,) = _rows(rows, "ludb", "24")
    assert "lbbb" in r24["statements"].split(";")
    assert any(p.lower() in r24["report"].lower() for p in VOCAB.statements["lbbb"].phrases)
    (r1,) = _rows(rows, "ludb", "1")                           # "Sinus bradycardia", "left axis deviation", LVH
    for sid in ("sinus_bradycardia", "left_axis_deviation", "lvh"):
        assert sid in r1["statements"].split(";")


def _atr_windows(record: str, rows):
    import wfdb

    path = str(Path(DATA_DIR) / "mitdb" / record)
    ann, fs = wfdb.rdann(path, "atr"), wfdb.rdheader(path).fs
    sym, samp = np.array(ann.symbol), np.array(ann.sample)
    for r in _rows(rows, "mitdb", record):
        s0 = int(round(float(r["start_s"]) * fs))
        yield r, sym[(samp >= s0) & (samp < s0 + int(round(10 * fs)))]


@needs_data
def test_mitdb_pvc_counts_match_the_annotations(corpus):
    _, rows, details = corpus
    checked = 0
    for r, syms in _atr_windows("119", rows):
        n_v = int(np.isin(syms, ["V", "r"]).sum())
        labels = r["statements"].split(";")
        assert details[int(r["idx"])]["beat_counts"].get("V", 0) == n_v
        if n_v == 0:
            assert "pvc" not in labels
            continue
        checked += 1
        assert "pvc" in labels
        s = VOCAB.statements["pvc"]
        said = s.counted_one if n_v == 1 else [p.format(n=n_v) for p in s.counted]
        assert any(p in r["report"] for p in said), (n_v, r["report"])
    assert checked >= 5


@needs_data
def test_mitdb_rhythm_and_paced_windows(corpus):
    _, rows, _ = corpus
    paced = [r for r in _rows(rows, "mitdb", "102") if "paced_rhythm" in r["statements"].split(";")]
    assert len(paced) >= CAP // 2
    assert any("ventricular_bigeminy" in r["statements"].split(";") for r in _rows(rows, "mitdb", "119"))
    afib_201 = [r for r in _rows(rows, "mitdb", "201") if "afib" in r["statements"].split(";")]
    assert afib_201 and all("fibrillation" in r["report"] or "afib" in r["report"] for r in afib_201)


@needs_data
def test_cinc2017_classes(corpus):
    _, rows, _ = corpus
    expect = {"A00004": "afib", "A00021": None, "A00041": "other_rhythm", "A00022": "noise"}
    for record, sid in expect.items():
        for r in _rows(rows, "cinc2017", record):
            labels = set(r["statements"].split(";"))
            if sid is None:                                    # class N: sinus rhythm, rate-classed
                assert labels & {"sinus_rhythm", "sinus_bradycardia", "sinus_tachycardia"}
            else:
                assert sid in labels
            if sid == "afib":
                assert "fibrillation" in r["report"] or "afib" in r["report"]
            if sid == "other_rhythm":
                assert "not atrial fibrillation" in r["report"] or "no atrial fibrillation" in r["report"] \
                    or "without atrial fibrillation" in r["report"]


@needs_data
def test_cpsc2021_af_only_where_annotated(corpus):
    import wfdb

    _, rows, _ = corpus
    path = str(Path(DATA_DIR) / "cpsc2021" / "data_101_6")
    ann, fs = wfdb.rdann(path, "atr"), wfdb.rdheader(path).fs
    n = wfdb.rdheader(path).sig_len
    marks = [(int(s), a.strip("\x00")) for s, a, sym in zip(ann.sample, ann.aux_note, ann.symbol) if sym == "+"]
    af = [(s, marks[i + 1][0] if i + 1 < len(marks) else n) for i, (s, a) in enumerate(marks) if a == "(AFIB"]
    for r in _rows(rows, "cpsc2021", "data_101_6"):
        s0 = int(round(float(r["start_s"]) * fs))
        overlap = sum(max(0, min(e, s0 + 10 * fs) - max(s, s0)) for s, e in af)
        labels = r["statements"].split(";")
        assert ("afib" in labels) == (overlap >= fs), (r["start_s"], overlap)
        if overlap < fs * 9:
            assert "non_afib_rhythm" in labels
        if "afib" in labels:            # said once: never "afib. no atrial fibrillation."
            assert "no atrial fibrillation" not in r["report"] and "without atrial fibrillation" not in r["report"]


@needs_data
def test_qtdb_unknown_leads_become_lead_ii_and_are_noted(corpus):
    _, rows, details = corpus
    out, _, _ = corpus
    mask = np.load(out / "lead_mask.npy")
    for r in _rows(rows, "qtdb", "sel30"):
        i = int(r["idx"])
        assert mask[i].tolist() == [lead == "II" for lead in
                                    ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")]
        assert any("ECG1->II" in note for note in details[i]["notes"])


@needs_data
def test_patient_split_has_no_overlap_and_links_patients(corpus):
    _, rows, _ = corpus
    sides = defaultdict(set)
    for r in rows:
        sides[r["patient"]].add(r["split"])
    assert all(len(s) == 1 for s in sides.values())
    patient = {(r["source"], r["record"]): r["patient"] for r in rows}
    assert patient[("qtdb", "sel102")] == patient[("mitdb", "102")] == "mitdb:102"
    assert patient[("mitdb", "201")] == mitdb_patient("202")
    assert patient[("ptbdb", "s0010_re")] == patient[("ptbdb", "s0014lre")]      # PTB patient001
    assert patient[("ptbdb", "patient200_s0405_re")] == "ptbdb:patient200"
    # the builder's patients are the ones Compare warns by: one rule (file_labels.ptbdb_patient_id)
    excerpt = read_ecg(Path(DATA_DIR) / "ptbdb" / "patient200_s0405_re.hea")
    assert file_labels(excerpt).patient_id == patient[("ptbdb", "patient200_s0405_re")]
    assert patient[("challenge2021", "HR06002")] == patient[("ptbxl", "6002")]   # same ECG, same patient
    assert patient[("cpsc2021", "data_101_6")] == "cpsc2021:101"


@needs_data
def test_same_seed_gives_byte_identical_corpus(corpus, tmp_path):
    out, _, _ = corpus
    again = tmp_path / "again"
    opts = BuildOptions(seed=0, max_windows_per_record=CAP, sources=sorted(SUBSET), records=SUBSET)
    build_corpus(DATA_DIR, again, opts, verbose=False)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    for name in FILES:
        assert digest(out / name) == digest(again / name), name
    other = tmp_path / "other"
    build_corpus(DATA_DIR, other, BuildOptions(seed=1, max_windows_per_record=CAP, sources=sorted(SUBSET),
                                               records=SUBSET), verbose=False)
    assert digest(out / "windows.csv") != digest(other / "windows.csv")


@needs_data
def test_bad_arguments_get_clear_errors(corpus, tmp_path, capsys):
    out, _, _ = corpus
    assert cli_main(["corpus", "build", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert cli_main(["corpus", "build", "--data-dir", DATA_DIR, "--out", str(out), "--records", "ludb:1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert cli_main(["corpus", "build", "--data-dir", DATA_DIR, "--out", str(tmp_path / "o"),
                     "--records", "ludb1"]) == 2
    assert "source:record" in capsys.readouterr().err
    assert cli_main(["corpus", "build", "--data-dir", DATA_DIR, "--out", str(tmp_path / "o"),
                     "--sources", "nosuchdb"]) == 2
    assert "unknown sources" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusBuildError, match="no usable records"):
        build_corpus(empty, tmp_path / "o2", verbose=False)


def test_corpus_format_refuses_rows_a_reader_would_misread(tmp_path):
    from mets_train.corpus import format as corpus_format
    from mets_train.training.data import Corpus
    row = {"idx": 0, "patient": "p1", "split": "train", "report": "sinus rhythm.", "statements": "sinus_rhythm"}
    assert corpus_format.write_windows(tmp_path, [row, {**row, "idx": 1, "split": "val"}]) == list(row)
    signals = corpus_format.new_signals(tmp_path, 2, 1000)
    signals[:] = 0.5
    signals.flush()
    del signals
    corpus_format.write_lead_mask(tmp_path, np.ones((2, 12), bool))
    corpus_format.write_meta(tmp_path, {"fs": 100.0, "window_s": 10.0, "statements": {"sinus_rhythm": "sinus rhythm"}})
    corpus = Corpus.open(tmp_path)
    assert len(corpus) == 2 and corpus.signals.dtype == np.float16 and list(corpus.indices("val")) == [1]
    for bad, message in (([{**row, "reprot": "x"}], r"unknown columns \['reprot'\]"),
                         ([{k: v for k, v in row.items() if k != "statements"}], r"missing \['statements'\]"),
                         ([{**row, "idx": 1}], "idx must be 0..N-1"),
                         ([{**row, "split": "test"}], "split must be one of"),
                         ([], "at least one window")):
        with pytest.raises(corpus_format.CorpusFormatError, match=message):
            corpus_format.write_windows(tmp_path, bad)
    with pytest.raises(corpus_format.CorpusFormatError, match="needs \\['statements'\\]"):
        corpus_format.write_meta(tmp_path, {"fs": 100.0, "window_s": 10.0})
