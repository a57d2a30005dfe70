"""METS clinician dashboard: `streamlit run dashboard/app.py` (with the project installed, e.g. by
scripts/setup.sh, which installs `mets_core` and `dashboard` into .venv).

The frame only: page setup, the sidebar every page shows (panels/sidebar.py), the disclaimer, the engine
(loaded once per server, engine.py), the last load's messages (and the channels an upload left unnamed,
panels/lead_naming.py), and Streamlit's navigation between the
pages in pages/ (one file per page). Reading, measuring, embedding, ranking, retrieval and saliency come
from mets_core. Page logic is wrapped so that no Python traceback reaches the browser (and
.streamlit/config.toml sets client.showErrorDetails = "none" as a second line of defence).
"""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="METS ECG reader", page_icon="❤", layout="wide",
                   initial_sidebar_state="auto")     # folded on a narrow screen (200 % zoom): it covered the page

from dashboard import engine as engines  # noqa: E402
from dashboard import loading, session  # noqa: E402
from dashboard.panels import lead_naming, navigation  # noqa: E402
from dashboard.panels.common import DISCLAIMER, guard  # noqa: E402
from dashboard.panels.sidebar import sidebar  # noqa: E402
from dashboard.styles import CSS  # noqa: E402

PAGES = [
    st.Page("pages/reader.py", title="Reader", icon=":material/monitor_heart:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/batch.py", title="Batch", icon=":material/table_rows:"),
    st.Page("pages/model_card.py", title="Model card", icon=":material/info:"),
]


def frame() -> None:
    st.markdown(CSS, unsafe_allow_html=True)
    page = st.navigation(PAGES)
    sidebar(engines.weights_dir())
    st.markdown(f'<div class="topbar"><span class="disclaimer" data-testid="mets-disclaimer">{DISCLAIMER}</span></div>',
                unsafe_allow_html=True)
    with st.spinner("Loading the model (once per server)…"):
        engine = engines.get_engine()
        engines.warm_up_measurements()
    if engine.error:
        st.error(f"**Model unavailable.** {engine.error} Tracing and measurements still work; ranking, "
                 f"explanations and retrieval need the model.", icon="🛑")
    if st.session_state.get("last_page") != page.title:       # a message belongs to the page it was shown on
        st.session_state["last_page"] = page.title
        navigation.clear_message()
    for message in loading.not_opened_messages(session.take_load_errors()):
        st.error(message, icon="⚠️")
    with guard("Naming an upload's channels"):
        lead_naming.lead_naming_panel()
    page.run()


try:
    frame()
except Exception as err:  # noqa: BLE001 - last line of defence: a message, never a traceback
    st.error(f"Something went wrong on this page ({type(err).__name__}). Your loaded ECGs are kept; "
             f"try again or open another file.")
