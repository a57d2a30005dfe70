"""Page logic of the dashboard through Streamlit's AppTest (no browser).

The app runs on a real random-init checkpoint saved with save_pretrained (scores are meaningless, the
plumbing is real) plus a report index built with it. Files are dropped on the sidebar's uploader exactly
as a user does (AppTest's file_uploader), demos opened with their buttons, pages reached through the
navigation's page files; what is checked is what the page renders: text, and the data-* attributes of
the page's public contract (data-testid="mets-rank-row" with data-prompt/-similarity/-probability,
"mets-hit", "mets-record", "mets-page-span" ...). Every test also checks that no exception reached the page.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from dashboard_fixtures import (FALLBACK_REPORTS, a_wfdb_upload, button, downloaded_csv, errors, go_to, hit_rows,
                                hits, loaded, ludb_dir, markdown_html, new_app, open_demo, paper_spec, rank_rows,
                                ranking, shown_title, synthetic_csv, tagged, upload)
from helpers import bigeminy_ecg, csv_bytes, data_dir_or_none, needs_data, st_lengthened_ecg
from physionet_mirror import physionet_is

# ------------------------------------------------------------------------------------------------ tests

def test_empty_page_invites_an_ecg_and_shows_the_disclaimer(app):
    html = markdown_html(app)
    assert "Open an ECG to begin" in html
    assert "not a medical device" in html.lower()
    assert not errors(app)


def test_upload_shows_rate_leads_measurements_tracing_ranking_and_retrieval(app):
    from mets_core.prompts import PRESETS
    upload(app, a_wfdb_upload())
    html = markdown_html(app)
    assert not errors(app), errors(app)
    assert "Hz</b>" in html and "12 of 12 leads recorded" in html
    assert 'data-testid="mets-measurements"' in html and "Heart rate" in html
    assert len(app.get("plotly_chart")) >= 1
    assert rank_rows(app) == len(PRESETS["Rhythm"])
    assert "Scores are similarities" in html and "not diagnoses" in html
    assert hit_rows(app) == 5                       # the "Reports to show" default
    assert {r["prompt"] for r in ranking(app)} == set(PRESETS["Rhythm"])


def test_editing_prompts_reranks_the_typed_phrases(app):
    upload(app, a_wfdb_upload())
    app.text_area(key="prompts_text").input("atrial fibrillation\nsinus rhythm\nleft bundle branch block").run()
    assert not app.exception
    rows = ranking(app)
    assert sorted(r["prompt"] for r in rows) == sorted(["atrial fibrillation", "sinus rhythm", "left bundle branch block"])
    assert sum(r["probability"] for r in rows) == pytest.approx(1.0, abs=1e-5)
    sims = [r["similarity"] for r in rows]
    assert sims == sorted(sims, reverse=True)       # no reference population: ordered by similarity
    app.text_area(key="prompts_text").input("sinus rhythm\nsinus bradycardia").run()
    assert [r["prompt"] for r in ranking(app)] != [] and rank_rows(app) == 2
    # '#' starts a note, as in the CLI's --prompts-file: the note is not ranked, the phrase before it is
    app.text_area(key="prompts_text").input("# rhythm\nsinus rhythm  # baseline\natrial fibrillation").run()
    assert sorted(r["prompt"] for r in ranking(app)) == ["atrial fibrillation", "sinus rhythm"]
    # the phrase box says which template set the model reads phrases through (the checkpoint's own set)
    from mets_core.prompts import load_prompts
    captions = " ".join(str(c.value) for c in app.caption)
    assert f"template set **{load_prompts()['default_set']}**" in captions and "ECG showing …." in captions


def test_newest_ecg_is_shown_and_the_sidebar_switches_between_loaded_ecgs(app):
    from dashboard.demo import DEMOS
    upload(app, a_wfdb_upload())
    first = shown_title(app)
    open_demo(app)
    assert shown_title(app) == next(iter(DEMOS)) != first
    assert len(loaded(app)) == 2
    assert "SYNTHETIC" in markdown_html(app)
    app.selectbox(key="current_select").select_index(loaded(app).index(first)).run()
    assert shown_title(app) == first and "SYNTHETIC" not in markdown_html(app)
    app.button(key="close_ecg").click().run()
    assert not app.exception and len(loaded(app)) == 1 and shown_title(app) == next(iter(DEMOS))


def test_preset_sets_replace_the_prompts(app):
    from mets_core.prompts import PRESETS
    upload(app, a_wfdb_upload())
    name = "Conduction" if "Conduction" in PRESETS else list(PRESETS)[-1]
    app.selectbox(key="preset").set_value(name).run()
    assert not app.exception
    assert rank_rows(app) == len(PRESETS[name])


def test_corrupt_upload_shows_a_clear_message_and_the_next_upload_works(app):
    upload(app, [("broken.dat", b"\x00\x01garbage" * 10)])
    msgs = errors(app)
    assert len(msgs) == 1 and "broken.dat" in msgs[0] and "could not be opened" in msgs[0]
    assert ".hea" in msgs[0]           # says what is needed
    upload(app, a_wfdb_upload())
    assert not errors(app)
    assert rank_rows(app) > 0


@pytest.mark.parametrize("files,expect", [
    ([("empty.csv", b"")], "empty"),
    ([("rec.hea", b"rec 12 500 5000\nrec.dat 16 200 16 0 0 0 0 I\n")], "rec"),
    ([("noise.npy", b"not a numpy file at all")], "noise.npy"),
    ([("bad.zip", b"PK\x03\x04 truncated zip")], "bad.zip"),
    ([("table.csv", b"foo,bar\n1,2\n3,4\n")], "table.csv"),
    ([("picture.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100)], "picture.png"),
])
def test_bad_inputs_give_a_message_not_a_crash(app, files, expect):
    upload(app, files)
    msgs = errors(app)
    assert msgs, "a bad upload must show a message"
    assert expect.lower() in " ".join(msgs).lower()
    assert "Traceback" not in " ".join(msgs)


def test_several_ecgs_at_once_grouped_by_record_name_and_batch_csv(app, monkeypatch):
    files = [("synthetic.csv", synthetic_csv())]
    ludb = ludb_dir()
    if ludb is not None:
        for rec in ("2", "3"):
            files += [(f"{rec}.dat", (ludb / f"{rec}.dat").read_bytes()), (f"{rec}.hea", (ludb / f"{rec}.hea").read_bytes())]
    upload(app, files)
    assert not errors(app), errors(app)
    expected = 1 + (2 if ludb is not None else 0)
    assert len(loaded(app)) == expected
    csvs = downloaded_csv(monkeypatch)
    go_to(app, "batch")
    table = app.dataframe[0].value
    assert len(table) == expected
    assert {"Heart rate (bpm)", "QRS (ms)", "QTc Fridericia (ms)", "measured on"} <= set(table.columns)
    assert csvs, "the Batch page offers its table as a CSV download"
    assert sorted(csvs[-1]["ECG"]) == sorted(table["ECG"]) and set(table.columns) <= set(csvs[-1].columns)


def test_batch_table_names_only_what_stands_out_and_leaves_unknown_phrases_out(app, monkeypatch):
    """The batch table says what the Reader's headline says: the phrases that stand out from the reference
    ECGs, or "no confident match" (not the highest score crowned); a phrase the model does not know gets no
    column and is listed apart; each phrase column's header says how reliable the model is for it; the
    measurements are the Reader's, in whole units, QTc by Fridericia."""
    from mets_core.knowledge import STANDS_OUT_PERCENTILE
    upload(app, [("synthetic.csv", synthetic_csv())])           # 250 Hz: nothing stands out in it
    open_demo(app)                                              # 500 Hz: atrial fibrillation stands out
    _with_model_fields(monkeypatch, lambda ecg, prompt: {
        "atrial fibrillation": dict(percentile=97.0 if ecg.fs == 500 else 70.0, known=True, validation_auc=0.95),
        "sinus rhythm": dict(percentile=40.0, known=True, validation_auc=0.55),
        "asdfgh qwerty": dict(percentile=99.0, known=False)}.get(prompt, {}))
    app.text_area(key="prompts_text").input("sinus rhythm\natrial fibrillation\nasdfgh qwerty\nECG").run()
    names = set(loaded(app))
    go_to(app, "batch")
    assert not app.exception and not errors(app), errors(app)
    table = app.dataframe[0].value
    assert "“ECG”" in table.columns and set(table["ECG"]) == names and len(names) == 2   # a prompt named "ECG"
    table = table.set_index("ECG")
    assert "asdfgh qwerty" not in table.columns
    assert "Not known to the model (not ranked, no column): asdfgh qwerty" in " ".join(str(c.value) for c in app.caption)
    reading = table["the model's reading"]
    assert list(reading) == ["no confident match", "atrial fibrillation"]
    for ecg, row in table.iterrows():           # the reading agrees with the phrase columns
        stand_out = [p for p in ("sinus rhythm", "atrial fibrillation") if row[p] >= STANDS_OUT_PERCENTILE]
        assert reading[ecg] == ("; ".join(stand_out) or "no confident match")
    spec = json.loads(app.dataframe[0].proto.columns)
    assert "validated: AUC 0.95" in spec["atrial fibrillation"]["help"]
    assert "weak: AUC 0.55" in spec["sinus rhythm"]["help"]
    for column in ("Heart rate (bpm)", "QRS (ms)", "QT (ms)", "QTc Fridericia (ms)"):
        values = table[column].dropna()
        assert len(values) and all(float(v).is_integer() for v in values)
    assert set(table["measured on"]) == {"whole ECG"}


