"""A one-page printable PDF report, built in memory with matplotlib's PDF backend (never written to disk).

The page is A4 landscape (297 x 210 mm) drawn in millimetres: the axes holding the tracing span exactly
their width and height in mm, so 1 data unit = 1 mm on paper and the ECG is to scale (25 mm/s, 10 mm/mV,
1 mm and 5 mm grid) when printed at 100 % ("actual size"). Contents: the 3 x 4 layout + a rhythm strip,
measurements, the ranking with percentiles and reliability, the file's own labels, the model version and
the research-use disclaimer.
"""
from __future__ import annotations

import io
import math
import textwrap
from datetime import datetime, timezone

import numpy as np

from mets_core.ecg import ECG, STANDARD_LEADS

from .loading import channels_words
from .measured import shown_value
from .plotting import LAYOUT_3X4, RHYTHM_LEAD

PAGE_MM = (297.0, 210.0)            # A4 landscape
SPEED, GAIN = 25.0, 10.0            # mm/s, mm/mV
GRID_ORIGIN_MM = (12.0, 40.0)       # lower-left corner of the ECG grid on the page
GRID_SIZE_MM = (275.0, 110.0)       # 55 x 22 big boxes
MM_PER_INCH = 25.4
MEASUREMENT_COLUMN_CHARS = 70       # the measurements column (100 mm at 7 pt) ...
MEASUREMENT_LINES = 9               # ... and its lines above the tracing
DISCLAIMER = ("Research use only - not a medical device. Scores are similarities between the ECG and each "
              "phrase under the model, not diagnoses. Every finding must be checked on the tracing by a "
              "qualified clinician.")


def _fmt(m, attribute: str, unit: str = "ms") -> str:
    value = shown_value(m, attribute)
    return "not measurable" if value is None else f"{value} {unit}"


def build_pdf(ecg: ECG, title: str, start_s: float = 0.0, measurements=None, ranking=None, file_labels=None,
              model_version: str = "", rhythm_lead: str = RHYTHM_LEAD, scope: str = "", image_format: str = "pdf",
              dpi: int = 150) -> bytes:
    """The report as PDF bytes. `ranking`: a dashboard.ranking.RankingView (or None); `file_labels`: a
    mets_core.file_labels.FileLabels (or None). image_format="png": the same page as a picture (`dpi`), for
    previews and the documentation's screenshots."""
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure

    w, h = PAGE_MM
    fig = Figure(figsize=(w / MM_PER_INCH, h / MM_PER_INCH))
    FigureCanvasPdf(fig)
    text = fig.add_axes((0, 0, 1, 1))
    text.set_xlim(0, w)
    text.set_ylim(0, h)
    text.axis("off")

    who = []
    if file_labels is not None and file_labels.age:
        who.append(f"age {file_labels.age}")
    if file_labels is not None and file_labels.sex:
        who.append(file_labels.sex)
    text.text(12, h - 10, f"METS ECG report - {title}", fontsize=13, weight="bold", va="top")
    text.text(12, h - 16, " · ".join(who + [f"{ecg.fs:g} Hz", f"{int(ecg.lead_mask.sum())} of 12 leads",
                                            scope or f"{start_s:.1f}-{min(ecg.duration, start_s + 10):.1f} s"]),
              fontsize=8.5, va="top")
    text.text(w - 12, h - 10, datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), fontsize=8, va="top",
              ha="right")
    channels = channels_words(ecg.metadata)       # lead names given on the page, channels not drawn
    if channels:
        text.text(12, h - 19.5, channels[:170], fontsize=7, va="top", style="italic")

    # measurements
    m = measurements
    y = h - 24
    text.text(12, y, "Measurements (automated; verify on the tracing)", fontsize=9, weight="bold", va="top")
    if m is not None:
        lines = [f"HR {_fmt(m, 'heart_rate_bpm', 'bpm')}   RR {_fmt(m, 'rr_ms')}   PR {_fmt(m, 'pr_ms')}   "
                 f"QRS {_fmt(m, 'qrs_ms')}   QT {_fmt(m, 'qt_ms')}",
                 f"QTc Bazett {_fmt(m, 'qtc_ms')}   Fridericia {_fmt(m, 'qtc_fridericia_ms')}   "
                 f"Framingham {_fmt(m, 'qtc_framingham_ms')}",
                 f"frontal axis {_fmt(m, 'axis_deg', 'deg')}"]
        if getattr(m, "n_other_shape", 0):
            lines.append(f"median of {m.n_median_beats} beats; {m.n_other_shape} of another QRS shape "
                         f"(ectopic or noisy) left out")
        if getattr(m, "limb_lead_reversal", None):
            lines.append("Check electrodes: " + m.limb_lead_reversal)
        # the caveats the screen shows beside the numbers ("QTc ... is long: check the T end ...") go on paper
        # too, wrapped to the column; what does not fit above the tracing is said to be left out
        lines = [part for line in lines + list(getattr(m, "warnings", []) or [])
                 for part in textwrap.wrap(line, MEASUREMENT_COLUMN_CHARS, subsequent_indent="  ")]
        if len(lines) > MEASUREMENT_LINES:
            lines = lines[:MEASUREMENT_LINES - 1] + ["(more caveats on screen)"]
        for k, line in enumerate(lines):     # short lines: the column ends before "What the file says"
            text.text(12, y - 5 - 3.5 * k, line, fontsize=7, va="top")

    # file labels
    text.text(112, y, "What the file says", fontsize=9, weight="bold", va="top")
    labels = [lab.text for lab in (file_labels.labels if file_labels is not None else [])][:6]
    if labels and file_labels.origin:            # not the file's own words: say whose (PTB-XL's table)
        labels = labels[:5] + [f"({file_labels.origin.split(' (')[0]})"]
    for k, lab in enumerate(labels or ["no diagnosis labels in the file"]):
        text.text(112, y - 5 - 3.8 * k, lab[:60], fontsize=7.5, va="top")

    # ranking
    text.text(185, y, "Model ranking (similarity, not diagnosis)", fontsize=9, weight="bold", va="top")
    if ranking is not None:
        text.text(185, y - 4.5, ranking.headline[:95], fontsize=7, va="top", style="italic")
        for k, r in enumerate(ranking.rows[:6]):
            pct = "no ref." if r.percentile_rank is None else "".join(r.percentile_rank) + " pct"
            text.text(185, y - 9 - 3.8 * k, f"{r.prompt[:34]:34s}  {pct:>8s}  {r.reliability[1]}", fontsize=7,
                      va="top", family="monospace")
        if ranking.unknown:
            text.text(185, y - 9 - 3.8 * 6, "not known to the model: " + ", ".join(r.prompt for r in ranking.unknown)[:70],
                      fontsize=7, va="top")

    _draw_tracing(fig, ecg, start_s, rhythm_lead)
    text.text(12, 30, f"{SPEED:g} mm/s   {GAIN:g} mm/mV   grid 1 mm / 5 mm   print at 100 % (actual size)",
              fontsize=7.5, va="top")
    text.text(12, 20, DISCLAIMER, fontsize=7.5, va="top", wrap=True)
    model_line = f"Model: {model_version}"          # a long weights path is what gets cut
    text.text(12, 12, model_line if len(model_line) <= 190 else model_line[:189] + "…", fontsize=7, va="top")
    buf = io.BytesIO()
    if image_format == "pdf":
        fig.savefig(buf, format="pdf", metadata={"Title": "METS ECG report", "Creator": "METS dashboard"})
    else:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
        fig.savefig(buf, format=image_format, dpi=dpi, facecolor="white")
    return buf.getvalue()


