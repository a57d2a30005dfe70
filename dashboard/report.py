"""A one-page printable PDF report, built in memory with matplotlib's PDF backend (never written to disk).

The page is A4 landscape (297 x 210 mm) drawn in millimetres: the axes holding the tracing span exactly
their width and height in mm, so 1 data unit = 1 mm on paper and the ECG is to scale (25 mm/s, 10 mm/mV,
1 mm and 5 mm grid) when printed at 100 % ("actual size"). Contents: the 3 x 4 layout + a rhythm strip (a
record of 1-3 leads: one full-width strip per recorded lead, each with the room its tallest complex needs; the
grid's height they do not need goes to the columns above), measurements, the ranking with percentiles and
reliability, what the file says, the model version and the research-use disclaimer. A trace that must still be
clipped is marked where it is (▲/▼) and the scale line says so; amplitudes that are not mV
(``plotting.amplitudes``) are said so under the tracing and in the scale line. The strip is named by its times
("strip 0:12:30–0:12:40 of 0:30:05.6"), and measurements made elsewhere (the whole-recording summary's minute)
say where.

The page says what the Reader page says, in its words, but never "on screen" (paper has none): nothing is cut
silently. Ranked phrases that do not fit as rows are listed with their percentiles in a compact line ("also
ranked: normal ECG 78th, ..."), what does not fit even there is said to be not printed ("; 3 more not printed"),
and every line is wrapped to its column, measured in its font (a label never runs into the next column or off
the page).
"""
from __future__ import annotations

import functools
import io
import math
import re
import textwrap
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.knowledge import stood_out_brief

from .loading import channels_words
from .measured import FIELDS, missing_words, shown_text
from .panels.common import recorded_words
from .ranking import disagreement
# printed at the standard speed and gain whatever the screen shows; the strip is the page on screen
from .plotting import (CLIP_INK, COLUMN_MARK, LAYOUT_3X4, NOT_RECORDED, PAGE_S, RHYTHM_LEAD, STANDARD_GAIN,
                       STANDARD_SPEED, absent_label, amplitudes, clipped_runs, decimate_minmax, deflections,
                       headroom_mm, hms, leads_not_drawn, room, scale_words, segment)

PAGE_MM = (297.0, 210.0)            # A4 landscape
MARGIN_MM = 12.0                    # left and right
GRID_ORIGIN_MM = (12.0, 40.0)       # lower-left corner of the ECG grid on the page
GRID_SIZE_MM = (275.0, 110.0)       # 55 x 22 big boxes, at most: a record of few leads takes what its strips need
GRID_TOP_MM = GRID_ORIGIN_MM[1] + GRID_SIZE_MM[1]
UNLIMITED_LINES = 1000              # a column's lines when nothing limits them (to see how many it has)
FEW_LEADS = 3                       # a record of this many leads or fewer: one full-width strip per lead
STRIP_MM = 30.0                     # a strip's height at least (3 mV at 10 mm/mV), more for a tall deflection
TITLE_PT, SMALLEST_TITLE_PT = 13.0, 8.5
TITLE_WIDTH_MM = PAGE_MM[0] - 2 * MARGIN_MM - 50.0   # the title's room, left of the "printed ..." stamp (~43 mm)
PDF_POINTS_PER_S = 250              # points of a trace per second of paper (10 a mm at 25 mm/s): plenty in print
MM_PER_INCH = 25.4
MM_PER_PT = MM_PER_INCH / 72.0
# The columns above the tracing: headings at COLUMN_TOP_MM, then lines of COLUMN_PT type LINE_MM apart, the
# last one's top COLUMN_CLEARANCE_MM above the grid at the lowest (its descenders end above it): as many lines as
# the tracing leaves room for (``column_lines``; 10 above the full grid).
COLUMN_TOP_MM = PAGE_MM[1] - 24
COLUMN_PT, LINE_MM = 7.0, 3.0
COLUMN_CLEARANCE_MM = 4.0
CHANNELS_PT, CHANNEL_LINES = 7.0, 2    # the line under the heading (channels not drawn, samples missing): a second
                                       # line lowers the columns by LINE_MM
