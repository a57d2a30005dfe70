"""ECG paper in Plotly: the tracing as a clinician reads it.

Conventions (docs: shared background): 25 mm/s and 10 mm/mV by default; small box 1 mm (0.04 s x 0.1 mV),
big box 5 mm (0.2 s x 0.5 mV); a 1 mV calibration pulse at the start of each row; the standard 3 x 4 layout
(I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6, 2.5 s each) plus a 10 s lead II rhythm strip, or 12 x 1.

The figure is drawn in millimetres of paper (x: time x speed, y: mV x gain) with the y axis locked to the x
axis, so a small box stays square when zooming. It is built from layers on one ``Paper`` (grid, calibration, traces, overlays:
saliency and fiducial marks, footer), each a function returning Plotly traces and annotations, so a new
overlay is one function. It is built to stay fast with any recording: one trace
per row (segments separated by NaN, which breaks the line), the whole grid as two line traces (minor, major), the calibration pulses
as one trace, and the signal min/max-decimated to what the screen can show. Decimation is for display only:
the model and the measurements always get the full-rate signal.
Absent leads are left blank with a "not recorded" label: never drawn, never invented.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.readers import filled_stretches, leads_left_out_for_gaps
from mets_core.readers.channels import UNCALIBRATED, amplitude_basis, amplitude_unit

LAYOUT_3X4 = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
RHYTHM_LEAD = "II"
PAGE_S = 10.0                     # one page of the tracing, on screen and printed: what a 12-lead ECG prints
STANDARD_SPEED = 25               # mm/s: the standard paper speed ...
STANDARD_GAIN = 10                # ... and gain, mm/mV (1 mV = 10 small boxes)
SPEEDS = (STANDARD_SPEED, 50)     # mm/s
GAINS = (5, STANDARD_GAIN, 20)    # mm/mV
PAGE_WIDTH_MM = 280               # what is in view at first; at 50 mm/s pan to see the rest
LEAD_ROW_MM = PAGE_S * STANDARD_SPEED   # a row of 3 x 4 leads spans what a printed 12-lead page does: 250 mm,
                                  # 5 s at 50 mm/s (1.25 s a lead, as electrocardiographs print it: all 12 in view)
FOOTER_MM = 6.0                   # a band under the last row for the scale line, clear of the marks
HEADROOM_MV = 5.0                 # at most this far from its baseline a trace gets room on the page (a row's own
                                  # half pitch, or more where the page has room); past it, drawn clipped and marked
TRACE_CLEARANCE_MM = 2.0          # between a trace's largest deflection and the edge of its room
COLUMN_MARK = 0.25                # the marks between the columns of a 3 x 4 row: this many pitches above and
                                  # below its baseline (on screen and on the PDF)
POINTS_PER_MM = 8                 # display resolution after min/max decimation (~2 points per screen pixel)
DRAWN_WIDTH_PX = 1100             # the paper's width on the reader page (wide layout), to size its height
MARGIN_PX = 4                     # around the paper in its figure
TOOLBAR_PX = 40                   # a strip above the paper for Plotly's toolbar (26 px): over the paper it hid
                                  # lead V4 (V1 on a phone), whose label rises above the paper on a phone
MIN_HEIGHT_PX = 120               # a one-row paper's figure: its toolbar and its footer both fit
CHART_TEXT = dict(size=14, color="#44555d")   # the charts' own words (ticks, axis titles): 7:1 on white, not
                                              # the 3.7:1, 12 px grey of Streamlit's chart theme

PAPER_BG = "#fffafa"
MINOR_GRID = "#eebcbc"            # visible 1 mm grid (was 1.3:1 against the paper)
MAJOR_GRID = "#d98080"
INK = "#141414"
LABEL = "#2a2a2a"
ABSENT = "#6b5f5f"                # "not recorded" text: >= 4.5:1 on the paper
FOOTER_INK = "#5e4343"
FIDUCIAL_NAMES = {"p_on": "P onset", "qrs_on": "QRS onset", "qrs_off": "QRS end", "t_end": "T end"}
# One look per fiducial point, whichever of them a beat has (in atrial fibrillation there is no P onset), so
# that the legend under the tracing stays true: (colour, Plotly dash, the colour and dash in words). Told
# apart by dash as well as by colour.
MARK_STYLES = {"P onset": ("#8a4b00", "solid", "brown, solid"), "QRS onset": ("#0b5394", "dot", "blue, dotted"),
               "QRS end": ("#6a1b9a", "dash", "purple, dashed"), "T end": ("#00695c", "dashdot", "green, dash-dot")}
BAR_RAISED, BAR_LOWERED = "#2b6cb0", "#a0a0a0"   # occlusion bars: the part raised / lowered the score
SALIENCY_SCALE = [[0.0, "rgba(255,140,0,0)"], [0.25, "rgba(255,140,0,0.12)"], [1.0, "rgba(230,90,0,0.6)"]]


# ------------------------------------------------------------------------------------------ amplitudes

@dataclass(frozen=True)
class Amplitudes:
    """What the ECG's numbers are, as the paper must say it: mV as the file states them, mV taken from their
    size (the file does not say), or not voltages at all (z-scored data: standard deviations of each lead; data
    scaled lead by lead to one peak-to-peak size)."""
    in_mv: bool                   # the paper's mm/mV, its 1 mV pulse and voltage criteria hold (if stated)
    unit: str                     # readouts' unit: "mV", "SD" (of each lead) or "× lead range" (amplitude_unit)
    warning: str                  # "" when the file states mV; else what a reader must know, in a sentence

    @property
    def per(self) -> str:
        """The unit as the gain is read: "mV" (10 mm/mV), "SD", "lead range" (10 mm per lead range)."""
        return self.unit.removeprefix("× ")


RELATIVE_AMPLITUDES = {
    "z-scored": ("Amplitudes are in standard deviations of each lead, not mV: voltage criteria do not apply; "
                 "the paper's mm/mV and the 1 mV pulse do not hold."),
    "range-scaled": ("Every lead was scaled to the same peak-to-peak size before it reached this page (whatever the "
                     "file says): amplitudes are relative to each lead's own range, not mV. Leads cannot be compared "
                     "in size, voltage criteria do not apply, and the paper's mm/mV and the 1 mV pulse do not hold."),
}


def amplitudes(ecg: ECG) -> Amplitudes:
    """Whether the amplitudes of ``ecg`` are mV, as the Reader, its paper and the PDF say it (the rule:
    mets_core.readers.channels.amplitude_basis): z-scored data is not mV; units inferred from the numbers' size
    are mV only if that guess is right; declared units were converted to mV."""
    basis = amplitude_basis(ecg.metadata)
    if basis in RELATIVE_AMPLITUDES:
        return Amplitudes(False, amplitude_unit(ecg.metadata), RELATIVE_AMPLITUDES[basis])
    if basis == "inferred":
        units = str(ecg.metadata.get("units", ""))
        read_as = "µV (converted to mV)" if units.lower().startswith("uv") else "mV"
        why = units.split("(inferred:", 1)[-1].strip(" )")
        # a file that names its units but marks their scale unknown (WFDB's gain 0) is not one without units
        said = (f"The file does not give its amplitudes' scale: they are taken as mV ({why})" if UNCALIBRATED in why
                else f"The file does not state its units: amplitudes are taken as {read_as} from their size ({why})")
        return Amplitudes(True, "mV", f"{said}; the paper's mm/mV, the 1 mV pulse and voltage criteria hold only "
                                      f"if that is right.")
    return Amplitudes(True, "mV", "")


def scale_words(gain: float, amps: Amplitudes) -> str:
    """The gain as the paper's scale line gives it: "10 mm/mV", or "10 mm per SD (not mV)"."""
    return f"{gain:g} mm/mV" if amps.in_mv else f"{gain:g} mm per {amps.per} (not mV)"