def test_retrieval_list_and_free_text_search(app):
    upload(app, a_wfdb_upload())
    app.slider(key="k_hits").set_value(8).run()
    assert hit_rows(app) == 8
    app.text_input(key="corpus_query").input("left ventricular hypertrophy").run()
    assert not app.exception
    assert hit_rows(app, "text") == 8
    html = markdown_html(app)
    source = "ludb" if ludb_dir() is not None else "demo"
    assert f'>{source}</span>' in html
    if ludb_dir() is None:
        assert any(r.split(".")[0] in html for r in FALLBACK_REPORTS)
    # a text several strips share is one hit that says how many more have it, and from which databases
    from dashboard_fixtures import corpus
    shared_text = corpus()[0][0]
    app.text_input(key="corpus_query").input(shared_text).run()
    first = hits(app, "text")[0]
    assert first.endswith(" " + " ".join(shared_text.split())), first       # the report closes the hit
    assert re.search(r'and 1 more strip \((ludb, demo|demo)\)', first), first


def test_text_search_says_an_unknown_phrase_and_where_in_a_holter_a_hit_lies(shipped_app):
    app = open_demo(shipped_app)
    # the ECG's own list: the strips drawn are as many as the caption says (all, or "N of these M")
    drawn, shown = len(tagged(app, "mets-thumbnail")), hit_rows(app)      # only the hits draw strips
    captions = " ".join(str(c.value) for c in app.caption)
    said = re.search(r"drawn for (\d+) of these (\d+)", captions)
    if "Set a data folder" in captions:                     # no data folder (METS_DATA_DIR unset): no strips
        assert drawn == 0 and not said
    else:
        assert (int(said.group(1)), int(said.group(2))) == (drawn, shown) if said else drawn == shown, (drawn, shown)
    app.text_input(key="corpus_query").input("asdfgh qwerty").run()
    assert not errors(app), errors(app)
    warned = " ".join(str(w.value) for w in app.warning)
    assert "“asdfgh qwerty” is not known to the model" in warned and hit_rows(app, "text") == 5
    assert "does not compare with the list on the left" in markdown_html(app)
    # a shipped MIT-BIH window's own report: its hit names the record and the time it starts at, as h:mm:ss
    app.text_input(key="corpus_query").input("afib. a single PVC. poor signal quality.").run()
    assert not any("not known to the model" in str(w.value) for w in app.warning)
    first = hits(app, "text")[0]
    assert re.match(r"[+-]\d\.\d{3} mitdb 203 at 0:21:30 ", first), first


@needs_data("ludb/data/1.hea")
def test_a_similar_report_from_the_very_recording_uploaded_is_said_to_be_one(app):
    """A hit from the uploaded recording itself (the data folder's copy holds the same samples) is its own report
    found again, not a second opinion, and the page says so on that hit only."""
    from dashboard.panels.retrieval import SELF_HIT
    ludb = ludb_dir()
    for record in range(1, 6):
        upload(app, [(f"{record}.hea", (ludb / f"{record}.hea").read_bytes()),
                     (f"{record}.dat", (ludb / f"{record}.dat").read_bytes())])
        app.slider(key="k_hits").set_value(20).run()         # 20 of the test corpus's 24 LUDB reports
        html = markdown_html(app)
        shown = {hit.split()[2]: SELF_HIT in hit for hit in hits(app)}
        if str(record) in shown:
            break
    assert not errors(app), errors(app)
    assert shown[str(record)] and sum(shown.values()) == 1, shown       # its own report, and no other
    assert SELF_HIT in html
    assert any("1 of these is from this very recording" in str(c.value) for c in app.caption)


