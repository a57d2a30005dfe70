"""A reviewer's PR intervals on inverted leads (review 34, hunt G).

neurokit2's DWT P-onset finder looks for upright P waves only. Given the lead the beats were found on upside
down (the lead wired or stored inverted, a handheld recorder held the other way round), it took other waves
for the P waves and gave a confident, wrong PR (LUDB 1 with lead II inverted: 329 ms against 138; CinC 2017
A00051 inverted: 273 against 177), or found none (a simulated lead I inverted: "P waves found before only
0 %"). And the lead the beats were found on was rated on its own detector's peaks only: a simulated lead II
flat after 4 s stayed "Excellent", its P waves were looked for before every beat, and the PR was lost as
"P waves found before only 50 %". Real records need METS_DATA_DIR (skipped otherwise)."""
from __future__ import annotations

import numpy as np

from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.measure import measure
from mets_core.readers.dispatch import read_ecg
from mets_core.simulate import simulate_ecg

from helpers import benchmark, require_data

PR_AGREES_MS = benchmark("measure_validation").PR_AGREES_MS


def _inverted(ecg: ECG, lead: str) -> ECG:
    return benchmark("measure_validation").lead_inverted(ecg, lead)      # the benchmark's --polarity mode


def _assert_same_pr(upright, inverted):
    assert upright.pr_ms is not None, upright.notes.get("pr")
    assert inverted.pr_ms is not None, inverted.notes.get("pr")
    assert abs(inverted.pr_ms - upright.pr_ms) <= PR_AGREES_MS, (inverted.pr_ms, upright.pr_ms)


def test_ludb_record_with_lead_ii_inverted_keeps_its_pr():
    """LUDB 1 (sinus rhythm, 12 leads): lead II, the lead the beats are found on, multiplied by -1."""
    folder = require_data("ludb/data/1.hea") / "ludb" / "data"
    ecg = read_ecg(folder / "1")
    upright, inverted = measure(ecg), measure(_inverted(ecg, "II"))
    assert inverted.interval_lead == "II"
    _assert_same_pr(upright, inverted)
    # the lead looked upside down, and the PR was read on it turned over: said
    assert any("negative in lead II" in w for w in inverted.warnings), inverted.warnings
    assert not any("negative in lead" in w for w in upright.warnings), upright.warnings


def test_handheld_recording_held_inverted_keeps_its_pr():
    """CinC 2017 A00051 (normal rhythm, one lead, 300 Hz), the recording multiplied by -1."""
    data = require_data("cinc2017/A00051.hea")
    import wfdb
    record = wfdb.rdrecord(str(data / "cinc2017" / "A00051"))
    x = record.p_signal.T[:1]
    upright = measure(ECG.from_leads(x, ["I"], float(record.fs)))
    inverted = measure(ECG.from_leads(-x, ["I"], float(record.fs)))
    _assert_same_pr(upright, inverted)


def test_simulated_single_lead_inverted_keeps_its_pr():
    """A simulated lead I alone (70 bpm), inverted: its P waves were "found before only 0 %" of the beats."""
    ecg = simulate_ecg(duration_s=10, heart_rate=70, leads=["I"])
    _assert_same_pr(measure(ecg), measure(_inverted(ecg, "I")))


def test_beats_lead_flat_after_4_s_is_rated_on_all_beats_and_the_pr_comes_from_another_lead():
    """A simulated 12-lead ECG with lead II (the first choice for the beats) flat after 4 s: II is rated on
    every beat found across the leads, where it has none for 6 s of 10, and the P waves are looked for on a
    lead that has them all."""
    ecg = simulate_ecg(duration_s=10, heart_rate=70, noise_mv=0.03, wander_mv=0.1, seed=0)
    signal = np.array(ecg.signal, dtype=float)
    signal[STANDARD_LEADS.index("II"), int(4.0 * ecg.fs):] = 0.0
    flat = measure(ECG.from_leads(signal, list(STANDARD_LEADS), ecg.fs))
    assert flat.lead_quality["II"] == "Unacceptable", flat.lead_quality
    _assert_same_pr(measure(ecg), flat)