# --------------------------------------------------------------------------------------------- helpers

def decimate_minmax(y: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, values) keeping each bucket's minimum and maximum in time order: peaks survive."""
    y = np.asarray(y, dtype=np.float32)
    n = len(y)
    if factor <= 1 or n <= 2 * factor:
        return np.arange(n), y
    m = n // factor
    blocks = y[: m * factor].reshape(m, factor)
    # a gap (NaN: samples missing) stays one: argmin/argmax then pick it (NaN compares as the extreme)
    lo, hi = blocks.argmin(axis=1), blocks.argmax(axis=1)
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    base = np.arange(m) * factor
    idx = np.stack([base + first, base + second], axis=1).reshape(-1)
    if m * factor < n:
        idx = np.concatenate([idx, [n - 1]])
    return idx, y[idx]


def _display_factor(fs: float, speed: float) -> int:
    """Samples per bucket so that the decimated signal has ~POINTS_PER_MM points per mm of paper."""
    samples_per_mm = fs / speed
    return max(1, int(math.floor(samples_per_mm * 2 / POINTS_PER_MM)))


def _grid_trace(width: float, height: float, step: float, color: str, w: float, name: str) -> go.Scatter:
    """All grid lines of one kind as one trace: (x0, x1, NaN) triples; NaN breaks the line."""
    vx = np.arange(0.0, width + 1e-6, step)
    hy = np.arange(0.0, height + 1e-6, step)
    xs = np.concatenate([np.stack([vx, vx, np.full_like(vx, np.nan)], 1).ravel(),
                         np.tile([0.0, width, np.nan], len(hy))])
    ys = np.concatenate([np.tile([0.0, height, np.nan], len(vx)),
                         np.stack([hy, hy, np.full_like(hy, np.nan)], 1).ravel()])
    return go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=w), hoverinfo="skip",
                      showlegend=False, name=name)


def _calibration(x0: float, baseline: float, gain: float, speed: float) -> tuple[list, list]:
    """A 1 mV, 0.2 s square pulse starting at x0 (mm) on `baseline` (mm)."""
    w = 0.2 * speed
    top = baseline + gain
    lead_in = 0.08 * speed
    return ([x0, x0 + lead_in, x0 + lead_in, x0 + lead_in + w, x0 + lead_in + w, x0 + 2 * lead_in + w, None],
            [baseline, baseline, top, top, baseline, baseline, None])


NOT_RECORDED = "not recorded"     # a lead the file does not have (one left out for its gaps is said otherwise)


def absent_words(gappy: dict[str, float], lead: str) -> str:
    """Why `lead` is not drawn, as the paper says it (on screen and on the PDF): "not recorded", or "left out: 23%
    of its samples missing" for a lead the reader left out for its gaps (`gappy`: leads_left_out_for_gaps)."""
    return f"left out: {gappy[lead]:.0%} of its samples missing" if lead in gappy else NOT_RECORDED


def leads_not_drawn(ecg: ECG) -> dict[str, str]:
    """{lead: why it is not drawn (``absent_words``)} of each standard lead `ecg` lacks, in the standard order:
    the leads left out for their gaps found once for a whole paper (its cells and its scale line)."""
    gappy = leads_left_out_for_gaps(ecg.metadata)
    return {lead: absent_words(gappy, lead) for lead, recorded in zip(STANDARD_LEADS, ecg.lead_mask) if not recorded}


def absent_label(lead: str, why: str) -> str:
    """A lead not drawn, named with why (``leads_not_drawn``): "II — left out: 23% of its samples missing"."""
    return f"{lead} — {why}"


class _Row:
    """Accumulates one row's segments into a single trace (NaN between segments breaks the line)."""

    def __init__(self):
        self.x: list[np.ndarray] = []
        self.y: list[np.ndarray] = []

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x += [np.asarray(x, dtype=np.float64), np.array([np.nan])]
        self.y += [np.asarray(y, dtype=np.float64), np.array([np.nan])]

    def read_out(self, t_s: np.ndarray, mv: np.ndarray) -> None:
        """What the cursor reads at each point: recording time (s) and amplitude (mV, segment-centred)."""
        self.t = getattr(self, "t", []) + [np.asarray(t_s, dtype=np.float64), np.array([np.nan])]
        self.mv = getattr(self, "mv", []) + [np.asarray(mv, dtype=np.float64), np.array([np.nan])]

    def readout(self) -> np.ndarray | None:
        if not getattr(self, "t", None):
            return None
        return np.stack([np.round(np.concatenate(self.t), 3), np.round(np.concatenate(self.mv), 3)], axis=1)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.x:
            return np.array([]), np.array([])
        return np.round(np.concatenate(self.x), 2), np.round(np.concatenate(self.y), 3)


def segment(ecg: ECG, lead: str, t0: float, t1: float) -> np.ndarray | None:
    """Samples of `lead` from `t0` to `t1` s as the paper draws them (on screen and on the PDF): centred on their
    median, NaN where the reader filled missing samples by a straight line (a gap, never a drawn line); None
    when the lead is not drawn."""
    i = STANDARD_LEADS.index(lead)
    if not ecg.lead_mask[i]:
        return None
    a, b = int(round(t0 * ecg.fs)), int(round(t1 * ecg.fs))
    x = ecg.signal[i, max(0, a):min(ecg.n_samples, b)]
    if len(x) == 0:
        return None
    x = np.nan_to_num(x, nan=0.0)
    x = x - np.median(x)             # display only: centre the segment on its row
    for g0, g1 in filled_stretches(ecg.metadata):     # the reader's straight line over missing samples: a gap
        x[max(0, int(round(g0 * ecg.fs)) - a):max(0, int(round(g1 * ecg.fs)) - a)] = np.nan
    return x


