"""The ECG paper with its controls (layout, gain, speed, rhythm-strip lead), the calipers and the cursor.

The paper is built from layers (dashboard.plotting: grid, calibration, traces, overlays) and the built
figure is kept per ECG and setting, so switching back to a setting, or a rerun that changed something
else, does not rebuild it. Other pages read the chosen scale with `paper_scale()` and the rhythm lead
with `rhythm_lead()`."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import streamlit as st

from mets_core.cache import LRU

from .. import plotting, session
from ..plotting import PAGE_S
from ..session import Record

LAYOUTS = {"3×4 + rhythm strip": "3x4", "12×1": "12x1", "recorded leads only": "recorded"}
# the paper's settings (widget keys) and their first values: kept while other pages are shown (session.keep)
SETTINGS = {"layout": next(iter(LAYOUTS)), "gain": plotting.STANDARD_GAIN, "speed": plotting.STANDARD_SPEED,
            "rhythm_lead": plotting.RHYTHM_LEAD}


def paper_scale() -> tuple[int, int]:
    """(gain mm/mV, speed mm/s) chosen on the tracing."""
    return session.setting("gain", SETTINGS["gain"]), session.setting("speed", SETTINGS["speed"])


def rhythm_lead() -> str:
    return session.setting("rhythm_lead", SETTINGS["rhythm_lead"])


# The strip's lead the reader chose, apart from the box's value: an ECG without that lead (a 1-lead handheld's I)
# puts one of its own in the box, and the 12-lead ECG opened again then kept lead I instead of the reader's V1.
RHYTHM_CHOSEN = "rhythm_lead_chosen"


def _rhythm_chosen() -> None:
    st.session_state[RHYTHM_CHOSEN] = st.session_state.get("rhythm_lead")


PAPERS_KEPT = 64                   # built figures kept per server (a few hundred kB each)
_papers: LRU = LRU(PAPERS_KEPT)
_papers_lock = threading.Lock()           # sessions' threads and the read-ahead thread share the figures


def fiducial_marks(m) -> dict[str, list[float]] | None:
    """The fiducial marks of the measurements `m` under each beat its median beats were made of ({name: times
    in s}), or None. Not under a beat left out (another QRS shape, premature): the marks say which beats the
    intervals describe."""
    if m is None or not getattr(m, "fiducials_s", None):
        return None
    beats = getattr(m, "median_beats_from_s", None) or m.r_peaks_s
    marks = {plotting.FIDUCIAL_NAMES[k]: [r + t for r in beats] for k, t in m.fiducials_s.items()
             if k in plotting.FIDUCIAL_NAMES}
    return marks or None


def paper_figure(rec: Record, start_s: float, m, mode: str, gain: int, speed: int, rhythm: str, saliency=None,
                 saliency_key: tuple = (), saliency_offset_s: float = 0.0,
                 width_px: int = plotting.DRAWN_WIDTH_PX):
    """The ECG paper of `rec` from `start_s` at a setting, with the fiducial marks of the measurements `m`
    (None: no marks) and the saliency shading (identified by `saliency_key`), as the browser draws it
    (its drawings as SVG paths). Built once per server and kept by what names it (content hash, printed
    name, setting, where the marks were measured); not st.cache_resource, because the read-ahead thread
    builds pages too. Not copied: nothing of the session is in it, and nothing changes a figure once built
    (st.plotly_chart only serialises it)."""
    marks = fiducial_marks(m)
    marks_key = (m.start_s, m.seconds_analysed, tuple(sorted(m.fiducials_s.items()))) if marks else ()
    if saliency is None:
        saliency_key, saliency_offset_s = (), 0.0          # where a shading would start: no shading, no matter
    key = (rec.key, rec.ecg.name, mode, gain, speed, start_s, rhythm, marks_key, saliency_key, saliency_offset_s,
           width_px)
    with _papers_lock:
        kept = _papers.get(key)
    if kept is not None:
        return kept
    fig = plotting.ecg_paper(rec.ecg, layout=mode, gain=gain, speed=speed, start_s=start_s, saliency=saliency,
                             saliency_offset_s=saliency_offset_s, rhythm_lead=rhythm, marks=marks, width_px=width_px,
                             as_paths=True)
    with _papers_lock:
        _papers.put(key, fig)
    return fig


def paper_setting() -> tuple[str, int, int, str]:
    """(layout mode, gain, speed, rhythm lead) chosen on the tracing."""
    return (LAYOUTS.get(session.setting("layout"), "3x4"), *paper_scale(), rhythm_lead())


def read_ahead(rec: Record, starts: list[float], seconds: float, measurements_of) -> None:
    """Build the paper of the pages a reader opens next (`starts`, `seconds` long) at the setting on screen,
    on a background thread, once `measurements_of(start, seconds)` has their marks: "Next ▶" then finds its
    figure built (the Next run of MIT-BIH 208 in AppTest: 0.087 -> 0.066 s). The reader page does not call
    it while a saliency overlay is on (a page's shading is computed when it opens)."""
    setting = paper_setting()
    _AHEAD.submit(_build_ahead, rec, starts, seconds, measurements_of, setting)


def _build_ahead(rec: Record, starts: list[float], seconds: float, measurements_of, setting) -> None:
    for start in starts:
        try:
            try:
                m = measurements_of(start, seconds)
            except Exception:  # noqa: BLE001 - the page shows it without marks, as here
                m = None
            paper_figure(rec, start, m, *setting)
        except Exception:  # noqa: BLE001 - only a head start: the page itself reports what fails
            pass


_AHEAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mets-paper-ahead")


def tracing_panel(rec: Record, start_s: float, m=None, saliency=None, saliency_key: tuple = (),
                  saliency_offset_s: float = 0.0, overlay_prompt: str | None = None) -> None:
    """`m`: measurements whose fiducial marks are drawn under each beat; `saliency`: a mets_core Saliency
    to shade (identified by `saliency_key`), computed from `saliency_offset_s` of the recording on."""
    ecg = rec.ecg
    few = int(ecg.lead_mask.sum()) <= 3
    layouts = list(LAYOUTS)
    for key, first in SETTINGS.items():
        session.restore(key, first)
    if st.session_state.get("layout_set_for") != rec.key:    # a newly opened ECG: 1-3 leads get their own rows;
        st.session_state["layout_set_for"] = rec.key         # more get the layout last chosen for such an ECG
        st.session_state["layout"] = "recorded leads only" if few else \
            st.session_state.get("layout_of_many_leads", layouts[0])
    amps = plotting.amplitudes(ecg)
    c1, c2, c3, c4 = st.columns([2.6, 1.4, 1.2, 1.4])
    layout = c1.radio("Layout", layouts, horizontal=True, key="layout")
    if not few:
        st.session_state["layout_of_many_leads"] = layout
    # z-scored or range-scaled data is not mV: the control says so, as the paper's footer does
    gain = c2.radio("Gain (mm/mV)" if amps.in_mv else f"Gain (mm per {amps.per})", plotting.GAINS, horizontal=True,
                    key="gain")
    speed = c3.radio("Speed (mm/s)", plotting.SPEEDS, horizontal=True, key="speed")
    present = list(ecg.leads) or [plotting.RHYTHM_LEAD]
    chosen = st.session_state.get(RHYTHM_CHOSEN)
    if chosen in present:               # the reader's own choice, back on an ECG that has the lead
        st.session_state["rhythm_lead"] = chosen
    elif st.session_state.get("rhythm_lead") not in present:
        st.session_state["rhythm_lead"] = plotting.RHYTHM_LEAD if plotting.RHYTHM_LEAD in present else present[0]
    rhythm = c4.selectbox("Rhythm strip lead", present, key="rhythm_lead", on_change=_rhythm_chosen)
    session.keep(*SETTINGS)
    marks = fiducial_marks(m)
    fig = paper_figure(rec, start_s, m, LAYOUTS.get(layout, "3x4"), gain, speed, rhythm, saliency, saliency_key,
                       saliency_offset_s)
    st.html(plotting.height_follows_width(fig, "paper"))
    event = st.plotly_chart(
        fig, width="stretch", key="paper", on_select="rerun", selection_mode="box",
        alt=f"ECG tracing on paper, {layout}, {speed} mm/s, {plotting.scale_words(gain, plotting.amplitudes(ecg))}",
        config={"displaylogo": False, "scrollZoom": False,
                "modeBarButtonsToRemove": ["lasso2d", "autoScale2d"],
                "toImageButtonOptions": {"filename": "ecg"}})
    caliper(event, speed, gain, amps.unit)
    notes = ["Mouse wheel scrolls the page; zoom with the + / − buttons at the top right of the tracing, "
             "drag to pan. Hover a trace to read time and amplitude."]
    on_page = marks and any(start_s <= t < start_s + PAGE_S for times in marks.values() for t in times)
    if on_page:
        notes.append(f"Coloured ticks under each beat the median beats were made of: {plotting.marks_legend(marks)}. "
                     "A beat without them was left out (another QRS shape, or premature).")
    elif marks:                    # the whole-recording summary measured another minute than the page shown
        notes.append(f"No fiducial ticks on this page: the intervals were measured on "
                     f"{plotting.hms(m.start_s)}–{plotting.hms(m.start_s + m.seconds_analysed)}.")
    if saliency is not None:
        notes.append(f"Orange shading: where the input raised or lowered the similarity to "
                     f"“{overlay_prompt}” most (0.1 s bins).")
    st.caption(" ".join(notes))


def caliper(event, speed: float, gain: float, unit: str = "mV") -> None:
    """Calipers: the box tool of the tracing's toolbar; the box's width and height read out as an interval,
    a rate and an amplitude (in `unit`: mV, SD of each lead for z-scored data, × lead range for range-scaled)."""
    boxes = []
    try:
        sel = event["selection"] if isinstance(event, dict) else event.selection
        boxes = sel["box"] if isinstance(sel, dict) else sel.box
    except Exception:  # noqa: BLE001 - no selection yet
        boxes = []
    # one element, updated in place (React keeps the node: same tag, same place), announced when it changes
    live = 'data-testid="mets-caliper" role="status" aria-live="polite"'
    if not boxes:
        st.markdown(f'<div class="caliper" {live}>Calipers: pick the box tool (⬚ “Box '
                    'Select”) above the tracing and drag across an interval or a wave.</div>',
                    unsafe_allow_html=True)
        return
    box = boxes[-1]
    r = plotting.caliper_readout(box["x"][:2], box["y"][:2], speed, gain)
    rate = f" · {r['rate_bpm']:.0f} bpm if this is an RR interval" if r["rate_bpm"] else ""
    st.markdown(f'<div class="caliper on" {live}><b>Caliper:</b> {r["interval_ms"]:.0f} ms'
                f'{rate} · {r["amplitude_mv"]:.2f} {unit}</div>', unsafe_allow_html=True)
