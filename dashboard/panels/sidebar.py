"""The sidebar every page shows: open ECGs (upload, synthetic demos, PhysioNet), the ECGs open in this
session, and settings. Reading is mets_core's job; this panel only hands the files over and keeps the
messages for the page."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from .. import session


def _settings_rate() -> float | None:
    fs = st.session_state.get("assumed_fs") or None
    return float(fs) if fs else None


def _on_upload() -> None:
    """Uploader callback: read the newly dropped files (the uploader keeps listing earlier ones; files
    removed from it stay open until closed in the sidebar)."""
    files = st.session_state.get("uploader") or []
    seen = st.session_state.setdefault("uploads_seen", set())
    new = [f for f in files if f.file_id not in seen]
    seen.update(f.file_id for f in new)
    if new:
        _open_uploaded(new)


def _on_rate_change() -> None:
    """The sampling rate for files that state none was set: the listed files that could not be opened are
    read again with it (a CSV without a rate, as its message advised), instead of waiting to be dropped
    again."""
    failed = st.session_state.get("uploads_failed") or set()
    files = [f for f in st.session_state.get("uploader") or [] if f.file_id in failed]
    if files:
        _open_uploaded(files, read_again=True)


def _open_uploaded(files, read_again: bool = False) -> None:
    """Read uploaded files, open what reads, keep the messages (and the records waiting for lead names) for
    the page, and remember which files could not be opened: those of earlier uploads too, which the uploader
    still lists (the rate set later reads them all again). A new upload replaces the records left waiting
    for lead names; files read again with a new rate add theirs to them."""
    from ..loading import for_clinicians, read_uploads, reader_failure

    try:
        result = read_uploads([(f.name, f.getvalue()) for f in files], fs=_settings_rate())
    except Exception as err:  # noqa: BLE001
        session.set_load_errors([("upload", reader_failure(err))])
        return
    for ecg, beats in zip(result.ecgs, result.beats):
        session.add_record(ecg, "upload", beats)
    errors = [(what, for_clinicians(msg)) for what, msg in result.errors]
    session.set_load_errors(errors)
    session.set_failed_uploads(errors)
    session.set_unnamed((session.unnamed() if read_again else []) + result.unnamed)
    not_opened = {name for what, _ in result.errors for name in what.split(" + ")}
    read = {f.file_id for f in files}
    earlier = set(st.session_state.get("uploads_failed") or set()) - read
    st.session_state["uploads_failed"] = earlier | {f.file_id for f in files if f.name in not_opened}


def open_demo(title: str) -> None:
    try:
        session.add_record(_demo(title), "demo")
        session.set_load_errors([])
    except Exception as err:  # noqa: BLE001
        session.set_load_errors([(title, f"the demo could not be generated ({type(err).__name__})")])


@st.cache_data(show_spinner=False, max_entries=16)
def _demo(title: str):
    from ..demo import make_demo
    return make_demo(title)


def _open_physionet() -> None:
    from mets_core.ecg import ECGReadError

    from ..loading import OFFLINE, fetch_physionet, for_clinicians, open_from_data_folder
    db, rec = st.session_state.get("pn_db", ""), st.session_state.get("pn_record", "")
    try:
        ecg, beats, labels = fetch_physionet(db, rec)
        session.add_record(ecg, "physionet", beats, labels)
        session.set_load_errors([])
    except (ECGReadError, ValueError) as err:
        local = None
        if str(err).startswith(OFFLINE):     # offline: the data folder's copy, when it holds the record
            try:
                local = open_from_data_folder(session.data_dir(), db, rec)
            except (ECGReadError, ValueError, OSError):
                local = None
        if local is not None:
            session.add_record(local[0], "data folder (PhysioNet offline)", local[1])
            session.set_load_errors([])
        else:
            session.set_load_errors([(f"PhysioNet {db}/{rec}".strip("/ "), for_clinicians(str(err)))])
    except Exception as err:  # noqa: BLE001
        session.set_load_errors([(f"PhysioNet {db}/{rec}", f"failed ({type(err).__name__})")])


def sidebar(weights_dir: Path) -> None:
    from ..demo import DEMOS

    sb = st.sidebar
    sb.markdown('<div class="brand" data-testid="mets-brand">METS <span>ECG reader</span></div>'
                '<div class="brand-sub" data-testid="mets-brand-sub">zero-shot ECG–text similarity · research use only</div>',
                unsafe_allow_html=True)
    sb.markdown("## Open an ECG")
    sb.file_uploader(
        "Upload ECG files", accept_multiple_files=True, key="uploader", on_change=_on_upload,
        help="WFDB: drop the .hea together with its .dat (or Challenge .mat); several records at once are "
             "grouped by record name. Also .zip, CSV (header row of lead names), NumPy .npy/.npz, DICOM, "
             "GE MUSE / Philips / HL7 aECG XML, EDF/BDF. "
             "Files stay in memory and are never saved.")
    with sb.expander("Built-in demo ECGs (synthetic)"):
        st.selectbox("Demo", list(DEMOS), key="demo_choice", label_visibility="collapsed")
        st.button("Open demo", key="demo_open", width="stretch",
                  on_click=lambda: open_demo(st.session_state["demo_choice"]))
    with sb.expander("Open a PhysioNet record"):
        st.text_input("Database", key="pn_db", placeholder="ludb/1.0.1/data  or  mitdb")
        st.text_input("Record", key="pn_record", placeholder="1  or  100")
        st.button("Download and open", key="pn_open", on_click=_open_physionet, width="stretch")
        st.caption("Needs internet access to physionet.org.")

    recs = session.records()
    if recs:
        sb.markdown("## Loaded ECGs")
        current = session.current_record()
        if current is not None:      # follow the newest load (a widget's own state would keep the old one)
            st.session_state["current_select"] = current.key
        sb.selectbox("Current ECG", list(recs), format_func=lambda k: recs[k].label if k in recs else k,
                     key="current_select", label_visibility="collapsed",
                     on_change=lambda: session.set_current(st.session_state["current_select"]))
        sb.button("Close this ECG", key="close_ecg",
                  on_click=lambda: session.remove_record(st.session_state.get("current_select")))

    with sb.expander("Settings"):
        st.number_input("Sampling rate for CSV/NumPy files that state none (Hz, 0 = ask)", min_value=0.0,
                        max_value=10000.0, value=0.0, step=50.0, key="assumed_fs", on_change=_on_rate_change,
                        help="Files listed in the uploader that could not be opened for want of a rate are "
                             "read again when it is set.")
        st.text_input("Data folder (corpus ECG thumbnails)", key="data_dir",
                      value=st.session_state.get("data_dir") or "",
                      placeholder="$METS_DATA_DIR", help="A folder holding the source databases "
                      "(ludb/, ptbxl/, mitdb/, ...). Read-only.")
        typed = (st.session_state.get("data_dir") or "").strip()
        if typed and session.data_dir() is None:     # said, not ignored: the labels and strips it gives are gone
            st.warning(f"“{typed}” is not a folder on this server: PTB-XL's statements and the similar reports' "
                       f"ECGs, which come from it, are not shown. Check the path.")
        st.caption(f"Weights: {weights_dir}")
    sb.markdown('<div class="side-foot" data-testid="mets-privacy">Not a medical device. Uploaded ECGs stay in this browser session\'s '
                'memory and are never stored or logged.</div>', unsafe_allow_html=True)
