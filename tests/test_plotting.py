"""ECG paper geometry: grid, calibration, layout, gain/speed, decimation for display only, absent leads."""
from __future__ import annotations

import re

import numpy as np
import pytest

from dashboard_fixtures import REPO  # noqa: F401  (puts the repo on sys.path for `dashboard`)
from dashboard import plotting
from dashboard.plotting import ecg_paper
from mets_core.ecg import ECG, STANDARD_LEADS


def _ecg(fs=500, seconds=10.0, leads=STANDARD_LEADS, spike_at=None):
    n = int(fs * seconds)
    t = np.arange(n) / fs
    rows = []
    for k, _ in enumerate(leads):
        x = 0.1 * np.sin(2 * np.pi * 1.2 * t) + 0.01 * k
        if spike_at is not None:
            x[int(spike_at * fs)] = 1.7      # a one-sample 1.7 mV spike: must survive decimation
        rows.append(x)
    return ECG.from_leads(np.array(rows), list(leads), fs, name="test")


def _gap(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _values(seq) -> np.ndarray:
    return np.array([v for v in seq if not _gap(v)], float)


def _traces(fig, name):
    return [t for t in fig.data if t.name == name]


def _lines(trace):
    """Segments of a None-separated line trace as (x0, y0, x1, y1)."""
    xs, ys = list(trace.x), list(trace.y)
    out, cur = [], []
    for x, y in zip(xs + [None], ys + [None]):
        if _gap(x):
            if len(cur) >= 2:
                out.append((cur[0][0], cur[0][1], cur[-1][0], cur[-1][1]))
            cur = []
        else:
            cur.append((x, y))
    return out


def test_grid_is_1mm_and_5mm_and_square():
    fig = plotting.ecg_paper(_ecg())
    minor, major = _traces(fig, "minor grid")[0], _traces(fig, "major grid")[0]
    xs_minor = sorted({round(a, 6) for a, _, c, _ in _lines(minor) if a == c})
    xs_major = sorted({round(a, 6) for a, _, c, _ in _lines(major) if a == c})
    assert np.allclose(np.diff(xs_minor), 1.0) and np.allclose(np.diff(xs_major), 5.0)
    ys_major = sorted({round(b, 6) for _, b, _, d in _lines(major) if b == d})
    assert np.allclose(np.diff(ys_major), 5.0)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1


@pytest.mark.parametrize("gain,speed", [(10, 25), (5, 25), (20, 50)])
def test_calibration_pulse_is_1mv_by_200ms(gain, speed):
    fig = plotting.ecg_paper(_ecg(), gain=gain, speed=speed)
    cal = _traces(fig, "calibration 1 mV")[0]
    x, y = np.array([v for v in cal.x[:6]], float), np.array([v for v in cal.y[:6]], float)
    assert y.max() - y.min() == pytest.approx(gain)              # 1 mV at `gain` mm/mV
    top = x[y == y.max()]
    assert top.max() - top.min() == pytest.approx(0.2 * speed)   # 0.2 s at `speed` mm/s
    n_pulses = sum(1 for v in cal.x if v is None)
    assert n_pulses >= 4                                          # one per row (3 rows + rhythm strip) + marks


def test_3x4_layout_has_standard_order_and_rhythm_strip():
    fig = plotting.ecg_paper(_ecg())
    labels = [a.text.replace("<b>", "").replace("</b>", "") for a in fig.layout.annotations if a.text.startswith("<b>")]
    assert labels == ["I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6", "II"]
    rows = [t for t in fig.data if t.name and t.name not in ("minor grid", "major grid", "calibration 1 mV",
                                                              "calipers")]
    assert len(rows) == 4                          # one trace per row: fast
    assert len(fig.data) <= 9
    calipers = next(t for t in fig.data if t.name == "calipers")    # makes the box tool (calipers) available
    assert "markers" in calipers.mode and calipers.marker.opacity == 0
    rhythm = _values(rows[3].x)
    assert rhythm.max() - rhythm.min() == pytest.approx(10 * 25, abs=0.5)   # 10 s at 25 mm/s
    first = _values(rows[0].x)
    seg = [np.array(s, float) for s in _split(rows[0].x)]
    assert len(seg) == 4 and all(s.max() - s.min() == pytest.approx(2.5 * 25, abs=0.5) for s in seg)
    assert first.min() > 0


def _split(values):
    out, cur = [], []
    for v in list(values) + [None]:
        if _gap(v):
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(v)
    return out


def test_12x1_layout_and_speed_doubles_paper():
    fig = plotting.ecg_paper(_ecg(), layout="12x1")
    rows = [t for t in fig.data if t.name in STANDARD_LEADS]
    assert [t.name for t in rows] == list(STANDARD_LEADS)
    w25 = np.nanmax(_traces(fig, "major grid")[0].x)
    fig50 = plotting.ecg_paper(_ecg(), layout="12x1", speed=50)
    w50 = np.nanmax(_traces(fig50, "major grid")[0].x)
    assert w50 > 1.8 * w25 - 40
    assert fig50.layout.xaxis.range[1] <= plotting.PAGE_WIDTH_MM       # pan to see the rest


@pytest.mark.parametrize("width_px", [1100, 530])
def test_the_papers_height_follows_the_width_it_is_drawn_at(width_px):
    """Millimetres stay square at the width the page draws the paper at (the reader's wide column, or one of
    the comparison's two), so the figure's height holds the paper and no blank band above and below it."""
    fig = plotting.ecg_paper(_ecg(), layout="12x1", width_px=width_px)
    margin = fig.layout.margin
    paper_w_mm = fig.layout.xaxis.range[1] - fig.layout.xaxis.range[0]
    paper_h_mm = fig.layout.yaxis.range[1] - fig.layout.yaxis.range[0]
    plot_h_px = fig.layout.height - margin.t - margin.b
    plot_w_px = width_px - margin.l - margin.r
    assert plot_h_px / plot_w_px == pytest.approx(paper_h_mm / paper_w_mm, rel=0.05)


def test_gain_scales_amplitude():
    e = _ecg(spike_at=1.0)
    for gain in (5, 10, 20):
        fig = plotting.ecg_paper(e, layout="12x1", gain=gain)
        lead_i = [t for t in fig.data if t.name == "I"][0]
        y = _values(lead_i.y)
        centre = np.median(y)
        assert y.max() - centre == pytest.approx(1.7 * gain, rel=0.05)


def test_decimation_keeps_peaks_and_limits_points():
    e = _ecg(fs=1000, spike_at=3.333)
    fig = plotting.ecg_paper(e)
    n_points = sum(len(t.x) for t in fig.data if t.name and "grid" not in t.name)
    assert n_points < 12 * 2.5 * 1000 / 2               # far fewer than the raw samples
    rhythm = [t for t in fig.data if t.name == "II"][0]
    y = _values(rhythm.y)
    assert y.max() - np.median(y) == pytest.approx(1.7 * 10, rel=0.05)
    idx, vals = plotting.decimate_minmax(np.r_[np.zeros(500), 5.0, np.zeros(499)], 10)
    assert vals.max() == 5.0 and np.all(np.diff(idx) >= 0)
    assert len(idx) == 200


def test_absent_leads_are_labelled_and_not_drawn():
    e = _ecg(leads=("I", "II", "III", "aVR", "aVL", "aVF"))
    fig = plotting.ecg_paper(e)
    absent = [a.text for a in fig.layout.annotations if "not recorded" in a.text]
    assert len(absent) == 6 and all(any(v in t for t in absent) for v in ("V1", "V6"))
    row0 = [t for t in fig.data if t.name == "I aVR V1 V4"][0]
    assert len(_split(row0.x)) == 2                      # only I and aVR drawn in the first row
    fig = plotting.ecg_paper(e, layout="12x1")
    cal = _traces(fig, "calibration 1 mV")[0]
    tops = [y for y in cal.y if y is not None]
    assert sum(1 for v in cal.x if v is None) == 6       # no calibration pulse on the six empty rows
    assert len(tops) == 6 * 6


def test_long_record_pages_and_footer():
    e = _ecg(seconds=30)
    fig = plotting.ecg_paper(e, start_s=12.0)
    footer = fig.layout.annotations[-1].text
    assert "showing 0:00:12–0:00:22 of 0:00:30" in footer


def test_saliency_overlay_adds_one_heatmap_per_row():
    from types import SimpleNamespace
    e = _ecg()
    g = np.zeros((12, 1000), np.float32)
    g[1, 300:320] = 1.0                                   # lead II, 3.0-3.2 s
    sal = SimpleNamespace(gradient_x_input=g, fs=100.0, lead_mask=np.ones(12, bool))
    fig = plotting.ecg_paper(e, saliency=sal)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 4
    z_row2 = np.array(heat[1].z[0])                       # second row: II aVL V2 V5; II is 0-2.5 s
    assert z_row2.max() == 0.0
    z_rhythm = np.array(heat[3].z[0])                     # rhythm strip II 0-10 s, 0.1 s bins
    assert z_rhythm.argmax() in (30, 31) and z_rhythm.max() == pytest.approx(1.0)


def test_thumbnail_is_a_small_picture_to_scale():
    import re
    svg = plotting.thumbnail(_ecg(), start_s=2.0, title="ludb/7")
    assert svg.startswith("<svg") and 'role="img"' in svg and ">II</div>" in svg and 'aria-label="Lead II, 8 s of ludb/7"' in svg
    assert 'height="90"' in svg and 'viewBox="0 0 200 25"' in svg               # 8 s at 25 mm/s, 25 mm tall
    xs = [float(p.split(",")[0]) for p in re.search(r'points="([^"]*)"', svg).group(1).split()]
    assert xs[-1] == pytest.approx(8 * 25, abs=1) and xs == sorted(xs)



def test_a_hits_strip_read_alone_is_the_strip_of_the_whole_record(tmp_path):
    """The similar-reports list draws each hit's 10 s from that stretch alone (a hit in a 30-min record is
    not decoded whole): the picture must be the one drawn from the whole record at that start."""
    import wfdb
    from mets_core import read_ecg
    ecg = _ecg(fs=250, seconds=40.0, leads=["II", "V5"])
    wfdb.wrsamp("hit", fs=250, units=["mV", "mV"], sig_name=["II", "V5"], p_signal=ecg.signal[ecg.lead_mask].T,
                fmt=["16", "16"], write_dir=str(tmp_path))
    path = tmp_path / "hit.hea"
    alone = plotting.thumbnail(read_ecg(path, start_s=20.0, end_s=30.0), seconds=10.0, title="mitdb/hit")
    assert alone == plotting.thumbnail(read_ecg(path), start_s=20.0, seconds=10.0, title="mitdb/hit")
    # another start (13.3 s: the test signal repeats every 10 s) is another picture
    assert alone != plotting.thumbnail(read_ecg(path), start_s=13.3, seconds=10.0, title="mitdb/hit")

# --- reading-room additions: calipers, cursor readout, rhythm lead, recorded-leads layout, median beats, PDF ---

def test_caliper_reads_interval_rate_and_amplitude_from_paper_mm():
    from dashboard.plotting import caliper_readout
    r = caliper_readout((10.0, 30.0), (5.0, 15.0), speed=25, gain=10)      # 20 mm wide, 10 mm high
    assert r["interval_ms"] == pytest.approx(800.0) and r["rate_bpm"] == pytest.approx(75.0)
    assert r["amplitude_mv"] == pytest.approx(1.0)
    assert caliper_readout((0, 20), (0, 10), speed=50, gain=20)["interval_ms"] == pytest.approx(400.0)


def test_cursor_readout_is_time_and_millivolts():
    ecg = _ecg()
    fig = ecg_paper(ecg, layout="12x1", start_s=0.0)
    row = next(t for t in fig.data if t.name == "II")
    data = np.asarray(row.customdata, dtype=float)
    assert data.shape[1] == 2 and "mV" in row.hovertemplate and " s" in row.hovertemplate
    ok = np.isfinite(data[:, 0])
    assert data[ok, 0].min() >= 0 and data[ok, 0].max() <= 10.0


def test_rhythm_strip_lead_is_selectable_and_recorded_layout_draws_only_recorded_leads():
    ecg = _ecg()
    fig = ecg_paper(ecg, layout="3x4", rhythm_lead="V1")
    assert fig.data[-1].name == "V1" or any(t.name == "V1" for t in fig.data)
    two = ECG.from_leads(ecg.signal[[1, 10]], ["II", "V5"], ecg.fs)
    fig = ecg_paper(two, layout="recorded")
    texts = [a["text"] for a in fig.layout.annotations]
    assert not any("not recorded" in t for t in texts)
    assert sum(t.startswith("<b>") for t in texts) == 2


def test_fiducial_marks_are_drawn_under_beats_in_view():
    ecg = _ecg()
    fig = ecg_paper(ecg, layout="12x1", marks={"QRS onset": [1.0, 2.0, 30.0]})
    mark = next(t for t in fig.data if t.name == "QRS onset")
    xs = [x for x in mark.x if x is not None]
    assert len(xs) == 2 * 2 * 12          # 2 beats in view x 2 points x 12 rows; 30 s is off the page


def test_median_beats_figure_has_one_line_per_fiducial():
    from dashboard.plotting import median_beats
    from mets_core.measure import measure
    import neurokit2 as nk
    x = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=70, random_state=1)
    m = measure(ECG.from_leads(np.stack([x, x, x]), ["I", "II", "V5"], 500))
    fig = median_beats(m)
    names = {t.name for t in fig.data}
    assert {"P onset", "QRS onset", "QRS end", "T end"} <= names