def _draw_tracing(fig, ecg: ECG, start_s: float, rhythm_lead: str) -> None:
    w, h = PAGE_MM
    (gx, gy), (gw, gh) = GRID_ORIGIN_MM, GRID_SIZE_MM
    ax = fig.add_axes((gx / w, gy / h, gw / w, gh / h))      # 1 data unit = 1 mm on the page
    ax.set_xlim(0, gw)
    ax.set_ylim(0, gh)
    ax.axis("off")
    ax.set_facecolor("#fffafa")
    ax.vlines(np.arange(0, gw + 1e-6, 1.0), 0, gh, colors="#f1c6c6", linewidths=0.25, gid="minor-v")
    ax.hlines(np.arange(0, gh + 1e-6, 1.0), 0, gw, colors="#f1c6c6", linewidths=0.25, gid="minor-h")
    ax.vlines(np.arange(0, gw + 1e-6, 5.0), 0, gh, colors="#dc8c8c", linewidths=0.6, gid="major-v")
    ax.hlines(np.arange(0, gh + 1e-6, 5.0), 0, gw, colors="#dc8c8c", linewidths=0.6, gid="major-h")
    if rhythm_lead not in ecg.leads:
        rhythm_lead = RHYTHM_LEAD if RHYTHM_LEAD in ecg.leads else (ecg.leads[0] if ecg.leads else RHYTHM_LEAD)
    rows = [list(r) for r in LAYOUT_3X4] + [[rhythm_lead]]
    pitch = gh / len(rows)
    x0 = 10.0
    page_s = min(10.0, max(0.0, ecg.duration - start_s))
    for r, leads in enumerate(rows):
        centre = gh - (r + 0.5) * pitch
        ax.plot([1, 2, 2, 7, 7, 8], [centre, centre, centre + GAIN, centre + GAIN, centre, centre],
                color="black", linewidth=0.7)                                # 1 mV x 0.2 s calibration
        seg_s = page_s / len(leads)
        for c, lead in enumerate(leads):
            t0 = start_s + c * seg_s
            xs = x0 + c * seg_s * SPEED
            i = STANDARD_LEADS.index(lead)
            ax.text(xs + 1, centre + 0.38 * pitch, lead, fontsize=7, weight="bold")
            if not ecg.lead_mask[i]:
                ax.text(xs + 6, centre + 0.38 * pitch, "not recorded", fontsize=6, style="italic", color="#555555")
                continue
            a, b = int(round(t0 * ecg.fs)), int(round((t0 + seg_s) * ecg.fs))
            y = np.nan_to_num(np.asarray(ecg.signal[i, a:b], dtype=float))
            if len(y) == 0:
                continue
            y = y - np.median(y)
            step = max(1, int(math.floor(ecg.fs / 250.0)))      # 250 points per second are plenty on paper
            t = np.arange(0, len(y), step) / ecg.fs
            ax.plot(xs + t * SPEED, centre + np.clip(y[::step], -pitch / GAIN, pitch / GAIN) * GAIN,
                    color="black", linewidth=0.45)
