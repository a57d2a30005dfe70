"""A cardiologist's review of the measurements (review 34): a lead that goes flat, every lead noisy, a short
recording.

- A lead flat for part of the page (an electrode off, samples missing filled by a straight line) had no
  noise floor there, and the beat finder weighs each lead inversely to its floor: the flat lead outweighed
  all the others ten times, only the beats of its live part were found, and every other lead, rated on
  those few beats, was called unusable.
- When every lead is unusable the intervals fall back on the lead the beats were found on; they were stated
  with only "check the beats", as if measured on leads of acceptable quality.
- Beats "found" in white noise were measured as a heart rhythm (HR 189, QRS 128 ms).
- With fewer beats than the template SQI needs (a 3 s recording), a clean lead's SQI counted as 0 and the
  lead as "Unacceptable"; measured now, its intervals from a median of 2-3 beats are said to be uncertain.
Real records need METS_DATA_DIR (skipped otherwise)."""
from __future__ import annotations

import numpy as np

from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.measure import measure
from mets_core.readers.dispatch import read_ecg
from mets_core.simulate import simulate_ecg

from helpers import require_data


def _with_lead_flat_from(ecg: ECG, lead: str, from_s: float) -> ECG:
    signal = np.array(ecg.signal, dtype=float)
    signal[STANDARD_LEADS.index(lead), int(from_s * ecg.fs):] = 0.0
    return ECG.from_leads(signal, list(STANDARD_LEADS), ecg.fs, metadata=dict(ecg.metadata))


def test_a_lead_flat_for_most_of_the_page_does_not_decide_the_beats():
    """II disconnected after 4 s of a simulated 10 s ECG at 70 bpm with a little noise and wander (the
    other leads' noise floor well above the beat finder's least floor): 4 beats were found, those of II's
    first 4 s; the other 11 leads show all 11."""
    ecg = simulate_ecg(duration_s=10, heart_rate=70, noise_mv=0.03, wander_mv=0.1, seed=0)
    whole = measure(ecg)
    m = measure(_with_lead_flat_from(ecg, "II", 4.0))
    assert whole.n_beats == 11, whole.r_peaks_s
    assert m.n_beats == whole.n_beats, (m.r_peaks_s, whole.r_peaks_s)
    assert m.heart_rate_bpm is not None and abs(m.heart_rate_bpm - 70) <= 3, m.heart_rate_bpm
    assert m.qrs_ms is not None and abs(m.qrs_ms - whole.qrs_ms) <= 10, (m.qrs_ms, whole.qrs_ms)


def test_a_real_lead_flat_after_4_s_does_not_decide_the_beats():
    """LUDB 1 (sinus bradycardia, 7 beats in 10 s) with II flat after 4 s: 3 beats were found, all in II's
    first 4 s, and the other 11 leads called unusable."""
    folder = require_data("ludb/data/1.hea") / "ludb" / "data"
    ecg = read_ecg(folder / "1")
    whole = measure(ecg)
    m = measure(_with_lead_flat_from(ecg, "II", 4.0))
    assert m.n_beats == whole.n_beats, (m.r_peaks_s, whole.r_peaks_s)
    assert sum(q == "Unacceptable" for q in m.lead_quality.values()) == 1, m.lead_quality


def test_intervals_from_a_lead_rated_unusable_say_so():
    """Every lead of a simulated ECG under 0.2 mV of noise is rated unusable; the intervals, measured on the
    beats' lead alone (QRS 68 ms against 94 without the noise), carry a warning that says so."""
    m = measure(simulate_ecg(duration_s=10, noise_mv=0.2))
    recorded = [q for q in m.lead_quality.values() if q != "Not recorded"]
    assert recorded and all(q == "Unacceptable" for q in recorded), m.lead_quality
    assert m.qrs_ms is not None                     # still measured: the warning is what changed
    said = [w for w in m.warnings if "every lead is noisy" in w]
    assert said and "intervals" in said[0] and m.interval_lead in said[0], m.warnings


def test_one_noisy_beat_lead_among_usable_ones_keeps_the_beats_warning():
    """Only the beats' lead noisy: the intervals come from the other leads, and the warning is about the
    beats only."""
    ecg = simulate_ecg(duration_s=10)
    signal = np.array(ecg.signal, dtype=float)
    signal[STANDARD_LEADS.index("II")] += 0.3 * np.random.default_rng(1).standard_normal(signal.shape[1])
    m = measure(ECG.from_leads(signal, list(STANDARD_LEADS), ecg.fs, metadata=dict(ecg.metadata)))
    assert m.interval_lead == "II" and m.lead_quality["II"] == "Unacceptable", (m.interval_lead, m.lead_quality)
    assert not any("every lead is noisy" in w for w in m.warnings), m.warnings
    assert any("used to find the beats, is noisy" in w for w in m.warnings), m.warnings


def test_clean_leads_of_a_3_s_recording_are_not_called_unusable():
    """A clean simulated 3 s ECG at 70 bpm: 3 beats, fewer than the template SQI needs. The leads are
    rated by their spectrum, not called "Unacceptable" for want of beats, and the QRS is measured on them."""
    m = measure(simulate_ecg(duration_s=3, heart_rate=70))
    assert m.interval_lead is not None and m.heart_rate_bpm is not None
    assert "Unacceptable" not in m.lead_quality.values(), m.lead_quality
    assert all(v > 0 for v in m.lead_sqi.values()), m.lead_sqi      # an SQI not judged is not given as 0
    assert m.qrs_ms is not None, m.notes.get("qrs")
    # ... and a median of so few beats is said to be uncertain (here 114 ms against 94 on 10 s of it)
    assert m.n_median_beats < 4 and any("median beats are of only" in w for w in m.warnings), m.warnings


def test_white_noise_is_not_measured_as_a_heart_rhythm():
    """12 leads of white noise (0.5 mV, 500 Hz) in which the beat finder "found" beats: they were measured (HR 189,
    QRS 128 ms; other seeds HR 174-181) beside "every lead is noisy". No beat repeats there: nothing is measured."""
    for seed in (3, 8, 11):
        signal = (np.random.default_rng(seed).standard_normal((12, 5000)) * 0.5).astype(np.float32)
        m = measure(ECG(signal=signal, fs=500, lead_mask=np.ones(12, dtype=bool), name="noise"))
        assert m.heart_rate_bpm is None and m.qrs_ms is None and m.pr_ms is None, (seed, m.heart_rate_bpm)
        assert "no repeating beat" in m.notes["rate"], m.notes