def test_each_fiducial_mark_keeps_its_look_whichever_marks_a_beat_has_and_the_legend_says_it():
    """Without a P onset (atrial fibrillation) the QRS onset is still drawn as it is with one (the looks were
    handed out by position: the QRS onset became the solid line the legend gave the P onset); the legend
    names only the marks drawn, with the colour and dash they are drawn in."""
    ecg = _ecg()
    all_marks = {name: [1.0, 2.0] for name in plotting.FIDUCIAL_NAMES.values()}
    no_p = {name: t for name, t in all_marks.items() if name != "P onset"}
    looks = []
    for marks in (all_marks, no_p):
        fig = ecg_paper(ecg, layout="12x1", marks=marks)
        looks.append({t.name: (t.line.color, t.line.dash) for t in fig.data if t.name in marks})
    assert looks[1] == {name: look for name, look in looks[0].items() if name != "P onset"}
    assert len(set(looks[0].values())) == 4                     # four marks, four looks
    legend = plotting.marks_legend(no_p)
    assert "P onset" not in legend and legend.startswith("QRS onset (")
    for name, (colour, dash) in looks[1].items():
        words = plotting.MARK_STYLES[name][2]
        assert f"{name} ({words})" in legend and colour == plotting.MARK_STYLES[name][0]
        assert {"solid": "solid", "dot": "dotted", "dash": "dashed", "dashdot": "dash-dot"}[dash] in words