def _lead_importance(saliency, lead: str, n_bins: int, t0: float, t1: float) -> np.ndarray:
    """|gradient x input| of one lead, averaged in n_bins bins of [t0, t1) s, scaled by the global scale."""
    i = STANDARD_LEADS.index(lead)
    g = np.abs(np.asarray(saliency.gradient_x_input[i], dtype=np.float32))
    scale = saliency_scale(saliency)
    edges = np.linspace(t0, t1, n_bins + 1) * saliency.fs
    out = np.zeros(n_bins, dtype=np.float32)
    for k in range(n_bins):
        a, b = int(edges[k]), max(int(edges[k]) + 1, int(edges[k + 1]))
        if 0 <= a < len(g):
            out[k] = float(g[a:min(b, len(g))].mean())
    return np.clip(out / scale, 0.0, 1.0) if scale > 0 else out


def saliency_scale(saliency) -> float:
    """A robust maximum of |gradient x input| over present leads (99th percentile)."""
    g = np.abs(np.asarray(saliency.gradient_x_input, dtype=np.float32))[np.asarray(saliency.lead_mask, bool)]
    if g.size == 0:
        return 0.0
    return float(np.percentile(g, 99)) or float(g.max())


# ------------------------------------------------------------------------------------------ the paper

@dataclass(frozen=True)
class Cell:
    """One lead's place on the paper: its row's centre (mm), where it starts (mm) and the recording
    time it shows [t0, t1) (s)."""
    row: int
    lead: str
    centre: float
    x: float
    t0: float
    t1: float
    seconds: float                # t1 - t0, as the page divides it


@dataclass(frozen=True)
class Paper:
    """The geometry every layer draws on: rows of leads, millimetres of paper, the page's time span. Each row
    has room `above[r]` and `below[r]` mm of its baseline: half the pitch, or more where a deflection of the
    page needs it and the layout allows (``paper``)."""
    rows: list[list[str]]
    pitch: float                  # mm between row centres at the standard spacing
    width: float                  # mm, whole big boxes
    height: float
    x0: float                     # mm where the tracing starts, after the calibration pulse
    start_s: float
    page_s: float
    gain: float                   # mm/mV
    speed: float                  # mm/s
    view_w: float                 # mm in view at first (the rest by panning)
    above: tuple[float, ...] = ()
    below: tuple[float, ...] = ()

    def centre(self, r: int) -> float:
        """Row `r`'s baseline (mm from the paper's bottom edge)."""
        return self.height - sum(self.above[:r + 1]) - sum(self.below[:r])

    def top(self, r: int) -> float:
        return self.centre(r) + self.above[r]

    def bottom(self, r: int) -> float:
        return self.centre(r) - self.below[r]

    def row_s(self, r: int) -> float:
        """Seconds row `r` spans: the page for a row of one lead; a 3 x 4 row's leads share LEAD_ROW_MM."""
        return row_seconds(len(self.rows[r]), self.page_s, self.speed)

    def cells(self, r: int) -> list[Cell]:
        return [Cell(r, lead, self.centre(r), self.x0 + (t0 - self.start_s) * self.speed, t0, t1, t1 - t0)
                for lead, t0, t1 in row_cells(self.rows[r], self.start_s, self.row_s(r))]


def row_seconds(n_leads: int, page_s: float, speed: float) -> float:
    """Seconds a row of `n_leads` spans: the page for one lead; a 3 x 4 row's leads share LEAD_ROW_MM."""
    return page_s if n_leads == 1 else min(page_s, LEAD_ROW_MM / speed)


def row_cells(leads: list[str], start_s: float, seconds: float) -> list[tuple[str, float, float]]:
    """(lead, t0, t1) of each lead of a row that shows `seconds` from `start_s`, in equal parts."""
    part = seconds / len(leads)
    return [(lead, start_s + c * part, start_s + (c + 1) * part) for c, lead in enumerate(leads)]


def deflections(ecg: ECG, leads: list[str], start_s: float, seconds: float) -> tuple[float, float]:
    """(largest deflection above, below) the baseline, in the units of the ECG, of a row of `leads` showing
    `seconds` from `start_s`, as the paper draws it (each lead's part centred on its median): how much room the
    row needs. (0, 0) for a row with nothing recorded."""
    up = down = 0.0
    for lead, t0, t1 in row_cells(leads, start_s, seconds):
        seg = segment(ecg, lead, t0, t1)
        if seg is not None and np.isfinite(seg).any():
            up, down = max(up, float(np.nanmax(seg))), max(down, -float(np.nanmin(seg)))
    return up, down


def headroom_mm(gain: float) -> float:
    """How far from its baseline a trace is drawn before it is clipped (HEADROOM_MV and the clearance)."""
    return HEADROOM_MV * gain + TRACE_CLEARANCE_MM


def room(deflection_mv: float, gain: float, half: float) -> float:
    """Room (mm) from a baseline for a deflection: half a pitch at least, the deflection and its clearance where
    it needs more, up to HEADROOM_MV (a larger one is clipped)."""
    return max(half, min(deflection_mv, HEADROOM_MV) * gain + TRACE_CLEARANCE_MM)


def paper(ecg: ECG, layout: str = "3x4", gain: float = STANDARD_GAIN, speed: float = STANDARD_SPEED,
          start_s: float = 0.0, rhythm_lead: str = RHYTHM_LEAD) -> Paper:
    """The paper for a page of ``ecg`` (see ``ecg_paper`` for the arguments). Rows are spaced a standard pitch
    apart in the 3 x 4 and 12 x 1 layouts (their first row gets more room above, their last more below, for a
    tall deflection); in "recorded leads only" (a few rows, room to spare) each row gets the room its largest
    deflections on the page need."""
    if layout not in ("3x4", "12x1", "recorded"):
        raise ValueError("layout must be '3x4', '12x1' or 'recorded'")
    if rhythm_lead not in STANDARD_LEADS:
        rhythm_lead = RHYTHM_LEAD
    start_s = float(min(max(0.0, start_s), max(0.0, ecg.duration - 0.5)))
    page_s = min(PAGE_S, ecg.duration - start_s)
    cal_w = (0.2 + 2 * 0.08) * speed
    x0 = 2.0 + cal_w + 2.0
    if layout == "3x4":
        rows = [list(r) for r in LAYOUT_3X4] + [[rhythm_lead]]
        pitch = max(20.0, 3.0 * gain)
    elif layout == "recorded":
        rows = [[lead] for lead in ecg.leads] or [[RHYTHM_LEAD]]
        pitch = max(20.0, 3.0 * gain)
    else:
        rows = [[lead] for lead in STANDARD_LEADS]
        pitch = max(15.0, 2.0 * gain)
    half = pitch / 2
    above, below = [half] * len(rows), [half] * len(rows)
    grown = range(len(rows)) if layout == "recorded" else (0, len(rows) - 1)
    for r in set(grown):
        up, down = deflections(ecg, rows[r], start_s, row_seconds(len(rows[r]), page_s, speed))
        if layout == "recorded" or r == 0:
            above[r] = room(up, gain, half)
        if layout == "recorded" or r == len(rows) - 1:
            below[r] = room(down, gain, half)
    width, height = x0 + page_s * speed + 4.0, sum(above) + sum(below) + FOOTER_MM
    # round the paper to whole big boxes
    width, height = 5.0 * math.ceil(width / 5.0), 5.0 * math.ceil(height / 5.0)
    return Paper(rows, pitch, width, height, x0, start_s, page_s, gain, speed, min(width, PAGE_WIDTH_MM),
                 tuple(above), tuple(below))


