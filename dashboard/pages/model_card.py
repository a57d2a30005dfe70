"""The model card: what the model is, how it was trained and tested, and what it must not be used for."""
from __future__ import annotations

import json

import streamlit as st

from dashboard import engine as engines
from dashboard.engine import Engine
from dashboard.panels.common import esc
from mets_core.model import ModelConfig
from mets_core.preprocess import PreprocessConfig


def model_card_page(engine: Engine) -> None:
    st.markdown('<div class="banner-warn"><b>Research use only. Not a medical device.</b> METS compares an '
                'ECG with text by similarity; it has not been validated for diagnosis, triage or treatment '
                'decisions. Every output must be checked by a qualified clinician on the tracing.</div>',
                unsafe_allow_html=True)
    if engine.model is not None:
        info = engine.model.info()
        pp, arch = info.get("preprocess", {}), info.get("model", {})
        glance = {
            "Weights": str(info.get("source") or engine.weights_dir),
            "Weights SHA-256": str(info.get("weights_sha256") or "")[:16] + "…",
            "ECG encoder": ModelConfig.from_dict(arch).words(),            # as `mets info` gives them
            "Text encoder (frozen)": str(info.get("text_model")),
            "Embedding size": str(info.get("embedding_dim")),
            "Temperature": f"{info.get('temperature', float('nan')):.4f}",
            "Model input": f"{PreprocessConfig.from_dict(pp).words()}, any subset of the 12 leads",
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
            # a table of dark text, not st.json: its syntax colours were 3.1-4.5:1 and its "null" 11 px
            rows = "".join(f'<tr><th scope="row">{esc(name)}</th>'
                           + ('<td class="none">none</td>' if value is None else f"<td>{esc(value)}</td>") + "</tr>"
                           for name, value in config_rows(engine.model.info()))
            st.markdown(f'<table class="config" data-testid="mets-config">{rows}</table>', unsafe_allow_html=True)


def config_rows(config: dict, prefix: str = "") -> list[tuple[str, str | None]]:
    """A nested configuration as (dotted name, value as text; None for a null) rows, in its own order."""
    rows = []
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += config_rows(value, name + ".")
        elif value is None:
            rows.append((name, None))
        else:
            rows.append((name, value if isinstance(value, str) else json.dumps(value, default=str)))
    return rows


model_card_page(engines.get_engine())