def test_why_overlay_puts_saliency_on_the_tracing(app):
    upload(app, a_wfdb_upload())
    app.text_area(key="prompts_text").input("sinus rhythm\natrial fibrillation\nST elevation").run()
    app.selectbox(key="why_prompt").set_value("ST elevation")
    app.toggle(key="why_overlay").set_value(True).run()
    assert not app.exception, app.exception
    assert not errors(app), errors(app)
    charts = app.get("plotly_chart")
    paper = paper_spec(app)
    assert sum(t.get("type") == "heatmap" for t in paper["data"]) == 4      # 3 rows + rhythm strip
    assert len(charts) >= 3                                               # + lead and second occlusion bars
    assert "Similarity to “ST elevation”" in " ".join(str(c.value) for c in app.caption)


def _holter_csv(seconds=90, fs=125, seed=2) -> bytes:
    import neurokit2 as nk
    x = nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=70, random_state=seed)
    rows = [f"{k / fs:.4f},{v:.4f},{0.6 * v:.4f}" for k, v in enumerate(x)]
    return ("time,II,V5\n" + "\n".join(rows) + "\n").encode()


def test_a_click_does_not_walk_the_loaded_model_with_the_garbage_collector(app):
    """Streamlit's default full collection after every script run walked the ~560k objects of torch, the
    model and the index (~0.5 s per click with the GIL held). The config turns it off and the engine moves
    what it loaded out of the collector's reach."""
    import gc
    import tomllib
    from pathlib import Path
    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert gc.get_freeze_count() > 100_000


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc (Linux)")
def test_measuring_processes_do_not_run_the_app(app):
    """Streamlit leaves the app script installed as __main__, and multiprocessing runs the parent's __main__
    again in each process it starts: a measuring process then ran the whole app and loaded torch (~390 MB
    instead of ~40 MB, and seconds of start-up)."""
    import os

    from reliability_support import cpu_by_process, in_process_tree
    upload(app, a_wfdb_upload())
    assert 'data-testid="mets-measurements"' in markdown_html(app)
    me = os.getpid()
    children = [pid for pid in cpu_by_process(in_process_tree(me)) if pid != me]
    assert children, "no measuring process was started"
    for pid in children:
        assert "libtorch" not in Path(f"/proc/{pid}/maps").read_text(), f"process {pid} loaded torch"


def page_span(at) -> str:
    m = re.search(r'data-testid="mets-page-span" data-start-s="([^"]*)"', markdown_html(at))
    return m.group(1) if m else ""


def test_next_page_finds_its_paper_built_while_the_reader_reads(app, monkeypatch):
    """The pages after the one on screen get their paper (with its fiducial marks) built in the background,
    so that "Next ▶" only sends it; without the read-ahead the Next run builds it itself."""
    import time

    from dashboard import plotting
    built = []
    real = plotting.ecg_paper

    def counting(ecg, *args, **kwargs):
        built.append((kwargs.get("start_s", 0.0), kwargs.get("marks") is not None))
        return real(ecg, *args, **kwargs)
    monkeypatch.setattr(plotting, "ecg_paper", counting)
    upload(app, [("holter_ahead.csv", _holter_csv(seed=7))])
    assert not errors(app), errors(app)
    deadline = time.monotonic() + 60
    while not {10.0, 20.0} <= {s for s, _ in built} and time.monotonic() < deadline:
        time.sleep(0.1)                     # the background build: waits for it, does not time it
    assert (10.0, True) in built and (20.0, True) in built, built   # built ahead, with their marks
    before = len(built)
    button(app, "Next ▶").click().run()
    assert page_span(app) == "10"
    assert "showing 0:00:10–0:00:20" in paper_spec(app)["layout"]["annotations"][-1]["text"]
    assert (10.0, True) not in built[before:], built[before:]       # the Next run found it built


def test_long_record_pages_and_is_explained_on_the_page_on_screen(app):
    upload(app, [("holter.csv", _holter_csv())])
    assert not errors(app), errors(app)
    for _ in range(4):
        button(app, "Next ▶").click().run()
    assert page_span(app) == "40"
    assert "0:00:40–0:00:50" in markdown_html(app)                  # one clear time span, h:mm:ss
    strip = re.search(r'data-testid="mets-page-strip" data-start-s="40"[^>]*><span style="left:([0-9.]+)%;'
                      r'width:([0-9.]+)%', markdown_html(app))    # the page's place under the overview
    assert strip and abs(float(strip.group(1)) - 100 * 40 / 90) < 0.01 and abs(float(strip.group(2)) - 100 * 10 / 90) < 0.01
    footer = paper_spec(app)["layout"]["annotations"][-1]["text"]
    assert "showing 0:00:40–0:00:50 of 0:01:30" in footer
    assert "Page on screen, 0:00:40–0:00:50" in markdown_html(app)   # ranking and measurements follow it
    app.text_area(key="prompts_text").input("sinus rhythm\natrial fibrillation").run()
    app.toggle(key="why_overlay").set_value(True).run()
    assert not app.exception and not errors(app), errors(app)
    captions = " ".join(str(c.value) for c in app.caption)
    assert "explained on the page on screen, 0:00:40–0:00:50" in captions
    specs = json.dumps([json.loads(c.proto.spec) for c in app.get("plotly_chart")], ensure_ascii=False)
    assert "0:00:40–0:00:41" in specs and "bpm" in specs                   # + the heart-rate overview
    goto = next(t for t in app.text_input if t.label == "Go to (h:mm:ss)")
    goto.input("0:01:05").run()
    assert page_span(app) == "65"
    goto = next(t for t in app.text_input if t.label == "Go to (h:mm:ss)")
    assert goto.value == "" and goto.placeholder == "0:01:05"          # shows where the page is, not a stale time
    goto.input("1:00:00").run()
    assert page_span(app) == "80" and any("outside the recording" in str(i.value) and "last page" in str(i.value)
                                          for i in app.info)
    goto = next(t for t in app.text_input if t.label == "Go to (h:mm:ss)")
    goto.input("soon").run()
    assert any("is not a time" in e for e in errors(app))
    next(t for t in app.toggle if t.label == "Whole-recording summary").set_value(True).run()
    assert "Whole recording" in markdown_html(app) and not app.exception
    # beside the intervals of the first minute, the whole recording's rate as a Holter summary gives it
    said = re.search(r"The whole recording: mean (\d+) bpm over its ([\d,]+) beats; by the minute \(median rate\), "
                     r"slowest (\d+) bpm at 0:0[01]:00, fastest (\d+) bpm", markdown_html(app))
    assert said and all(abs(int(said.group(k)) - 70) <= 3 for k in (1, 3, 4)), markdown_html(app)[-3000:]