# ------------------------------------------------------------------------------------------ layers
# Each layer draws one thing on the paper and returns (traces, annotations); ``ecg_paper`` stacks them.

Layer = tuple[list, list[dict]]   # (Plotly traces, annotations)


def grid_layer(p: Paper) -> Layer:
    """The 1 mm and 5 mm grid."""
    return [_grid_trace(p.width, p.height, 1.0, MINOR_GRID, 0.5, "minor grid"),
            _grid_trace(p.width, p.height, 5.0, MAJOR_GRID, 1.0, "major grid")], []


def calibration_layer(p: Paper, ecg: ECG) -> Layer:
    """A 1 mV pulse at the start of every row holding a recorded lead, and the marks between columns."""
    xs, ys = [], []
    for r, leads in enumerate(p.rows):
        if any(ecg.lead_mask[STANDARD_LEADS.index(lead)] for lead in leads):   # no pulse on an empty row
            cx, cy = _calibration(2.0, p.centre(r), p.gain, p.speed)
            xs += cx
            ys += cy
    for r in range(len(p.rows)):
        for cell in p.cells(r)[1:]:      # the short vertical mark printers put between columns
            xs += [cell.x, cell.x, None]
            ys += [cell.centre - COLUMN_MARK * p.pitch, cell.centre + COLUMN_MARK * p.pitch, None]
    return [go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=INK, width=1.3), hoverinfo="skip",
                       showlegend=False, name="calibration 1 mV")], []


def trace_layer(p: Paper, ecg: ECG) -> Layer:
    """One trace per row (cursor reads time and amplitude) and each lead's label, or "not recorded"; where a
    trace goes past HEADROOM_MV from its baseline or past the paper's edge it is drawn clipped there and marked
    (``clip_marks``), as electrocardiographs mark a clipped complex."""
    factor = _display_factor(ecg.fs, p.speed)
    unit = amplitudes(ecg).unit
    traces, annotations, clipped = [], [], []
    not_drawn = leads_not_drawn(ecg)
    reach = headroom_mm(p.gain)
    for r, leads in enumerate(p.rows):
        row = _Row()
        lowest, highest = max(0.0, p.centre(r) - reach), min(p.height, p.centre(r) + reach)
        for cell in p.cells(r):
            seg = segment(ecg, cell.lead, cell.t0, cell.t1)
            label_y = p.top(r) - 0.1 * p.pitch
            if seg is None:
                why = not_drawn.get(cell.lead, NOT_RECORDED)
                annotations.append(dict(x=cell.x + 1.5, y=label_y, text=f"<i>{absent_label(cell.lead, why)}</i>",
                                        showarrow=False, xanchor="left", font=dict(size=14, color=ABSENT)))
                continue
            idx, vals = decimate_minmax(seg, factor)
            x, y = cell.x + idx / ecg.fs * p.speed, cell.centre + vals * p.gain
            clipped += clip_marks(x, y, lowest, highest, cell.lead)
            row.add(x, np.clip(y, lowest, highest))
            row.read_out(cell.t0 + idx / ecg.fs, vals)
            annotations.append(dict(x=cell.x + 1.0, y=label_y, text=f"<b>{cell.lead}</b>", showarrow=False,
                                    xanchor="left", font=dict(size=14, color=LABEL),
                                    bgcolor="rgba(255,250,250,0.85)", borderpad=1))
        rx, ry = row.arrays()
        traces.append(go.Scatter(x=rx, y=ry, mode="lines", line=dict(color=INK, width=1.1),
                                 customdata=row.readout(), showlegend=False, name=" ".join(leads),
                                 hovertemplate="%{customdata[0]:.3f} s · %{customdata[1]:.2f} " + unit +
                                               "<extra>" + " ".join(leads) + "</extra>"))
    if clipped:
        xs, ys, symbols, leads = zip(*clipped)
        traces.append(go.Scatter(x=xs, y=ys, mode="markers", name=CLIPPED, showlegend=False,
                                 marker=dict(symbol=symbols, size=9, color=CLIP_INK),
                                 text=[f"{lead}: clipped here, the trace goes on past the mark" for lead in leads],
                                 hovertemplate="%{text}<extra></extra>"))
    return traces, annotations


CLIPPED = "clipped"               # the marks where a trace is clipped (name of their trace)
CLIP_INK = "#b3261e"


def clip_marks(x: np.ndarray, y: np.ndarray, lowest: float, highest: float, lead: str) -> list[tuple]:
    """(x, y, marker symbol, lead) of a mark at each stretch where the trace (x, y in mm) goes past `highest`
    (▲ on that edge) or below `lowest` (▼)."""
    marks = []
    for over, edge, symbol in ((y > highest, highest, "triangle-up"), (y < lowest, lowest, "triangle-down")):
        marks += [(float(x[i]), float(edge), symbol, lead) for i in clipped_runs(over)]
    return marks


def clipped_runs(over: np.ndarray) -> np.ndarray:
    """The middle index of each run of True in `over` (samples past an edge): where a clipped stretch is marked
    (on screen and on the PDF)."""
    runs = np.flatnonzero(np.diff(np.r_[0, over.astype(np.int8), 0]))
    return (runs[::2] + runs[1::2] - 1) // 2


def saliency_layer(p: Paper, saliency, offset_s: float = 0.0) -> Layer:
    """Where the model looked: |gradient x input| in 0.1 s bins behind each row (``saliency`` computed on
    the recording from ``offset_s`` on)."""
    traces = []
    for r in range(len(p.rows)):
        heat_x, heat_z = [], []
        for cell in p.cells(r):
            seg_s = cell.seconds
            n_bins = max(1, int(round(seg_s / 0.1)))
            imp = (_lead_importance(saliency, cell.lead, n_bins, cell.t0 - offset_s, cell.t1 - offset_s)
                   if saliency.lead_mask[STANDARD_LEADS.index(cell.lead)] else np.zeros(n_bins, np.float32))
            heat_x += list(cell.x + (np.arange(n_bins) + 0.5) * seg_s / n_bins * p.speed)
            heat_z += imp.tolist()
        if heat_x:
            # one band whose edges are the row's (two values for one row of z are edges: two rows of z made
            # them the centres of two bands, and the shading spilt half a row onto the rows above and below)
            traces.append(go.Heatmap(x=heat_x, y=[p.bottom(r), p.top(r)],
                                     z=[heat_z], zmin=0, zmax=1, colorscale=SALIENCY_SCALE,
                                     showscale=False, hoverinfo="skip", zsmooth=False))
    return traces, []