def _pdf_paths(pdf: bytes):
    """(line width, [(x0, y0, x1, y1), ...]) of every stroked straight segment in the PDF's content streams."""
    from helpers import pdf_content_streams
    segments = []
    for text in pdf_content_streams(pdf):
        width, last = None, None
        tokens = text.split()
        for i, tok in enumerate(tokens):
            if tok == "w":
                width = float(tokens[i - 1])
            elif tok == "m":
                last = (float(tokens[i - 2]), float(tokens[i - 1]))
            elif tok == "l" and last is not None:
                cur = (float(tokens[i - 2]), float(tokens[i - 1]))
                if width is not None:
                    segments.append((width, last + cur))
                last = cur
    return segments


def test_pdf_report_is_a4_and_its_grid_is_to_scale():
    from dashboard.report import build_pdf
    pdf = build_pdf(_ecg(), "test ECG")
    assert pdf.startswith(b"%PDF")
    assert b"/MediaBox [ 0 0 841.889764 595.275591 ]" in pdf or b"841.88" in pdf      # A4 landscape, points
    mm = 72.0 / 25.4
    vertical = {}
    for width, (x0, y0, x1, y1) in _pdf_paths(pdf):
        if abs(x0 - x1) < 1e-3 and abs(y1 - y0) > 100 * mm:        # full-height grid lines
            vertical.setdefault(width, set()).add(round(x0, 3))
    widths = sorted(w for w in vertical if len(vertical[w]) > 20)
    assert len(widths) >= 2, vertical.keys()
    major = np.diff(sorted(vertical[widths[-1]]))
    minor = np.diff(sorted(vertical[widths[0]]))
    assert np.allclose(major, 5 * mm, atol=0.01), major[:5]         # 5 mm boxes, measured in PDF points
    assert np.allclose(minor, 1 * mm, atol=0.01), minor[:5]


