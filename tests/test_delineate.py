"""mets_core._delineate's QRS rules on constructed median beats, and one LUDB record of the tuning half.

Each test fails without the rule it names: the global spatial velocity alone ends the QRS early there.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mets_core import _delineate
from mets_core.ecg import ECG
from mets_core.measure import measure

from helpers import data_dir_or_none, needs_data

FS = 500.0
R = 400                      # R's index in the constructed median beats (1.2 s long)
REPO = Path(__file__).resolve().parent.parent


def _ms(index: float) -> float:
    return (index - R) / FS * 1000.0


def _gauss(t_ms: np.ndarray, at_ms: float, sigma_ms: float, mv: float) -> np.ndarray:
    return mv * np.exp(-0.5 * ((t_ms - at_ms) / sigma_ms) ** 2)


def _beats(tall: int, late: int) -> dict[str, np.ndarray]:
    """`tall` leads with a narrow 1 mV R (ends ~35 ms after R), `late` leads with a low R and a slow terminal
    S wave centred 50 ms after R (ends ~95 ms after R), as a slow terminal S in V1-V3."""
    t = (np.arange(int(1.2 * FS)) - R) / FS * 1000.0
    beats = {f"tall{i}": _gauss(t, 0.0, 10.0, 1.0) for i in range(tall)}
    beats.update({f"late{i}": _gauss(t, 0.0, 10.0, 0.15) - _gauss(t, 50.0, 15.0, 0.15) for i in range(late)})
    return beats


def test_a_slow_terminal_wave_in_low_leads_ends_the_qrs(monkeypatch):
    """Per-lead limits: 3 low leads of 12 end ~60 ms after the tall ones. In the spatial velocity the tall
    leads drown them (the offset ~35 ms after R); the 11th of the 12 leads' own offsets is a late one."""
    beats = _beats(tall=9, late=3)
    _, offset = _delineate.qrs_limits(beats, R, FS)
    assert 80.0 <= _ms(offset) <= 110.0, _ms(offset)
    monkeypatch.setattr(_delineate, "QRS_PER_LEAD_MIN_LEADS", 10 ** 6)     # the spatial velocity alone
    _, offset = _delineate.qrs_limits(beats, R, FS)
    assert _ms(offset) < 50.0, _ms(offset)


def test_one_late_lead_does_not_decide_the_qrs_offset():
    """The order statistic is the second latest of 12: one outlying lead leaves the offset where the rest end."""
    _, offset = _delineate.qrs_limits(_beats(tall=11, late=1), R, FS)
    assert _ms(offset) < 50.0, _ms(offset)


def test_a_wide_qrs_with_a_broad_apex_is_not_cut_at_the_apex(monkeypatch):
    """Later-lobe rule (2 leads: the spatial velocity's limits): a fast downstroke at R, a flat 80 ms apex,
    a fast upstroke (QTDB sel102's shape). The walk stops in the apex's quiet dip; the upstroke's velocity
    lobe, as tall as the first, is still QRS."""
    t = (np.arange(int(1.2 * FS)) - R) / FS * 1000.0
    step = lambda at: 1.0 / (1.0 + np.exp(-(t - at) / 5.0))             # noqa: E731
    shape = step(80.0) - step(0.0)
    beats = {"II": 1.5 * shape, "V5": 0.5 * shape}
    _, offset = _delineate.qrs_limits(beats, R, FS)
    assert 90.0 <= _ms(offset) <= 115.0, _ms(offset)
    monkeypatch.setattr(_delineate, "QRS_LATER_LOBE", np.inf)               # the rule off
    _, offset = _delineate.qrs_limits(beats, R, FS)
    assert _ms(offset) < 40.0, _ms(offset)


@needs_data("ludb/data/32.hea")
def test_qrs_of_a_ludb_record_with_a_slow_terminal_s():
    """LUDB 32 (tuning half): the S wave in V2-V3 returns slowly to the ST level; the trimmed global
    reference QRS is 130 ms. The spatial velocity alone measured 102 ms (offset 20 ms early); with the
    per-lead limits 122 ms."""
    import wfdb
    spec = importlib.util.spec_from_file_location("mets_measure_validation",
                                                  REPO / "benchmarks" / "measure_validation.py")
    validation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(validation)
    folder = data_dir_or_none("ludb/data/32.hea") / "ludb" / "data"
    rec = wfdb.rdrecord(str(folder / "32"))
    ref = validation._reference(validation.ludb_annotated_beats(folder, 32, rec.fs)[2], rec.fs)
    m = measure(ECG.from_leads(rec.p_signal.T, rec.sig_name, rec.fs, name="ludb/32"))
    assert m.qrs_ms == pytest.approx(ref["qrs"], abs=12.0), (m.qrs_ms, ref["qrs"])