@needs_data("mitdb/208.hea", "mitdb/208.dat")
def test_the_whole_recording_summary_measures_the_first_minute_whose_qrs_can_be_measured(app):
    """MIT-BIH 208's first minute has ten noisy seconds (lead II rated unusable over the minute): the summary
    gave no QRS, QT or QTc while every 10 s page of that minute has them. It now measures the next minute,
    says which minute it passed over and why, and that the rate box is that minute's."""
    mitdb = data_dir_or_none() / "mitdb"
    upload(app, [(f"208{ext}", (mitdb / f"208{ext}").read_bytes()) for ext in (".hea", ".dat")])
    next(t for t in app.toggle if t.label == "Whole-recording summary").set_value(True).run()
    assert not app.exception and not errors(app), errors(app)
    html = markdown_html(app)
    assert ("Measured on 0:01:00–0:02:00 (the whole-recording summary measures the intervals on the first minute "
            "whose QRS could be measured, passing over 0:00:00–0:01:00: QRS limits not found") in html
    assert "the heart-rate box gives the rate of that minute" in html
    boxes = re.search(r'data-testid="mets-measurements">(.*?)</div></div></div>', html, re.S).group(1)
    qrs = re.search(r'<div [^>]*data-measure="QRS" data-shown="(\d+) ms"', boxes)
    assert qrs and 60 <= int(qrs.group(1)) <= 110, boxes
    captions = " ".join(str(c.value) for c in app.caption)   # the page on screen (0:00-0:10) has no ticks: said so
    assert "No fiducial ticks on this page: the intervals were measured on 0:01:00–0:02:00" in captions
    assert "Coloured ticks under each beat" not in captions


def test_two_lead_record_draws_only_its_leads(app):
    upload(app, [("holter.csv", _holter_csv(seconds=20))])
    paper = paper_spec(app)
    texts = [a["text"] for a in paper["layout"]["annotations"]]
    assert not any("not recorded" in t for t in texts)
    chart = next(c for c in app.get("plotly_chart") if getattr(c, "key", None) == "paper")
    assert '"scrollZoom": false' in chart.proto.config           # the mouse wheel scrolls the page


def test_channels_without_lead_names_are_named_on_the_page_and_the_names_shown(app):
    """A Holter export whose channels are 'ECG1', 'ECG2' (57 of QTDB's 96 records name them so) is not refused:
    the page asks which lead each channel is, opens it with those names and says they were given here."""
    csv = _holter_csv(seconds=20).replace(b"time,II,V5", b"time,ECG1,ECG2")
    upload(app, [("holter_ecg12.csv", csv)])
    assert not errors(app) and "mets-lead-naming" in markdown_html(app)
    assert "ECG1, ECG2" in markdown_html(app) and "mets-record" not in markdown_html(app)     # nothing opened yet
    boxes = [b for b in app.selectbox if b.key and b.key.startswith("lead_of_")]
    assert [b.label for b in boxes] == ["Channel 1: ECG1", "Channel 2: ECG2"]
    boxes[0].set_value("II")
    boxes[1].set_value("II")
    next(b for b in app.button if b.key and b.key.startswith("lead_naming_open_")).click().run()
    assert any("II was chosen for two channels" in e for e in errors(app))      # said, and still waiting
    assert "mets-lead-naming" in markdown_html(app) and "mets-record" not in markdown_html(app)
    next(b for b in app.selectbox if b.key == boxes[1].key).set_value("leave out")
    next(b for b in app.button if b.key and b.key.startswith("lead_naming_open_")).click().run()
    assert not errors(app) and "mets-lead-naming" not in markdown_html(app)
    assert 'data-leads="1"' in markdown_html(app)
    said = " ".join(str(c.value) for c in app.caption)
    assert "Lead names: ECG1 as II (named on this page: the file does not say)" in said
    assert "Not drawn: ECG2 (left out when the leads were named)" in said
    assert rank_rows(app) > 0


def test_a_reader_fault_says_what_failed_and_what_to_do(app, monkeypatch):
    """A fault of the reader (not a refusal in words) is said as the upload's own failures are: what kind of
    failure, that it is this program's, the formats accepted and what to do; running out of memory asks for
    shorter files. Both when the files are dropped and when an upload's channels are named."""
    import dashboard.loading
    import dashboard.panels.lead_naming

    def fault(*args, **kwargs):
        raise OverflowError("int too large")
    monkeypatch.setattr(dashboard.loading, "read_uploads", fault)
    upload(app, [("synthetic.csv", synthetic_csv())])
    said = " ".join(errors(app))
    assert "the reader failed on this file (OverflowError)" in said and "export it again" in said, said
    monkeypatch.undo()

    def out_of_memory(*args, **kwargs):
        raise MemoryError()
    upload(app, [("holter_ecg12.csv", _holter_csv(seconds=20).replace(b"time,II,V5", b"time,ECG1,ECG2"))])
    monkeypatch.setattr(dashboard.panels.lead_naming, "read_named", out_of_memory)
    next(b for b in app.selectbox if b.key and b.key.startswith("lead_of_")).set_value("II")
    next(b for b in app.button if b.key and b.key.startswith("lead_naming_open_")).click().run()
    said = " ".join(errors(app))
    assert "Not opened: it is too large to read in the memory the server has free" in said, said
    assert "mets-lead-naming" in markdown_html(app)                 # still waiting to be named