LABELS_X_MM, RANKING_X_MM = 112.0, 185.0
MEASUREMENT_WIDTH_MM = LABELS_X_MM - MARGIN_MM - 6.0
LABELS_WIDTH_MM = RANKING_X_MM - LABELS_X_MM - 6.0   # a gap before the ranking (a screen's hinting widens type)
RANKING_WIDTH_MM = PAGE_MM[0] - MARGIN_MM - RANKING_X_MM
MORE_LINES = 3                      # at most for "also ranked: <names>" / "not printed: ...": the rows first
SCALE_LINES = 3                     # the scale line under the tracing, wrapped: at most this many, above the disclaimer
STRIP_RHYTHM = "Rhythm the file marks for this strip"   # the Reader's "... for the page on screen", on paper
CAVEATS_NOT_PRINTED = "(more caveats, not printed)"
# a column with nothing given to it says so: a blank column under its heading read as "nothing found"
NOT_MEASURED = "not measured automatically: measure on the tracing"
NOT_RANKED = "no phrase ranked (none typed, or the model not available)"
RANK_PROMPT_CHARS = 34              # the ranking's phrase column (monospace), before percentile and reliability
MONOSPACE = {"family": "monospace"}
ROW_INDENT_MM = 3.5                 # two monospace spaces of COLUMN_PT type (~3 mm), and a little to spare
ITALIC = {"style": "italic"}
DISCLAIMER = ("Research use only - not a medical device. Scores are similarities between the ECG and each "
              "phrase under the model, not diagnoses. Every finding must be checked on the tracing by a "
              "qualified clinician.")


def build_pdf(ecg: ECG, title: str, start_s: float = 0.0, measurements=None, ranking=None, file_labels=None,
              model_version: str = "", rhythm_lead: str = RHYTHM_LEAD, scope: str = "", image_format: str = "pdf",
              dpi: int = 150, beats=None, whole: bool = False) -> bytes:
    """The report as PDF bytes. `ranking`: a dashboard.ranking.RankingView (or None); `file_labels`: a
    mets_core.file_labels.FileLabels (or None); `beats`: the file's own beat labels
    (mets_core.readers.beat_labels.Beats, or None), for the rhythm they mark on the strip printed;
    `model_version`: dashboard.engine.Engine.version (where the weights were loaded from is left out);
    `scope`: what the ranking describes, in the Reader's words (dashboard.session.Scope.words); `whole`: whether
    that is the whole recording (the Reader's whole-recording summary, session.Scope.whole), else it is the
    strip printed, which the page names by its times.
    image_format="png": the same page as a picture (`dpi`), for previews and the documentation's screenshots."""
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure

    w, h = PAGE_MM
    fig = Figure(figsize=(w / MM_PER_INCH, h / MM_PER_INCH))
    FigureCanvasPdf(fig)
    axes = fig.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, w)
    axes.set_ylim(0, h)
    axes.axis("off")
    text = _PrintedText(axes)
    amps = amplitudes(ecg)

    # lead names given on the page, channels not drawn, samples missing: wrapped (cut to one line, a gap's "a pause
    # or a rhythm there is not real" was lost), the columns lower by the lines it takes beyond the first
    channels = channels_words(ecg.metadata)
    channel_lines = _cut(_lines(channels, w - 2 * MARGIN_MM, {"size": CHANNELS_PT, **ITALIC}), CHANNEL_LINES,
                         w - 2 * MARGIN_MM) if channels else []
    top = COLUMN_TOP_MM - LINE_MM * max(0, len(channel_lines) - 1)

    def columns(n: int) -> tuple[list, list, list]:
        """The three columns above the tracing, `n` lines each at most."""
        return (_measurement_lines(measurements, ecg, start_s, n) if measurements is not None else
                _lines(NOT_MEASURED, MEASUREMENT_WIDTH_MM),
                _file_says(ecg, file_labels, beats, start_s, ranking, n, whole),
                _ranking_lines(ranking, n, None if whole else measurements)
                if ranking is not None else _lines(NOT_RANKED, RANKING_WIDTH_MM))
    # the columns' lines, as many as they have: a record of a few leads whose strips leave the grid room to
    # spare gives it to the columns (caveats, ranked rows), not to blank grid
    wanted = max(len(lines) for lines in columns(UNLIMITED_LINES))
    tracing = tracing_layout(ecg, start_s, rhythm_lead,
                             GRID_SIZE_MM[1] - max(0, wanted - column_lines(GRID_TOP_MM, top)) * LINE_MM)
    measured, file_says, ranked = columns(column_lines(GRID_ORIGIN_MM[1] + tracing.height, top))

    who = []
    if file_labels is not None and file_labels.age:
        who.append(f"age {file_labels.age}")
    if file_labels is not None and file_labels.sex:
        who.append(file_labels.sex)
    heading, size = _title(f"METS ECG report - {title}")
    text.text(12, h - 10, heading, fontsize=size, weight="bold", va="top", parse_math=False)
    strip = strip_words(ecg, start_s)
    text.text(12, h - 16, " · ".join(who + [recorded_words(ecg), f"{ecg.fs:g} Hz",
                                            f"{int(ecg.lead_mask.sum())} of 12 leads",
                                            scope if whole and scope else strip]),
              fontsize=8.5, va="top", parse_math=False)
    # when the page was printed, said as such: beside the recording's own date a bare time read as that
    text.text(w - 12, h - 10, "printed " + datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), fontsize=8,
              va="top", ha="right")
    for k, (line, _) in enumerate(channel_lines):     # the file's channel names: words, never mathtext ("$")
        text.text(12, h - 19.5 - LINE_MM * k, line, fontsize=CHANNELS_PT, va="top", parse_math=False, **ITALIC)

    text.text(12, top, "Measurements (automated; verify on the tracing)", fontsize=9, weight="bold", va="top")
    _draw_column(text, 12, measured, top)
    text.text(LABELS_X_MM, top, "What the file says", fontsize=9, weight="bold", va="top")
    _draw_column(text, LABELS_X_MM, file_says, top)
    text.text(RANKING_X_MM, top, "Model ranking (similarity, not diagnosis)", fontsize=9, weight="bold", va="top")
    _draw_column(text, RANKING_X_MM, ranked, top)

    # the leads not drawn and why, found once and said in the screen's words: in their cells and the scale line
    not_drawn = leads_not_drawn(ecg)
    absent = [lead for lead, why in not_drawn.items() if why == NOT_RECORDED]
    left_out = [absent_label(lead, why) for lead, why in not_drawn.items() if why != NOT_RECORDED]
    clipped = _draw_tracing(fig, ecg, start_s, tracing, not_drawn)
    if amps.warning:               # under the tracing, where its scale is read
        for k, line in enumerate(_wrap(amps.warning, w - 2 * MARGIN_MM, size=7.5, weight="bold")):
            text.text(12, 37.5 - 3 * k, line, fontsize=7.5, weight="bold", color=CLIP_INK, va="top")
    scale = ("   ".join([f"{STANDARD_SPEED:g} mm/s", scale_words(STANDARD_GAIN, amps), "grid 1 mm / 5 mm",
                            "print at 100 % (actual size)", strip] + (["▲▼ trace clipped at the mark"] if clipped else []))
             + (f"   leads {NOT_RECORDED}: {', '.join(absent)}" if absent else "")
             + "".join(f"   {words}" for words in left_out))
    # wrapped to the page, above the disclaimer (a long strip time beside 11 absent leads ran past the margin)
    for k, (line, _) in enumerate(_cut(_lines(scale, w - 2 * MARGIN_MM, {"size": 7.5}), SCALE_LINES,
                                        w - 2 * MARGIN_MM)):
        text.text(12, 30 - 3 * k, line, fontsize=7.5, va="top", parse_math=False)
    text.text(12, 20, DISCLAIMER, fontsize=7.5, va="top", wrap=True)
    for k, line in enumerate(_wrap(f"Model: {_without_paths(model_version)}", w - 2 * MARGIN_MM)):
        text.text(12, 12 - 3 * k, line, fontsize=COLUMN_PT, va="top", parse_math=False)
    buf = io.BytesIO()
    if image_format == "pdf":
        fig.savefig(buf, format="pdf", metadata={"Title": "METS ECG report", "Creator": "METS dashboard"})
    else:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
        fig.savefig(buf, format=image_format, dpi=dpi, facecolor="white")
    return buf.getvalue()


