"""Batch: every open ECG against the same phrases, in one table sortable by any phrase; a row opens its ECG."""
from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from dashboard import engine as engines
from dashboard import session
from dashboard.engine import Engine
from dashboard.panels import prompts
from dashboard.ranking import build_view

def batch_page(engine: Engine, recs: list[session.Record]) -> None:

    st.markdown("### Batch: every loaded ECG against the same prompts")
    if not recs:
        st.info("Load several ECGs (upload many files at once, demos, PhysioNet) to compare them here.")
        return
    phrases = prompts.current()
    st.caption(f"{len(phrases)} prompts (edit them on the Reader page): " + ", ".join(phrases[:12])
               + (" …" if len(phrases) > 12 else ""))
    if engine.model is None:
        st.warning("The model is not available, so only measurements are listed.")
    for rec in recs:                      # measured on worker threads while the rows are ranked
        engines.start_measuring(rec.key, rec.ecg)
    rows = []
    progress = st.progress(0.0, text="Ranking…") if len(recs) > 3 else None
    for n, rec in enumerate(recs, 1):
        row = {"ECG": rec.label, "source": rec.origin, "Hz": rec.ecg.fs, "s": round(rec.ecg.duration, 1),
               "leads": len(rec.ecg.leads)}
        try:
            m = engines.measurements(rec.key, rec.ecg)
            row["HR (bpm)"] = m.heart_rate_bpm
            row["QRS (ms)"] = m.qrs_ms
            row["QTc (ms)"] = m.qtc_ms
        except Exception:
            row["HR (bpm)"] = row["QRS (ms)"] = row["QTc (ms)"] = None
        try:
            from mets_core.file_labels import file_labels
            row["file labels"] = "; ".join(lab.text for lab in file_labels(rec.ecg).labels)[:200]
        except Exception:  # noqa: BLE001
            row["file labels"] = ""
        if engine.model is not None and phrases:
            try:
                matches = engine.rank(rec.ecg, phrases)
                view = build_view(matches)
                for j, m in enumerate(matches[:3], 1):
                    row[f"top {j}"] = m.prompt
                    # plain words on the table: where the ECG falls among the reference ECGs (cosine and
                    # softmax stay on the Reader page's tooltips and in the CSV of `mets rank`)
                    row[f"top {j} percentile"] = None if m.percentile is None else round(m.percentile, 1)
                for r in view.rows:      # one column per phrase: sort the table by any of them
                    row[r.prompt] = round(r.percentile, 1) if r.percentile is not None else round(r.similarity, 4)
                row["stands out"] = ", ".join(r.prompt for r in view.standing_out)
            except Exception as err:
                row["top 1"] = f"error: {type(err).__name__}"
        rows.append(row)
        if progress is not None:
            progress.progress(n / len(recs), text=f"Ranking… {n}/{len(recs)}")
    if progress is not None:
        progress.empty()
    df = pd.DataFrame(rows)
    st.caption("Click a column header to sort by it (phrase columns: percentile vs reference ECGs, or "
               "similarity when the weights have no reference). Select a row to open that ECG.")
    event = st.dataframe(df, width="stretch", hide_index=True, key="batch_table", on_select="rerun",
                         selection_mode="single-row")
    chosen = getattr(getattr(event, "selection", None), "rows", None) or []
    if chosen and 0 <= chosen[0] < len(recs):
        session.set_current(recs[chosen[0]].key)
        st.switch_page("pages/reader.py")
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    st.download_button("Download CSV", buf.getvalue().encode("utf-8"), file_name="mets_batch.csv",
                       mime="text/csv", key="batch_csv")
    st.markdown('<div class="reminder">Scores are similarities, not diagnoses.</div>', unsafe_allow_html=True)


batch_page(engines.get_engine(), list(session.records().values()))
