"""Naming the channels of an uploaded record that does not name them as leads (a Holter's 'ECG1', 'ECG2';
57 of QTDB's 96 records): the reader says which lead each channel is, and the record opens with those names,
which the page then shows with it (the file does not say them)."""
from __future__ import annotations

import streamlit as st

from mets_core.ecg import STANDARD_LEADS, ECGReadError

from .. import session
from ..loading import Unnamed, for_clinicians, read_named, reader_failure
from .common import esc

LEAVE_OUT = "leave out"


def _key(upload: Unnamed) -> str:
    """Its box's widget keys: from its files' contents too, so that two files of one name each get a box."""
    return upload.digest[:12]


def _chosen(upload: Unnamed, key: str) -> list[str | None]:
    leads = [st.session_state.get(f"lead_of_{key}_{i}") for i in range(len(upload.channels))]
    return [None if lead in (None, LEAVE_OUT) else lead for lead in leads]


def _open(upload: Unnamed, key: str) -> None:
    try:
        ecg, beats = read_named(upload, _chosen(upload, key))
    except ECGReadError as err:
        st.session_state[f"lead_naming_error_{key}"] = for_clinicians(str(err))
        return
    except Exception as err:  # noqa: BLE001 - a reader bug must not take the page down
        st.session_state[f"lead_naming_error_{key}"] = "it " + reader_failure(err)
        return
    session.add_record(ecg, "upload", beats)
    _dismiss(upload)


def _dismiss(upload: Unnamed) -> None:
    session.set_unnamed([u for u in session.unnamed() if u is not upload])


def lead_naming_panel() -> None:
    """One box per waiting upload: a lead for each channel, then "Open with these leads" (or "Dismiss")."""
    for upload in session.unnamed():
        key = _key(upload)
        n = len(upload.channels)
        with st.container(border=True, key=f"lead_naming_{key}"):
            st.markdown(
                f'<div class="lead-naming" data-testid="mets-lead-naming"><b>{esc(upload.what)}</b>: its '
                f'{n} channel{"s are" if n != 1 else " is"} named {esc(", ".join(upload.channels))}, not as '
                f'leads, so the reader cannot tell which lead {"each one" if n != 1 else "it"} is. Choose the '
                f'lead of each channel to open it; the names you give are shown with the ECG. (A two-channel '
                f'Holter often records a modified lead II (MLII) and V1, V2, V4 or V5: the recorder\'s '
                f'documentation or the file\'s source says which.)</div>', unsafe_allow_html=True)
            error = st.session_state.pop(f"lead_naming_error_{key}", None)
            if error:
                st.error(f"Not opened: {error.rstrip('.')}.", icon="⚠️")
            columns = st.columns(min(4, n))
            for i, channel in enumerate(upload.channels):
                columns[i % len(columns)].selectbox(f"Channel {i + 1}: {channel}", [LEAVE_OUT, *STANDARD_LEADS],
                                                    key=f"lead_of_{key}_{i}")
            left, right = st.columns(2)
            left.button("Open with these leads", key=f"lead_naming_open_{key}", type="primary", on_click=_open,
                        args=(upload, key))
            right.button("Dismiss", key=f"lead_naming_dismiss_{key}", on_click=_dismiss, args=(upload,))
