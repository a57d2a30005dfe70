"""The printable one-page report (dashboard.report.build_pdf) says what the Reader page says and stays on its
paper: read from the page's text (drawn as SVG with its text kept as text) and its geometry (text extents
measured in the report's fonts; the tracing's strokes read from the PDF, in points)."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dashboard_fixtures import REPO  # noqa: F401  (puts the repo on sys.path for `dashboard`)
from helpers import pdf_strokes, require_data
from mets_core.ecg import ECG, STANDARD_LEADS

MM = 72.0 / 25.4                 # PDF points (and the SVG's user units) per millimetre
PAGE_RIGHT_MM = 297.0 - 12.0     # the page's right margin
LABELS_X_MM, RANKING_X_MM = 112.0, 185.0     # where "What the file says" and the ranking begin
# the Reader's default phrases (its "Rhythm" preset) in the order MIT-BIH 201's page at 0:12:00 ranks them
RHYTHM_PRESET = ["sinus bradycardia", "sinus tachycardia", "paced rhythm", "sinus arrhythmia",
                 "supraventricular tachycardia", "sinus rhythm", "atrial fibrillation", "atrial flutter"]


def _ecg(leads=STANDARD_LEADS, seconds: float = 10.0, fs: int = 500) -> ECG:
    """A beat a second on every lead given: a narrow 1 mV spike on a slow wave (curved everywhere, so that the
    PDF's path simplification keeps hundreds of points on each trace)."""
    t = np.arange(int(seconds * fs)) / fs
    beat = np.exp(-(((t % 1.0) - 0.5) / 0.01) ** 2) + 0.2 * np.sin(2 * np.pi * 1.3 * t)
    return ECG.from_leads(np.tile(beat, (len(leads), 1)), list(leads), fs)


@dataclass(frozen=True)
class Line:
    """One line of text on the page: where it starts and ends (mm from the left edge) and its words."""
    x_mm: float
    right_mm: float
    top_mm: float                # from the top edge (its baseline)
    words: str
    monospace: bool
    italic: bool


def _page_lines(ecg=None, **pdf_kwargs) -> list[Line]:
    """The page's lines of text in drawing order, each measured in the font it is drawn in."""
    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    from dashboard.report import build_pdf
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        svg = build_pdf(ecg if ecg is not None else _ecg(), "test ECG", image_format="svg", **pdf_kwargs).decode()
    lines = []
    for style, x, y, words in re.findall(r'<text style="([^"]*)" x="([-\d.]+)" y="([-\d.]+)"[^>]*>(.*?)</text>',
                                         svg, re.S):
        words = html.unescape(words)
        family = re.search(r"font-family: '([^']+)'", style).group(1)
        italic, bold = "font-style: italic" in style, "font-weight: 700" in style
        size = float(re.search(r"font-size: ([\d.]+)px", style).group(1))
        prop = FontProperties(family=family, style="italic" if italic else "normal",
                              weight="bold" if bold else "normal", size=size)
        width = text_to_path.get_text_width_height_descent(words, prop, ismath=False)[0]    # as laid out
        left = float(x) - (width if "text-anchor: end" in style else 0.0)
        lines.append(Line(left / MM, (left + width) / MM, float(y) / MM, words, "Mono" in family, italic))
    return lines


def _page_text(ecg=None, **pdf_kwargs) -> str:
    return " ".join(" ".join(line.words for line in _page_lines(ecg, **pdf_kwargs)).split())


def _column(lines: list[Line], x_mm: float) -> list[Line]:
    """The lines of the column above the tracing that begins at `x_mm`, top to bottom (its heading first)."""
    return [line for line in lines if abs(line.x_mm - x_mm) < 0.5 and line.top_mm < 60]


def _traces_and_calibrations(pdf: bytes) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The tracing's ECG lines (many points) and its calibration pulses (the 6-point 1 mV x 0.2 s steps)."""
    strokes = pdf_strokes(pdf)
    traces = [points for points in strokes if len(points) > 20]
    calibrations = [points for points in strokes if len(points) == 6
                    and np.isclose(np.ptp(points[:, 1]), 10 * MM, atol=0.01)
                    and np.isclose(points[4, 0] - points[1, 0], 5 * MM, atol=0.01)]
    return traces, calibrations


def _view(prompts: list[str], standing_out: int = 0):
    """The ranking view the Reader builds (dashboard.ranking.build_view) for `prompts`, best first, the first
    `standing_out` of them above the reference ECGs' 95th percentile."""
    from dashboard.ranking import build_view
    return build_view([SimpleNamespace(prompt=p, similarity=0.3 - 0.01 * k, probability=1 / len(prompts),
                                       percentile=99.0 - k if k < standing_out else 80.0 - 2 * k, known=True,
                                       validation_auc=0.9) for k, p in enumerate(prompts)])


# ------------------------------------------------------------------------------------------- the ranking

def test_every_ranked_row_that_fits_is_printed():
    """The Rhythm preset's eight phrases, three standing out (a headline of two lines): all eight rows are on
    the paper, "atrial fibrillation" (seventh) among them, and nothing is said to be left out."""
    lines = _page_lines(ranking=_view(RHYTHM_PRESET, standing_out=3))
    assert len([line for line in lines if line.italic and line.x_mm > RANKING_X_MM - 0.5]) == 2
    rows = [line.words for line in lines if line.monospace]
    assert [row.split("  ")[0].strip() for row in rows] == RHYTHM_PRESET
    assert "also ranked" not in " ".join(line.words for line in lines)


def test_rows_that_do_not_fit_are_named_with_their_percentiles_or_said_not_printed():
    """Twelve phrases: the first rows, then the rest by name with their percentiles ("and 6 more on screen:
    normal ECG, ..." lost them, and paper has no screen). Forty: as many rows again, the rest named with their
    percentiles as far as three lines go, the others counted as not printed."""
    prompts = [f"finding number {k}" for k in range(12)]
    view = _view(prompts, standing_out=1)
    lines = _page_lines(ranking=view)
    printed = [line.words.split("  ")[0].strip() for line in lines if line.monospace]
    rest = view.rows[len(printed):]
    assert 5 <= len(printed) < 12 and printed == prompts[:len(printed)]
    page = " ".join(" ".join(line.words for line in lines).split())
    assert "also ranked: " + ", ".join(f"{r.prompt} {''.join(r.percentile_rank)}" for r in rest) in page
    assert "on screen" not in page and "not printed" not in page
    assert all(line.right_mm <= PAGE_RIGHT_MM + 0.1 for line in lines), "a line runs off the page"
    assert _column(lines, RANKING_X_MM)[-1].top_mm < 60         # ... and above the tracing
    prompts = [f"finding number {k} of a long list" for k in range(40)]
    view = _view(prompts, standing_out=1)
    lines = _page_lines(ranking=view)
    printed = [line.words.split("  ")[0].strip() for line in lines if line.monospace]
    assert len(printed) >= 5 and printed == prompts[:len(printed)]
    page = " ".join(" ".join(line.words for line in lines).split())
    also = re.search(r"also ranked: (.*); (\d+) more not printed", page)
    named = also.group(1).split(", ")
    assert named == [f"{r.prompt} {''.join(r.percentile_rank)}" for r in view.rows[len(printed):len(printed) + len(named)]]
    assert len(printed) + len(named) + int(also.group(2)) == 40 and "on screen" not in page
    assert all(line.right_mm <= PAGE_RIGHT_MM + 0.1 for line in lines) and _column(lines, RANKING_X_MM)[-1].top_mm < 60


def test_the_headline_is_wrapped_to_the_column_with_every_phrase_it_names():
    view = _view(["supraventricular tachycardia", "atrial fibrillation", "sinus tachycardia", "atrial flutter"],
                 standing_out=3)
    lines = _page_lines(ranking=view)
    headline = [line for line in lines if line.italic and line.x_mm > RANKING_X_MM - 0.5]
    assert len(headline) >= 2
    assert " ".join(" ".join(line.words for line in headline).split()) == view.headline
    assert all(line.right_mm <= PAGE_RIGHT_MM + 0.1 for line in headline)


def test_phrases_the_model_does_not_know_are_all_named():
    view = _view(RHYTHM_PRESET[:3])
    unknown = [f"a phrase the model has never met number {k}" for k in range(5)]
    view.unknown = _view(unknown).rows
    page = _page_text(ranking=view)
    assert "not known to the model: " + ", ".join(unknown) in page


def test_negated_phrases_are_named_apart_never_as_ranked_rows():
    """ "no atrial fibrillation" is scored as "atrial fibrillation" (the model cannot read "no"): the paper names
    it apart with the finding and its percentile, never as a row with a reliability of its own."""
    from dashboard.ranking import build_view
    rows = [SimpleNamespace(prompt="sinus rhythm", similarity=0.3, probability=1.0, percentile=40.0, known=True,
                            validation_auc=0.9),
            SimpleNamespace(prompt="no atrial fibrillation", similarity=0.2, probability=None, percentile=97.0,
                            known=True, validation_auc=0.98, negates="atrial fibrillation")]
    view = build_view(rows, ["sinus rhythm", "no atrial fibrillation"])
    lines = _page_lines(ranking=view)
    assert [line.words.split("  ")[0].strip() for line in lines if line.monospace] == ["sinus rhythm"]
    page = " ".join(" ".join(line.words for line in lines).split())
    assert "negated, not ranked (the model cannot read “no”/“not”; scored as the finding, and a low percentile " \
           "is not evidence of absence): no atrial fibrillation → atrial fibrillation 97th pct" in page
    assert "Stands out" not in page and "AUC 0.98" not in page


# ------------------------------------------------------------------------------------- what the file says

def test_the_files_labels_are_worded_as_on_the_page():
    """With the rhythm annotation's duration and PTB-XL's likelihood, as the Reader lists them."""
    from mets_core.file_labels import FileLabel, FileLabels
    labels = FileLabels([FileLabel("atrial fibrillation", "rhythm annotation (201.atr)", "(AFIB",
                                   detail="10:06 in 3 episodes"),
                         FileLabel("normal ECG", "SCP-ECG", "NORM", likelihood=100.0),
                         FileLabel("sinus rhythm", "SCP-ECG", "SR", likelihood=0.0)])
    page = _page_text(file_labels=labels)
    assert "atrial fibrillation (10:06 in 3 episodes)" in page
    assert "normal ECG (100% likely)" in page and "sinus rhythm" in page and "(0% likely)" not in page


def test_the_page_says_when_the_model_and_the_file_disagree_as_the_reader_does():
    """The file says atrial fibrillation; the model crowns "sinus bradycardia" and not it: the paper says they
    disagree, in the Reader's words, before the labels (never left out as "and N more")."""
    from dashboard.ranking import disagreement
    from mets_core.file_labels import FileLabel, FileLabels
    labels = FileLabels([FileLabel("atrial fibrillation", "SNOMED CT", "164889003")])
    view = _view(["sinus bradycardia", "atrial fibrillation"], standing_out=1)
    said = disagreement(view, [lab.text for lab in labels.labels])
    assert said.startswith("The model and the file disagree: “atrial fibrillation” (")
    page = _page_text(file_labels=labels, ranking=view)
    assert " ".join(said.split()[:8]) in page and "Check the tracing." in page
    agreeing = _view(["atrial fibrillation", "sinus bradycardia"], standing_out=1)
    assert disagreement(agreeing, ["atrial fibrillation"]) == "" and "disagree" not in _page_text(file_labels=labels,
                                                                                         ranking=agreeing)


def test_the_rhythm_the_file_marks_on_the_strip_comes_first():
    """A long recording's page: the rhythm its annotation file marks for the 10 s printed comes before the
    file's labels (which are about the whole recording); a recording the strip covers whole has no such line."""
    from mets_core.file_labels import FileLabels, rhythm_labels
    from mets_core.readers.beat_labels import Beats
    fs = 500
    ecg = _ecg(seconds=60.0, fs=fs)
    beats = Beats(np.arange(0, 60 * fs, fs), ("N",) * 60, "test.atr", ((0, "(N"), (30 * fs, "(T")))
    labels = FileLabels(rhythm_labels(beats, fs, ecg.n_samples))
    column = [line.words for line in _column(_page_lines(ecg, start_s=40.0, file_labels=labels, beats=beats),
                                             LABELS_X_MM)]
    assert " ".join(" ".join(column[1:3]).split()) == "Rhythm the file marks for this strip: ventricular trigeminy"
    assert "normal sinus rhythm (0:30 in 1 episode)" in column and "ventricular trigeminy (0:30 in 1 episode)" in column
    first_page = _page_text(ecg, start_s=0.0, file_labels=labels, beats=beats)
    assert "for this strip: normal sinus rhythm" in first_page and "on screen" not in first_page
    whole = _ecg(seconds=10.0, fs=fs)
    assert "Rhythm the file marks" not in _page_text(whole, file_labels=labels, beats=beats)


def test_the_whole_recording_ranking_is_held_against_the_files_labels_not_the_strips_rhythm():
    """The whole-recording summary ranks every window, so the page (as the Reader does) holds it against the
    file's labels, not against the rhythm the file marks on the 10 s strip printed: a trigeminy that stands
    out over the whole recording agrees with the file, though the strip printed is sinus rhythm. The strip's
    own ranking is still held against the strip's rhythm."""
    from dashboard.ranking import build_view
    from mets_core.file_labels import FileLabels, rhythm_labels
    from mets_core.readers.beat_labels import Beats
    fs = 500
    ecg = _ecg(seconds=60.0, fs=fs)
    beats = Beats(np.arange(0, 60 * fs, fs), ("N",) * 60, "test.atr", ((0, "(N"), (30 * fs, "(T")))
    labels = FileLabels(rhythm_labels(beats, fs, ecg.n_samples))
    view = build_view([SimpleNamespace(prompt=p, similarity=0.3, probability=0.5, percentile=pct, known=True,
                                       validation_auc=0.9)
                       for p, pct in (("ventricular trigeminy", 99.0), ("normal sinus rhythm", 40.0))])
    said = dict(start_s=0.0, file_labels=labels, beats=beats, ranking=view)
    assert "The model and the file disagree" not in _page_text(ecg, whole=True, scope="whole recording", **said)
    assert "The model and the file disagree" in _page_text(ecg, **said)


def test_long_labels_wrap_inside_their_column_and_what_does_not_fit_is_counted():
    from mets_core.file_labels import FileLabel, FileLabels
    long = "Non-specific repolarization abnormalities: posterior wall, inferior wall and lateral wall"
    labels = FileLabels([FileLabel("Non-specific repolarization abnormalities: posterior wall", "header text"),
                         FileLabel(long, "header text")])
    lines = _page_lines(file_labels=labels)
    column = _column(lines, LABELS_X_MM)[1:]
    assert all(line.right_mm < RANKING_X_MM for line in column), [(c.words, c.right_mm) for c in column]
    assert long in " ".join(" ".join(line.words for line in column).split())
    many = FileLabels([FileLabel(f"label number {k}", "header text") for k in range(15)])
    column = [line.words for line in _column(_page_lines(file_labels=many), LABELS_X_MM)[1:]]
    shown = [words for words in column if words.startswith("label number")]
    assert shown == [f"label number {k}" for k in range(len(shown))]
    not_printed = " ".join(" ".join(column[len(shown):]).split())      # paper has no screen to see them on
    assert not_printed.startswith(f"not printed: label number {len(shown)}; label number {len(shown) + 1}")
    assert len(shown) >= 5 and "on screen" not in not_printed


# ---------------------------------------------------------------------------------------------- the tracing

def test_a_record_of_few_leads_is_printed_as_a_full_width_strip_per_lead():
    """A Holter's two leads: each a 10 s strip 250 mm long with its calibration pulse and name; nothing drawn
    for the ten leads it lacks, which the scale line names."""
    from dashboard.report import build_pdf
    ecg = _ecg(leads=("II", "V1"))
    traces, calibrations = _traces_and_calibrations(build_pdf(ecg, "test ECG"))
    assert [round(np.ptp(trace[:, 0]) / MM, 1) for trace in traces] == [249.9, 249.9]   # to the last sample
    assert len(calibrations) == 2
    page = _page_text(ecg)
    assert "not recorded" not in page.replace("leads not recorded: I, III, aVR, aVL, aVF, V2, V3, V4, V5, V6", "")
    names = [line.words for line in _page_lines(ecg) if 60 < line.top_mm < 170]
    assert names == ["II", "V1"]


def test_a_12_lead_record_keeps_the_3x4_layout_and_its_rhythm_strip():
    from dashboard.report import build_pdf
    traces, calibrations = _traces_and_calibrations(build_pdf(_ecg(), "test ECG"))
    spans = sorted(round(np.ptp(trace[:, 0]) / MM) for trace in traces)
    assert spans == [62] * 12 + [250] and len(calibrations) == 4
    assert "not recorded" not in _page_text()


def test_leads_missing_from_a_12_lead_layout_are_said_so_clear_of_their_names():
    ecg = _ecg(leads=("I", "II", "III", "V1", "V2", "V3", "V4", "V5", "V6"))
    lines = _page_lines(ecg)
    missing = [line for line in lines if line.words == "not recorded"]
    assert len(missing) == 3
    for lead in ("aVR", "aVL", "aVF"):
        name = next(line for line in lines if line.words == lead)
        said = next(m for m in missing if abs(m.x_mm - name.x_mm) < 1 and 0 < m.top_mm - name.top_mm < 20)
        assert said.x_mm > name.right_mm or said.top_mm > name.top_mm + 3, f"{lead}'s name and 'not recorded' collide"
    assert "leads not recorded: aVR, aVL, aVF" in _page_text(ecg)


# ---------------------------------------------------------------------------------------- words and footer

def test_a_missing_measurement_is_worded_as_on_the_page():
    from mets_core.measure import Measurements
    m = Measurements(heart_rate_bpm=152.0, rr_ms=395.0, qrs_ms=104.0, axis_deg=-33.0,
                     notes={"pr": "no consistent P waves in an irregular rhythm (as in atrial fibrillation): PR "
                                  "not applicable"})
    page = _page_text(measurements=m)
    assert "PR not applicable" in page and "QT not measurable" in page and "frontal axis -33°" in page


def test_the_page_says_when_the_recording_was_made_apart_from_when_it_was_printed():
    import dataclasses
    ecg = _ecg()
    dated = dataclasses.replace(ecg, metadata={**ecg.metadata, "recorded_at": "1987-07-22T13:40:59"})
    page = _page_text(dated)
    assert "recorded 1987-07-22 13:40:59" in page
    assert re.search(r"printed \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert "no recording date in the file" in _page_text(ecg)


def test_the_model_line_names_the_model_and_its_weights_but_no_folder():
    from dashboard.engine import Engine
    info = {"source": "/srv/hospital/mets/weights", "weights_sha256": "1855af53e4af" + "0" * 52,
            "text_model": "sentence-transformers/all-MiniLM-L6-v2", "embedding_dim": 128,
            "model": {"encoder": "resnet1d18"}, "calibration": {"superclass_macro_auc": 0.844}}
    version = Engine(weights_dir=Path(info["source"]), model=SimpleNamespace(info=lambda: info)).version
    page = _page_text(model_version=version)
    assert ("Model: METS, ECG encoder resnet1d18 + text encoder sentence-transformers/all-MiniLM-L6-v2 (frozen), "
            "128-d · validation superclass macro AUC 0.844 · weights sha256 1855af53e4af") in page
    assert "/srv" not in page and "hospital" not in page
    local = dict(info, text_model="/opt/models/minilm-l6")
    page = _page_text(model_version=Engine(weights_dir=Path("w"), model=SimpleNamespace(info=lambda: local)).version)
    assert "text encoder minilm-l6 (frozen)" in page and "/opt" not in page


# ------------------------------------------------------------------------------------------ real records

def _record(base: Path, annotations: bool = False):
    """A PhysioNet record as the Reader opens it: its signal and, with `annotations`, the file's beat labels."""
    from mets_core.readers import read_ecg
    from mets_core.readers.beat_labels import beat_labels_of
    files = [(base.name + ext, base.with_name(base.name + ext).read_bytes()) for ext in (".hea", ".dat")]
    ann = [(base.name + ".atr", base.with_name(base.name + ".atr").read_bytes())] if annotations else []
    return read_ecg(files), beat_labels_of(files + ann)


def test_mitbih_201_page_at_12_minutes_is_printed_as_the_reader_shows_it():
    """MIT-BIH 201 (two leads) at 0:12:00: both leads as 250 mm strips; the rhythm the file marks for the page
    first, then its rhythms with their durations, atrial fibrillation among them."""
    from mets_core.file_labels import file_labels, rhythm_labels

    from dashboard.report import build_pdf
    data = require_data("mitdb/201.hea", "mitdb/201.atr")
    ecg, beats = _record(data / "mitdb" / "201", annotations=True)
    labels = file_labels(ecg)
    labels.labels += rhythm_labels(beats, ecg.fs, ecg.n_samples)
    column = [line.words for line in _column(_page_lines(ecg, start_s=720.0, file_labels=labels, beats=beats),
                                             LABELS_X_MM)[1:]]
    assert column[0].startswith("Rhythm the file marks for this strip:")
    assert "atrial fibrillation (10:06 in 3 episodes)" in column
    traces, calibrations = _traces_and_calibrations(build_pdf(ecg, "201", start_s=720.0))
    assert len(traces) == len(calibrations) == 2
    assert all(abs(np.ptp(trace[:, 0]) / MM - 250.0) < 0.2 for trace in traces)


def test_ptbxl_00017_irregular_rhythm_has_no_pr_as_the_page_says():
    from mets_core.measure import measure
    data = require_data("ptbxl/records100/00000/00017_lr.hea")
    ecg, _ = _record(data / "ptbxl" / "records100" / "00000" / "00017_lr")
    # atrial flutter at 152 bpm: no PR printed, and why (the dominant beats' own rhythm is near regular here, so
    # the words are those of P waves not found rather than of an irregular rhythm)
    page = _page_text(ecg, measurements=measure(ecg))
    assert re.search(r"PR not (applicable|measurable)", page) and not re.search(r"PR \d+ ms", page)


def test_ludb_1_labels_stay_in_their_column():
    from mets_core.file_labels import file_labels
    data = require_data("ludb/data/1.hea")
    ecg, _ = _record(data / "ludb" / "data" / "1")
    labels = file_labels(ecg)
    column = _column(_page_lines(ecg, file_labels=labels), LABELS_X_MM)[1:]
    assert all(line.right_mm < RANKING_X_MM for line in column)
    printed = " ".join(" ".join(line.words for line in column).split())
    assert all(lab.text in printed for lab in labels.labels)


# ------------------------------------------------------------- clinical review: times, room, ticks, units

def test_the_strip_is_named_by_its_times_never_as_the_page_on_screen():
    """Paper has no screen: a long recording's page is "strip 0:00:40–0:00:50 of 0:01:00", a short ECG's span is
    in h:mm:ss as the Reader gives it ("0.0-10.0 s" before), and the scale line under the tracing says it too."""
    ecg = _ecg(seconds=60.0)
    lines = _page_lines(ecg, start_s=40.0, scope="Page on screen, 0:00:40–0:00:50")
    page = " ".join(" ".join(line.words for line in lines).split())
    assert "on screen" not in page
    under = [line.words for line in lines if line.top_mm > 210 - 40]      # below the tracing
    assert any("strip 0:00:40–0:00:50 of 0:01:00" in words for words in under)
    assert "leads · strip 0:00:40–0:00:50 of 0:01:00" in page
    short = _page_text()
    assert "12 of 12 leads · 0:00:00–0:00:10" in short and "0.0-10.0 s" not in short


def test_the_whole_recording_summary_says_where_its_intervals_were_measured():
    """The summary measures a minute that is not the strip printed: the page says which, as the screen does."""
    from mets_core.measure import Measurements
    ecg = _ecg(seconds=300.0, fs=250)
    m = Measurements(heart_rate_bpm=102.0, pr_ms=134.0, start_s=60.0, seconds_analysed=60.0)
    page = _page_text(ecg, measurements=m, scope="Whole recording, 0:00:00–0:05:00 (model: average of its 10 s "
                                                  "windows)", whole=True)
    assert "Whole recording, 0:00:00–0:05:00" in page and "strip 0:00:00–0:00:10 of 0:05:00" in page
    assert "Measured on 0:01:00–0:02:00, not on the strip printed" in page
    on_strip = Measurements(heart_rate_bpm=102.0, start_s=120.0, seconds_analysed=10.0)
    assert "Measured on" not in _page_text(ecg, start_s=120.0, measurements=on_strip,
                                           scope="Page on screen, 0:02:00–0:02:10")


def test_caveats_use_the_room_a_few_strips_leave_free():
    """MIT-BIH 208's two leads left ~50 mm of blank grid while the page said "(more caveats, not printed)": the
    room the strips do not need goes to the columns, and every caveat is printed."""
    from mets_core.measure import Measurements
    m = Measurements(heart_rate_bpm=102.0, warnings=[f"caveat number {k}: check this on the median beats"
                                                     for k in range(10)])
    page = _page_text(_ecg(leads=("II", "V1")), measurements=m)
    assert "caveat number 9:" in page and "not printed" not in page


def _spiky(leads, peak_mv: float, fs: int = 500) -> ECG:
    t = np.arange(10 * fs) / fs
    return ECG.from_leads(np.tile(peak_mv * np.exp(-(((t % 1.0) - 0.5) / 0.008) ** 2), (len(leads), 1)),
                          list(leads), fs)


def _grid_top(pdf: bytes) -> float:
    """The grid's top edge (PDF points): its highest full-width line."""
    strokes = pdf_strokes(pdf)
    return max(points[:, 1].max() for points in strokes if len(points) == 2 and np.ptp(points[:, 0]) > 270 * MM)


def test_a_few_leads_tall_complexes_are_printed_whole_inside_the_grid():
    """MIT-BIH 208's 2.3 mV R waves ran off the grid's top edge: a strip now has the room its largest deflection
    needs, so the spike is drawn whole (23 mm above its calibration's baseline) and inside the grid."""
    from dashboard.report import build_pdf
    pdf = build_pdf(_spiky(("II", "V1"), 2.3), "test ECG")
    traces, calibrations = _traces_and_calibrations(pdf)
    top = _grid_top(pdf)
    for trace, calibration in zip(traces, calibrations):
        assert (trace[:, 1].max() - calibration[0, 1]) / MM == pytest.approx(23.0, abs=0.3)
        assert trace[:, 1].max() <= top
    assert "clipped" not in _page_text(_spiky(("II", "V1"), 2.3))


def test_a_3x4_trace_that_must_be_clipped_is_clipped_in_the_grid_and_said_so():
    from dashboard.report import build_pdf
    ecg = _spiky(STANDARD_LEADS, 4.0)
    pdf = build_pdf(ecg, "test ECG")
    traces, _ = _traces_and_calibrations(pdf)
    assert max(trace[:, 1].max() for trace in traces) <= _grid_top(pdf) + 0.01
    assert "▲▼ trace clipped at the mark" in _page_text(ecg)


def test_the_3x4_marks_where_one_lead_ends_and_the_next_begins():
    """A short vertical mark between the columns of each 3 x 4 row, as electrocardiographs print (and the
    screen draws): three on each of the three rows, none on the rhythm strip."""
    from dashboard.report import build_pdf
    from dashboard.report import GRID_ORIGIN_MM
    strokes = pdf_strokes(build_pdf(_ecg(), "test ECG"))
    x0 = (GRID_ORIGIN_MM[0] + 10.0) * MM
    ticks = [points for points in strokes if len(points) == 2 and np.ptp(points[:, 0]) < 0.01
             and 3 * MM < np.ptp(points[:, 1]) < 20 * MM]
    columns = sorted({round((points[0, 0] - x0) / MM, 1) for points in ticks})
    assert columns == [62.5, 125.0, 187.5] and len(ticks) == 9


def test_amplitudes_that_are_not_mv_are_said_so_on_the_paper():
    from mets_core.readers.channels import Z_SCORED_UNITS
    ecg = _ecg()
    ecg.metadata["units"] = Z_SCORED_UNITS
    page = _page_text(ecg)
    assert "Amplitudes are in standard deviations of each lead, not mV" in page
    assert "10 mm per SD (not mV)" in page and "10 mm/mV" not in page
    assert "standard deviations" not in _page_text() and "10 mm/mV" in _page_text()


def test_a_phrase_that_stands_out_says_how_often_it_stood_out_for_validation_patients():
    """The Reader's line under a crowned phrase, on paper too: the crown is a top-10 % rule, so the share of the
    validation patients with and without the finding for whom it stood out is printed under the row (and only
    under a row that stands out)."""
    from dashboard.ranking import build_view
    from mets_core.knowledge import StoodOut
    so = StoodOut(0.62, 0.09, 13, 322, "12-lead")
    view = build_view([SimpleNamespace(prompt=p, similarity=0.3, probability=0.5, percentile=pct, known=True,
                                       validation_auc=0.9, stood_out=so)
                       for p, pct in (("sinus bradycardia", 98.0), ("atrial fibrillation", 40.0))])
    lines = [line for line in _page_lines(ranking=view) if line.monospace]
    words = [line.words for line in lines]
    under = words.index(next(w for w in words if w.startswith("sinus bradycardia"))) + 1
    assert words[under].strip() == "validation: stood out for 62% of 13 with it, 9% of 322 without"
    assert lines[under].right_mm <= PAGE_RIGHT_MM + 0.1                      # inside its column
    assert sum("stood out for" in w for w in words) == 1                    # not under the row that does not