def _title(words: str) -> tuple[str, float]:
    """The page's title and its size in points: TITLE_PT, smaller for a long name so that it ends before the
    "printed ..." stamp (a long file name ran under it, and off the page), and at SMALLEST_TITLE_PT ended with
    "…" where even that does not fit."""
    bold = {"weight": "bold"}
    for size in np.arange(TITLE_PT, SMALLEST_TITLE_PT - 1e-6, -0.5):
        if _fits(words, TITLE_WIDTH_MM, {**bold, "size": size}):
            return words, float(size)
    return _cut_to_fit(words, TITLE_WIDTH_MM, {**bold, "size": SMALLEST_TITLE_PT}), SMALLEST_TITLE_PT


def _cut_to_fit(words: str, width_mm: float, font: dict) -> str:
    """`words` as they are where they fit `width_mm` in `font`, else their longest start that fits ended with
    "…" (found by halving: each try lays the text out)."""
    if _fits(words, width_mm, font):
        return words
    fits, too_long = 0, len(words)
    while too_long - fits > 1:
        mid = (fits + too_long) // 2
        fits, too_long = (mid, too_long) if _fits(words[:mid].rstrip() + "…", width_mm, font) else (fits, mid)
    return words[:fits].rstrip() + "…"


def strip_words(ecg: ECG, start_s: float) -> str:
    """The stretch the tracing prints, in h:mm:ss as the Reader gives it: "0:00:00–0:00:10", or for a longer
    recording "strip 0:12:30–0:12:40 of 0:30:05.6"."""
    end = min(ecg.duration, start_s + PAGE_S)
    span = f"{hms(start_s)}–{hms(end)}"
    return span if start_s <= 0 and end >= ecg.duration else f"strip {span} of {hms(ecg.duration)}"