def marks_layer(p: Paper, ecg: ECG, marks: dict[str, list[float]]) -> Layer:
    """Fiducial times ({"QRS onset": [t_s, ...]}, recording time) as ticks under the recorded leads."""
    mark_x: dict[str, list] = {}
    mark_y: dict[str, list] = {}
    for r in range(len(p.rows)):
        for cell in p.cells(r):
            if segment(ecg, cell.lead, cell.t0, cell.t1) is None:
                continue
            for name, times in marks.items():
                for t in times:
                    if cell.t0 <= t < cell.t1:
                        mark_x.setdefault(name, []).extend([cell.x + (t - cell.t0) * p.speed] * 2 + [None])
                        mark_y.setdefault(name, []).extend([p.bottom(r) + 0.05 * p.pitch,
                                                            p.bottom(r) + 0.2 * p.pitch, None])
    return [go.Scatter(x=xs, y=mark_y[name], mode="lines", name=name, showlegend=False,
                       line=dict(color=MARK_STYLES[name][0], width=1.6, dash=MARK_STYLES[name][1]),
                       hoverinfo="skip")
            for name, xs in mark_x.items()], []


def marks_legend(names) -> str:
    """The fiducial marks `names` (display names, e.g. "QRS onset") in words with their look, in the order
    of the beat: "P onset (brown, solid), QRS onset (blue, dotted)"."""
    return ", ".join(f"{name} ({MARK_STYLES[name][2]})" for name in MARK_STYLES if name in set(names))


FOOTER_PX = 14                    # the footer's type
FOOTER_CHAR_PX = 8.5              # ... its widest average advance per character (DejaVu Sans; the page's fonts are
                                  # narrower): what a footer line may hold is reckoned with it


def footer_warning(amps: "Amplitudes", footer: str, room_px: float) -> str:
    """The warning at the footer's left when the amplitudes are not mV as the file states them (``amplitudes``):
    the longest of its forms that fits beside `footer` in `room_px`, else its shortest (a paper in a narrow
    column, e.g. Compare's, ran the whole one into the footer)."""
    if not amps.warning:
        return ""
    forms = ([f"⚠ amplitudes not in mV: the 1 mV pulse is 1 {amps.per}", f"⚠ pulse = 1 {amps.per}", "⚠ not mV"]
             if not amps.in_mv else ["⚠ units inferred, not stated", "⚠ units inferred"])
    return next((f for f in forms if (len(f) + len(footer) + 3) * FOOTER_CHAR_PX <= room_px), forms[-1])


def footer_layer(p: Paper, ecg: ECG, width_px: int = DRAWN_WIDTH_PX) -> Layer:
    """Speed, gain, rate and, for a page of a longer recording, which part is shown (h:mm:ss, as the page's
    navigation and Holter reports give it: "of 86400.0 s" is hard to read as a day); at its left, when the
    amplitudes are not mV as the file states them (``amplitudes``), a warning (``footer_warning``: shorter on a
    paper drawn `width_px` wide that has no room for it whole)."""
    amps = amplitudes(ecg)
    footer = f"{p.speed:g} mm/s   {scale_words(p.gain, amps)}   {ecg.fs:g} Hz"
    if p.start_s > 0 or ecg.duration > PAGE_S:
        footer += f"   showing {hms(p.start_s)}–{hms(p.start_s + p.page_s)} of {hms(ecg.duration)}"
    shared = [p.row_s(r) for r in range(len(p.rows)) if len(p.rows[r]) > 1]
    if shared and shared[0] < p.page_s:
        footer = f"3 × 4: the first {shared[0]:g} s, {shared[0] / 4:g} s a lead   " + footer
    if p.width > p.view_w + 1:              # said in view: the paper goes on past the right edge
        footer = "drag the paper for the rest of the page ▶   " + footer
    notes = []
    # the two stand from 2 mm to the view's right edge less 1 mm, of a view drawn across the figure's width
    warning = footer_warning(amps, footer, (width_px - 2 * MARGIN_PX) * (p.view_w - 3.0) / p.view_w)
    if warning:              # on the paper itself, where its scale is read: not only in the page's header
        notes.append(dict(x=2.0, y=FOOTER_MM / 2, text=warning, showarrow=False, xanchor="left", yanchor="middle",
                          font=dict(size=FOOTER_PX, color=CLIP_INK)))
    return [], notes + [dict(x=p.view_w - 1, y=FOOTER_MM / 2, text=footer, showarrow=False, xanchor="right",
                             yanchor="middle", font=dict(size=FOOTER_PX, color=FOOTER_INK))]


def caliper_layer(p: Paper) -> Layer:
    """Two invisible marks at the paper's corners. Plotly offers its box tool (the calipers) only on a figure
    with a selectable trace, and line traces are not selectable; these make the paper one."""
    return [go.Scatter(x=[0.0, p.width], y=[0.0, p.height], mode="markers", name="calipers",
                       marker=dict(size=1, opacity=0), hoverinfo="skip", showlegend=False)], []


def figure(p: Paper, layers: list[Layer], uirevision: str = "", height_px: int | None = None,
           width_px: int = DRAWN_WIDTH_PX, as_paths: bool = False) -> go.Figure:
    """The layers, bottom first, on a figure drawn to the paper's scale; `width_px`: the width the page draws
    it at (a narrower column, e.g. the comparison's, needs a lower figure, or the paper floats in blank
    space: its millimetres stay square); `as_paths`: the drawings made SVG paths, as ``segments_as_paths``
    does, before the figure is built.

    Built in one go from the traces' own dicts and one layout dict: Plotly then validates each property
    once. Adding the traces to a figure and updating its layout validated and copied them again (22 ms of
    the server's time for a 3 x 4 paper on the 2-core reference machine, against 6 ms; the same JSON)."""
    traces, shapes = [t for traces, _ in layers for t in traces], []
    if as_paths:
        traces, shapes = _drawings_as_paths(traces)
    view_w = p.view_w
    layout = dict(
        annotations=[a for _, annotations in layers for a in annotations],
        plot_bgcolor=PAPER_BG, paper_bgcolor=PAPER_BG,
        margin=dict(l=MARGIN_PX, r=MARGIN_PX, t=TOOLBAR_PX, b=MARGIN_PX),
        # sized to its rows (a single lead's paper is short) at `width_px`; the page sizes it to the width it
        # is drawn at (``height_follows_width``)
        height=height_px or int(round(min(1800, max(MIN_HEIGHT_PX, p.height * (width_px - 2 * MARGIN_PX) / view_w
                                                    + TOOLBAR_PX + MARGIN_PX)))),
        dragmode="pan", showlegend=False, hovermode="closest", hoverdistance=8,
        hoverlabel=dict(bgcolor="#ffffff", font=dict(size=14, color=INK)),
        xaxis=dict(range=[0, view_w], showgrid=False, zeroline=False, showticklabels=False, fixedrange=False,
                   constrain="domain"),
        yaxis=dict(range=[0, p.height], showgrid=False, zeroline=False, showticklabels=False,
                   scaleanchor="x", scaleratio=1, constrain="domain", constraintoward="top"),
        uirevision=uirevision,           # a column narrower than the figure: the space left goes below the paper
    )
    if shapes:
        layout["shapes"] = shapes
    return go.Figure({"data": [t.to_plotly_json() for t in traces], "layout": layout})


