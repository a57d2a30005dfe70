"""Review 34 of long recordings read as a Holter is read (MIT-BIH 203 and 208, CPSC 2021 data_92_19, in a real
browser, then reasoned from the code): on a noisy page of MIT-BIH 203 (9:40, lead II baseline wander) a median
beat is built but no interval is found on it, yet the measurements' foot said "intervals from the median of 4
beats ... check them on the median beats below"; and the whole-recording switch said its heart rate was the
whole recording's, while its heart-rate box gives the rate of the minute the intervals were measured on."""
from __future__ import annotations

from dashboard_fixtures import upload
from helpers import csv_bytes, require_data

MITDB_203 = "mitdb/203.hea"


def _foot(start_s: float) -> str:
    """The measurements panel's foot for the 10 s page of MIT-BIH 203 starting at `start_s`."""
    from streamlit.testing.v1 import AppTest

    def panel(header, start_s):
        from dashboard.panels.measurements import measurements_panel
        from mets_core.measure import measure
        from mets_core.readers.dispatch import read_ecg
        measurements_panel(measure(read_ecg(header), start_s, 10))

    header = str(require_data(MITDB_203) / MITDB_203)
    at = AppTest.from_function(panel, args=(header, start_s), default_timeout=120).run()
    assert not at.exception, at.exception
    return next(str(md.value) for md in at.markdown if 'data-testid="mets-quality"' in str(md.value))


def test_a_noisy_page_with_no_interval_does_not_send_the_reader_to_check_them():
    from mets_core.measure import measure
    from mets_core.readers.dispatch import read_ecg
    # 0:09:40, the page the browser showed: a median beat built, no interval found on it
    noisy = measure(read_ecg(str(require_data(MITDB_203) / MITDB_203)), 580, 10)
    assert noisy.n_median_beats and noisy.qrs_ms is None and noisy.pr_ms is None and noisy.qt_ms is None
    foot = _foot(580)
    assert "check them on the median beats below" not in foot, foot
    assert "no interval could be measured on the median of" in foot, foot
    # a page whose intervals were measured still sends the reader to check them
    assert "check them on the median beats below" in _foot(0)


def test_the_whole_recording_switch_says_the_heart_rate_box_is_its_minutes(app):
    import numpy as np
    from mets_core.simulate import simulate_ecg
    ecg = simulate_ecg(duration_s=30, fs=250, heart_rate=70, leads=["II", "V5"], seed=2)
    x = ecg.signal[ecg.lead_mask]
    upload(app, [("holter.csv", csv_bytes(["time", "II", "V5"], [np.arange(x.shape[1]) / 250, x[0], x[1]]))])
    switch = next(t for t in app.toggle if t.label == "Whole-recording summary")
    assert "heart-rate box" in switch.help and "first minute" in switch.help, switch.help


def test_the_last_page_of_a_recording_of_odd_length_is_one_page_however_it_is_reached(app):
    """A 362.45-s recording (CPSC 2021 data_92_19's length): its last page starts at 352.45 s. "Previous" from it
    went to 342.4 s (a tenth of a second), "Next" then to 352.4 s: another last page, 0.05 s short of the end,
    measured differently, whose "Next" was still enabled and moved 0.05 s."""
    import numpy as np
    fs, n = 100, 36245
    t = np.arange(n) / fs
    x = np.sin(2 * np.pi * 1.2 * t) ** 21                     # narrow peaks at 72 bpm: any shape will do
    upload(app, [("odd.csv", csv_bytes(["time", "II", "V5"], [t, x, 0.5 * x]))])
    key = next(b.key for b in app.button if b.key and b.key.startswith("next_")).removeprefix("next_")
    app.text_input(key=f"goto_{key}").set_value("6:00").run()

    def start() -> float:
        return float(next(m for m in app.markdown if 'data-testid="mets-page-span"' in str(m.value)).value
                     .split('data-start-s="')[1].split('"')[0])
    last = start()
    assert abs(last - 352.45) < 1e-6 and app.button(key=f"next_{key}").disabled
    app.button(key=f"prev_{key}").click().run()
    assert start() < last
    app.button(key=f"next_{key}").click().run()
    assert start() == last and app.button(key=f"next_{key}").disabled