def _page_text(pdf_kwargs, ecg=None) -> str:
    """The report page's text, drawn as SVG with its text kept as text (the PDF's own text is split by kerning)."""
    import matplotlib
    from dashboard.report import build_pdf
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        svg = build_pdf(ecg or _ecg(), "test ECG", image_format="svg", **pdf_kwargs).decode()
    return " ".join(re.sub(r"<[^>]+>", " ", svg).split())


def test_pdf_report_carries_the_measurement_caveats_shown_on_screen():
    """The printed page says what the screen says beside the numbers: a long QTc's "check the T end" and the
    other warnings, wrapped to the column; when they do not all fit above the tracing, the page says so."""
    from mets_core.measure import Measurements
    long_qtc = ("QTc 596 ms (Fridericia) is long (500 ms or more; a high risk if real): check the T end on the "
                "median beats (a U wave, or the next P wave on the T wave, can be taken for it)")
    m = Measurements(heart_rate_bpm=104.0, rr_ms=576.0, qt_ms=496.0, qtc_fridericia_ms=596.0, warnings=[long_qtc])
    page = _page_text({"measurements": m})
    for words in ("QTc 596 ms (Fridericia) is long", "check the T end", "can be taken for it)"):
        assert words in page
    assert "more caveats" not in page
    m.warnings = [f"caveat number {k}: check this on the median beats" for k in range(12)]
    page = _page_text({"measurements": m})
    assert "caveat number 0:" in page and "caveat number 11:" not in page and "(more caveats, not printed)" in page


