"""Measurements as a clinician checks them: the intervals (with why one is not given), electrode and
noise alerts, signal quality per lead in words and shapes, and the median beats with their fiducial marks.
Public contract: the boxes under data-testid="mets-measurements", each with data-measure (its name, e.g. "QRS")
and data-shown (what the box shows: the value with its unit, "78 ms", or "not measurable"/"not applicable")."""
from __future__ import annotations

import streamlit as st

from mets_core.ecg import STANDARD_LEADS
from mets_core.measure import QUALITY_NOT_RECORDED, QUALITY_WORDS

from .. import plotting
from ..measured import FIELDS, missing_words, not_given, shown_text, why_missing
from .common import esc


# each quality label's shape and CSS class here; its words are mets_core.measure.QUALITY_WORDS
QUALITY_SHAPES = {"Excellent": ("●", "q-good"), "Barely acceptable": ("◐", "q-fair"), "Unacceptable": ("✕", "q-bad"),
                  QUALITY_NOT_RECORDED: ("○", "q-none")}
QUALITY_LEGEND = " ".join(f"{shape} {QUALITY_WORDS[label]}" for label, (shape, _) in QUALITY_SHAPES.items())
# the intervals measured on the median beat (the heart rate and RR come from the beats, not from it)
MEDIAN_BEAT_INTERVALS = ("pr_ms", "qrs_ms", "qt_ms")


def measurements_panel(m, scope: str = "") -> None:
    cells = [(label, shown_text(m, attr, unit), why_missing(m, note), missing_words(m, note),
              "irregular" if attr == "rr_ms" and getattr(m, "rr_irregular", None) else "")
             for label, attr, unit, note in FIELDS]
    html_cells = []
    for label, value, note, short, flag in cells:
        if value is None:
            html_cells.append(f'<div class="meas na" data-measure="{esc(label)}" data-shown="{esc(short)}" '
                              f'title="{esc(note or short)}">'
                              f'<div class="meas-label">{esc(label)}</div>'
                              f'<div class="meas-value">{short}</div>'
                              f'<div class="meas-note">{esc(note or "")}</div></div>')
        else:
            html_cells.append(f'<div class="meas" data-measure="{esc(label)}" data-shown="{esc(value)}">'
                              f'<div class="meas-label">{esc(label)}</div>'
                              f'<div class="meas-value">{esc(value)}</div>'
                              + (f'<div class="meas-note">{esc(flag)}</div>' if flag else "") + '</div>')
    scope_html = f'<div class="rank-scope">{esc(scope)}</div>' if scope else ""
    st.markdown(f'{scope_html}<div class="meas-row" data-testid="mets-measurements">{"".join(html_cells)}</div>',
                unsafe_allow_html=True)
    alerts = []
    if getattr(m, "limb_lead_reversal", None):
        alerts.append(f'<div class="alert" data-testid="mets-reversal">⚠ <b>Check the electrodes:</b> '
                      f'{esc(m.limb_lead_reversal)}.</div>')
    for w in getattr(m, "warnings", []) or []:
        alerts.append(f'<div class="caveat"><b>Note:</b> {esc(w)}</div>')   # words, not an icon font
    if alerts:
        st.markdown("".join(alerts), unsafe_allow_html=True)
    quality_chips = []
    noise = getattr(m, "lead_noise", {}) or {}
    words = m.quality_words
    for lead in STANDARD_LEADS:
        shape, cls = QUALITY_SHAPES.get(m.lead_quality.get(lead, QUALITY_NOT_RECORDED), ("?", "q-none"))
        word = words.get(lead, QUALITY_WORDS[QUALITY_NOT_RECORDED])
        sqi = m.lead_sqi.get(lead)
        tip = (f"{lead}: {word}" + (f"; {noise[lead]}" if lead in noise else "")
               + (f" (beat-to-beat similarity {sqi:.2f})" if sqi is not None else ""))
        quality_chips.append(f'<span class="qchip {cls}" title="{esc(tip)}" aria-label="{esc(tip)}">'
                             f'{shape} {lead}</span>')
    other = getattr(m, "n_other_shape", 0)
    left_out = (f" ({other} beat{'s' if other > 1 else ''} of another QRS shape left out: ectopic, or distorted "
                f"by noise)" if other else "")
    n_median = getattr(m, "n_median_beats", 0)
    if not m.interval_lead:
        where = "no lead was good enough to measure"
    elif not n_median:      # beats found, too few whole ones for a median beat: no interval was measured on one
        where = (f"beats found in lead {m.interval_lead}, but no median beat to measure the intervals on, "
                 f"{m.seconds_analysed:g} s")
    elif len(not_given(m, MEDIAN_BEAT_INTERVALS)) == len(MEDIAN_BEAT_INTERVALS):
        # a median beat was built but no interval was found on it (a noisy page): nothing to "check below"
        where = (f"beats found in lead {m.interval_lead}; no interval could be measured on the median of "
                 f"{n_median} beats{left_out} (each box says why), {m.seconds_analysed:g} s")
    else:
        where = (f"beats found in lead {m.interval_lead}; intervals from the median of {n_median} beats{left_out} "
                 f"over all good leads, {m.seconds_analysed:g} s — check them on the median beats below")
    noisy = [f"{lead}: {v}" for lead, v in noise.items()]
    st.markdown(
        f'<div class="meas-foot" data-testid="mets-quality">Automated; {esc(where)}. '
        f'Signal quality per lead: {"".join(quality_chips)} '
        f'<span class="legend" data-testid="mets-quality-legend">{QUALITY_LEGEND}</span>'
        + (f'<div class="noise">Noise: {esc("; ".join(noisy))}</div>' if noisy else "") + '</div>',
        unsafe_allow_html=True)


def median_beats_panel(m) -> None:
    fig = plotting.median_beats(m)
    if fig is None:
        st.caption("No median beats: too few clean beats to build them.")
        return
    st.plotly_chart(plotting.segments_as_paths(fig), width="stretch", key="median_beats",
                    alt="Median beat of each good lead with the points the intervals were measured from",
                    config={"displayModeBar": False, "scrollZoom": False})
    drawn = [plotting.FIDUCIAL_NAMES[k] for k in m.fiducials_s if k in plotting.FIDUCIAL_NAMES]
    st.caption(f"Median beat of each good lead (50 mm/s, 10 mm/mV). Vertical lines: the global "
               f"{plotting.marks_legend(drawn) or 'points (none found)'}, the points the intervals were measured "
               f"from; the same marks are drawn under each beat of the tracing.")
