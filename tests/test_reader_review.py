"""The Reader after a cardiologist's review: amplitudes that are not mV are said so above the paper and on it;
a single lead's paper has no blank band under it; the printed report of a long recording's whole-recording
summary names its strip and the minute its intervals were measured on (never "on screen")."""
from __future__ import annotations

import re

import numpy as np

from dashboard_fixtures import button, markdown_html, paper_spec, upload
from helpers import csv_bytes, data_dir_or_none, needs_data, npy_bytes, synthetic_signal


def _warnings(app) -> str:
    return " ".join(str(w.value) for w in app.warning)


def test_z_scored_numbers_are_said_not_to_be_mv_above_the_paper_and_on_it(app):
    """PTB-XL's z-scored arrays (every lead mean 0, SD 1) were drawn under "10 mm/mV" with the units in a
    collapsed expander."""
    signal = synthetic_signal(n_leads=12, n=1000, fs=100.0)
    z = (signal - signal.mean(axis=0)) / signal.std(axis=0)
    upload(app, [("zscored.npy", npy_bytes(z))])
    app.number_input(key="assumed_fs").set_value(100.0).run()
    assert "Amplitudes are in standard deviations of each lead, not mV" in _warnings(app)
    footer = " ".join(a["text"] for a in paper_spec(app)["layout"]["annotations"])
    assert "10 mm per SD (not mV)" in footer and "10 mm/mV" not in footer


def test_a_recording_in_stated_mv_carries_no_units_warning(app):
    signal = synthetic_signal(n_leads=2, n=2500, fs=250.0)
    upload(app, [("stated.csv", csv_bytes(["time", "I (mV)", "II (mV)"],
                                          [np.arange(2500) / 250.0, signal[:, 0], signal[:, 1]]))])
    assert "standard deviations" not in _warnings(app) and "does not state its units" not in _warnings(app)
    assert "10 mm/mV" in " ".join(a["text"] for a in paper_spec(app)["layout"]["annotations"])


def test_a_single_lead_paper_is_as_high_as_its_row(app):
    """CinC 2017's single lead: a figure twice as high as its paper left a tall blank band above the calipers."""
    signal = synthetic_signal(n_leads=1, n=9000, fs=300.0)
    upload(app, [("one.csv", csv_bytes(["time", "I (mV)"], [np.arange(9000) / 300.0, signal[:, 0]]))])
    layout = paper_spec(app)["layout"]
    paper_w = layout["xaxis"]["range"][1] - layout["xaxis"]["range"][0]
    paper_h = layout["yaxis"]["range"][1] - layout["yaxis"]["range"][0]
    margin = layout["margin"]
    drawn_w = 1100 - margin["l"] - margin["r"]              # dashboard.plotting.DRAWN_WIDTH_PX
    assert layout["height"] - margin["t"] - margin["b"] <= paper_h / paper_w * drawn_w + 2


def test_the_whole_recording_report_names_its_strip_and_where_it_was_measured(app, monkeypatch):
    """The whole-recording summary's PDF said "Whole recording, 0:00:00–..." and printed a 10 s strip and HR/PR
    without saying where either came from; the screen said it."""
    import matplotlib

    import dashboard.report as report
    pages, real = [], report.build_pdf

    def keep_text(ecg, title, **kwargs):
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            svg = real(ecg, title, **{**kwargs, "image_format": "svg"}).decode()
        pages.append(" ".join(re.sub(r"<[^>]+>", " ", svg).split()))
        return real(ecg, title, **kwargs)
    monkeypatch.setattr(report, "build_pdf", keep_text)
    fs, n = 250, 250 * 150
    signal = synthetic_signal(n_leads=2, n=n, fs=float(fs))
    upload(app, [("long.csv", csv_bytes(["time", "II (mV)", "V1 (mV)"],
                                        [np.arange(n) / fs, signal[:, 0], signal[:, 1]]))])
    next(t for t in app.toggle if t.label == "Whole-recording summary").set_value(True).run()
    where = re.search(r"Measured on (\d:\d\d:\d\d(?:\.\d)?)–(\d:\d\d:\d\d(?:\.\d)?)", markdown_html(app))
    assert where, "the screen says where the summary measured"
    button(app, "Prepare a one-page PDF report").click().run()
    assert not app.exception and pages
    page = pages[-1]
    assert "on screen" not in page
    assert "strip 0:00:00–0:00:10 of 0:02:30" in page
    assert (where.group(1), where.group(2)) != ("0:00:00", "0:00:10")        # the summary's minute, not the strip
    assert f"Measured on {where.group(1)}–{where.group(2)}, not on the strip printed" in page


def test_noise_of_z_scored_data_is_never_named_or_judged_in_mv():
    """The review: a z-scored upload's noise note read "III: baseline wander 0.6 mV" (the numbers are standard
    deviations of each lead). Then (review 33) it was named in SD but still held to the mV limits, which called
    a clean simulated ECG's leads "Unacceptable": the limits are voltages, so z-scored leads (the paper's rule,
    readers.channels.amplitude_basis) are not held to them, and a warning says so."""
    from mets_core import read_ecg
    from mets_core.measure import measure
    from mets_core.simulate import simulate_ecg

    def z_scored(ecg):
        z = (ecg.signal - ecg.signal.mean(axis=1, keepdims=True)) / ecg.signal.std(axis=1, keepdims=True)
        return read_ecg(npy_bytes(z.astype(np.float32)), name="z.npy", fs=ecg.fs)
    wandering = simulate_ecg(duration_s=10, fs=250, wander_mv=1.5, seed=4)
    assert any(" mV" in note for note in measure(wandering).lead_noise.values())   # in mV, named so
    for ecg in (wandering, simulate_ecg(duration_s=10, fs=250, seed=4)):
        as_sd = measure(z_scored(ecg))
        assert not as_sd.lead_noise
        assert any("baseline wander not judged" in w and "read in SD" in w for w in as_sd.warnings)
    clean = measure(z_scored(simulate_ecg(duration_s=10, fs=250, seed=4)))
    assert "Unacceptable" not in clean.lead_quality.values(), clean.lead_quality


@needs_data("ludb/data")
def test_z_scored_ludb_records_get_the_lead_quality_and_intervals_of_their_mv_originals():
    """Every 10th LUDB record, z-scored lead by lead: the same quality label on every lead as in mV (before,
    the mV noise limits called 0.44 of the z-scored leads "Unacceptable"), and a QRS within 10 ms of the mV
    one in all but at most 2 of the 20 (the global boundaries weight leads by their amplitude, which z-scoring
    changes)."""
    from mets_core import read_ecg
    from mets_core.measure import measure
    qrs_off = 0
    for i in range(1, 201, 10):
        ecg = read_ecg(str(data_dir_or_none() / "ludb" / "data" / f"{i}.hea"))
        z = (ecg.signal - ecg.signal.mean(axis=1, keepdims=True)) / ecg.signal.std(axis=1, keepdims=True)
        as_mv = measure(ecg)
        as_sd = measure(read_ecg(npy_bytes(z.astype(np.float32)), name="z.npy", fs=ecg.fs, lead_names=list(ecg.leads)))
        assert as_sd.lead_quality == as_mv.lead_quality, i
        qrs_off += as_mv.qrs_ms is None or as_sd.qrs_ms is None or abs(as_mv.qrs_ms - as_sd.qrs_ms) > 10
    assert qrs_off <= 2
