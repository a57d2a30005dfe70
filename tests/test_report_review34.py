"""The printed page, review 34 (each reproduced, each test fails on the code before):

- strips of a few leads with tall deflections, squeezed into the grid, were each clipped 5 mV from their
  baseline, so a lead's trace ran on into the next row and read as that row's;
- the scale line under the tracing (strip time, leads not recorded, leads left out for their gaps) ran past
  the page's right edge for a single-lead record of many hours;
- a channel whose name holds "$" stopped the report (matplotlib read the name as mathematics: the channels
  line, "Not drawn: ...", was the one line of the page not guarded).
"""
from __future__ import annotations

import io

import numpy as np

from dashboard_fixtures import REPO  # noqa: F401  (puts the repo on sys.path for `dashboard`)
from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.readers.channels import RANGE_SCALED_UNITS
from mets_core.simulate import simulate_ecg

PAGE_MM = (297.0, 210.0)
MARGIN_MM = 12.0


def _tall_three_leads() -> ECG:
    """Three leads whose largest deflection is 4 mV: more than the grid holds for three strips."""
    ecg = simulate_ecg(duration_s=10, fs=250, heart_rate=70, leads=["I", "II", "III"], seed=1)
    signal = ecg.signal.copy()
    signal[ecg.lead_mask] *= 4.0 / np.nanmax(np.abs(signal[ecg.lead_mask]))
    return ECG(signal=signal, fs=ecg.fs, lead_mask=ecg.lead_mask, name="tall")


def test_squeezed_strips_are_clipped_within_their_own_rows():
    from dashboard.report import tracing_layout
    layout = tracing_layout(_tall_three_leads(), 0.0, "II")
    bands = sorted(layout.limits, reverse=True)              # top row first
    for (low, high), (_, next_high) in zip(bands, bands[1:]):
        assert next_high <= low + 1e-9, f"a row's trace may run into the next row: {layout.limits}"
    for centre, (low, high) in zip(layout.centres, layout.limits):
        assert low < centre < high


def _long_single_lead(metadata: dict) -> ECG:
    """20 hours of lead II at 50 Hz (the other 11 leads not recorded), 6 units tall: clipped on the strip."""
    fs, seconds = 50, 20 * 3600
    signal = np.zeros((12, fs * seconds), dtype=np.float32)
    signal[STANDARD_LEADS.index("II")] = 6 * np.sin(np.arange(fs * seconds) / 7.0)
    mask = np.array([lead == "II" for lead in STANDARD_LEADS])
    return ECG(signal=signal, fs=fs, lead_mask=mask, name="holter", metadata=metadata)


def test_a_long_scale_line_stays_on_the_page():
    from PIL import Image

    from dashboard.report import build_pdf
    n = 50 * 20 * 3600
    gaps = " ".join(f"{lead}:{n // k}/{n}" for lead, k in [("V1", 3), ("V2", 3), ("V3", 2), ("V4", 2), ("V5", 4)])
    ecg = _long_single_lead({"absent_leads_missing_data": gaps, "units": RANGE_SCALED_UNITS})
    png = build_pdf(ecg, "holter", start_s=12 * 3600.0, image_format="png", dpi=100)
    page = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    mm = page.shape[1] / PAGE_MM[0]
    # the band of the scale line (18-33 mm from the bottom), in the right margin
    band = page[int(page.shape[0] - 33 * mm):int(page.shape[0] - 18 * mm), int(page.shape[1] - MARGIN_MM * mm):]
    assert (band < 128).sum() == 0, "the scale line runs into the right margin"


def test_a_channel_named_with_dollar_signs_does_not_stop_the_report():
    from dashboard.report import build_pdf
    ecg = _long_single_lead({"dropped_leads": "$\\frac$ resp"})
    pdf = build_pdf(ecg, "holter")
    assert pdf.startswith(b"%PDF")