def test_pdf_report_says_which_lead_names_were_given_on_the_page():
    """A record whose channels were named on the page (the file does not say) is printed with those words."""
    ecg = _ecg()
    ecg.metadata["lead_names_given"] = "ECG1 as II, ECG2 as V5 (named on this page: the file does not say)"
    assert "Lead names: ECG1 as II, ECG2 as V5 (named on this page: the file does not say)." in _page_text({}, ecg)
    assert "Lead names" not in _page_text({})


@pytest.mark.parametrize("duration, step, last", [(60.0, "0:00:10", "0:01:00"), (1805.0, "0:05:00", "0:30:00"),
                                                  (64800.0, "3:00:00", "18:00:00"), (86400.0, "6:00:00", "24:00:00")])
def test_the_whole_recording_overview_reads_in_clock_time(duration, step, last):
    """A Holter's overview is labelled h:mm:ss at round steps ("11:06:40", not "40k s"), and each point's hover
    gives its time the same way."""
    rng = np.random.default_rng(0)
    beat_s = np.sort(rng.uniform(0, duration, 500))
    fig = plotting.heart_rate_overview(beat_s, np.full(500, 70.0), duration,
                                       labels={"V": beat_s[:5], "N": beat_s[5:]})
    ticks = list(fig.layout.xaxis.ticktext)
    assert ticks[0] == "0:00:00" and ticks[1] == step and ticks[-1] == last and len(ticks) <= 8
    assert fig.layout.xaxis.title.text == "recording time (h:mm:ss)"
    for trace in fig.data:
        assert "%{text}" in trace.hovertemplate and all(re.fullmatch(r"\d+:\d\d:\d\d(\.\d)?", t) for t in trace.text)