def test_a_second_channel_for_a_lead_already_drawn_is_said_not_drawn(app):
    csv = _holter_csv(seconds=20).replace(b"time,II,V5", b"time,CM5,CC5")
    upload(app, [("cm5_cc5.csv", csv)])
    assert not errors(app) and 'data-leads="1"' in markdown_html(app)
    assert "Not drawn: channel CC5, a second V5 (V5 is drawn from CM5)." in " ".join(str(c.value) for c in app.caption)


def test_demo_is_labelled_synthetic_and_missing_leads_are_shown_absent(app):
    from dashboard.demo import DEMOS
    open_demo(app, next(t for t in DEMOS if "limb leads only" in t))
    html = markdown_html(app)
    assert "SYNTHETIC" in html and "6 of 12 leads recorded" in html
    assert html.count('lead-chip off') == 6
    paper = paper_spec(app)
    labels = [a["text"] for a in paper["layout"]["annotations"]]
    assert sum("not recorded" in t for t in labels) == 6


def test_layout_gain_and_speed_controls(app):
    upload(app, a_wfdb_upload())
    spec = paper_spec(app)
    h_3x4 = spec["layout"]["yaxis"]["range"][1]
    app.radio(key="layout").set_value("12×1").run()
    spec = paper_spec(app)
    labels = [a["text"] for a in spec["layout"]["annotations"] if a["text"].startswith("<b>")]
    assert len(labels) == 12 and spec["layout"]["yaxis"]["range"][1] != h_3x4
    app.radio(key="gain").set_value(20)
    app.radio(key="speed").set_value(50).run()
    spec = paper_spec(app)
    assert "50 mm/s" in " ".join(a["text"] for a in spec["layout"]["annotations"])
    assert re.search(r"\b20 mm(/mV| per )", " ".join(a["text"] for a in spec["layout"]["annotations"]))  # LUDB: per lead range


def _subpaths(path: str) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1): first and last point of each subpath of an SVG path written as M x,y L x,y ..."""
    out = []
    for sub in path.split("M")[1:]:
        points = [tuple(float(v) for v in p.split(",")) for p in sub.split("L")]
        out.append((*points[0], *points[-1]))
    return out


def test_paper_sent_to_the_browser_keeps_its_grid_calibration_and_fiducial_ticks(app):
    """The browser gets the grid, calibration pulses and fiducial ticks as drawings (one SVG path each, not
    hundreds of segments): still a 1 mm and 5 mm grid over the whole paper, under the tracing, and a tick
    under the beats, over it."""
    upload(app, a_wfdb_upload())
    spec = paper_spec(app)
    height = spec["layout"]["yaxis"]["range"][1]
    shapes = {s["name"]: s for s in spec["layout"]["shapes"]}
    for name, step in (("minor grid", 1.0), ("major grid", 5.0)):
        lines = _subpaths(shapes[name]["path"])
        xs = sorted({x0 for x0, _, x1, _ in lines if x0 == x1})
        ys = sorted({y0 for _, y0, _, y1 in lines if y0 == y1})
        assert np.allclose(np.diff(xs), step) and np.allclose(np.diff(ys), step)
        assert xs[0] == 0 and ys[0] == 0 and ys[-1] == height
        assert shapes[name]["layer"] == "below" and shapes[name]["xref"] == "x" and shapes[name]["yref"] == "y"
    assert shapes["calibration 1 mV"]["layer"] == "below"
    ticks = [s for s in spec["layout"]["shapes"] if s["name"] in ("P onset", "QRS onset", "QRS end", "T end")]
    assert ticks and all(s["layer"] == "above" for s in ticks)
    assert all(x0 == x1 for s in ticks for x0, _, x1, _ in _subpaths(s["path"]))          # vertical ticks
    names = [t.get("name") for t in spec["data"]]
    assert names[-1] == "calipers" and all(t.get("hovertemplate") for t in spec["data"][:-1])  # rows, readable


def _upload_as_csv(app, ecg, name: str) -> None:
    """Upload an ECG's recorded leads as a CSV with a time column (the rate read from it)."""
    x = ecg.signal[ecg.lead_mask]
    upload(app, [(name, csv_bytes(["time", *ecg.leads], [np.arange(x.shape[1]) / ecg.fs, *x]))])


def test_ectopic_beats_left_out_of_the_median_beat_are_named_and_carry_no_marks(app):
    """Bigeminy (a sinus beat, then a wide ventricular beat): the measurements say how many beats of another
    QRS shape were left out of the median beats, and the tracing's fiducial ticks stand only under the beats
    the median beats were made of (the sinus beats), not under every beat."""
    ecg, sinus, ectopics = bigeminy_ecg(250)
    _upload_as_csv(app, ecg, "bigeminy.csv")
    html = markdown_html(app)
    left_out = re.search(r"median of (\d+) beats \((\d+) beats of another QRS shape", html)
    assert left_out, html[:2000]
    used, other = int(left_out.group(1)), int(left_out.group(2))
    page_sinus = sum(r < 10 * ecg.fs for r in sinus)
    assert other == sum(e < 10 * ecg.fs for e in ectopics) and page_sinus - 2 <= used <= page_sinus
    ticks = next(s for s in paper_spec(app)["layout"]["shapes"] if s["name"] == "QRS onset")
    assert len({round(x0, 3) for x0, _, _, _ in _subpaths(ticks["path"])}) == used


def test_a_long_qtc_is_shown_with_the_advice_to_check_the_t_end(app):
    """An ECG whose QT is long (ST segment lengthened): beside the QTc values the page says it is long and to
    check the T end on the median beats, where a U wave or a P wave on the T can be taken for it."""
    ecg = st_lengthened_ecg(0.15)
    _upload_as_csv(app, ecg, "long_qt.csv")
    html = markdown_html(app)
    caveat = re.search(r"QTc (\d+) ms \(Fridericia\) is long \(500 ms or more; a high risk if real\): check the T "
                       r"end on the median beats", html)
    assert caveat and int(caveat.group(1)) >= 500, html[:3000]
    assert re.search(rf"QTc Fridericia\s+{caveat.group(1)} ms", re.sub(r"<[^>]+>", " ", html))   # the value shown


def test_model_card_page_says_research_use(app):
    go_to(app, "model_card")
    html = markdown_html(app)
    assert "Research use only" in html and "Not a medical device" in html
    assert "Test checkpoint" in html


