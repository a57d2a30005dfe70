"""The ECG paper, review 34 (reproduced, fails on the code before): on a paper drawn in a narrow column
(Compare's, side by side) the red warning of amplitudes not in mV, anchored at the footer's left, ran into the
footer's "25 mm/s 10 mm per SD (not mV) 100 Hz", anchored at its right: both 14 px type on one line."""
from __future__ import annotations

import pytest

from dashboard_fixtures import REPO  # noqa: F401  (puts the repo on sys.path for `dashboard`)
from mets_core.readers.channels import RANGE_SCALED_UNITS, Z_SCORED_UNITS
from mets_core.simulate import simulate_ecg


def _width_px(text: str, size_px: float) -> float:
    """The advance of `text` in DejaVu Sans at `size_px` (wider than the page's own fonts)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path
    return text_to_path.get_text_width_height_descent(text, FontProperties(family="DejaVu Sans", size=size_px),
                                                      ismath=False)[0]


@pytest.mark.parametrize("units", [Z_SCORED_UNITS, RANGE_SCALED_UNITS])
@pytest.mark.parametrize("width_px", [530, 1100])         # Compare's column; the Reader's
def test_the_footers_warning_and_scale_do_not_run_into_each_other(units, width_px):
    from dashboard import plotting
    ecg = simulate_ecg(duration_s=10, fs=100, seed=2)
    ecg = type(ecg)(signal=ecg.signal, fs=ecg.fs, lead_mask=ecg.lead_mask, name="z", metadata={"units": units})
    fig = plotting.ecg_paper(ecg, width_px=width_px, as_paths=True)
    band = [a for a in fig.layout.annotations if a.y == plotting.FOOTER_MM / 2]
    warning = next(a for a in band if a.xanchor == "left")
    footer = next(a for a in band if a.xanchor == "right")
    assert warning.text.startswith("⚠")
    px_per_mm = (width_px - fig.layout.margin.l - fig.layout.margin.r) / (fig.layout.xaxis.range[1] -
                                                                            fig.layout.xaxis.range[0])
    room = (footer.x - warning.x) * px_per_mm
    assert _width_px(warning.text, warning.font.size) + _width_px(footer.text, footer.font.size) < room, \
        (warning.text, footer.text, room)
    if width_px == 1100:          # room for it whole on the Reader
        assert "1 mV pulse" in warning.text
