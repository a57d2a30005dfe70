"""What the page says, in the words of the person at the screen (AppTest, no browser): reader messages without
programming advice, phrase sets that say what loading left out, the time box's answers, and the "why" panel's
times and colours. Each test drives the app as a user does and checks what the page shows."""
from __future__ import annotations

import io
import json
import re
import zipfile

from dashboard_fixtures import errors, loaded, markdown_html, plotly_values, synthetic_csv, upload
from dashboard import plotting
from helpers import data_dir_or_none, needs_data


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _two_records(rec1: dict[str, bytes]) -> dict[str, bytes]:
    """Record '1' (synthetic 12-lead WFDB) and the same signal as record '2'."""
    header = rec1["1.hea"].decode()
    lines = header.splitlines()
    lines[0] = "2" + lines[0][1:]                                     # "1 12 500 5000" -> "2 12 500 5000"
    second = "\n".join(re.sub(r"^1\.dat ", "2.dat ", line) for line in lines) + "\n"
    assert second.count("2.dat") == 12
    return {**rec1, "2.hea": second.encode(), "2.dat": rec1["1.dat"]}


def test_a_zip_of_two_records_says_how_to_upload_them_without_programming_words(app, rec1):
    files = _two_records(rec1)
    upload(app, [("two.zip", _zip(files))])
    msg = " ".join(errors(app))
    assert "two.zip" in msg and "holds 2 records (1, 2)" in msg, msg
    assert "loose files" in msg and "one zip per record" in msg, msg
    assert "name=" not in msg and "WFDB records" not in msg, msg
    # and the advice holds: the same records as loose files, all at once, open as two ECGs
    upload(app, list(files.items()))
    assert not errors(app), errors(app)
    assert len(loaded(app)) == 2, loaded(app)


def test_a_file_named_dcm_that_is_not_dicom_is_refused_without_library_advice(app):
    upload(app, [("garbage.dcm", b"garbage")])
    msg = " ".join(errors(app))
    assert "garbage.dcm" in msg and "DICOM" in msg, msg
    assert "force=True" not in msg and "Use force" not in msg, msg
    assert "InvalidDicomError" not in msg and "Error:" not in msg, msg


def test_a_loaded_phrase_set_says_once_what_was_left_out_or_shortened(app):
    upload(app, [("ecg.csv", synthetic_csv())])
    phrases = ["sinus rhythm " + "x" * 5000] + [f"phrase number {i}" for i in range(1, 100)]
    data = json.dumps({"format": "mets-prompt-set", "version": 1, "prompts": phrases}).encode()
    app.file_uploader(key="prompts_load").set_value([("big.json", data, "application/json")]).run()
    assert not app.exception, app.exception
    box = app.text_area(key="prompts_text").value.splitlines()
    assert len(box) == 60 and len(box[0]) == 200                    # what the box keeps (unchanged)
    notes = [str(w.value) for w in app.warning]
    left_out = [n for n in notes if "only the first 60" in n]
    assert len(left_out) == 1 and "100" in left_out[0] and "40 left out" in left_out[0], notes
    shortened = [n for n in notes if "shortened" in n]
    assert len(shortened) == 1 and "1 phrase" in shortened[0] and "200 characters" in shortened[0], notes
    app.run()                                                       # said once: the next run does not repeat it
    assert not [str(w.value) for w in app.warning if "only the first 60" in str(w.value)
                or "shortened" in str(w.value)]


# --- a long recording: the time box and the "why" panel -------------------------------------------------

def _long_csv(seconds=90, fs=125, seed=2) -> bytes:
    import neurokit2 as nk
    x = nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=70, random_state=seed)
    rows = [f"{k / fs:.4f},{v:.4f},{0.6 * v:.4f}" for k, v in enumerate(x)]
    return ("time,II,V5\n" + "\n".join(rows) + "\n").encode()


def _page_start(at) -> str:
    m = re.search(r'data-testid="mets-page-span" data-start-s="([^"]*)"', markdown_html(at))
    return m.group(1) if m else ""