def test_physionet_offline_gives_a_clear_message(app):
    app.text_input(key="pn_db").input("ludb/1.0.1/data")
    app.text_input(key="pn_record").input("1")
    app.button(key="pn_open").click().run(timeout=90)
    assert not app.exception
    if loaded(app):          # online: the record opened
        return
    msg = " ".join(errors(app))
    assert "PhysioNet" in msg


def test_missing_weights_show_a_clear_page_and_tracing_still_works(tmp_path, monkeypatch):
    monkeypatch.setenv("METS_WEIGHTS", str(tmp_path / "nowhere"))
    monkeypatch.setenv("METS_THREADS", "0")
    at = new_app()
    assert any("Model unavailable" in e and "METS_WEIGHTS" in e for e in errors(at))
    upload(at, a_wfdb_upload())
    assert paper_spec(at)["data"] and "Heart rate" in markdown_html(at)
    assert rank_rows(at) == 0


def test_corrupt_weights_are_reported_not_crashed(tmp_path, monkeypatch, weights):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((weights / "config.json").read_text())
    data = (weights / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(data[: len(data) // 3])
    monkeypatch.setenv("METS_WEIGHTS", str(bad))
    monkeypatch.setenv("METS_THREADS", "0")
    at = new_app()
    assert any("could not be loaded" in e for e in errors(at))


def test_zip_upload_and_grouping_helpers():
    from dashboard.loading import group_uploads
    groups = group_uploads([("a.hea", b"1"), ("b.csv", b"2"), ("a.dat", b"3"), ("c.dat", b"4"), ("b.csv", b"5")])
    names = [name for name, _ in groups]
    assert names[0] == "a" and [n for n, _ in groups[0][1]] == ["a.hea", "a.dat"]
    assert "b.csv" in names and "c.dat" in names and len(groups) == 4
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.csv", synthetic_csv(seconds=4))
    from dashboard.loading import read_uploads
    result = read_uploads([("x.zip", buf.getvalue())])
    assert not result.errors and result.ecgs[0].n_samples == 1000


def test_a_records_own_files_travel_with_it_whatever_their_extension():
    """PTB-DB's Frank leads (.xyz), QTDB's annotation files (.man, .qt1) and a database's own extension
    (.xws) join the record named by the uploaded header; an ECG file of another format with the same name
    does not; annotation files alone are explained."""
    from dashboard.loading import group_uploads, read_uploads
    groups = group_uploads([("a.hea", b"1"), ("a.dat", b"2"), ("a.xyz", b"3"), ("a.man", b"4"), ("a.qt1", b"5"),
                            ("a.xws", b"6"), ("a.csv", b"7"), ("b.xws", b"8")])
    assert [(name, [n for n, _ in members]) for name, members in groups] == [
        ("a", ["a.hea", "a.dat", "a.xyz", "a.man", "a.qt1", "a.xws"]), ("a.csv", ["a.csv"]), ("b.xws", ["b.xws"])]
    twice = group_uploads([("a.hea", b"1"), ("a.dat", b"2"), ("a.hea", b"1"), ("a.dat", b"2"), ("b.csv", b"3"),
                           ("b.csv", b"3")])            # the same files dropped twice: once each
    assert [(name, [n for n, _ in members]) for name, members in twice] == [("a", ["a.hea", "a.dat"]),
                                                                            ("b.csv", ["b.csv"])]
    (what, message), = read_uploads([("sel102.man", b"x"), ("sel102.q1c", b"y")]).errors
    assert "annotation files" in message and "'sel102.hea'" in message and "expected one ECG file" not in message


@needs_data("ptbdb/s0010_re.xyz", "qtdb/sel102.man")
def test_whole_record_folders_of_ptbdb_and_qtdb_open_without_errors():
    from dashboard.loading import read_uploads
    data = data_dir_or_none("ptbdb/s0010_re.xyz")
    for files in (sorted((data / "ptbdb").glob("s0010_re.*")), sorted((data / "qtdb").glob("sel102.*"))):
        result = read_uploads([(f.name, f.read_bytes()) for f in files])
        assert not result.errors and len(result.ecgs) == 1, (files, result.errors)


def test_resolve_source_finds_corpus_records(tmp_path):
    from dashboard.loading import resolve_source
    (tmp_path / "ludb" / "data").mkdir(parents=True)
    (tmp_path / "ludb" / "data" / "7.hea").write_text("7 1 500 10\n")
    (tmp_path / "ptbxl" / "records500" / "06000").mkdir(parents=True)
    (tmp_path / "ptbxl" / "records500" / "06000" / "06000_hr.hea").write_text("x\n")
    assert resolve_source(tmp_path, "ludb/data/7") == (tmp_path / "ludb" / "data" / "7.hea", 0.0)
    assert resolve_source(tmp_path, "ludb/7:2.5")[1] == 2.5
    assert resolve_source(tmp_path, "ptbxl/6000")[0].name == "06000_hr.hea"
    assert resolve_source(tmp_path, "mitdb/100") is None
    assert resolve_source(tmp_path, "../../etc/passwd") is None
    assert resolve_source(None, "ludb/7") is None


def test_parse_prompts():
    from dashboard.panels.prompts import MAX_PROMPTS, parse_prompts
    prompts, warnings = parse_prompts("  sinus   rhythm \n\nSinus rhythm\natrial fibrillation\n")
    assert prompts == ["sinus rhythm", "atrial fibrillation"] and len(warnings) == 1 and "'Sinus rhythm'" in warnings[0]
    prompts, warnings = parse_prompts("\n".join(f"p{i}" for i in range(MAX_PROMPTS + 5)))
    assert len(prompts) == MAX_PROMPTS and warnings
    assert np.isclose(len(parse_prompts("x" * 1000)[0][0]), 200)
    # a line of only full stops has nothing to embed: skipped with a warning, the other prompts still rank
    prompts, warnings = parse_prompts("atrial fibrillation\n...\n")
    assert prompts == ["atrial fibrillation"] and "no words" in warnings[0]
    # '#' starts a comment anywhere on a line; a line of only a comment is no prompt and no warning
    prompts, warnings = parse_prompts("# my set\nsinus rhythm # baseline\n  #\nSinus  rhythm\n")
    assert prompts == ["sinus rhythm"] and len(warnings) == 1 and "repeated" in warnings[0]   # the repeat, said


# --- the reading room: honest ranking, file labels, report, comparison, messages ----------------------------

def _csv_with_labels() -> bytes:
    return b"# Age: 61\n# Sex: Female\n# Dx: 164889003,59118001\n" + synthetic_csv()


def test_file_labels_age_and_sex_beside_the_ranking(app):
    upload(app, [("labelled.csv", _csv_with_labels())])
    html = markdown_html(app)
    assert 'data-testid="mets-file-labels"' in html
    assert "atrial fibrillation" in html and "right bundle branch block" in html
    assert "age 61" in html and "female" in html
    button(app, "Rank the file's own labels").click().run()
    assert sorted(r["prompt"] for r in ranking(app)) == ["atrial fibrillation", "right bundle branch block"]
    assert app.selectbox(key="preset").value == "custom"


@needs_data("ptbxl/ptbxl_database.csv", "ptbxl/records100/00000/00307_lr.hea")
def test_a_ptbxl_record_shows_ptbxls_own_statements_from_the_data_folder(app):
    """PTB-XL's files carry no labels; with the user's PTB-XL copy in the data folder, an uploaded PTB-XL record
    shows PTB-XL's statements, age and sex, says where they come from, and so do the batch table and the PDF."""
    folder = data_dir_or_none("ptbxl/ptbxl_database.csv") / "ptbxl" / "records100" / "00000"
    upload(app, [(f"00307_lr.{ext}", (folder / f"00307_lr.{ext}").read_bytes()) for ext in ("hea", "dat")])
    html = markdown_html(app)
    assert not errors(app), errors(app)
    assert "anteroseptal myocardial infarction" in html and "left ventricular hypertrophy" in html
    assert "From PTB-XL&#x27;s table, ecg_id 307" in html or "From PTB-XL's table, ecg_id 307" in html
    assert "age 63" in html and "male" in html
    button(app, "Prepare a one-page PDF report").click().run()
    assert not app.exception and any("PDF" in str(b.proto) for b in app.get("download_button"))
    go_to(app, "batch")
    assert "anteroseptal myocardial infarction" in app.dataframe[0].value["file labels"][0]


@needs_data("cinc2017/REFERENCE.csv", "cinc2017/A00004.hea")
def test_a_cinc2017_record_shows_the_challenges_class_from_the_data_folder(app):
    folder = data_dir_or_none("cinc2017/REFERENCE.csv") / "cinc2017"
    upload(app, [(f"A00004.{ext}", (folder / f"A00004.{ext}").read_bytes()) for ext in ("hea", "mat")])
    html = markdown_html(app)
    assert not errors(app), errors(app)
    assert "atrial fibrillation" in html and "CinC 2017 reference" in html and "REFERENCE.csv" in html


def _ptbxl_mirror(root: Path) -> None:
    """PhysioNet's PTB-XL as a mirror serves it: two synthetic records under PTB-XL's names (100 Hz, 12 leads)
    and a table of statements with a row for the first only."""
    import wfdb

    from mets_core.ecg import STANDARD_LEADS
    from mets_core.simulate import simulate_ecg
    db = root / "files" / "ptb-xl" / "1.0.3"
    folder = db / "records100" / "00000"
    folder.mkdir(parents=True)
    for seed, name in enumerate(("00307_lr", "00308_lr")):
        ecg = simulate_ecg(duration_s=10, fs=100, heart_rate=70 + 10 * seed, seed=seed)
        wfdb.wrsamp(name, fs=100, units=["mV"] * 12, sig_name=list(STANDARD_LEADS), fmt=["16"] * 12,
                    p_signal=ecg.signal.T.astype(np.float64), write_dir=str(folder))
    (db / "ptbxl_database.csv").write_text(
        "ecg_id,patient_id,age,sex,scp_codes,strat_fold,filename_lr,filename_hr\n"
        "1,15709.0,56.0,1,\"{'NORM': 100.0, 'SR': 0.0}\",3,records100/00000/00001_lr,records500/00000/00001_hr\n"
        "307,1234.0,63.0,0,\"{'AFIB': 100.0, 'LVH': 50.0}\",8,records100/00000/00307_lr,records500/00000/00307_hr\n")


def _open_physionet(at, database: str, record: str) -> str:
    """Open a PhysioNet record from the sidebar; the page's text afterwards (HTML entities decoded)."""
    import html
    at.text_input(key="pn_db").input(database)
    at.text_input(key="pn_record").input(record)
    at.button(key="pn_open").click().run(timeout=90)
    assert not at.exception and not errors(at) and loaded(at), errors(at)
    return html.unescape(markdown_html(at))


def test_a_ptbxl_record_from_physionet_shows_ptbxls_statements(app, tmp_path):
    """PTB-XL's files carry no labels. Opened from PhysioNet (here a PhysioNet-like mirror on 127.0.0.1), a
    PTB-XL record shows the statements, age and sex of the database's own table, and says where they come
    from; the table is fetched once per server; a record the table does not list shows none, and without the
    table the record still opens, and the panel says that the table could not be fetched."""
    _ptbxl_mirror(tmp_path)
    with physionet_is(tmp_path) as requests:
        page = _open_physionet(app, "ptb-xl/1.0.3", "records100/00000/00307_lr")
        assert "atrial fibrillation" in page and "left ventricular hypertrophy (50% likely)" in page, page[:3000]
        assert "From PTB-XL's table, ecg_id 307 (ptbxl_database.csv of PhysioNet's ptb-xl/1.0.3" in page
        assert "age 63" in page and "male" in page
        page = _open_physionet(app, "ptb-xl/1.0.3", "records100/00000/00308_lr")
        assert "ecg_id 308" not in page and "atrial fibrillation" not in page.split("What the file says")[-1]
    tables = [path for _, path, _ in requests if path.endswith("ptbxl_database.csv")]
    assert tables == ["/files/ptb-xl/1.0.3/ptbxl_database.csv"], requests
    (tmp_path / "files" / "ptb-xl" / "1.0.3" / "ptbxl_database.csv").unlink()
    with physionet_is(tmp_path):
        page = _open_physionet(new_app(), "ptb-xl/1.0.3", "records100/00000/00307_lr")
    assert "ecg_id 307" not in page
    assert "its table of statements (ptbxl_database.csv) could not be fetched from PhysioNet's ptb-xl/1.0.3" in page


def _with_model_fields(monkeypatch, fields) -> None:
    """The engine's model.rank gives its real matches plus the model API's percentile/known/AUC fields,
    `fields(ecg, prompt)` -> dict (the test checkpoint has no reference population or knowledge)."""
    from dashboard import engine as engines
    engine = engines.get_engine()
    original = engine.model.rank

    class Rich:
        def __init__(self, m, **extra):
            self.__dict__.update(prompt=m.prompt, similarity=m.similarity, probability=m.probability, **extra)

    def rank(ecg, prompts, *a, **k):
        return [Rich(m, **fields(ecg, m.prompt)) for m in original(ecg, prompts, *a, **k)]
    monkeypatch.setattr(engine.model, "rank", rank)


def test_ranking_headline_reliability_and_unknown_phrases_apart(app, monkeypatch):
    """With the model's percentile/known/AUC fields (added here to real matches, as the model API gives them),
    an unknown phrase is listed apart and the headline says what stands out."""
    upload(app, a_wfdb_upload())
    table = {"atrial fibrillation": dict(percentile=97.0, known=True, validation_auc=0.95,
                                         expansion=("atrial fibrillation",), statement="afib"),
             "sinus rhythm": dict(percentile=40.0, known=True, validation_auc=0.55),
             "asdfgh qwerty": dict(percentile=99.0, known=False)}
    _with_model_fields(monkeypatch, lambda ecg, prompt: table.get(prompt, {}))
    app.text_area(key="prompts_text").input("sinus rhythm\natrial fibrillation\nasdfgh qwerty").run()
    html = markdown_html(app)
    assert not app.exception
    assert rank_rows(app) == 2 and 'data-prompt="asdfgh qwerty">asdfgh qwerty</li>' in html
    assert "Not known to the model" in html
    assert "Stands out from the reference ECGs: “atrial fibrillation”" in html
    assert "validated: AUC 0.95" in html and "weak: AUC 0.55" in html
    assert "share among these, not a probability" in html      # a share of the softmax, said not to be a probability
    first = html[html.index('data-rank="1"'):html.index('data-rank="2"')]
    assert "atrial fibrillation" in first                          # ordered by percentile


def test_no_confident_match_without_a_reference(app):
    upload(app, a_wfdb_upload())
    [(_, headline)] = tagged(app, "mets-headline")
    assert "These weights carry no reference population, so nothing can be called a confident match" in headline
    assert "Stands out" not in headline, headline


def test_preset_keeps_typed_prompts_under_custom(app):
    upload(app, a_wfdb_upload())
    app.text_area(key="prompts_text").input("my own phrase\natrial fibrillation").run()
    assert app.selectbox(key="preset").value == "custom"
    app.selectbox(key="preset").set_value("Rhythm").run()
    app.selectbox(key="preset").set_value("custom").run()
    assert app.text_area(key="prompts_text").value == "my own phrase\natrial fibrillation"


def test_identical_data_uploaded_under_another_name_keeps_its_name(app):
    data = synthetic_csv()
    upload(app, [("first.csv", data)])
    upload(app, [("second.csv", data)])
    assert sorted(loaded(app)) == ["first", "second"]
    assert shown_title(app) == "second"


def test_error_is_in_clinician_words_and_cleared_by_the_next_action(app):
    upload(app, [("norate.csv", b"I,II\n" + b"\n".join(b"0.1,0.2" for _ in range(500)) + b"\n")])
    msg = " ".join(errors(app))
    assert "norate.csv" in msg and "sidebar" in msg and "read_ecg" not in msg
    open_demo(app)                                   # the next action clears it
    assert not errors(app)


def test_setting_the_rate_a_message_asks_for_opens_the_file_still_listed(app):
    """The message for a CSV without a rate says to set the rate in the sidebar; doing so opens the file the
    uploader still lists (it had to be dropped again before)."""
    upload(app, [("norate.csv", b"I,II\n" + b"\n".join(b"0.1,0.2" for _ in range(2500)) + b"\n")])
    assert any("Sampling rate for CSV/NumPy files" in e for e in errors(app))
    assert "mets-record" not in markdown_html(app)
    app.number_input(key="assumed_fs").set_value(250.0).run()
    assert not errors(app) and "norate" in shown_title(app)
    assert "10.0 s" in markdown_html(app)                        # 2,500 samples at the rate set


def test_messages_name_no_code_symbols(app):
    upload(app, [("mixed.csv", b"time,I,pleth\n" + b"\n".join(b"%.3f,0.1,0.2" % (k / 250) for k in range(500)))])
    msg = " ".join(errors(app))
    assert "pleth" in msg and "mets_core" not in msg and "read_ecg" not in msg and "lead_names" not in msg


def test_pdf_report_is_built_in_memory_and_offered(app):
    upload(app, a_wfdb_upload())
    button(app, "Prepare a one-page PDF report").click().run()
    assert not app.exception and not errors(app), errors(app)
    buttons = [b for b in app.get("download_button") if "PDF" in str(b.proto)]
    assert buttons


def test_compare_two_ecgs(app):
    upload(app, a_wfdb_upload())
    open_demo(app)
    go_to(app, "compare")
    assert not errors(app), errors(app)
    assert len(app.get("plotly_chart")) == 2
    tables = [d.value for d in app.dataframe]
    assert "difference (second − first)" in tables[0].columns
    assert len(tables) == 2 and "phrase" in tables[1].columns
    assert "Heart rate (bpm)" in list(tables[0]["measurement"])
    cells = tables[0].drop(columns="measurement").stack()
    words = {"not applicable", "not measurable", "—"}       # as the Reader says it, never "None"
    assert len(cells) and all(v in words or float(v).is_integer() for v in cells)     # whole units, as on the Reader
    html = markdown_html(app)           # the test weights carry no reference ECGs: nothing is crowned
    assert 'data-testid="mets-compare-reading"' in html and html.count("not judged (weights without") == 2
    assert any(str(c.value).startswith("Measured on: ") and str(c.value).count("whole ECG") == 2 for c in app.caption)
    side_by_side = [json.loads(c.proto.spec)["layout"]["height"] for c in app.get("plotly_chart")]
    app.radio(key="cmp_arrangement").set_value("one above the other").run()    # each ECG the page's whole width
    stacked = [json.loads(c.proto.spec)["layout"]["height"] for c in app.get("plotly_chart")]
    assert not errors(app) and len(stacked) == 2 and all(h2 > 1.5 * h1 for h1, h2 in zip(side_by_side, stacked))
