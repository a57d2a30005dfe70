"""The model card: what the model is, how it was trained and tested, and what it must not be used for."""
from __future__ import annotations

import streamlit as st

from dashboard import engine as engines
from dashboard.engine import Engine
from dashboard.panels.common import esc

def model_card_page(engine: Engine) -> None:
    st.markdown('<div class="banner-warn"><b>Research use only. Not a medical device.</b> METS compares an '
                'ECG with text by similarity; it has not been validated for diagnosis, triage or treatment '
                'decisions. Every output must be checked by a qualified clinician on the tracing.</div>',
                unsafe_allow_html=True)
    if engine.model is not None:
        info = engine.model.info()
        pp = info.get("preprocess", {})
        glance = {
            "Weights": str(info.get("source") or engine.weights_dir),
            "Weights SHA-256": str(info.get("weights_sha256") or "")[:16] + "…",
            "Text encoder (frozen)": str(info.get("text_model")),
            "Embedding size": str(info.get("embedding_dim")),
            "Temperature": f"{info.get('temperature', float('nan')):.4f}",
            "Model input": f"{pp.get('fs', '?')} Hz, {pp.get('window_s', '?')} s windows, any subset of 12 leads",
            "Parameters": f"{info.get('parameters', 0):,}",
            "Report index": (f"{len(engine.index):,} reports" if engine.index is not None
                             else (engine.index_error or "none")),
        }
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in glance.items())
        st.markdown(f'<table class="glance">{rows}</table>', unsafe_allow_html=True)
    elif engine.error:
        st.error(engine.error)
    card = engine.model_card
    if card:
        st.markdown(card)
    else:
        st.info(f"These weights ({engine.weights_dir}) ship no MODEL_CARD.md.")
    if engine.model is not None:
        with st.expander("Full configuration of the loaded checkpoint"):
            st.json({k: v for k, v in engine.model.info().items() if k != "model"})


model_card_page(engines.get_engine())
