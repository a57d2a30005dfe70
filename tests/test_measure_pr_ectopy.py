"""PR in sinus rhythm with ectopic beats: the rhythm as a whole is irregular, the dominant beats' own is not.

A cardiologist found MIT-BIH 208 (sinus rhythm with runs of ventricular couplets and trigeminy) measured on
its first page with "no consistent P waves in an irregular rhythm (as in atrial fibrillation)", while the
file marks sinus rhythm and P waves stand before the narrow beats. The irregularity was the ventricular
beats'. The PR rule now judges the rhythm of the dominant-shape beats (from each to the next, grouped by how
many other beats stand between them); atrial fibrillation stays irregular that way, ectopic beats or not.
MIT-BIH tests need METS_DATA_DIR (skipped otherwise)."""
from __future__ import annotations

import pytest

from mets_core.measure import measure
from mets_core.readers.dispatch import read_ecg

from helpers import bigeminy_ecg, data_dir_or_none, needs_data

DATA = data_dir_or_none("mitdb/208.hea")
AF_NOTE = "atrial fibrillation"


@needs_data("mitdb/208.hea")
@pytest.mark.parametrize("start_s", [0.0, 750.0])
def test_sinus_rhythm_with_ventricular_couplets_gets_a_pr(start_s):
    """208's pages 0:00:00 and 0:12:30: 5 narrow beats among 10 ventricular or fusion ones, RR coefficient
    of variation 0.23 and 0.28; the narrow beats 1.85-1.96 s apart over each pair of ectopic beats."""
    m = measure(read_ecg(DATA / "mitdb" / "208"), start_s=start_s, seconds=10.0)
    assert m.rr_irregular and m.n_other_shape >= 5          # the rate's irregularity is unchanged
    assert m.pr_ms is not None and 100 <= m.pr_ms <= 200, (m.pr_ms, m.notes.get("pr"))
    assert not any(AF_NOTE in w for w in m.warnings), m.warnings


@needs_data("mitdb/203.hea")
@pytest.mark.parametrize("start_s", [120.0, 400.0])
def test_atrial_fibrillation_with_ventricular_beats_still_gets_no_pr(start_s):
    """203 (atrial fibrillation, "(AFIB" at 106-269 s and 308-511 s) with ventricular beats on both pages:
    its narrow beats' own rhythm is irregular."""
    m = measure(read_ecg(DATA / "mitdb" / "203"), start_s=start_s, seconds=10.0)
    assert m.n_other_shape >= 1 and m.pr_ms is None and m.p_waves is False
    assert "not applicable" in m.notes["pr"] and AF_NOTE in m.notes["pr"], m.notes.get("pr")


def test_simulated_sinus_rhythm_with_ventricular_bigeminy_gets_a_pr_without_the_af_caveat():
    """Sinus beats 1.2 s apart, a ventricular beat 0.5 s after each: RR 0.5 / 0.7 s, irregular; the sinus
    beats' own rhythm is regular, so their PR is no "check that they are P waves (atrial fibrillation has
    none)" case. It is the PR of the same sinus beats without the ectopic ones."""
    ecg, _, _ = bigeminy_ecg(coupling_s=0.5)
    clean = measure(bigeminy_ecg(with_ectopics=False)[0])
    m = measure(ecg)
    assert m.rr_irregular and m.n_other_shape >= 5
    assert m.pr_ms is not None and m.pr_ms == pytest.approx(clean.pr_ms, abs=10), (m.pr_ms, clean.pr_ms)
    assert not any(AF_NOTE in w for w in m.warnings), m.warnings
