"""A cardiologist's review of the measurements (review 31), each finding on the record it was found on.

1. Sinus rhythm with atrial premature beats (CPSC 2021 data_101_6's first 10 s: RR 720-785 ms, two early beats
   of the normal QRS shape, 405 and 360 ms, and the pause after them) was told "no consistent P waves in an
   irregular rhythm (as in atrial fibrillation): PR not applicable". The record's atrial fibrillation
   episode keeps that answer.
2. Ventricular bigeminy (MIT-BIH 207's first 10 s): the T end was put in the next beat's QRS, QT 696 ms,
   QTc 690 ms. A T end after the next beat begins is now no T end; and where the QT stands in bigeminy the
   QTc is not given (the median beats follow the pause, the mean RR is half coupling interval, half pause).
3. At 100 Hz (PTB-XL records100) the QRS and QT boundaries are coarse; the measurements now say so, with the
   error measured by benchmarks/measure_validation.py --ludb-only --ludb-rate 100.
Real records need METS_DATA_DIR (skipped otherwise)."""
from __future__ import annotations

import pytest

from mets_core.measure import COARSE_FS, COARSE_QRS_ERROR_MS, measure
from mets_core.readers.dispatch import read_ecg

from helpers import bigeminy_ecg, require_data

AF_WORDS = "atrial fibrillation"


def _cpsc_101_6():
    return read_ecg(require_data("cpsc2021/data_101_6.hea") / "cpsc2021" / "data_101_6")


def test_sinus_rhythm_with_atrial_premature_beats_gets_its_pr():
    """Every beat has its P wave; the same record's sinus pages at 32 s and 90 s get PR 188-189 ms."""
    ecg = _cpsc_101_6()
    m = measure(ecg, 0, 10)
    assert m.rr_irregular                                   # the rate's irregularity is unchanged
    assert m.p_waves is True and m.pr_ms is not None, m.notes.get("pr")
    assert 170 <= m.pr_ms <= 215, m.pr_ms
    assert "pr" not in m.notes, m.notes["pr"]
    # an irregular rhythm's PR still asks for a look at the P waves, as every irregular rhythm's does
    assert any(w.startswith("irregular rhythm: PR measured on waves") for w in m.warnings), m.warnings
    sinus_page = measure(ecg, 32, 10)
    assert m.pr_ms == pytest.approx(sinus_page.pr_ms, abs=15), (m.pr_ms, sinus_page.pr_ms)
    # one early beat before the T end of the beat before it does not shape the median beat: its QT stands
    assert m.qt_ms is not None, m.notes.get("qt")


def test_the_same_records_atrial_fibrillation_still_gets_no_pr():
    """60-70 s lies in the file's "(AFIB" episode (55.6-80.3 s): irregular, RRs 335-605 ms."""
    m = measure(_cpsc_101_6(), 60, 10)
    assert m.pr_ms is None and m.p_waves is False
    assert "not applicable" in m.notes["pr"] and AF_WORDS in m.notes["pr"], m.notes.get("pr")


def test_ventricular_bigeminy_t_end_in_the_next_beat_is_no_qt():
    """207's first 10 s: conducted beats at 0.14, 2.32, 4.41 ... s, each followed ~0.7 s later by a
    ventricular beat whose QRS begins ~0.56 s after the conducted R; the T end was put at 0.63 s."""
    m = measure(read_ecg(require_data("mitdb/207.hea") / "mitdb" / "207"), 0, 10)
    assert m.n_other_shape >= 4                        # the ventricular beats are left out of the median beat
    assert m.qt_ms is None and m.qtc_ms is None and m.qtc_fridericia_ms is None
    assert "the T wave ends after the next beat begins (as in bigeminy)" in m.notes["qt"], m.notes.get("qt")
    assert not any("is long" in w for w in m.warnings), m.warnings       # no long-QTc alarm from it


def test_bigeminy_with_a_measurable_qt_gives_no_qtc_from_the_mean_rr():
    """Simulated: sinus beats 1.2 s apart, a ventricular beat 0.5 s after each (RR 0.5 / 0.7 s). The QT is
    the sinus beats' own (as without the ectopic beats); the QTc is not given, with the two RRs in words."""
    ecg, _, _ = bigeminy_ecg(coupling_s=0.5)
    clean = measure(bigeminy_ecg(with_ectopics=False)[0])
    m = measure(ecg)
    assert m.rr_irregular and m.n_other_shape >= 5
    assert m.qt_ms is not None and m.qt_ms == pytest.approx(clean.qt_ms, abs=20), (m.qt_ms, clean.qt_ms)
    assert m.qtc_ms is None and m.qtc_fridericia_ms is None and m.qtc_framingham_ms is None
    assert "no one RR corrects the QT" in m.notes["qtc"], m.notes.get("qtc")
    assert clean.qtc_ms is not None and "qtc" not in clean.notes      # a regular rhythm keeps its QTc


def test_100_hz_record_says_its_boundaries_are_coarse():
    """PTB-XL 24 (normal ECG, records100): QRS measured 124 ms where a median beat shows ~90."""
    data = require_data("ptbxl/records100/00000/00024_lr.hea")
    m = measure(read_ecg(data / "ptbxl" / "records100" / "00000" / "00024_lr"))
    [note] = [w for w in m.warnings if w.startswith("Sampled at 100 Hz")]       # every view shows warnings
    assert "QRS and QT limits are less precise" in note and f"{COARSE_QRS_ERROR_MS:.0f} ms" in note, note
    assert m.qrs_ms is not None                           # said, not withheld


def test_faster_records_get_no_coarse_sampling_note():
    ecg, _, _ = bigeminy_ecg(with_ectopics=False)          # 500 Hz
    assert ecg.fs >= COARSE_FS
    assert not [w for w in measure(ecg).warnings if w.startswith("Sampled at")]