def column_lines(grid_top_mm: float, top_mm: float = COLUMN_TOP_MM) -> int:
    """How many lines a column above the tracing holds when the grid's top edge is at `grid_top_mm` and the
    column's heading at `top_mm`."""
    return int((top_mm - 5 - (grid_top_mm + COLUMN_CLEARANCE_MM)) / LINE_MM) + 1


def _measurement_lines(m, ecg: ECG, start_s: float, n_lines: int) -> list[tuple[str, dict]]:
    """The measurements column: where they were measured when that is not the strip printed (the whole-
    recording summary's minute), the numbers, then the caveats the screen shows beside them ("QTc ... is long:
    check the T end ..."), each wrapped to the column; what does not fit above the tracing is said to be left
    out."""
    lines = []
    strip_end = min(ecg.duration, start_s + PAGE_S)
    m_end = m.start_s + m.seconds_analysed
    if ecg.duration > PAGE_S and m.seconds_analysed and (abs(m.start_s - start_s) > 0.05 or
                                                         abs(m_end - strip_end) > 0.05):
        lines.append(f"Measured on {hms(m.start_s)}–{hms(m_end)}, not on the strip printed")
    lines += [f"HR {_shown(m, 'heart_rate_bpm')}   RR {_shown(m, 'rr_ms')}   PR {_shown(m, 'pr_ms')}   "
              f"QRS {_shown(m, 'qrs_ms')}   QT {_shown(m, 'qt_ms')}",
              f"QTc Bazett {_shown(m, 'qtc_ms')}   Fridericia {_shown(m, 'qtc_fridericia_ms')}   "
              f"Framingham {_shown(m, 'qtc_framingham_ms')}",
              f"frontal axis {_shown(m, 'axis_deg')}"]
    if getattr(m, "n_other_shape", 0):
        lines.append(f"median of {m.n_median_beats} beats; {m.n_other_shape} of another QRS shape "
                     f"(ectopic or noisy) left out")
    if getattr(m, "limb_lead_reversal", None):
        lines.append("Check electrodes: " + m.limb_lead_reversal)
    wrapped = [_lines(line, MEASUREMENT_WIDTH_MM) for line in lines + list(getattr(m, "warnings", []) or [])]
    every = [line for entry in wrapped for line in entry]
    if len(every) <= n_lines:
        return every
    shown = []
    for entry in wrapped:                  # whole caveats only, and a line to say the rest are left out
        if len(shown) + len(entry) > n_lines - 1:
            break
        shown += entry
    return shown + [(CAVEATS_NOT_PRINTED, {})]


def _shown(m, attribute: str) -> str:
    """One measurement as the Reader's boxes show it ("412 ms", "-3°"), else their word for its absence: "not
    applicable" (no PR in atrial fibrillation) or "not measurable"."""
    _, _, unit, note = next(f for f in FIELDS if f[1] == attribute)
    return shown_text(m, attribute, unit) or missing_words(m, note)


