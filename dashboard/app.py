"""METS clinician dashboard: `streamlit run dashboard/app.py`.

Orchestration only: reading, measuring, embedding, ranking, retrieval and saliency come from mets_core.
Page logic is wrapped so that no Python traceback reaches the browser (and .streamlit/config.toml sets
client.showErrorDetails = "none" as a second line of defence).

Test hook: `st.session_state["pending_uploads"] = [(filename, bytes), ...]` is read exactly like files
dropped on the uploader (tests/test_dashboard_apptest.py uses it).
"""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:        # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

st.set_page_config(page_title="METS ECG reader", page_icon="❤", layout="wide",
                   initial_sidebar_state="expanded")

from dashboard import state, views  # noqa: E402
from dashboard.styles import CSS  # noqa: E402

PAGES = ("Reader", "Compare", "Batch", "Model card")


# ------------------------------------------------------------------------------------------ loading

def _take_uploads(files: list[tuple[str, bytes]]) -> None:
    from dashboard.loading import read_uploads

    fs = st.session_state.get("assumed_fs") or None
    result = read_uploads(files, fs=float(fs) if fs else None)
    for ecg in result.ecgs:
        state.add_record(ecg, "upload")
    st.session_state["load_errors"] = [(what, for_clinicians(msg)) for what, msg in result.errors]
    st.session_state["load_ok"] = [e.name for e in result.ecgs]


def for_clinicians(message: str) -> str:
    from dashboard.loading import for_clinicians as words
    return words(message)


def _on_upload() -> None:
    """Uploader callback: read the newly dropped files (the uploader keeps listing earlier ones; files
    removed from it stay open until closed in the sidebar)."""
    files = st.session_state.get("uploader") or []
    seen = st.session_state.setdefault("uploads_seen", set())
    new = [f for f in files if f.file_id not in seen]
    seen.update(f.file_id for f in new)
    if not new:
        return
    try:
        _take_uploads([(f.name, f.getvalue()) for f in new])
    except Exception as err:  # noqa: BLE001
        st.session_state["load_errors"] = [("upload", f"could not be read ({type(err).__name__})")]


def _load_demo(title: str) -> None:
    try:
        state.add_record(_demo(title), "demo")
        st.session_state["load_errors"] = []
    except Exception as err:  # noqa: BLE001
        st.session_state["load_errors"] = [(title, f"the demo could not be generated ({type(err).__name__})")]


@st.cache_data(show_spinner=False, max_entries=16)
def _demo(title: str):
    from dashboard.demo import make_demo
    return make_demo(title)


def _open_physionet() -> None:
    from mets_core.ecg import ECGReadError

    from dashboard.loading import fetch_physionet
    db, rec = st.session_state.get("pn_db", ""), st.session_state.get("pn_record", "")
    try:
        state.add_record(fetch_physionet(db, rec), "physionet")
        st.session_state["load_errors"] = []
    except (ECGReadError, ValueError) as err:
        st.session_state["load_errors"] = [(f"PhysioNet {db}/{rec}".strip("/ "), str(err))]
    except Exception as err:  # noqa: BLE001
        st.session_state["load_errors"] = [(f"PhysioNet {db}/{rec}", f"failed ({type(err).__name__})")]


# ------------------------------------------------------------------------------------------ sidebar

def sidebar() -> str:
    from dashboard.demo import DEMOS

    sb = st.sidebar
    sb.markdown('<div class="brand">METS <span>ECG reader</span></div>'
                '<div class="brand-sub">zero-shot ECG–text similarity · research use only</div>',
                unsafe_allow_html=True)
    if st.session_state.get("page_request") in PAGES:      # e.g. a batch row opened: go to the Reader
        st.session_state["page"] = st.session_state.pop("page_request")
    page = sb.radio("View", PAGES, key="page", label_visibility="collapsed")

    sb.markdown("##### Open an ECG")
    sb.file_uploader(
        "Upload ECG files", accept_multiple_files=True, key="uploader", on_change=_on_upload,
        help="WFDB: drop the .hea together with its .dat (or Challenge .mat); several records at once are "
             "grouped by record name. Also .zip, CSV (header row of lead names), NumPy .npy/.npz, DICOM, "
             "GE MUSE / Philips / HL7 aECG XML, EDF/BDF. "
             "Files stay in memory and are never saved.")
    with sb.expander("Built-in demo ECGs (synthetic)"):
        choice = st.selectbox("Demo", list(DEMOS), key="demo_choice", label_visibility="collapsed")
        if st.button("Open demo", key="demo_open", width="stretch"):
            _load_demo(choice)
    with sb.expander("Open a PhysioNet record"):
        st.text_input("Database", key="pn_db", placeholder="ludb/1.0.1/data  or  mitdb")
        st.text_input("Record", key="pn_record", placeholder="1  or  100")
        st.button("Download and open", key="pn_open", on_click=_open_physionet, width="stretch")
        st.caption("Needs internet access to physionet.org.")

    recs = state.records()
    if recs:
        sb.markdown("##### Loaded ECGs")
        keys = list(recs)
        current = state.current_record()
        if current is not None:      # follow the newest load (a widget's own state would keep the old one)
            st.session_state["current_select"] = current.key
        sb.selectbox("Current ECG", keys,
                     format_func=lambda k: recs[k].label if k in recs else k, key="current_select",
                     on_change=lambda: st.session_state.update(current=st.session_state["current_select"]),
                     label_visibility="collapsed")
        if sb.button("Close this ECG", key="close_ecg"):
            state.remove_record(st.session_state.get("current"))
            st.session_state.pop("current_select", None)
            st.rerun()

    with sb.expander("Settings"):
        st.number_input("Sampling rate for CSV/NumPy files that state none (Hz, 0 = ask)", min_value=0.0,
                        max_value=10000.0, value=0.0, step=50.0, key="assumed_fs")
        st.text_input("Data folder (corpus ECG thumbnails)", key="data_dir",
                      value=st.session_state.get("data_dir") or "",
                      placeholder="$METS_DATA_DIR", help="A folder holding the source databases "
                      "(ludb/, ptbxl/, mitdb/, ...). Read-only.")
        st.caption(f"Weights: {state.weights_dir()}")
    sb.markdown('<div class="side-foot">Not a medical device. Uploaded ECGs stay in this browser session\'s '
                'memory and are never stored or logged.</div>', unsafe_allow_html=True)
    return page