def height_follows_width(fig, key: str) -> str:
    """CSS (a <style> element) that makes the chart drawn by ``st.plotly_chart(fig, key=key)`` as tall as the
    paper `fig` (a figure of ``figure``, or a dict of one) is at the width the browser gives it, so that its
    millimetres stay square with no blank band under it (Streamlit's chart takes the height its element has:
    a figure sized for a 1,100 px column left 140-365 px of blank page under a narrower one). A box drawn on
    the paper (the calipers) therefore stays a box of paper."""
    layout = fig["layout"] if isinstance(fig, dict) else fig.to_plotly_json()["layout"]
    (x0, x1), (y0, y1) = layout["xaxis"]["range"], layout["yaxis"]["range"]
    margin = layout["margin"]
    across, down = margin["l"] + margin["r"], margin["t"] + margin["b"]
    chart = f".st-key-{key}"
    # measured on Streamlit's full-screen frame where there is one: full screen, the paper takes the screen's width
    return (f"<style>{chart}, {chart} [data-testid='stFullScreenFrame'] {{container-type: inline-size;}} "
            f"{chart} [data-testid='stPlotlyChart'] "
            f"{{height: clamp({MIN_HEIGHT_PX}px, calc((100cqw - {across}px) * {(y1 - y0) / (x1 - x0):.6f} + "
            f"{down}px), 1800px) !important;}}</style>")


def segments_as_paths(fig: go.Figure, min_segments: int = 8) -> go.Figure:
    """``fig`` changed for the browser (in place, and returned): every line trace that is only a drawing (no
    hover, no legend) and is made of many separate segments (the paper's grid, calibration pulses and column
    marks, fiducial ticks) becomes one layout shape, an SVG path in the same coordinates, colour, width and
    dash.

    Why: Plotly draws each NaN-separated segment of a line trace as an SVG element of its own; the 3 x 4
    paper had 626 of them (392 for the 1 mm grid alone), re-created on every draw, and Streamlit draws each
    new figure twice. As shapes the paper has 46 (measured in Chromium on the 2-core reference machine:
    a gain change cost the page 0.52 -> 0.32 s of CPU, an upload 0.84 -> 0.73 s). What a layer builds is
    unchanged (``ecg_paper`` still returns traces); only what is sent to the browser is drawn this way
    (``ecg_paper(..., as_paths=True)`` does it while building the figure, without building it twice).
    A shape is drawn below all traces when it came before the tracing's own lines (grid, calibration), else
    above them (fiducial ticks); with the saliency overlay on, the grid therefore lies under the orange
    shading instead of over it."""
    kept, shapes = _drawings_as_paths(fig.data, min_segments)
    if shapes:
        fig.data = kept               # a subset of its own traces: Plotly keeps them without copying
        fig.update_layout(shapes=list(fig.layout.shapes or ()) + shapes)
    return fig


def _drawings_as_paths(traces, min_segments: int = 8) -> tuple[list, list[dict]]:
    """(the traces kept, the layout shapes that draw the others): see ``segments_as_paths``."""
    kept, shapes, below = [], [], True
    for trace in traces:
        drawing = (trace.type == "scatter" and trace.mode == "lines" and trace.hoverinfo == "skip"
                   and trace.showlegend is False and trace.x is not None)
        path = _path(trace.x, trace.y) if drawing else None
        if path is None or path.count("M") < min_segments:
            kept.append(trace)
            below = below and trace.type != "scatter"        # the saliency heatmap lies under everything
            continue
        line = trace.line
        shapes.append(dict(type="path", path=path, xref="x", yref="y", layer="below" if below else "above",
                           line=dict(color=line.color, width=line.width, dash=line.dash or "solid"),
                           name=trace.name))
    return kept, shapes


def _path(xs, ys) -> str | None:
    """An SVG path through (xs, ys) in data units, a new subpath after every gap (None or NaN)."""
    x = np.array([np.nan if v is None else v for v in xs], dtype=float)
    y = np.array([np.nan if v is None else v for v in ys], dtype=float)
    if len(x) != len(y):
        return None
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    starts = ok & ~np.concatenate([[False], ok[:-1]])          # a point after a gap begins a subpath
    return "".join(f"{'M' if s else 'L'}{a:.6g},{b:.6g}" for a, b, s in zip(x[ok], y[ok], starts[ok]))


def ecg_paper(ecg: ECG, layout: str = "3x4", gain: float = STANDARD_GAIN, speed: float = STANDARD_SPEED,
              start_s: float = 0.0, saliency=None, saliency_offset_s: float = 0.0, height_px: int | None = None,
              rhythm_lead: str = RHYTHM_LEAD, marks: dict[str, list[float]] | None = None,
              width_px: int = DRAWN_WIDTH_PX, as_paths: bool = False) -> go.Figure:
    """The ECG on paper. layout "3x4" (+ a rhythm strip of `rhythm_lead`), "12x1", or "recorded" (one full
    row per recorded lead: 1-3 lead records); gain mm/mV; speed mm/s; start_s: where the 10 s page starts
    in a longer recording; saliency: a mets_core Saliency to overlay, computed on the recording from
    saliency_offset_s on; marks: {"QRS onset": [t_s, ...], ...} fiducial times (s, recording time) drawn as
    ticks under the tracing; width_px: the width the page draws it at (sets its height); as_paths: the figure
    for the browser, its drawings as SVG paths (``segments_as_paths``). Hovering a trace reads out time (s) and
    amplitude (mV).

    Composed of layers, bottom first: saliency, grid, calibration, traces, marks, footer, calipers. Another overlay is
    one more function returning (traces, annotations) from the ``Paper``."""
    p = paper(ecg, layout, gain, speed, start_s, rhythm_lead)
    layers = [saliency_layer(p, saliency, saliency_offset_s)] if saliency is not None else []
    traces, labels = trace_layer(p, ecg)
    layers += [grid_layer(p), calibration_layer(p, ecg), (traces, []), marks_layer(p, ecg, marks or {}),
               ([], labels), footer_layer(p, ecg, width_px), caliper_layer(p)]
    return figure(p, layers, uirevision=f"{layout}-{gain}-{speed}", height_px=height_px, width_px=width_px,
                  as_paths=as_paths)


