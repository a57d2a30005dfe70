"""A rate statement that stands out while the measured heart rate contradicts it is said to (a clinician's
review: "sinus tachycardia" at the 99th percentile on MIT-BIH 208 at 94 bpm); the bounds are statements.json's,
the ones the corpus builder labels windows by."""
from __future__ import annotations

from dashboard_fixtures import REPO, go_to, markdown_html, upload  # noqa: F401  (REPO: the repo on sys.path)
from helpers import record_files, require_data
from mets_core.knowledge import rate_bounds, rate_disagreements


def test_the_measured_rate_against_what_each_rate_statement_means():
    crowned = [("sinus tachycardia", "sinus tachycardia"), ("fast heart rate", "tachycardia"),
               ("slow sinus rhythm", "sinus bradycardia"), ("atrial fibrillation", "atrial fibrillation")]
    at_94, slow_at_94 = rate_disagreements(crowned, 94.4)          # one sentence per meaning
    assert slow_at_94.startswith("“slow sinus rhythm” (a rate below 60 bpm) stands out, but the measured heart "
                                 "rate is 94 bpm")
    assert at_94.startswith("“sinus tachycardia” and “fast heart rate” (a rate above 100 bpm) stand out, but the "
                            "measured heart rate is 94 bpm")
    assert rate_disagreements(crowned[:2], 100.6) == []                 # 101 bpm: a tachycardia
    # within RATE_MARGIN_BPM (2) of a bound, on whole bpm as said: no contradiction a clinician would call one
    # (PTB-DB patient233 s0459: "sinus bradycardia" at a measured 59.6 bpm was said to be contradicted by "60 bpm")
    for near in (100.4, 99.0, 98.4):
        assert rate_disagreements(crowned[:2], near) == [], near
    [at_97] = rate_disagreements(crowned[:2], 97.4)                     # 97 bpm: clearly not above 100
    assert "the measured heart rate is 97 bpm" in at_97
    for near in (59.4, 59.6, 60.0, 61.0, 62.4):
        assert rate_disagreements(crowned[2:], near) == [], near
    [at_63] = rate_disagreements(crowned[2:], 63.0)
    assert at_63.startswith("“slow sinus rhythm” (a rate below 60 bpm) stands out, but the measured heart rate is "
                            "63 bpm")
    assert rate_disagreements(crowned, None) == [] and rate_disagreements(crowned, float("nan")) == []


def test_the_corpus_labels_windows_by_the_same_bounds():
    from mets_train.corpus.build import rate_class
    assert rate_bounds()["bradycardia"] == (None, 60) and rate_bounds()["tachycardia"] == (100, None)
    assert [rate_class(r) for r in (59, 60, 100, 101)] == ["bradycardia", "normal", "normal", "tachycardia"]


def test_the_reader_says_it_under_the_ranking(shipped_app):
    data = require_data("mitdb/208.hea")
    upload(shipped_app, record_files(data / "mitdb" / "208"))
    shipped_app.text_area(key="prompts_text").input("sinus tachycardia\nsinus bradycardia\natrial fibrillation").run()
    said = [str(w.value) for w in shipped_app.warning]
    assert any(w.startswith("“sinus tachycardia” (a rate above 100 bpm) stands out, but the measured heart rate "
                            "is 9") for w in said), said


def test_compare_says_it_for_the_ecg_it_concerns(shipped_app):
    data = require_data("mitdb/208.hea", "ptbxl/records100/00000/00761_lr.hea")
    upload(shipped_app, record_files(data / "ptbxl" / "records100" / "00000" / "00761_lr"))
    upload(shipped_app, record_files(data / "mitdb" / "208"))
    shipped_app.text_area(key="prompts_text").input("sinus tachycardia\nsinus rhythm").run()
    go_to(shipped_app, "compare")
    said = [str(w.value) for w in shipped_app.warning]
    assert any(w.startswith("208: “sinus tachycardia” (a rate above 100 bpm) stands out") for w in said), said
    # PTB-XL 00761 (atrial fibrillation at 120 bpm): no rate to set against "sinus tachycardia", but its rhythm
    # (irregular, no consistent P waves: RankingView.measurement_disagreements)
    assert not any(w.startswith("00761_lr: “sinus tachycardia” (a rate") for w in said), said
    assert any(w.startswith("00761_lr: “sinus tachycardia” stands out, but the measurements find an irregular "
                            "rhythm without consistent P waves") for w in said), said