# ------------------------------------------------------------------------------------------- pages

def load_messages() -> None:
    """Messages about the last load, shown once: the next action (or another page) clears them."""
    for what, message in st.session_state.pop("load_errors", None) or []:
        st.error(f"**{what}** could not be opened. {message}", icon="⚠️")


def empty_state() -> None:
    st.markdown(
        '<div class="empty"><h3>Open an ECG to begin</h3>'
        '<p>Use the sidebar: <b>upload</b> files (WFDB .hea + .dat, Challenge .hea + .mat, .zip, CSV, NumPy, '
        'DICOM; several at once), open a <b>synthetic demo</b>, or download a <b>PhysioNet</b> record.</p>'
        '<p>You will see the 12 leads on ECG paper, automated intervals, a live ranking of any phrases you '
        'type, why a phrase scored as it did, and the most similar reports of the pretraining corpus.</p>'
        '</div>', unsafe_allow_html=True)
    from dashboard.demo import DEMOS
    if st.button("Open the synthetic demo ECG", key="empty_demo", type="primary"):
        _load_demo(next(iter(DEMOS)))
        st.rerun()


def reader_page(engine: state.Engine) -> None:
    rec = state.current_record()
    if rec is None:
        empty_state()
        return
    with views.guard("The recording header"):
        views.record_header(rec)
    if state.is_long(rec):
        with views.guard("Page navigation"):
            views.page_navigation(rec)
    ecg, scope = state.scoped(rec)
    m = None
    with views.guard("Measurements"):
        m = scoped_measurements(rec)
    with views.guard("The tracing"):
        views.tracing_panel(rec, engine, m)
    if m is not None:
        with views.guard("Measurements"):
            views.measurements_panel(m, scope_words(rec, m))
            with st.expander("Median beats: where the intervals were measured"):
                views.median_beats_panel(m)
    ranking_and_why(rec, engine, ecg, scope)
    st.divider()
    retrieval(rec, engine, ecg, scope)
    with views.guard("The printable report"):
        views.report_download(rec, engine, m, scope)


def scoped_measurements(rec: state.Record):
    if state.is_long(rec) and not state.whole_record_view(rec):
        return state.page_measurements(rec.key, state.page_start(rec), state.PAGE_S, rec.ecg)
    return state.measurements(rec.key, rec.ecg)


def scope_words(rec: state.Record, m) -> str:
    if not state.is_long(rec):
        return ""
    return (f"Measured on {state.hms(m.start_s)}–{state.hms(m.start_s + m.seconds_analysed)}"
            + (" (the whole-recording summary measures the first minute)" if state.whole_record_view(rec) else
               " (the page on screen)"))


# Fragments: editing prompts (or the retrieval controls) reruns only that part of the page, so the
# tracing is not rebuilt; the overlay switch asks for a full rerun because it changes the tracing.
@st.fragment
def ranking_and_why(rec: state.Record, engine: state.Engine, ecg, scope: str) -> None:
    left, right = st.columns([1.35, 1], gap="large")
    matches = None
    with left:
        with views.guard("Ranking"):
            matches = views.ranking_panel(rec, engine, ecg=ecg, scope=scope)
    with right:
        with views.guard("The file's own labels"):
            views.file_labels_panel(rec)
        with views.guard("The explanation"):
            views.why_panel(rec, engine, matches)
    if st.session_state.pop("full_rerun", False):
        st.rerun()


@st.fragment
def retrieval(rec: state.Record, engine: state.Engine, ecg, scope: str) -> None:
    with views.guard("Retrieval"):
        views.retrieval_panel(rec, engine, ecg=ecg, scope=scope)


def main() -> None:
    st.markdown(CSS, unsafe_allow_html=True)
    pending = st.session_state.pop("pending_uploads", None)
    if pending:
        _take_uploads(list(pending))
    page = sidebar()
    st.markdown(f'<div class="topbar"><span class="disclaimer">{views.DISCLAIMER}</span></div>',
                unsafe_allow_html=True)
    with st.spinner("Loading the model (once per server)…"):
        engine = state.get_engine()
        state.warm_up_measurements()
    if engine.error:
        st.error(f"**Model unavailable.** {engine.error} Tracing and measurements still work; ranking, "
                 f"explanations and retrieval need the model.", icon="🛑")
    if st.session_state.get("last_page") != page:       # a message belongs to the page it was shown on
        st.session_state["last_page"] = page
        st.session_state.pop("nav_error", None)
    load_messages()
    if page == "Compare":
        views.compare_page(state.records(), engine)
    elif page == "Batch":
        views.batch_page(list(state.records().values()), engine)
    elif page == "Model card":
        views.model_card_page(engine)
    else:
        reader_page(engine)


try:
    main()
except Exception as err:  # noqa: BLE001 - last line of defence: a message, never a traceback
    st.error(f"Something went wrong on this page ({type(err).__name__}). Your loaded ECGs are kept; "
             f"try again or open another file.")