def test_pdf_report_names_the_model_its_weights_and_how_it_was_validated():
    """The printed page's model line says which model ranked the phrases: its two encoders, the hash of the
    weights (to tell two checkpoints apart) and the validation AUC the model card gives; weights without
    calibration are "not validated"."""
    from dashboard.engine import Engine
    from mets_core import METS
    shipped = REPO / "weights"
    model = METS.from_pretrained(shipped)
    info = model.info()
    line = Engine(weights_dir=shipped, model=model).version
    assert info["weights_sha256"][:12] in line and "resnet1d18" in line and "all-MiniLM-L6-v2" in line
    assert f"superclass macro AUC {info['calibration']['superclass_macro_auc']:.3f}" in line
    assert f"Model: {line.split(' from ')[0]}" in _page_text({"model_version": line})    # a long path is cut
    assert "· not validated ·" in Engine(weights_dir=shipped, model=METS.random_init(seed=0)).version


@pytest.mark.parametrize("layout", ["3x4", "12x1", "recorded"])
def test_the_paper_built_with_its_drawings_as_paths_is_the_paper_with_them_turned_into_paths(layout):
    """ecg_paper(..., as_paths=True) (what the page sends) is segments_as_paths(ecg_paper(...)) exactly: the
    same traces and the same SVG paths for the grid, calibration and fiducial ticks, built in one go."""
    import json

    import plotly.io as pio
    ecg = _ecg()
    marks = {name: [0.5, 1.5, 2.5] for name in plotting.FIDUCIAL_NAMES.values()}
    kwargs = dict(layout=layout, gain=20, speed=50, start_s=1.0, marks=marks, rhythm_lead="V2")
    at_once = json.loads(pio.to_json(plotting.ecg_paper(ecg, as_paths=True, **kwargs), validate=False))
    after = json.loads(pio.to_json(plotting.segments_as_paths(plotting.ecg_paper(ecg, **kwargs)), validate=False))
    assert at_once == after
    shapes = at_once["layout"]["shapes"]
    assert any(s["name"] == "minor grid" and s["path"].count("M") > 100 for s in shapes)
    assert not any(t.get("name") == "minor grid" for t in at_once["data"])


@pytest.mark.parametrize("speed", [25, 50])
def test_every_lead_of_the_3x4_is_in_view_at_either_speed_and_the_scale_line_too(speed):
    """At 50 mm/s the 3 x 4's columns were 125 mm wide and V4-V6 began past the 280 mm in view (panning by
    drag only): now a 3 x 4 row spans 250 mm at either speed (1.25 s a lead at 50 mm/s, as electrocardiographs
    print it), the page says so, and the scale line sits in view, below the last row's marks."""
    fig = ecg_paper(_ecg(), layout="3x4", speed=speed, marks={"QRS onset": [0.5, 6.0]})
    right = fig.layout.xaxis.range[1]
    labels = {a.text.strip("<b>/"): a.x for a in fig.layout.annotations if a.text.startswith("<b>")}
    assert set(labels) == set(STANDARD_LEADS) and all(x < right - 20 for x in labels.values())
    footer = next(a for a in fig.layout.annotations if "mm/s" in a.text)
    assert footer.x <= right and f"{speed} mm/s" in footer.text
    mark_y = min(y for t in fig.data if t.name == "QRS onset" for y in t.y if y is not None)
    assert footer.y < mark_y
    assert ("1.25 s a lead" in footer.text) == (speed == 50)
    assert ("drag the paper" in footer.text) == (speed == 50)      # the rhythm strip's 10 s go on past the edge


