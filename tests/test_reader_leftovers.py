"""Readers' leftovers from the review: a lead-name refusal that shows look-alike letters, a length refusal
that says an absurd length in words, and the units of unit-less numbers judged without copying a long
recording several times (and with the same answer)."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from mets_core import read_ecg
from mets_core.ecg import ECG, ECGReadError, UnnamedLeadsError
from mets_core.readers.channels import (UNITS_SAMPLES_PER_LEAD, Z_SCORED_UNITS, apply_inferred_units)
from mets_core.readers.limits import MAX_SAMPLES_PER_LEAD, UV_AMPLITUDE_THRESHOLD, check_length


def test_a_lead_name_in_look_alike_letters_is_shown_as_such():
    """Cyrillic 'І' looks exactly like the lead name I: the refusal says which letter it is."""
    with pytest.raises(UnnamedLeadsError) as refused:
        ECG.from_leads(np.zeros((2, 500), dtype=np.float32), ["\u0406", "ECG1x"], 500.0)
    said = str(refused.value)
    assert "none of the lead names" in said
    assert "U+0406 CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I" in said and "'ECG1x'" in said


def test_a_header_declaring_an_absurd_length_is_refused_in_words(tmp_path):
    (tmp_path / "r.hea").write_text("r 1 100 99999999999999999999999\nr.dat 16 200 16 0 0 0 0 I\n")
    (tmp_path / "r.dat").write_bytes(b"\0" * 400)
    with pytest.raises(ECGReadError) as refused:
        read_ecg(str(tmp_path / "r.hea"))
    said = str(refused.value)
    assert "is more than 1,000 h long (99,999,999,999,999,999,999,999 samples per lead at 100 Hz)" in said, said
    assert "2777" not in said and "cut or downsample the record first" in said


def test_a_long_record_says_its_hours_and_a_readers_own_advice():
    with pytest.raises(ECGReadError) as refused:
        check_length(MAX_SAMPLES_PER_LEAD + 500_000, 250.0, "the record", hint="read a stretch of it at a time")
    assert str(refused.value).startswith("the record is 27.22 h long (24,500,000 samples per lead at 250 Hz)")
    assert str(refused.value).endswith("cut or downsample the record first, or read a stretch of it at a time")
    with pytest.raises(ECGReadError) as refused:                 # the rate not known yet: rows counted
        check_length(MAX_SAMPLES_PER_LEAD + 1, None, "CSV file 'x.csv'", hint="read it in parts")
    assert str(refused.value).endswith("cut or downsample the record first, or read it in parts")
    check_length(MAX_SAMPLES_PER_LEAD, 250.0, "the record", hint="never said")      # within the limits


def _units(signals: np.ndarray) -> str:
    meta: dict[str, str] = {}
    apply_inferred_units(signals, meta)
    return meta["units"]


def _peak_mb_of_judging(signals: np.ndarray) -> float:
    tracemalloc.start()
    try:
        _units(signals)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_the_units_of_a_long_recording_are_judged_without_copying_its_leads():
    """Hours of unit-less numbers: judging their units (mV, uV or z-scored) must not copy each lead several
    times (a 92 MB CSV of 23 M rows peaked 528 MB above its array); one lead here is 32 MB."""
    rng = np.random.default_rng(3)
    n = 4_000_000
    t = np.arange(n) / 250.0
    mv = np.vstack([np.sin(2 * np.pi * 1.1 * t), 0.5 * np.sin(2 * np.pi * 1.3 * t)]) + 0.05 * rng.normal(size=(2, n))
    assert _units(mv).startswith("mV (inferred")
    assert _peak_mb_of_judging(mv) < 16
    z = (mv - mv.mean(axis=1, keepdims=True)) / mv.std(axis=1, keepdims=True)
    assert _units(z) == Z_SCORED_UNITS
    assert _peak_mb_of_judging(z) < 16
    z[1, ::1000] = np.nan                                   # missing samples are left out of the moments
    assert _units(z) == Z_SCORED_UNITS
    assert _units(z * 1.1) != Z_SCORED_UNITS               # SD 1.1: not z-scored


def test_peaks_in_step_with_the_sampling_of_a_long_lead_are_not_missed():
    """A long lead is judged on UNITS_SAMPLES_PER_LEAD of its samples: spikes every few samples (in step with
    any fixed stride) still set its typical amplitude, as they do when every sample is judged."""
    n = 8 * UNITS_SAMPLES_PER_LEAD
    step = -(-n // UNITS_SAMPLES_PER_LEAD)
    lead = np.random.default_rng(4).uniform(-5.0, 5.0, n)
    lead[3::step] = 10 * UV_AMPLITUDE_THRESHOLD                 # an eighth of the samples: above the 99th percentile
    every_sample = np.percentile(np.abs(lead - np.median(lead)), 99) > UV_AMPLITUDE_THRESHOLD
    assert every_sample and _units(np.vstack([lead, lead])).startswith("uV (inferred")
    assert _units(np.vstack([lead, lead]) * 1e-3).startswith("mV (inferred")