def _go_to(at, text: str):
    next(t for t in at.text_input if t.label == "Go to (h:mm:ss)").input(text).run()
    assert not at.exception, at.exception
    return at


def test_go_to_a_negative_time_or_four_parts_says_so(app):
    upload(app, [("holter.csv", _long_csv())])
    _go_to(app, "0:00:40")
    assert _page_start(app) == "40"
    _go_to(app, "-0:00:05")                                          # before the start: the minus counts
    assert _page_start(app) == "0"
    assert any("“-0:00:05” is outside the recording" in str(i.value) and "first page" in str(i.value)
               for i in app.info), [str(i.value) for i in app.info]
    _go_to(app, "1:2:3:4")                                           # not h:mm:ss
    assert any("“1:2:3:4” is not a time" in e for e in errors(app)), errors(app)
    assert not any("outside the recording" in str(i.value) for i in app.info)


def test_why_panel_on_a_long_recording_speaks_h_mm_ss_and_says_what_its_colours_mean(app):
    upload(app, [("holter.csv", _long_csv())])
    _go_to(app, "0:00:40")
    app.text_area(key="prompts_text").input("sinus rhythm\natrial fibrillation").run()
    app.toggle(key="why_overlay").set_value(True).run()
    assert not app.exception and not errors(app), errors(app)
    captions = " ".join(str(c.value) for c in app.caption)
    assert "explained on the page on screen, 0:00:40–0:00:50" in captions, captions
    assert "40.0–50.0 s" not in captions
    charts = {getattr(c, "key", None): json.loads(c.proto.spec) for c in app.get("plotly_chart")}
    seconds = charts["why_secs"]["data"][0]
    assert list(seconds["x"])[0] == "0:00:40–0:00:41" and list(seconds["x"])[-1] == "0:00:49–0:00:50"
    # bars: blue raised, grey lowered; the overlay's orange (how much, not which way) is not theirs
    for key in ("why_leads", "why_secs"):
        bars = charts[key]["data"][0]
        colours = bars["marker"]["color"]
        for y, colour in zip(plotly_values(bars["y"]), colours):
            assert colour == (plotting.BAR_RAISED if y > 0 else plotting.BAR_LOWERED), (key, y, colour)
    assert "Blue bars: that part raised the score" in captions and "grey bars: it lowered the score" in captions
    assert "Orange shading on the tracing" in captions and "not which way" in captions


def test_a_data_folder_that_does_not_exist_is_said_not_ignored(app):
    """A mistyped data folder silently took PTB-XL's statements and the similar reports' ECGs away."""
    app.text_input(key="data_dir").input("/nonexistent/folder").run()
    assert any("“/nonexistent/folder” is not a folder on this server" in str(w.value) for w in app.warning)
    app.text_input(key="data_dir").input("").run()
    assert not any("is not a folder" in str(w.value) for w in app.warning)


@needs_data("qtdb/sel102.hea", "qtdb/sel102.dat")
def test_offline_a_physionet_record_opens_from_the_data_folders_copy(app, monkeypatch):
    """Offline, "Open a PhysioNet record" said to download the record elsewhere and upload it although the
    data folder held it: it now opens that copy, with its beat labels, and says where it came from."""
    import dashboard.loading as loading
    from mets_core.ecg import ECGReadError

    def offline(database, record, timeout_s=None):
        raise ECGReadError(f"{loading.OFFLINE} (no internet connection?). Download the record elsewhere")

    monkeypatch.setattr(loading, "fetch_physionet", offline)
    monkeypatch.setenv("METS_DATA_DIR", str(data_dir_or_none()))
    app.text_input(key="pn_db").input("qtdb")
    app.text_input(key="pn_record").input("sel102")
    app.button(key="pn_open").click().run(timeout=90)
    assert not app.exception and not errors(app) and loaded(app), errors(app)
    html = markdown_html(app)
    assert "data folder (PhysioNet offline)" in html and "Beat labels in" in html
    app.text_input(key="pn_record").input("no_such_record")
    app.button(key="pn_open").click().run(timeout=90)
    assert any(loading.OFFLINE in e for e in errors(app))          # not in the folder either: said as before
