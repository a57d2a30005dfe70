"""The printable one-page PDF report, built in memory on request and offered for download."""
from __future__ import annotations

import streamlit as st

from ..engine import Engine
from ..session import Record


def report_download(rec: Record, engine: Engine, m, view, scope_words: str, start_s: float,
                    rhythm_lead: str, whole: bool = False) -> None:
    """`m`: the measurements shown; `view`: the ranking shown (dashboard.ranking.RankingView or None); `whole`:
    the Reader shows the whole-recording summary (session.Scope.whole)."""
    from ..report import build_pdf
    from .header import file_labels_of

    st.markdown("#### Printable report")
    if not st.button("Prepare a one-page PDF report", key=f"pdf_make_{rec.key}",
                     help="Built in memory for this ECG as shown (A4, 25 mm/s, 10 mm/mV); nothing is saved."):
        return
    with st.spinner("Building the PDF…"):
        pdf = build_pdf(rec.ecg, rec.label, start_s=start_s, measurements=m, ranking=view,
                        file_labels=file_labels_of(rec), model_version=engine.version, rhythm_lead=rhythm_lead,
                        scope=scope_words, beats=rec.beats, whole=whole)
    st.download_button("Download the PDF report", pdf, file_name="mets_report.pdf", mime="application/pdf",
                       key=f"pdf_get_{rec.key}", type="primary")
    st.caption("Print at 100 % (“actual size”) so that the grid is 1 mm / 5 mm.")
