"""Review 33 of the dashboard's loading, session and navigation, by reading the code (each proven in the app,
then fixed; each test fails on the code before): a copy of a file under another name, dropped again, opened a
third entry in the sidebar; a wrong time typed in a long recording's time box came back with the ECG when it was
closed and opened again; setting the sampling rate read again only the last upload's files (a CSV without a
rate dropped before another upload stayed unopened) and took away the lead-naming box of its own upload; an
unknown PhysioNet record was said as "404 Error: File not found for url: ..."; two files of one name whose
channels are unnamed (two Holters' holter.csv) took the lead-naming box down (a duplicate widget key)."""
from __future__ import annotations

import contextlib

import numpy as np
from dashboard_fixtures import errors, loaded, markdown_html, shown_title, upload
from helpers import csv_bytes

FS = 125


def _two_leads(seconds: float, seed: int = 3, names=("II", "V5"), rate_given: bool = True) -> bytes:
    """A 2-lead CSV of `seconds` at FS Hz; its rate stated by a time column, or not stated at all."""
    import neurokit2 as nk
    x = nk.ecg_simulate(duration=seconds, sampling_rate=FS, heart_rate=70, random_state=seed)
    if rate_given:
        return csv_bytes(["time", *names], [np.arange(len(x)) / FS, x, 0.6 * x])
    return csv_bytes(list(names), [x, 0.6 * x])


def _drop_more(at, files) -> None:
    """Drop `files` [(name, bytes)] on the uploader beside those it lists already, as a browser does: its
    multi-file uploader keeps listing the earlier files, under their first ids (AppTest's set_value replaces
    the list with new ids, and its upload() forgets the earlier files: the list is given whole here)."""
    from uuid import uuid4
    uploader = at.file_uploader(key="uploader")
    listed = [(f.file_id, f.name, f.getvalue(), f.type) for f in uploader.value or []]
    uploader._files = listed + [(str(uuid4()), name, data, "application/octet-stream") for name, data in files]
    uploader.run()
    assert not at.exception, at.exception


def _naming_box(at) -> bool:
    return 'data-testid="mets-lead-naming"' in markdown_html(at)


def test_a_copy_under_another_name_dropped_again_is_shown_not_opened_again(app):
    data = _two_leads(20)
    upload(app, [("monday.csv", data)])
    upload(app, [("monday_copy.csv", data)])            # the same signal under another name: its own entry
    assert loaded(app) == ["monday", "monday_copy"]
    upload(app, [("monday_copy.csv", data)])            # dropped again: shown, not a third entry
    assert loaded(app) == ["monday", "monday_copy"] and shown_title(app).startswith("monday_copy")
    upload(app, [("monday.csv", data)])
    assert loaded(app) == ["monday", "monday_copy"] and not shown_title(app).startswith("monday_copy")
    assert not errors(app), errors(app)


def test_a_wrong_time_typed_is_forgotten_with_the_closed_ecg(app):
    data = _two_leads(30)
    upload(app, [("holter.csv", data)])
    next(t for t in app.text_input if t.label == "Go to (h:mm:ss)").input("half past").run()
    assert any("“half past” is not a time" in e for e in errors(app))
    app.button(key="close_ecg").click().run()
    assert loaded(app) == []
    upload(app, [("holter.csv", data)])                 # opened again: afresh, the old mistake not said again
    assert loaded(app) == ["holter"] and not errors(app), errors(app)


def test_the_rate_set_reads_a_file_of_an_earlier_upload_that_wanted_it(app):
    upload(app, [("no_rate.csv", _two_leads(20, rate_given=False))])
    assert any("no_rate.csv" in e and "set the sampling rate in the sidebar" in e for e in errors(app))
    _drop_more(app, [("other.csv", _two_leads(20, seed=5))])
    assert loaded(app) == ["other"] and not errors(app), errors(app)       # no_rate.csv is not read again
    app.number_input(key="assumed_fs").set_value(float(FS)).run()       # as the message advised
    assert loaded(app) == ["other", "no_rate"] and not errors(app), errors(app)


def test_the_rate_set_keeps_the_lead_naming_box_of_the_same_upload(app):
    upload(app, [("holter_ecg12.csv", _two_leads(20, names=("ECG1", "ECG2"))),
                 ("no_rate.csv", _two_leads(20, seed=5, rate_given=False))])
    assert _naming_box(app) and any("no_rate.csv" in e for e in errors(app))
    app.number_input(key="assumed_fs").set_value(float(FS)).run()
    assert loaded(app) == ["no_rate"] and not errors(app), errors(app)
    assert _naming_box(app), "the channels of holter_ecg12.csv are still to be named"
    next(b for b in app.selectbox if b.key and b.key.startswith("lead_of_")).set_value("II")
    next(b for b in app.button if b.key and b.key.startswith("lead_naming_open_")).click().run()
    assert loaded(app) == ["no_rate", "holter_ecg12"] and not _naming_box(app) and not errors(app), errors(app)


def test_two_files_of_one_name_each_get_a_box_to_name_their_channels(app):
    """Two Holter exports both called holter.csv (from two folders), their channels unnamed: a box each."""
    upload(app, [("holter.csv", _two_leads(20, names=("ECG1", "ECG2"))),
                 ("holter.csv", _two_leads(20, seed=9, names=("ECG1", "ECG2")))])
    assert not errors(app), errors(app)
    assert markdown_html(app).count('data-testid="mets-lead-naming"') == 2
    for opened in (["holter"], ["holter", "holter (2)"]):
        next(b for b in app.selectbox if b.key and b.key.startswith("lead_of_")).set_value("II")
        next(b for b in app.button if b.key and b.key.startswith("lead_naming_open_")).click().run()
        assert loaded(app) == opened and not errors(app), errors(app)
    assert not _naming_box(app)


@contextlib.contextmanager
def _physionet_with_mitdb_100(root):
    """PhysioNet, for the app, is a mirror on 127.0.0.1 holding mitdb/1.0.0/100 (synthetic, two channels)."""
    import wfdb
    from physionet_mirror import physionet_is

    from mets_core.simulate import simulate_ecg
    folder = root / "files" / "mitdb" / "1.0.0"
    folder.mkdir(parents=True)
    ecg = simulate_ecg(duration_s=10, fs=360, heart_rate=70, seed=0, leads=("II", "V1"))
    wfdb.wrsamp("100", fs=360, units=["mV"] * 2, sig_name=["MLII", "V1"], fmt=["16"] * 2,
                p_signal=ecg.signal[ecg.lead_mask].T.astype(float), write_dir=str(folder))
    with physionet_is(root):
        yield


def _open_physionet(at, database: str, record: str) -> None:
    at.text_input(key="pn_db").input(database)
    at.text_input(key="pn_record").input(record)
    at.button(key="pn_open").click().run(timeout=90)
    assert not at.exception


def test_an_unknown_physionet_record_is_said_in_words_with_what_to_check(app, tmp_path):
    with _physionet_with_mitdb_100(tmp_path):
        _open_physionet(app, "mitdb/1.0.0", "999")
        said = " ".join(errors(app))
        assert "PhysioNet has no record 999 in mitdb/1.0.0" in said and "Check the database and the record" in said
        assert "404" not in said and "url" not in said.lower(), said
        assert loaded(app) == []
        _open_physionet(app, "mitdb/1.0.0", "100")      # the mirror serves what it has: the record opens
        assert loaded(app) == ["mitdb/100"] and not errors(app), errors(app)