def _file_says(ecg: ECG, file_labels, beats, start_s: float, ranking=None,
               n_lines: int = 10, whole: bool = False) -> list[tuple[str, dict]]:
    """The "What the file says" column: for a recording longer than the strip, the rhythm the file marks on the
    strip first (as the Reader's overview gives it for the page on screen), then the file's labels in the
    page's words, then whose they are when not the file's own; what does not fit is named as not printed.
    `whole`: the ranking is the whole recording's (the Reader's whole-recording summary), so it is held against
    the file's labels, as the Reader holds it, not against the strip's rhythms."""
    entries, rhythms = [], []
    strip_end = min(ecg.duration, start_s + PAGE_S)
    if beats is not None and (start_s > 0 or strip_end < ecg.duration):
        from .panels.navigation import page_rhythms      # the rhythms the Reader gives for the page on screen
        rhythms = page_rhythms(beats, ecg, start_s, strip_end)
        if rhythms:
            entries.append(f"{STRIP_RHYTHM}: {', '.join(rhythms)}")
    labels = file_labels.labels if file_labels is not None else []
    origin = file_labels.origin if file_labels is not None else ""
    # as the page says it beside the labels (held against the strip's own rhythms where the file marks them);
    # first: never cut as "and N more"
    differ = disagreement(ranking, (rhythms if not whole else []) or [lab.text for lab in labels])
    entries += ([differ] if differ else []) + [lab.words for lab in labels]
    if not labels:
        entries.append(origin or "no diagnosis labels in the file")
    # not the file's own words (PTB-XL's table): whose, in the first words of the page's note
    whose = _lines(f"({origin.split(' (')[0]})", LABELS_WIDTH_MM) if labels and origin else []

    def more(n: int) -> list[tuple[str, dict]]:
        """The last `n` entries as "not printed: <label>; <label>; 3 more", as many named as fit (listed whole
        and cut with "…", a long label lost the count of those after it)."""
        said = entries[len(entries) - n:]

        def words(k: int) -> str:
            return ("not printed: " + "; ".join(said[:k]) + (f"; {n - k} more" if k < n else "")) if k else \
                f"{n} more not printed"
        return _named_then_counted(n, words, LABELS_WIDTH_MM)
    return _fitted([], [_lines(entry, LABELS_WIDTH_MM) for entry in entries], whose, more, LABELS_WIDTH_MM,
                   n_lines)


def _ranking_lines(ranking, n_lines: int = 10, measured=None) -> list[tuple[str, dict]]:
    """The ranking column: its headline wrapped (with what the measurements of the strip, `measured`, say against
    a phrase that stands out, RankingView.measurement_disagreements: a rate statement outside the measured rate,
    a sinus rhythm in an irregular rhythm without P waves; not for the whole-recording summary, whose ranking
    averages every window while its measurements are one minute's), then every ranked row that fits (a long
    phrase goes on to the next line, never cut), the rest with their percentiles in a compact "also ranked: ..." line (those that
    do not fit even there counted as not printed), then the negated phrases (scored as the finding, not ranked)
    and the phrases the model does not know."""
    def row(r) -> list[tuple[str, dict]]:
        pct = "no ref." if r.percentile_rank is None else "".join(r.percentile_rank) + " pct"
        prompt = textwrap.wrap(r.prompt, RANK_PROMPT_CHARS, subsequent_indent="  ") or [""]
        # under a phrase that stands out, how often it stood out for validation patients with and without it
        # (the Reader's line under a crowned row): the crown alone is a top-10 % rule
        stood_out = [("  " + line, font) for line, font in
                     _lines(stood_out_brief(r.stood_out), RANKING_WIDTH_MM - ROW_INDENT_MM, MONOSPACE)] \
            if r.stands_out and r.stood_out is not None else []
        return [(f"{prompt[0]:{RANK_PROMPT_CHARS}s}  {pct:>8s}  {r.reliability[1]}", MONOSPACE)] + \
            [(part, MONOSPACE) for part in prompt[1:]] + stood_out

    rows = ranking.rows

    def more(n: int) -> list[tuple[str, dict]]:
        """The last `n` rows as "also ranked: normal ECG 78th, ..." in MORE_LINES lines at most: as many as fit,
        in order, the others counted ("; 4 more not printed")."""
        said = [f"{r.prompt} " + ("no ref." if r.percentile_rank is None else "".join(r.percentile_rank))
                for r in rows[len(rows) - n:]]

        def words(k: int) -> str:
            left = f"{n - k} more not printed" if k < n else ""
            return ("also ranked: " + ", ".join(said[:k]) + (f"; {left}" if left else "")) if k else \
                f"{n} more ranked, not printed"
        return _named_then_counted(n, words, RANKING_WIDTH_MM)

    unknown = _lines("not known to the model: " + ", ".join(r.prompt for r in ranking.unknown),
                     RANKING_WIDTH_MM) if ranking.unknown else []
    # short on paper (the column is narrow), the page's point kept: each is the finding's score, not a ranking
    negated = getattr(ranking, "negated", [])
    negated = _lines("negated, not ranked (the model cannot read “no”/“not”; scored as the finding, and a low "
                     "percentile is not evidence of absence): " + "; ".join(
                         f"{r.prompt} → {r.negates}" + ("" if r.percentile_rank is None else
                                                       f" {''.join(r.percentile_rank)} pct") for r in negated),
                     RANKING_WIDTH_MM) if negated else []
    headline = " ".join([ranking.headline, *ranking.measurement_disagreements(measured)])
    return _fitted(_lines(headline, RANKING_WIDTH_MM, ITALIC), [row(r) for r in rows], negated + unknown,
                   more, RANKING_WIDTH_MM, n_lines)