def test_batch_gives_it_a_column_for_ecgs_whose_reading_and_rate_are_of_one_stretch(shipped_app, monkeypatch):
    from dashboard_fixtures import downloaded_csv, table
    csvs = downloaded_csv(monkeypatch)
    data = require_data("ptbxl/records100/00000/00006_lr.hea", "mitdb/208.hea")
    upload(shipped_app, record_files(data / "ptbxl" / "records100" / "00000" / "00006_lr"))   # 83 bpm
    upload(shipped_app, record_files(data / "mitdb" / "208"))        # long: its reading averages every window
    shipped_app.text_area(key="prompts_text").input("sinus tachycardia\nsinus rhythm").run()
    go_to(shipped_app, "batch")
    for rows in (table(shipped_app).set_index("ECG"), csvs[-1].set_index("ECG")):
        assert rows.loc["00006_lr", "measurement check"].startswith("“sinus tachycardia” (a rate above 100 bpm) stands out")
        assert not isinstance(rows.loc["208", "measurement check"], str) or not rows.loc["208", "measurement check"]


def test_mets_rank_says_it_where_its_reading_and_the_rate_are_of_one_recording(tmp_path, capsys):
    """`mets rank` measures only when a rate statement stands out, and only a recording the measurement covers
    whole: PTB-XL 00006 (83 bpm, "sinus tachycardia" stands out) gets the sentence on screen and in --out;
    00002 (47 bpm, "sinus bradycardia" stands out, rightly) none; MIT-BIH 208 (30 min: its ranking averages
    every window) none."""
    import pandas as pd
    from mets_core.cli import main
    data = require_data("ptbxl/records100/00000/00006_lr.hea", "ptbxl/records100/00000/00002_lr.hea", "mitdb/208.hea")
    ptbxl = data / "ptbxl" / "records100" / "00000"
    records = [str(ptbxl / "00006_lr"), str(ptbxl / "00002_lr"), str(data / "mitdb" / "208")]
    flags = ["-p", "sinus tachycardia", "-p", "sinus bradycardia", "-p", "sinus rhythm"]
    assert main(["rank", *records[:2], *flags]) == 0
    first, second = capsys.readouterr().out.split(f"{records[1]}  (leads:")         # each record's lines
    said = "“sinus tachycardia” (a rate above 100 bpm) stands out, but the measured heart rate is 83 bpm"
    assert said in first and "stands out, but" not in second and "stands out: sinus bradycardia" in second
    out = tmp_path / "ranked.csv"
    assert main(["rank", *records, *flags, "--out", str(out)]) == 0
    rows = pd.read_csv(out, keep_default_na=False).set_index("record")
    assert rows.loc[records[0], "measurement_check"].startswith(said)
    assert rows.loc[records[0], "stands_out"] == "sinus tachycardia"
    assert rows.loc[records[1], "measurement_check"] == "" and rows.loc[records[1], "stands_out"] == "sinus bradycardia"
    assert rows.loc[records[2], "measurement_check"] == "" and "sinus tachycardia" in rows.loc[records[2], "stands_out"]


def test_a_rate_is_set_against_a_ranking_only_when_both_describe_the_whole_recording():
    """Measurements.covers_whole: the rule by which `mets rank` and Batch set the measured rate against a ranking
    of the whole recording (a measurement stops at 60 s; a page or a later minute is not the whole)."""
    from mets_core.measure import measure
    from mets_core.simulate import simulate_ecg
    thirty, seventy = simulate_ecg(30.0, fs=250, heart_rate=72), simulate_ecg(70.0, fs=250, heart_rate=72)
    assert measure(thirty).covers_whole(thirty)
    assert not measure(thirty, start_s=10.0).covers_whole(thirty)
    assert not measure(thirty, seconds=10.0).covers_whole(thirty)
    assert not measure(seventy).covers_whole(seventy)