def thumbnail(ecg: ECG, lead: str | None = None, seconds: float = PAGE_S, start_s: float = 0.0,
              height_px: int = 90, title: str = "") -> str:
    """A small static strip of one lead (default II, else the first present) on ECG paper, as inline SVG
    drawn in millimetres of paper (25 mm/s, 10 mm/mV, 5 mm grid) and stretched to the box it is shown in,
    like a preview: a list of similar reports shows several at once, and a picture costs the browser far
    less than as many interactive charts."""
    lead = lead if lead in ecg.leads else (RHYTHM_LEAD if RHYTHM_LEAD in ecg.leads else ecg.leads[0])
    speed, gain = STANDARD_SPEED, STANDARD_GAIN
    start_s = min(max(0.0, float(start_s)), max(0.0, ecg.duration - 1.0))
    seconds = min(seconds, ecg.duration - start_s)
    seg = segment(ecg, lead, start_s, start_s + seconds)
    width, height = 5.0 * math.ceil(seconds * speed / 5.0), 25.0
    idx, vals = decimate_minmax(seg, max(1, int(ecg.fs / speed * 2 / 3)))
    x = idx / ecg.fs * speed
    y = np.clip(height / 2 - vals * gain, 0.0, height)          # SVG's y grows downwards
    points = " ".join(f"{a:.2f},{b:.2f}" for a, b in zip(x, y) if np.isfinite(b))
    grid = "".join(f'M{v:g} 0V{height:g}' for v in np.arange(0.0, width + 1e-6, 5.0)) + \
        "".join(f'M0 {v:g}H{width:g}' for v in np.arange(0.0, height + 1e-6, 5.0))
    label = f"Lead {lead}, {seconds:g} s" + (f" of {title}" if title else "")
    return (f'<svg class="thumb" data-testid="mets-thumbnail" role="img" aria-label="{label}" '
            f'viewBox="0 0 {width:g} {height:g}" height="{height_px}" preserveAspectRatio="none" '
            f'style="width:100%;height:{height_px}px;background:{PAPER_BG}">'
            f'<path d="{grid}" stroke="{MAJOR_GRID}" stroke-width="0.6" vector-effect="non-scaling-stroke" '
            f'fill="none"/><polyline points="{points}" stroke="{INK}" stroke-width="0.9" '
            f'vector-effect="non-scaling-stroke" fill="none"/></svg>'
            f'<div class="thumb-lead">{lead}</div>')