def _named_then_counted(n: int, words, width_mm: float) -> list[tuple[str, dict]]:
    """`words(k)` (the first k of `n` entries named, the others counted) wrapped to `width_mm`, for the longest
    run k that fits MORE_LINES lines (the lines grow with each one added)."""
    fits = 0
    while fits < n and len(_lines(words(fits + 1), width_mm)) <= MORE_LINES:
        fits += 1
    return _lines(words(fits), width_mm)


def _fitted(head: list, entries: list[list], tail: list, more, width_mm: float, n_lines: int) -> list:
    """A column's lines within `n_lines`: `head`, as many of `entries` (each its lines) as fit, in order,
    then `more(n)` (the lines saying what the last n are, briefly, or that they are not printed; at most
    MORE_LINES of them, ended with "…" when cut) when some do not, then `tail`."""
    every = head + [line for entry in entries for line in entry] + tail
    if len(every) <= n_lines:
        return every
    for shown in range(len(entries) - 1, -1, -1):
        lines = head + [line for entry in entries[:shown] for line in entry]
        if len(lines) + 1 + len(tail) > n_lines:      # not even a one-line `more`: no need to word it
            continue
        lines += _cut(more(len(entries) - shown), MORE_LINES, width_mm) + tail
        if len(lines) <= n_lines:
            return lines
    return _cut(head + _cut(more(len(entries)), MORE_LINES, width_mm) + tail, n_lines, width_mm)


def _cut(lines: list[tuple[str, dict]], n: int, width_mm: float) -> list[tuple[str, dict]]:
    """The first `n` lines, the last of them ended with "…" (in `width_mm`) when some are left out."""
    if len(lines) <= n:
        return lines
    words, font = lines[n - 1]
    while words.strip() and not _fits(words + " …", width_mm, font):
        words = words.rsplit(" ", 1)[0] if " " in words.strip() else ""
    return lines[:n - 1] + [(words + " …", font)]


def _lines(words: str, width_mm: float, font: dict | None = None) -> list[tuple[str, dict]]:
    """`words` wrapped to `width_mm`, each line with the font it is drawn in."""
    font = font or {}
    return [(line, font) for line in _wrap(words, width_mm, **font)]


def _wrap(words: str, width_mm: float, **font) -> list[str]:
    """`words` broken at spaces into lines that each fit `width_mm` in COLUMN_PT type of `font`, each taking
    as many words as fit: measured, not counted, since a "W" is three times as wide as an "i". Lines after the
    first are indented; a word wider than the column is broken (textwrap)."""
    lines: list[str] = []
    # runs of spaces kept ("HR 94 bpm   RR 635 ms"), not at a break; other whitespace (a newline) is a space
    for word in re.sub(r"[^\S ]", " ", words).strip().split(" "):
        if lines and _fits(f"{lines[-1]} {word}", width_mm, font):
            lines[-1] += f" {word}"
            continue
        if not word:
            continue
        head = "  " if lines else ""
        chars = len(word)
        while not _fits(head + word[:chars], width_mm, font) and chars > 1:
            chars -= 1
        lines += [head + part for part in textwrap.wrap(word, chars)]
    return lines or [""]


REPLACEMENT_CHARACTER = "\ufffd"      # �: the page's font has it; "a character that could not be printed"


@functools.lru_cache(maxsize=1)
def _printable_codes() -> frozenset[int]:
    """The characters the page's fonts draw in each of the styles the page uses (regular, bold, italic; the
    ranking's monospace, plain and bold)."""
    from matplotlib.font_manager import FontProperties, findfont
    from matplotlib.ft2font import FT2Font
    return frozenset.intersection(*(frozenset(FT2Font(findfont(FontProperties(**font))).get_charmap())
                                    for font in ({}, {"weight": "bold"}, ITALIC, MONOSPACE,
                                                 {**MONOSPACE, "weight": "bold"})))


def printable(words: str) -> str:
    """`words` with each character the page's font cannot draw replaced by REPLACEMENT_CHARACTER. matplotlib
    would print an empty box and warn on the server's log for each, naming the character: of a file name, a
    typed phrase or a file's label, that is patient data in a log (a name in Chinese script, review 35)."""
    codes = _printable_codes()
    return "".join(c if c.isspace() or ord(c) in codes else REPLACEMENT_CHARACTER for c in words)


class _PrintedText:
    """The page's text layer: every string drawn on it made `printable` first (one place for all of them)."""

    def __init__(self, axes) -> None:
        self._axes = axes

    def text(self, x: float, y: float, words: str, **style):
        return self._axes.text(x, y, printable(words), **style)