# ---------------------------------------------------- clinical review: time, room, clipping, units, height

@pytest.mark.parametrize("seconds, shown", [(59.96, "0:01:00"), (899.996, "0:15:00"), (1805.5556, "0:30:05.6"),
                                            (12.34, "0:00:12.3"), (3599.97, "1:00:00")])
def test_recording_time_rounds_to_the_tenth_before_it_is_split(seconds, shown):
    """QTDB sel16265 lasts 899.996 s: it read "0:14:59.0" (the tenth rounded to 10, its carry lost)."""
    assert plotting.hms(seconds) == shown


def _spiky(leads, peak_mv, fs=500, seconds=10.0):
    """A beat a second on each lead: a narrow spike of `peak_mv` above a flat baseline."""
    t = np.arange(int(fs * seconds)) / fs
    beat = peak_mv * np.exp(-(((t % 1.0) - 0.5) / 0.008) ** 2)
    return ECG.from_leads(np.tile(beat, (len(leads), 1)), list(leads), fs, name="spiky")


def _baseline(fig, row: int) -> float:
    """Row `row`'s baseline (mm): where its calibration pulse starts."""
    cal = _traces(fig, "calibration 1 mV")[0]
    return float(_split(cal.y)[row][0])


@pytest.mark.parametrize("layout, lead, row", [("recorded", "II", 0), ("3x4", "I", 0), ("12x1", "I", 0)])
def test_a_tall_complex_gets_room_on_the_paper_and_is_drawn_whole(layout, lead, row):
    """MIT-BIH 208's R waves (2.3 mV) were cut at the paper's top edge: the first row now has room above for the
    page's largest deflection (a few recorded leads: every row), so the spike is drawn whole, inside the paper."""
    ecg = _spiky(STANDARD_LEADS if layout != "recorded" else ("II", "V1"), 2.3)
    fig = plotting.ecg_paper(ecg, layout=layout)
    trace = next(t for t in fig.data if t.name.split()[0] == lead)
    top = fig.layout.yaxis.range[1]
    peak = np.nanmax(_values(trace.y))
    assert peak - _baseline(fig, row) == pytest.approx(23.0, abs=0.3)      # 2.3 mV at 10 mm/mV, not cut
    assert peak <= top - 1.0
    assert not _traces(fig, "clipped")


def test_the_3x4_keeps_its_row_pitch_when_the_first_row_gets_room():
    fig = plotting.ecg_paper(_spiky(STANDARD_LEADS, 2.3))
    baselines = [_baseline(fig, r) for r in range(4)]
    assert np.allclose(-np.diff(baselines), 30.0)          # 3 x 10 mm/mV, as before


def test_a_trace_past_the_room_there_is_is_clipped_and_the_place_marked():
    """A 12 mV artefact: drawn up to the edge of what the paper gives it and marked there (▲), as an
    electrocardiograph marks a clipped complex; the cursor still reads the true amplitude."""
    fig = plotting.ecg_paper(_spiky(("II", "V1"), 12.0), layout="recorded")
    trace = next(t for t in fig.data if t.name == "II")
    y = _values(trace.y)
    assert y.max() <= fig.layout.yaxis.range[1] and y.min() >= 0
    marks = _traces(fig, "clipped")[0]
    assert len(marks.x) == 2 * 10                           # each spike on both leads, once
    assert set(marks.marker.symbol) == {"triangle-up"}
    assert np.nanmax(np.array(trace.customdata, float)[:, 1]) == pytest.approx(12.0, abs=0.01)


