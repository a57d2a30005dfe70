"""Compare two ECGs (serial ECGs of one patient, or any two): side by side (or one above the other) on the
same paper scale, with their measurements and the ranking of the same phrases, and the differences."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import engine as engines
from dashboard import plotting, session
from dashboard.engine import Engine
from dashboard.measured import FIELDS, column_name, measured_span, missing_words, shown_value
from dashboard.panels import prompts, tracing
from dashboard.panels.common import esc, guard
from dashboard.ranking import build_view

COLUMN_WIDTH_PX = 530              # each ECG's column on the wide layout: the paper's height follows it
ARRANGEMENTS = ("side by side", "one above the other")


def compare_page(engine: Engine, recs: dict) -> None:

    st.markdown("### Compare two ECGs")
    if len(recs) < 2:
        st.info("Open two ECGs (e.g. serial ECGs of one patient) to compare them side by side.")
        return
    keys = list(recs)
    label = lambda k: recs[k].label if k in recs else k  # noqa: E731
    c1, c2 = st.columns(2)
    a = c1.selectbox("Earlier / first ECG", keys, index=max(0, len(keys) - 2), format_func=label, key="cmp_a")
    b = c2.selectbox("Later / second ECG", keys, index=len(keys) - 1, format_func=label, key="cmp_b")
    ra, rb = recs[a], recs[b]
    gain, speed = tracing.paper_scale()
    stacked = st.radio("Arrangement", ARRANGEMENTS, horizontal=True, key="cmp_arrangement",
                       help="One above the other, each ECG gets the page's whole width: larger, and "
                            "beat for beat in line.") == ARRANGEMENTS[1]
    places = (st.container(), st.container()) if stacked else (c1, c2)
    for place, rec in zip(places, (ra, rb)):
        with place, guard(f"The tracing of {rec.label}"):
            mode = "recorded" if int(rec.ecg.lead_mask.sum()) <= 3 else "12x1"
            if stacked:
                st.markdown(f"**{esc(rec.label)}**")
            st.plotly_chart(tracing.paper_figure(rec, 0.0, None, mode, gain, speed, plotting.RHYTHM_LEAD,
                                                 width_px=plotting.DRAWN_WIDTH_PX if stacked else COLUMN_WIDTH_PX),
                            width="stretch", key=f"cmp_paper_{'ab'[rec is rb]}",
                            config={"displaylogo": False, "scrollZoom": False})
    st.caption(f"Both on the same paper scale: {speed} mm/s, {gain} mm/mV (change them on the Reader page).")
    ma, mb = engines.measurements(ra.key, ra.ecg), engines.measurements(rb.key, rb.ecg)
    rows = []
    for _, attr, _, note in FIELDS:       # as the Reader shows them, in whole units, or why there is none
        va, vb = shown_value(ma, attr), shown_value(mb, attr)
        rows.append({"measurement": column_name(attr),
                     ra.label: missing_words(ma, note) if va is None else str(va),
                     rb.label + " ": missing_words(mb, note) if vb is None else str(vb),
                     "difference (second − first)": "—" if va is None or vb is None else f"{vb - va:+d}"})
    st.markdown("#### Measurements")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="cmp_meas")
    spans = [measured_span(ma, ra.ecg.duration), measured_span(mb, rb.ecg.duration)]
    st.caption(f"Measured on: {ra.label}, {spans[0]}; {rb.label}, {spans[1]}"
               + ("" if spans == ["whole ECG"] * 2 else " (a long recording: its first minute here, any page of it on "
                                                          "the Reader)"))
    if engine.model is None:
        return
    phrases = prompts.current()
    if not phrases:
        return
    va, vb = build_view(engine.rank(ra.ecg, phrases)), build_view(engine.rank(rb.ecg, phrases))
    by_b = {r.prompt: r for r in vb.rows + vb.unknown}
    table = []
    for r in va.rows:
        other = by_b.get(r.prompt)
        use_pct = r.percentile is not None and other is not None and other.percentile is not None
        first = r.percentile if use_pct else r.similarity
        second = (other.percentile if use_pct else other.similarity) if other is not None else None
        digits = 1 if use_pct else 3          # percentiles to a tenth; similarities need three decimals
        table.append({"phrase": r.prompt, "score": "percentile" if use_pct else "similarity",
                      ra.label: round(first, digits), rb.label + " ": None if second is None else round(second, digits),
                      "difference": None if second is None else round(second - first, digits),
                      "reliability": r.reliability[1]})
    st.markdown("#### Ranking of the same phrases")
    st.markdown(f'<div data-testid="mets-compare-reading">The model\'s reading (phrases that stand out from the '
                f'reference ECGs): <b>{esc(ra.label)}</b>: {esc(va.reading)} · <b>{esc(rb.label)}</b>: '
                f'{esc(vb.reading)}</div>', unsafe_allow_html=True)
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", key="cmp_rank")
    if va.unknown:
        st.caption("Not known to the model (not ranked): " + ", ".join(r.prompt for r in va.unknown))


compare_page(engines.get_engine(), session.records())
