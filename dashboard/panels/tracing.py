"""The ECG paper with its controls (layout, gain, speed, rhythm-strip lead), the calipers and the cursor.

The paper is built from layers (dashboard.plotting: grid, calibration, traces, overlays) and the built
figure is kept per ECG and setting, so switching back to a setting, or a rerun that changed something
else, does not rebuild it. Other pages read the chosen scale with `paper_scale()` and the rhythm lead
with `rhythm_lead()`."""
from __future__ import annotations

import streamlit as st

from .. import plotting
from ..session import Record

LAYOUTS = {"3×4 + rhythm strip": "3x4", "12×1": "12x1", "recorded leads only": "recorded"}


def paper_scale() -> tuple[int, int]:
    """(gain mm/mV, speed mm/s) chosen on the tracing."""
    return st.session_state.get("gain", 10), st.session_state.get("speed", 25)


def rhythm_lead() -> str:
    return st.session_state.get("rhythm_lead", plotting.RHYTHM_LEAD)


@st.cache_resource(show_spinner=False, max_entries=64)
def _paper(key: str, name: str, _rec: Record, mode: str, gain: int, speed: int, start: float, rhythm: str,
           marks_key: tuple, _marks, saliency_key: tuple, _saliency, saliency_offset_s: float):
    """The figure for one ECG (content hash `key`, printed name `name`) and setting, as the browser draws
    it (plotting.segments_as_paths). Server-wide and not copied: nothing of the session is in it, and
    nothing changes a figure once built (st.plotly_chart only serialises it)."""
    return plotting.segments_as_paths(plotting.ecg_paper(
        _rec.ecg, layout=mode, gain=gain, speed=speed, start_s=start, saliency=_saliency,
        saliency_offset_s=saliency_offset_s, rhythm_lead=rhythm, marks=_marks))


def tracing_panel(rec: Record, start_s: float, m=None, saliency=None, saliency_key: tuple = (),
                  saliency_offset_s: float = 0.0, overlay_prompt: str | None = None) -> None:
    """`m`: measurements whose fiducial marks are drawn under each beat; `saliency`: a mets_core Saliency
    to shade (identified by `saliency_key`), computed from `saliency_offset_s` of the recording on."""
    ecg = rec.ecg
    few = int(ecg.lead_mask.sum()) <= 3
    layouts = list(LAYOUTS)
    if st.session_state.get("layout_set_for") != rec.key:    # a newly opened ECG: 1-3 leads get their own rows
        st.session_state["layout_set_for"] = rec.key
        if few:
            st.session_state["layout"] = "recorded leads only"
        elif st.session_state.get("layout") == "recorded leads only":
            st.session_state["layout"] = layouts[0]
    c1, c2, c3, c4 = st.columns([2.6, 1.4, 1.2, 1.4])
    layout = c1.radio("Layout", layouts, horizontal=True, key="layout")
    gain = c2.radio("Gain (mm/mV)", plotting.GAINS, index=1, horizontal=True, key="gain")
    speed = c3.radio("Speed (mm/s)", plotting.SPEEDS, index=0, horizontal=True, key="speed")
    present = list(ecg.leads) or [plotting.RHYTHM_LEAD]
    if st.session_state.get("rhythm_lead") not in present:
        st.session_state["rhythm_lead"] = plotting.RHYTHM_LEAD if plotting.RHYTHM_LEAD in present else present[0]
    rhythm = c4.selectbox("Rhythm strip lead", present, key="rhythm_lead")
    marks = None
    if m is not None and getattr(m, "fiducials_s", None):
        marks = {plotting.FIDUCIAL_NAMES[k]: [r + t for r in m.r_peaks_s] for k, t in m.fiducials_s.items()
                 if k in plotting.FIDUCIAL_NAMES}
    marks_key = (m.start_s, m.seconds_analysed, tuple(sorted(m.fiducials_s.items()))) if marks else ()
    mode = LAYOUTS.get(layout, "3x4")
    fig = _paper(rec.key, rec.ecg.name, rec, mode, gain, speed, start_s, rhythm, marks_key, marks, saliency_key, saliency,
                 saliency_offset_s)
    event = st.plotly_chart(
        fig, width="stretch", key="paper", on_select="rerun", selection_mode="box",
        config={"displaylogo": False, "scrollZoom": False,
                "modeBarButtonsToRemove": ["lasso2d", "autoScale2d"],
                "toImageButtonOptions": {"filename": "ecg"}})
    caliper(event, speed, gain)
    notes = ["Mouse wheel scrolls the page; zoom with the + / − buttons at the top right of the tracing, "
             "drag to pan. Hover a trace to read time and amplitude."]
    if marks:
        notes.append("Coloured ticks under each beat: P onset (solid), QRS onset (dotted), QRS end (dashed), "
                     "T end (dash-dot), from the median beats.")
    if saliency is not None:
        notes.append(f"Orange shading: where the input raised or lowered the similarity to "
                     f"“{overlay_prompt}” most (0.1 s bins).")
    st.caption(" ".join(notes))


def caliper(event, speed: float, gain: float) -> None:
    """Calipers: the box tool of the tracing's toolbar; the box's width and height read out as an interval,
    a rate and an amplitude."""
    boxes = []
    try:
        sel = event["selection"] if isinstance(event, dict) else event.selection
        boxes = sel["box"] if isinstance(sel, dict) else sel.box
    except Exception:  # noqa: BLE001 - no selection yet
        boxes = []
    if not boxes:
        st.markdown('<div class="caliper" data-testid="mets-caliper">Calipers: pick the box tool (⬚ “Box '
                    'Select”) above the tracing and drag across an interval or a wave.</div>',
                    unsafe_allow_html=True)
        return
    box = boxes[-1]
    r = plotting.caliper_readout(box["x"][:2], box["y"][:2], speed, gain)
    rate = f" · {r['rate_bpm']:.0f} bpm if this is an RR interval" if r["rate_bpm"] else ""
    st.markdown(f'<div class="caliper on" data-testid="mets-caliper"><b>Caliper:</b> {r["interval_ms"]:.0f} ms'
                f'{rate} · {r["amplitude_mv"]:.2f} mV</div>', unsafe_allow_html=True)
