"""mets_core.delineate's QRS and P-onset rules on constructed median beats, and LUDB records of the tuning
half.

Each test fails without the rule it names: the global spatial velocity alone ends the QRS early there; one
lead's P onset (neurokit2's DWT on the interval lead, the hint) starts the P wave late.
"""
from __future__ import annotations


import numpy as np
import pytest

from mets_core import delineate
from mets_core.ecg import ECG
from mets_core.measure import measure

from helpers import benchmark, data_dir_or_none, needs_data

FS = 500.0
R = 400                      # R's index in the constructed median beats (1.2 s long)


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
    _, offset = delineate.qrs_limits(beats, R, FS)
    assert 80.0 <= _ms(offset) <= 110.0, _ms(offset)
    monkeypatch.setattr(delineate, "QRS_PER_LEAD_MIN_LEADS", 10 ** 6)     # the spatial velocity alone
    _, offset = delineate.qrs_limits(beats, R, FS)
    assert _ms(offset) < 50.0, _ms(offset)


def test_one_late_lead_does_not_decide_the_qrs_offset():
    """The order statistic is the second latest of 12: one outlying lead leaves the offset where the rest end."""
    _, offset = delineate.qrs_limits(_beats(tall=11, late=1), R, FS)
    assert _ms(offset) < 50.0, _ms(offset)


def test_a_wide_qrs_with_a_broad_apex_is_not_cut_at_the_apex(monkeypatch):
    """Later-lobe rule (2 leads: the spatial velocity's limits): a fast downstroke at R, a flat 80 ms apex,
    a fast upstroke (QTDB sel102's shape). The walk stops in the apex's quiet dip; the upstroke's velocity
    lobe, as tall as the first, is still QRS."""
    t = (np.arange(int(1.2 * FS)) - R) / FS * 1000.0
    step = lambda at: 1.0 / (1.0 + np.exp(-(t - at) / 5.0))             # noqa: E731
    shape = step(80.0) - step(0.0)
    beats = {"II": 1.5 * shape, "V5": 0.5 * shape}
    _, offset = delineate.qrs_limits(beats, R, FS)
    assert 90.0 <= _ms(offset) <= 115.0, _ms(offset)
    monkeypatch.setattr(delineate, "QRS_LATER_LOBE", np.inf)               # the rule off
    _, offset = delineate.qrs_limits(beats, R, FS)
    assert _ms(offset) < 40.0, _ms(offset)


def test_a_low_leads_p_wave_does_not_start_its_qrs(monkeypatch):
    """A lead's onset threshold is at least half the fastest lead's (QRS_LEAD_ONSET_OF_FASTEST): 3 low leads
    (a 0.1 mV QRS) of 12 and a 0.02 mV P wave running into the QRS in every lead. On the low leads' own scale
    (3 % of their small QRS peak) the P wave is QRS and their onsets fall ~115 ms before R; on the common
    scale they start with the tall leads (~30 ms before R)."""
    t = (np.arange(int(1.2 * FS)) - R) / FS * 1000.0
    p = _gauss(t, -70.0, 20.0, 0.02)
    beats = {f"tall{i}": _gauss(t, 0.0, 10.0, 1.0) + p for i in range(9)}
    beats.update({f"low{i}": _gauss(t, 0.0, 10.0, 0.1) + p for i in range(3)})
    limits = delineate.lead_qrs_limits(beats, R, FS)
    assert abs(_ms(limits["low0"][0]) - _ms(limits["tall0"][0])) <= 10.0, limits
    monkeypatch.setattr(delineate, "QRS_LEAD_ONSET_OF_FASTEST", 0.0)       # each lead on its own scale
    assert _ms(delineate.lead_qrs_limits(beats, R, FS)["low0"][0]) < -90.0


@needs_data("ptbxl/records500/06000/06002_hr.hea")
def test_low_leads_do_not_widen_the_qrs_of_ptbxl_6002(monkeypatch):
    """PTB-XL 6002 (fold 4; NORM and incomplete RBBB: QRS < 120 ms by definition; Challenge HR06002). On
    their own scale III and aVL started the QRS at -72 and -54 ms from R, most leads near -35 ms: 126 ms, a
    false "wide QRS". With a lead's onset threshold at least half the fastest lead's: 110 ms."""
    from mets_core.readers import read_ecg
    path = data_dir_or_none() / "ptbxl" / "records500" / "06000" / "06002_hr.hea"
    m = measure(read_ecg(str(path)))
    assert 95.0 <= m.qrs_ms < 120.0, m.qrs_ms
    monkeypatch.setattr(delineate, "QRS_LEAD_ONSET_OF_FASTEST", 0.0)
    assert measure(read_ecg(str(path))).qrs_ms >= 120.0