def test_a_single_lead_paper_is_as_high_as_its_row_with_no_blank_band_under_it():
    """CinC 2017's single lead drew a figure twice as high as its paper: the caliper line sat far below."""
    ecg = _ecg(leads=("I",), seconds=30.0)
    fig = plotting.ecg_paper(ecg, layout="recorded")
    m = fig.layout.margin
    paper_w_mm = fig.layout.xaxis.range[1] - fig.layout.xaxis.range[0]
    paper_h_mm = fig.layout.yaxis.range[1] - fig.layout.yaxis.range[0]
    plot_h_px = fig.layout.height - m.t - m.b
    assert plot_h_px == pytest.approx(paper_h_mm / paper_w_mm * (plotting.DRAWN_WIDTH_PX - m.l - m.r), abs=2)


def _with_units(units: str | None):
    ecg = _ecg()
    if units is not None:
        ecg.metadata["units"] = units
    return ecg


def test_the_paper_says_so_when_its_amplitudes_are_not_mv():
    """PTB-XL's z-scored arrays (every lead SD 1) were drawn as "10 mm/mV" with a 1 mV pulse and no word on the
    paper: its scale line now says what the unit is, and a warning sits on the paper itself."""
    from mets_core.readers.channels import Z_SCORED_UNITS
    fig = plotting.ecg_paper(_with_units(Z_SCORED_UNITS))
    words = " ".join(a.text for a in fig.layout.annotations)
    assert "10 mm per SD (not mV)" in words and "10 mm/mV" not in words and "not in mV" in words
    assert all(t.hovertemplate.split("<extra>")[0].endswith("SD") for t in fig.data if t.name in ("I aVR V1 V4",))
    stated = " ".join(a.text for a in plotting.ecg_paper(_with_units("mV mV")).layout.annotations)
    assert "10 mm/mV" in stated and "⚠" not in stated
    inferred = " ".join(a.text for a in plotting.ecg_paper(
        _with_units("mV (inferred: typical amplitude at most 20)")).layout.annotations)
    assert "10 mm/mV" in inferred and "units inferred, not stated" in inferred


def test_whether_amplitudes_are_mv_is_read_from_what_the_reader_recorded():
    from mets_core.readers.channels import Z_SCORED_UNITS
    assert plotting.amplitudes(_with_units(Z_SCORED_UNITS)) == plotting.Amplitudes(
        False, "SD", plotting.RELATIVE_AMPLITUDES["z-scored"])
    assert plotting.amplitudes(_with_units(None)).warning == ""          # built in code: mV, as ECG holds it
    assert plotting.amplitudes(_with_units("uV (declared)")).warning == ""
    uv = plotting.amplitudes(_with_units("uV (inferred: typical amplitude above 20)"))
    assert uv.in_mv and "does not state its units" in uv.warning and "µV" in uv.warning


def test_leads_scaled_to_one_size_are_drawn_and_read_as_relative_not_mv():
    """This project's LUDB copy has every lead scaled to a peak-to-peak of 1 "mV" (mets_core.readers.channels.
    looks_range_scaled): the paper, its gain and its readouts say "lead range", never mV."""
    from mets_core.readers.channels import RANGE_SCALED_UNITS
    amps = plotting.amplitudes(_with_units(RANGE_SCALED_UNITS))
    assert not amps.in_mv and amps.unit == "× lead range" and "peak-to-peak" in amps.warning
    fig = plotting.ecg_paper(_with_units(RANGE_SCALED_UNITS))
    words = " ".join(a.text for a in fig.layout.annotations)
    assert "10 mm per lead range (not mV)" in words and "10 mm/mV" not in words
    assert "the 1 mV pulse is 1 lead range" in words