def _fits(line: str, width_mm: float, font: dict) -> bool:
    """Whether `line` in COLUMN_PT type of `font` (or its "size") ends within `width_mm` of where it starts (an
    indent counts): its advance width, as matplotlib lays the text out."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path
    font = {"size": COLUMN_PT, **font}
    width_pt = text_to_path.get_text_width_height_descent(printable(line), FontProperties(**font),
                                                          ismath=False)[0]
    return width_pt * MM_PER_PT <= width_mm


def _draw_column(text, x: float, lines: list[tuple[str, dict]], top_mm: float) -> None:
    for k, (line, font) in enumerate(lines):     # typed phrases and file labels are words, never mathtext
        text.text(x, top_mm - 5 - LINE_MM * k, line, fontsize=COLUMN_PT, va="top", parse_math=False, **font)


def _without_paths(model_version: str) -> str:
    """The model's line without a filesystem path: engine.version ends "... weights sha256 <hash> from <folder>",
    a server's folder that has no place on a patient's report (the hash tells checkpoints apart); any other
    absolute path in it (a text encoder loaded from a folder) is cut to its last name."""
    words = re.sub(r"(weights sha256 \S*) from .*$", r"\1", model_version)
    return re.sub(r"(?<!\S)(?:~|[A-Za-z]:)?[\\/]\S*", lambda p: re.split(r"[\\/]", p.group().rstrip("\\/"))[-1],
                  words)


def _tracing_rows(ecg: ECG, rhythm_lead: str) -> list[list[str]]:
    """The leads of each row of the tracing, top to bottom: the 3 x 4 layout and a rhythm strip; for a
    record of 1-3 leads (a Holter's two), each recorded lead as a full 10 s strip and nothing for the others."""
    if int(ecg.lead_mask.sum()) <= FEW_LEADS:
        return [[lead] for lead in ecg.leads]
    if rhythm_lead not in ecg.leads:
        rhythm_lead = RHYTHM_LEAD if RHYTHM_LEAD in ecg.leads else ecg.leads[0]
    return [list(r) for r in LAYOUT_3X4] + [[rhythm_lead]]


@dataclass(frozen=True)
class TracingLayout:
    """Where the tracing's rows lie in its grid (mm from the grid's bottom edge)."""
    rows: list[list[str]]
    height: float                 # the grid's height: GRID_SIZE_MM's, or less for a few strips that need less
    centres: list[float]          # each row's baseline
    tops: list[float]             # each row's top edge (its lead's name just under it)
    limits: list[tuple[float, float]]   # each row's trace is clipped (and marked) outside these
    pitch: float                  # the 3 x 4's row spacing, or a strip's height at least


def tracing_layout(ecg: ECG, start_s: float, rhythm_lead: str, most_mm: float = GRID_SIZE_MM[1]) -> TracingLayout:
    """The 3 x 4 at its standard pitch (a quarter of the grid each row), each trace clipped a pitch from its
    baseline or at the grid's edge; a record of a few leads, one strip per lead with the room its largest
    deflections on the strip need (``plotting.room``, as the screen gives it), at least STRIP_MM, in a grid of
    whole big boxes as high as GRID_SIZE_MM's, or as `most_mm` (the columns above need the rest) unless the
    strips need more, the room to spare shared out; each trace clipped HEADROOM_MV from its baseline, at its
    row's edge where the strips need more than the grid holds, or at the grid's edge."""
    rows = _tracing_rows(ecg, rhythm_lead)
    full = GRID_SIZE_MM[1]
    page_s = min(PAGE_S, max(0.0, ecg.duration - start_s))
    if len(rows) > FEW_LEADS:
        pitch = full / len(rows)
        centres = [full - (r + 0.5) * pitch for r in range(len(rows))]
        return TracingLayout(rows, full, centres, [c + pitch / 2 for c in centres],
                             [(max(0.0, c - pitch), min(full, c + pitch)) for c in centres], pitch)
    pitch, half = STRIP_MM, STRIP_MM / 2
    extents = [deflections(ecg, leads, start_s, page_s) for leads in rows]
    above = [room(up, STANDARD_GAIN, half) for up, _ in extents]
    below = [room(down, STANDARD_GAIN, half) for _, down in extents]
    needed = sum(above) + sum(below)
    height = min(full, max(5.0 * math.ceil(needed / 5.0), 5.0 * math.floor(most_mm / 5.0)))
    squeeze = min(1.0, full / needed)          # more than the grid holds: each row its share, and clipped
    above, below = [a * squeeze for a in above], [b * squeeze for b in below]
    spare = (height - needed * squeeze) / len(rows)       # rounding to big boxes: shared out
    centres, top = [], height
    for a, b in zip(above, below):
        centres.append(top - a - spare / 2)
        top -= a + b + spare
    # clipped HEADROOM_MV from the baseline, or at the row's own edge where the rows were squeezed (a trace
    # drawn on into the next row reads as that row's)
    reach = headroom_mm(STANDARD_GAIN)
    limits = [(max(0.0, c - min(reach, b + spare / 2)), min(height, c + min(reach, a + spare / 2)))
              for c, a, b in zip(centres, above, below)]
    return TracingLayout(rows, height, centres, [c + a + spare / 2 for c, a in zip(centres, above)], limits, pitch)


def _draw_tracing(fig, ecg: ECG, start_s: float, layout: TracingLayout, not_drawn: dict[str, str]) -> bool:
    """The grid and the traces of `layout`, each lead of `not_drawn` (``plotting.leads_not_drawn``) said so in
    its cell; True when some trace had to be clipped (each place marked ▲ or ▼)."""
    w, h = PAGE_MM
    (gx, gy), gw, gh = GRID_ORIGIN_MM, GRID_SIZE_MM[0], layout.height
    ax = fig.add_axes((gx / w, gy / h, gw / w, gh / h))      # 1 data unit = 1 mm on the page
    ax.set_xlim(0, gw)
    ax.set_ylim(0, gh)
    ax.axis("off")
    ax.set_facecolor("#fffafa")
    ax.vlines(np.arange(0, gw + 1e-6, 1.0), 0, gh, colors="#f1c6c6", linewidths=0.25, gid="minor-v")
    ax.hlines(np.arange(0, gh + 1e-6, 1.0), 0, gw, colors="#f1c6c6", linewidths=0.25, gid="minor-h")
    ax.vlines(np.arange(0, gw + 1e-6, 5.0), 0, gh, colors="#dc8c8c", linewidths=0.6, gid="major-v")
    ax.hlines(np.arange(0, gh + 1e-6, 5.0), 0, gw, colors="#dc8c8c", linewidths=0.6, gid="major-h")
    x0 = 10.0
    page_s = min(PAGE_S, max(0.0, ecg.duration - start_s))
    # min/max of each bucket of samples, as the screen draws it: a stride (every 2nd sample at 500 Hz, 4th at
    # 1 kHz) dropped a pacing spike of a sample or two and shaved the tallest R waves
    factor = max(1, int(math.floor(2 * ecg.fs / PDF_POINTS_PER_S)))
    clipped = False
    for r, leads in enumerate(layout.rows):
        centre, (lowest, highest) = layout.centres[r], layout.limits[r]
        if any(ecg.lead_mask[STANDARD_LEADS.index(lead)] for lead in leads):
            top = centre + STANDARD_GAIN
            ax.plot([1, 2, 2, 7, 7, 8], [centre, centre, top, top, centre, centre],
                    color="black", linewidth=0.7)                            # 1 mV x 0.2 s calibration
        seg_s = page_s / len(leads)
        for c, lead in enumerate(leads):
            t0 = start_s + c * seg_s
            xs = x0 + c * seg_s * STANDARD_SPEED
            i = STANDARD_LEADS.index(lead)
            if c:            # where one lead ends and the next begins: the short mark electrocardiographs print
                ax.plot([xs, xs], [centre - COLUMN_MARK * layout.pitch, centre + COLUMN_MARK * layout.pitch],
                        color="black", linewidth=0.7)
            ax.text(xs + 1, layout.tops[r] - 0.12 * layout.pitch, lead, fontsize=7, weight="bold")
            if not ecg.lead_mask[i]:         # where its trace would be, clear of the lead's name
                ax.text(xs + 1, centre, not_drawn[lead], fontsize=6, style="italic", color="#555555",
                        va="center")
                continue
            # as the screen draws it: samples the reader filled by a straight line are left blank (NaN breaks
            # the line), not printed as if recorded
            y = segment(ecg, lead, t0, t0 + seg_s)
            if y is None:
                continue
            idx, vals = decimate_minmax(y, factor)
            t = xs + idx / ecg.fs * STANDARD_SPEED
            drawn = centre + vals.astype(float) * STANDARD_GAIN
            ax.plot(t, np.clip(drawn, lowest, highest), color="black", linewidth=0.45)
            for over, edge, marker in ((drawn > highest, highest, "^"), (drawn < lowest, lowest, "v")):
                middles = clipped_runs(over)
                if len(middles):
                    clipped = True
                    ax.plot(t[middles], np.full(len(middles), edge + (1.2 if marker == "^" else -1.2)),
                            linestyle="none", marker=marker, markersize=3.5, color=CLIP_INK, clip_on=False)
    return clipped
