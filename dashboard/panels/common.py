"""What every panel uses: a guard that turns a failure into a message, and HTML escaping."""
from __future__ import annotations

import html
from contextlib import contextmanager

import streamlit as st

from mets_core.ecg import ECGReadError

DISCLAIMER = ("Research use only — not a medical device. Scores are similarities between the ECG and "
              "each phrase under the model, not diagnoses.")


@contextmanager
def guard(what: str):
    """Show a failure of one panel as a message in the page; never let a traceback reach the browser. A
    failure whose message is written for the page's reader (a reader's, or a measuring process stopped) is
    shown as it is; any other is named as a failure."""
    from dashboard.engine import MeasuringStopped
    try:
        yield
    except (ECGReadError, MeasuringStopped) as err:
        st.error(f"{what}: {err}")
    except Exception as err:  # noqa: BLE001 - the page must survive any panel's failure
        detail = str(err).splitlines()[0][:300] if str(err) else ""
        st.error(f"{what} failed ({type(err).__name__}{': ' + detail if detail else ''}). "
                 f"The rest of the page still works.")


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def recorded_at(ecg) -> str | None:
    """When the recording began as its file says (ISO 8601, as mets_core's readers keep it in the ECG's
    metadata: "1987-07-22T13:40:59", or a time alone), or None. Shown, never logged: a date can identify a
    patient."""
    return ecg.metadata.get("recorded_at") or None


def recorded_shown(ecg) -> str | None:
    """When the recording began as every page shows it ("1987-07-22 13:40:59"), or None."""
    at = recorded_at(ecg)
    return at.replace("T", " ") if at else None


def recorded_words(ecg) -> str:
    """"recorded 1987-07-22 13:40:59", or "no recording date in the file" (Reader header, Compare, PDF)."""
    shown = recorded_shown(ecg)
    return f"recorded {shown}" if shown else "no recording date in the file"


def duration_words(seconds: float) -> str:
    from ..session import hms
    return f"{seconds:.1f} s" if seconds < 60 else f"{hms(seconds)} ({seconds:,.0f} s)"