def occlusion_bars(labels: list[str], drops: np.ndarray, title: str, height_px: int = 220) -> go.Figure:
    """Similarity drop when a lead (or a second) is hidden: positive = it raised the score (BAR_RAISED), else it
    lowered it or changed nothing (BAR_LOWERED). Not the saliency overlay's orange: that says how much the model
    looked at a part, not which way it moved the score."""
    drops = np.asarray(drops, dtype=float)
    colors = [BAR_RAISED if (np.isfinite(d) and d > 0) else BAR_LOWERED for d in drops]
    fig = go.Figure(go.Bar(x=labels, y=np.nan_to_num(drops), marker_color=colors,
                           hovertemplate="%{x}: %{y:+.4f}<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=15, color="#1d2b33")), height=height_px,
                      margin=dict(l=64, r=10, t=34, b=30), plot_bgcolor="#ffffff", paper_bgcolor="#ffffff",
                      font=CHART_TEXT, hoverlabel=dict(font=CHART_TEXT),
                      yaxis=dict(title=dict(text="score drop", font=CHART_TEXT), tickfont=CHART_TEXT, zeroline=True,
                                 zerolinecolor="#999", gridcolor="#eee"),
                      xaxis=dict(type="category", tickfont=CHART_TEXT))
    return fig


# --------------------------------------------------------------------------------------- calipers

def caliper_readout(x_mm: tuple[float, float], y_mm: tuple[float, float], speed: float, gain: float) -> dict:
    """A box drawn on the paper (mm) -> interval (ms), rate (bpm, if that interval were an RR) and amplitude
    (mV). Paper units do not depend on the zoom: 1 mm = 1/speed s horizontally, 1/gain mV vertically."""
    dx = abs(float(x_mm[1]) - float(x_mm[0]))
    dy = abs(float(y_mm[1]) - float(y_mm[0]))
    ms = dx / float(speed) * 1000.0
    return {"interval_ms": ms, "rate_bpm": 60000.0 / ms if ms > 0 else None, "amplitude_mv": dy / float(gain)}


# ------------------------------------------------------------------------------------- median beats

def median_beats(m, speed: float = 50.0, gain: float = STANDARD_GAIN, columns: int = 6) -> go.Figure | None:
    """Every lead's median beat on ECG paper (default 50 mm/s to see the boundaries), with the global
    fiducial points the intervals were measured from drawn as labelled vertical lines."""
    beats = getattr(m, "median_beats", None) or {}
    if not beats or not m.median_fs:
        return None
    leads = [ld for ld in STANDARD_LEADS if ld in beats]
    n = len(next(iter(beats.values())))
    cell_w = n / m.median_fs * speed + 4.0
    cell_h = 30.0
    rows = math.ceil(len(leads) / columns)
    width, height = cell_w * min(columns, len(leads)), cell_h * rows
    xs, ys, vx, vy, ann = [], [], {}, {}, []
    for k, lead in enumerate(leads):
        c, r = k % columns, k // columns
        x0, centre = c * cell_w + 2.0, height - (r + 0.55) * cell_h
        y = np.asarray(beats[lead], dtype=float)
        r_idx = int(round(m.median_r_s * m.median_fs))
        base = float(np.median(y[: max(1, r_idx // 3)]))
        xs += list(x0 + np.arange(n) / m.median_fs * speed) + [None]
        ys += list(centre + (y - base) * gain) + [None]
        ann.append(dict(x=x0, y=centre + 0.42 * cell_h, text=f"<b>{lead}</b>", showarrow=False, xanchor="left",
                        font=dict(size=14, color=LABEL)))
        for key, t in m.fiducials_s.items():
            xf = x0 + (m.median_r_s + t) * speed
            vx.setdefault(key, []).extend([xf, xf, None])
            vy.setdefault(key, []).extend([centre - 0.45 * cell_h, centre + 0.35 * cell_h, None])
    traces = [_grid_trace(width, height, 1.0, MINOR_GRID, 0.4, "minor grid"),
              _grid_trace(width, height, 5.0, MAJOR_GRID, 0.9, "major grid"),
              go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=INK, width=1.2), hoverinfo="skip",
                         showlegend=False, name="median beats")]
    for key in (k for k in FIDUCIAL_NAMES if k in vx):
        colour, dash, _ = MARK_STYLES[FIDUCIAL_NAMES[key]]
        traces.append(go.Scatter(x=vx[key], y=vy[key], mode="lines", name=FIDUCIAL_NAMES[key],
                                 line=dict(color=colour, width=1.6, dash=dash),
                                 hoverinfo="name", showlegend=True))
    fig = go.Figure(traces)
    fig.update_layout(
        annotations=ann, plot_bgcolor=PAPER_BG, paper_bgcolor=PAPER_BG, margin=dict(l=4, r=4, t=4, b=4),
        height=int(min(900, max(200, height * 4.2 * DRAWN_WIDTH_PX / (width * 4.2) + 40))), hovermode="closest",
        legend=dict(orientation="h", y=-0.02, yanchor="top", font=CHART_TEXT), dragmode=False,
        xaxis=dict(range=[0, width], visible=False, fixedrange=True, constrain="domain"),
        yaxis=dict(range=[0, height], visible=False, fixedrange=True, scaleanchor="x", scaleratio=1,
                   constrain="domain"))
    return fig


BEAT_MARKS = {"V": ("triangle-up", "#b3261e", 0.92), "S": ("diamond", "#6a1b9a", 0.80), "F": ("square", "#8a4b00", 0.68),
              "Q": ("x", "#37474f", 0.56)}     # AAMI class -> (marker shape, colour, height on the beat band)


OVERVIEW_MARGIN = dict(l=56, r=12, t=8, b=46)   # px, fixed (no automargin): the plot area is known to the page
CLOCK_STEPS_S = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)


def hms(seconds: float) -> str:
    """Recording time as h:mm:ss (tenths when there are any): how Holter reports give it. Rounded to the tenth
    first, then split: 59.96 s is 0:01:00 (split first, its tenth rounded to 10 and the carry was lost)."""
    tenths = int(round(max(0.0, float(seconds)) * 10))
    whole, tenth = divmod(tenths, 10)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" + (f".{tenth}" if tenth else "")


def clock_ticks(duration: float, most: int = 8) -> tuple[list[float], list[str]]:
    """Tick positions (s) and their h:mm:ss labels for a time axis over `duration`: the shortest round step
    (10 s ... 6 h) that gives at most `most` ticks, so that "40k s" reads as 11:06:40."""
    step = next((st for st in CLOCK_STEPS_S if duration / st < most), CLOCK_STEPS_S[-1])
    vals = [float(v) for v in np.arange(0.0, duration + 1e-9, step)]
    return vals, [hms(v) for v in vals]


def overview_bin_s(duration: float) -> float:
    """The heart-rate overview's bin: 2 s, or longer so that a recording has at most 600 points."""
    return max(2.0, duration / 600.0)


def heart_rate_overview(beat_s: np.ndarray, bpm: np.ndarray, duration: float, bin_s: float | None = None,
                        labels: dict[str, np.ndarray] | None = None) -> go.Figure:
    """Heart rate over the whole recording (median per bin); clicking a point selects its time (the
    dashboard jumps there). `labels`: {AAMI class: beat times (s)} from the file's own annotations; each
    class other than N is drawn as one row of marks (a shape per class, not colour alone) above the rate,
    one mark per bin holding such beats, its hover giving the count.

    The page on screen is not in the figure: the figure stays the same while the reader pages, so the
    browser does not redraw its ~1,000 marks on every "Next ▶"; the dashboard marks the page below it,
    in a strip aligned to the plot area (OVERVIEW_MARGIN)."""
    beat_s, bpm = np.asarray(beat_s, float), np.asarray(bpm, float)
    bin_s = bin_s or overview_bin_s(duration)
    edges = np.arange(0.0, duration + bin_s, bin_s)
    n_bins = len(edges) - 1
    ok = np.isfinite(bpm)
    which = np.digitize(beat_s[ok], edges) - 1
    hr = pd.Series(bpm[ok]).groupby(which).median().reindex(range(n_bins)).to_numpy()   # NaN: a gap
    t = edges[:-1] + bin_s / 2
    # numpy arrays, not lists: Plotly validates them without a Python loop
    fig = go.Figure(go.Scatter(x=t, y=hr, mode="lines+markers", marker=dict(size=5, color="#1f6f8b"),
                               line=dict(color="#1f6f8b", width=1.4), connectgaps=False, name="heart rate",
                               text=np.array([hms(v) for v in t]),
                               hovertemplate="%{text}: %{y:.0f} bpm — click to open this page<extra></extra>"))
    marked = False
    for cls, times in (labels or {}).items():
        if cls not in BEAT_MARKS or not len(times):
            continue
        shape, colour, height = BEAT_MARKS[cls]
        counts = np.bincount(np.clip(np.digitize(np.asarray(times, float), edges) - 1, 0, len(edges) - 2),
                             minlength=len(edges) - 1)
        bins = np.flatnonzero(counts)
        fig.add_trace(go.Scatter(
            x=edges[bins] + bin_s / 2, y=np.full(len(bins), height), yaxis="y2", mode="markers",
            name=f"{cls} beats", customdata=counts[bins], text=np.array([hms(v) for v in edges[bins] + bin_s / 2]),
            marker=dict(symbol=shape, size=np.clip(6 + 2 * np.log2(counts[bins]), 6, 16), color=colour),
            hovertemplate=f"%{{text}}: %{{customdata}} {cls} beat(s) — click to open this page<extra></extra>"))
        marked = True
    tick_s, tick_text = clock_ticks(duration)
    fig.update_layout(height=260 if marked else 180, margin=OVERVIEW_MARGIN, plot_bgcolor="#ffffff",
                      paper_bgcolor="#ffffff", showlegend=False, clickmode="event+select", dragmode=False,
                      font=CHART_TEXT,
                      xaxis=dict(title=dict(text="recording time (h:mm:ss)", standoff=6, font=CHART_TEXT),
                                 range=[0, duration], gridcolor="#e3e8eb", tickfont=CHART_TEXT,
                                 fixedrange=True, automargin=False, tickmode="array",
                                 tickvals=tick_s, ticktext=tick_text),
                      yaxis=dict(title=dict(text="bpm", standoff=4, font=CHART_TEXT), tickfont=CHART_TEXT,
                                 gridcolor="#e3e8eb", fixedrange=True,
                                 automargin=False, domain=[0.0, 0.6] if marked else [0.0, 1.0]))
    if marked:
        fig.update_layout(yaxis2=dict(domain=[0.64, 1.0], range=[0.5, 0.98], fixedrange=True, showgrid=False,
                                      automargin=False,
                                      tickmode="array", tickvals=[BEAT_MARKS[c][2] for c in BEAT_MARKS],
                                      ticktext=list(BEAT_MARKS), tickfont=CHART_TEXT))
    return fig