def _p_beats(late: int, early: int, notched: bool = False) -> dict[str, np.ndarray]:
    """A 1 mV QRS at R and a 0.15 mV P wave (Gaussian, sigma 20 ms) centred 180 ms before R in `late` leads
    and 200 ms before R in `early` leads; `notched`: one more lead with a notched P (a 0.1 mV hump 200 ms
    before R, then a taller, steeper one 45 ms later), as a P mitrale."""
    t = (np.arange(int(1.2 * FS)) - R) / FS * 1000.0
    qrs = _gauss(t, 0.0, 10.0, 1.0)
    beats = {f"late{i}": qrs + _gauss(t, -180.0, 20.0, 0.15) for i in range(late)}
    beats.update({f"early{i}": qrs + _gauss(t, -200.0, 20.0, 0.15) for i in range(early)})
    if notched:
        beats["notched"] = qrs + _gauss(t, -200.0, 12.0, 0.1) + _gauss(t, -155.0, 12.0, 0.15)
    return beats


QRS_ON = R - 0.04 * FS


def test_the_p_onset_is_where_the_early_leads_start():
    """Global P onset: 3 leads of 12 start their P wave 20 ms before the others, and the hint (the interval
    lead's own P onset) lies on a late lead's. The 2nd earliest of the leads' onsets is an early lead's."""
    beats = _p_beats(late=9, early=3)
    late_on, _ = delineate.p_onset_lead(beats["late0"], R - 0.23 * FS, QRS_ON, FS)
    early_on, _ = delineate.p_onset_lead(beats["early0"], R - 0.23 * FS, QRS_ON, FS)
    assert _ms(late_on) - _ms(early_on) == pytest.approx(20.0, abs=2.0)
    got = delineate.p_onset(beats, R, FS, late_on, QRS_ON)
    assert _ms(got) == pytest.approx(_ms(early_on), abs=2.0), (_ms(got), _ms(early_on), _ms(late_on))


def test_one_early_lead_does_not_decide_the_p_onset():
    """The order statistic is the second earliest of 12: one lead's early P onset leaves it where the rest start."""
    beats = _p_beats(late=11, early=1)
    late_on, _ = delineate.p_onset_lead(beats["late0"], R - 0.23 * FS, QRS_ON, FS)
    got = delineate.p_onset(beats, R, FS, late_on, QRS_ON)
    assert _ms(got) == pytest.approx(_ms(late_on), abs=2.0), (_ms(got), _ms(late_on))


def test_a_notched_p_wave_starts_with_its_first_hump(monkeypatch):
    """A lead's walk starts from the P wave's first fast stretch: from the second, steeper hump of a notched
    P it would stop in the notch, ~30 ms late."""
    beat = _p_beats(late=0, early=0, notched=True)["notched"]
    t = (np.arange(len(beat)) - R) / FS * 1000.0
    first_hump_only = beat - _gauss(t, -155.0, 12.0, 0.15)
    hint = R - 0.225 * FS
    expected, _ = delineate.p_onset_lead(first_hump_only, hint, QRS_ON, FS)
    got, _ = delineate.p_onset_lead(beat, hint, QRS_ON, FS)
    assert _ms(got) == pytest.approx(_ms(expected), abs=3.0), (_ms(got), _ms(expected))
    monkeypatch.setattr(delineate, "P_FIRST_LOBE_SHARE", 1.0)           # the walk from the steepest point
    got, _ = delineate.p_onset_lead(beat, hint, QRS_ON, FS)
    assert _ms(got) - _ms(expected) > 20.0, (_ms(got), _ms(expected))


def _ludb_measured(record: int):
    """(measure() of a LUDB record, its trimmed global reference (benchmarks/measure_validation.py): ms)."""
    import wfdb
    validation = benchmark("measure_validation")
    folder = data_dir_or_none(f"ludb/data/{record}.hea") / "ludb" / "data"
    rec = wfdb.rdrecord(str(folder / str(record)))
    ref = validation.reference_intervals(validation.ludb_annotated_beats(folder, record, rec.fs)[2], rec.fs)
    return measure(ECG.from_leads(rec.p_signal.T, rec.sig_name, rec.fs, name=f"ludb/{record}")), ref


@needs_data("ludb/data/114.hea")
def test_pr_of_a_ludb_record_where_the_interval_lead_starts_its_p_wave_late(monkeypatch):
    """LUDB 114 (tuning half): the trimmed global reference PR is 142 ms. The interval lead's DWT P onsets
    (the hint) start the P wave ~40 ms after the 2nd earliest lead (PR 96 ms); the global P onset gives
    130 ms."""
    m, ref = _ludb_measured(114)
    assert m.pr_ms == pytest.approx(ref["pr"], abs=15.0), (m.pr_ms, ref["pr"])
    monkeypatch.setattr(delineate, "p_onset", lambda *args: None)          # the hint alone (5555bf2)
    m, _ = _ludb_measured(114)
    assert ref["pr"] - m.pr_ms > 35.0, (m.pr_ms, ref["pr"])


@needs_data("ludb/data/32.hea")
def test_qrs_of_a_ludb_record_with_a_slow_terminal_s():
    """LUDB 32 (tuning half): the S wave in V2-V3 returns slowly to the ST level; the trimmed global
    reference QRS is 130 ms. The spatial velocity alone measured 102 ms (offset 20 ms early); with the
    per-lead limits 122 ms."""
    m, ref = _ludb_measured(32)
    assert m.qrs_ms == pytest.approx(ref["qrs"], abs=12.0), (m.qrs_ms, ref["qrs"])
