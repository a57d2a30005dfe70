"""mets_core.measure against LUDB's manual wave annotations, plus synthetic edge cases.

Reference values: LUDB (Kalyakulina et al. 2020) has cardiologist-placed onset/peak/offset of every P, QRS
and T wave in every lead. `measure` reports *global* intervals (QRS onset where the first lead starts, T end
over the leads), so the reference is global too, built by benchmarks/measure_validation.py (one definition,
shared): per beat the second-earliest onset and second-latest offset over the 12 leads' annotations. The
plain earliest/latest envelope is dominated by one lead's outlying mark (record 29: lead II's T end 462 ms
after R, the other 11 leads 330-352 ms); the benchmark prints both. HR is checked against lead II's
annotated beats.

Tolerances and why. IEC 60601-2-25 asks a diagnostic ECG machine for *global* (12-lead) intervals within a
mean error of about +-10 ms (PR), +-6 ms (QRS), +-12 ms (QT) on the CSE database. `measure` is an
open-source delineator shown beside the tracing as an aid, so we check it at a looser, stated level: on the
held-out records, the median absolute error must be <= 15 ms (PR, QRS) and <= 20 ms (QT), 90% of records
within 30 / 30 / 45 ms, at most 2 records called a wide QRS (>= 120 ms) that the reference calls < 110 ms,
and HR (against lead II's annotated beats counted over their span) within 3 bpm on 90% of regular-rhythm
records and 10 bpm on all of them (irregular rhythms: `test_heart_rate_in_irregular_rhythms`). LUDB's
annotators themselves place the same QRS onset ~10 ms apart between leads of one beat (median; 21 ms at
the 90th percentile), so tighter bounds would test annotation noise. The delineation
parameters (mets_core/delineate.py) were chosen on even-numbered records; these tests use odd ones.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from mets_core import read_ecg
from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.measure import Measurements, heart_rate_trend, measure

from helpers import benchmark, bigeminy_ecg, data_dir_or_none, needs_data, st_lengthened_ecg

DATA = data_dir_or_none("ludb/data/1.hea")
LUDB = DATA / "ludb" / "data" if DATA else None
needs_ludb = needs_data("ludb/data/1.hea")
HELD_OUT = list(range(1, 201, 4))   # 50 odd records; parameters were chosen on even records (and half of QTDB)


def _validation():
    """benchmarks/measure_validation.py: the LUDB references (one definition, shared with the benchmark)."""
    return benchmark("measure_validation")


def _ludb_ecg(record: int) -> ECG:
    return _validation().ludb_ecg(LUDB, record)[1]


@pytest.fixture(scope="module")
def ludb_results():
    """(record, Measurements, reference): intervals from the trimmed global reference (module docstring),
    HR from lead II's beats."""
    rows = _validation().ludb_rows(LUDB, HELD_OUT)
    return [(record, m, {**trimmed, "hr": lead2["hr"]}) for record, m, lead2, _, trimmed in rows]


def _errors(rows, attr, key):
    errors, missing, n_ref = [], [], 0
    for record, m, ref in rows:
        if ref[key] is None:
            continue
        n_ref += 1
        value = getattr(m, attr)
        if value is None:
            missing.append(record)
        else:
            errors.append(abs(value - ref[key]))
    return np.array(errors), missing, n_ref


@needs_ludb
def test_heart_rate_matches_annotated_rr(ludb_results):
    regular = [row for row in ludb_results if not row[1].rr_irregular]
    assert len(regular) >= 0.7 * len(ludb_results)
    err, missing, n_ref = _errors(regular, "heart_rate_bpm", "hr")
    assert not missing, f"HR not measured on {missing}"
    # LUDB annotates beats only from ~1 s into the strip to ~1 s before its end, so on irregular rhythms
    # (AF, sinus arrhythmia) the reference median RR is over a subset of the beats we see.
    assert np.mean(err <= 3.0) >= 0.9, f"HR errors (bpm): {np.round(np.sort(err)[-8:], 1)}"
    assert err.max() <= 10.0, f"HR errors (bpm): {np.round(np.sort(err)[-8:], 1)}"


@needs_ludb
@pytest.mark.parametrize("attr,key,median_ms,p90_ms", [
    ("pr_ms", "pr", 15.0, 30.0),
    ("qrs_ms", "qrs", 15.0, 30.0),
    ("qt_ms", "qt", 20.0, 45.0),
])
def test_intervals_match_cardiologist_annotations(ludb_results, attr, key, median_ms, p90_ms):
    err, missing, n_ref = _errors(ludb_results, attr, key)
    assert n_ref >= 40
    # "not measurable" is allowed (never a guess), but not as a way to dodge most records
    assert len(missing) <= 0.15 * n_ref, f"{attr} not measured on {len(missing)}/{n_ref}: {missing}"
    assert np.median(err) <= median_ms, f"{attr} median |error| {np.median(err):.1f} ms"
    assert np.percentile(err, 90) <= p90_ms, f"{attr} 90th percentile |error| {np.percentile(err, 90):.1f} ms"


@needs_data("qtdb/sel43.hea")
def test_t_end_does_not_run_into_a_following_wave():
    """QTDB sel43 (a tuning-half record): a low T wave followed by a second hump. With the trapezium's
    reference point 135 ms after the steepest point the T end ran onto the hump (QT 466 ms against 372
    annotated); with 110 ms it is 378 ms."""
    rows = _validation().qtdb_rows(data_dir_or_none("qtdb/sel43.hea") / "qtdb", names={"sel43"})
    (_, m, ref, _, _), = rows
    assert m.qt_ms == pytest.approx(ref["qt"], abs=25.0), (m.qt_ms, ref["qt"])


@needs_ludb
def test_few_narrow_qrs_are_called_wide(ludb_results):
    """A QRS called >= 120 ms reads as bundle-branch block: it must be rare when the cardiologists' is < 110."""
    wide = [record for record, m, ref in ludb_results
            if m.qrs_ms is not None and ref["qrs"] is not None and m.qrs_ms >= 120 and ref["qrs"] < 110]
    assert len(wide) <= 2, f"QRS called wide on {wide}"


@needs_ludb
def test_intervals_do_not_depend_on_the_sampling_rate():
    """PTB-XL ships 100 Hz signals: the same ECG at 100 Hz must give the QRS and QT it gives at 500 Hz (a
    slope over 10 ms samples once widened normal QRS complexes to 110-130 ms)."""
    from scipy.signal import resample_poly
    for record in HELD_OUT[:8]:
        ecg = _ludb_ecg(record)
        slow = ECG(signal=resample_poly(ecg.signal, 1, 5, axis=1), fs=100.0, lead_mask=ecg.lead_mask, name="100 Hz")
        m500, m100 = measure(ecg), measure(slow)
        assert m100.qrs_ms == pytest.approx(m500.qrs_ms, abs=12.0), record
        if m500.qt_ms is not None and m100.qt_ms is not None:
            assert m100.qt_ms == pytest.approx(m500.qt_ms, abs=25.0), record


@needs_ludb
@pytest.mark.parametrize("record", [88, 95, 109, 127])
def test_heart_rate_in_irregular_rhythms(record):
    """AF and ectopy. The beat detector on lead II alone once counted T waves as beats (109: AF with a small
    R in lead II, 134 bpm against 97) and the median RR of a two-peaked RR distribution halved or doubled the
    rate (88, 95, 127: 10-40 bpm off). Beats are now found on all leads' QRS energy and the rate of an
    irregular rhythm is the beats counted over the time (mean RR)."""
    import wfdb
    m = measure(_ludb_ecg(record))
    ann = wfdb.rdann(str(LUDB / str(record)), "ii")
    peaks = [s / 500.0 for s, sym in zip(ann.sample, ann.symbol) if sym == "N"]
    reference = 60.0 * (len(peaks) - 1) / (peaks[-1] - peaks[0])
    assert abs(m.heart_rate_bpm - reference) <= 5.0, (m.heart_rate_bpm, reference)
    # every annotated beat found once, and nothing else between the first and the last (a T wave is >= 200 ms
    # from its R; a wide ectopic beat's R in lead II can be ~90 ms from where its QRS energy peaks: 95)
    found = [t for t in m.r_peaks_s if peaks[0] - 0.1 <= t <= peaks[-1] + 0.1]
    assert len(found) == len(peaks), (found, peaks)
    assert all(min(abs(t - p) for t in found) <= 0.12 for p in peaks), (found, peaks)


@needs_ludb
def test_axis_follows_the_cardiologists_axis_category(ludb_results):
    """LUDB labels the axis as left deviation / horizontal / normal / vertical (Russian convention: <0,
    0..+30, +30..+70, +70..+90 degrees). The measured axis must order the groups the same way, and most
    records with left axis deviation must measure below +30 while most normal/vertical ones measure above 0."""
    import pandas as pd
    labels = pd.read_csv(LUDB.parent / "ludb.csv").set_index("ID")["Electric axis of the heart"]
    labels = labels.str.strip().str.replace("Electric axis of the heart: ", "", regex=False)
    axis = {cat: [] for cat in ("left axis deviation", "normal", "vertical")}
    for record, m, _ in ludb_results:
        if labels[record] in axis and m.axis_deg is not None:
            axis[labels[record]].append(m.axis_deg)
    med = {cat: float(np.median(v)) for cat, v in axis.items()}
    assert med["left axis deviation"] < med["normal"] <= med["vertical"] + 10, med
    assert np.mean(np.array(axis["left axis deviation"]) < 30) >= 0.75
    assert np.mean(np.array(axis["normal"] + axis["vertical"]) > 0) >= 0.9


@needs_ludb
def test_qtc_is_bazett_of_the_reported_qt_and_rr(ludb_results):
    checked = 0
    for _, m, _ in ludb_results:
        if m.qt_ms is not None and m.rr_ms is not None:
            assert m.qtc_formula == "Bazett"
            assert m.qtc_ms == pytest.approx(m.qt_ms / math.sqrt(m.rr_ms / 1000.0), abs=0.11)
            checked += 1
    assert checked >= 40


@needs_ludb
def test_real_leads_are_rated_and_interval_lead_is_ii(ludb_results):
    for record, m, _ in ludb_results[:10]:
        assert set(m.lead_quality) == set(STANDARD_LEADS)
        assert m.lead_quality["II"] in {"Excellent", "Barely acceptable", "Unacceptable"}
    assert sum(m.interval_lead == "II" for _, m, _ in ludb_results) >= 0.8 * len(ludb_results)


# --- synthetic cases: no data needed -------------------------------------------------------------------

def _simulated(heart_rate=70, leads=("II",), fs=500, seconds=10, noise=0.0):
    import neurokit2 as nk
    x = nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=heart_rate, noise=noise, random_state=1)
    return ECG.from_leads(np.tile(x, (len(leads), 1)), list(leads), fs, name="simulated")


@pytest.mark.parametrize("rate", [50, 75, 110])
def test_heart_rate_of_simulated_ecg(rate):
    m = measure(_simulated(rate))
    assert m.heart_rate_bpm == pytest.approx(rate, abs=3)
    assert m.rr_ms == pytest.approx(60000 / rate, rel=0.05)


def test_other_sampling_rates_give_the_same_rate():
    assert measure(_simulated(80, fs=250)).heart_rate_bpm == pytest.approx(80, abs=3)
    assert measure(_simulated(80, fs=1000)).heart_rate_bpm == pytest.approx(80, abs=3)


def test_flat_line_is_not_measurable():
    ecg = ECG.from_leads(np.zeros((2, 5000)), ["I", "II"], 500)
    m = measure(ecg)
    assert m.heart_rate_bpm is None and m.qrs_ms is None and m.qt_ms is None and m.axis_deg is None
    assert "unacceptable" in m.notes["rate"]
    assert m.lead_quality["I"] == "Unacceptable" and m.lead_quality["V1"] == "Not recorded"


def test_white_noise_gets_no_numbers():
    rng = np.random.default_rng(0)
    ecg = ECG.from_leads(rng.normal(scale=0.3, size=(12, 5000)), list(STANDARD_LEADS), 500)
    m = measure(ecg)
    assert m.heart_rate_bpm is None and m.pr_ms is None and m.qrs_ms is None and m.qt_ms is None
    assert sum(q == "Unacceptable" for q in m.lead_quality.values()) >= 11


def test_axis_needs_leads_i_and_avf():
    m = measure(_simulated(70, leads=("II", "V5")))
    assert m.heart_rate_bpm is not None
    assert m.axis_deg is None and m.notes["axis"] == "needs leads I and aVF: I and aVF not recorded"
    assert m.lead_quality["I"] == "Not recorded"


def test_axis_direction_from_constructed_limb_leads():
    """Lead I = cos(theta) * beat, aVF = sin(theta) * beat: the measured axis must be theta. At 0 degrees aVF is
    all zeros, a lead with no signal at all: rated unusable, it gives no axis (review 32: the axis took leads of
    any quality)."""
    import neurokit2 as nk
    beat = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=70, random_state=3)
    for theta in (-45.0, 0.0, 15.0, 60.0, 120.0):
        t = math.radians(theta)
        ecg = ECG.from_leads(np.stack([beat * math.cos(t), beat * math.sin(t), beat]), ["I", "aVF", "II"], 500)
        m = measure(ecg)
        if theta == 0.0:
            assert m.axis_deg is None and m.notes["axis"] == "needs leads I and aVF of acceptable quality"
        else:
            assert m.axis_deg == pytest.approx(theta, abs=5), (theta, m.axis_deg)


def test_long_record_is_measured_on_its_first_minute():
    m = measure(_simulated(60, seconds=90))
    assert m.seconds_analysed == pytest.approx(60.0)
    assert "first 60 s" in m.notes["length"]
    assert isinstance(m, Measurements) and m.to_dict()["heart_rate_bpm"] is not None


# --- checkable measurements: median beats, three QTc formulas, plausibility, reversal, noise ----------------

def test_three_qtc_formulas_follow_from_the_reported_qt_and_rr():
    m = measure(_simulated(75, leads=("II", "V5", "I")))
    assert m.qt_ms is not None and m.rr_ms is not None
    rr = m.rr_ms / 1000.0
    assert m.qtc_ms == pytest.approx(m.qt_ms / math.sqrt(rr), abs=0.2)
    assert m.qtc_fridericia_ms == pytest.approx(m.qt_ms / rr ** (1 / 3), abs=0.2)
    assert m.qtc_framingham_ms == pytest.approx(m.qt_ms + 154 * (1 - rr), abs=0.2)


def test_median_beats_and_fiducials_are_returned_in_order():
    m = measure(_simulated(70, leads=("II", "V5", "I")))
    assert set(m.median_beats) == {"II", "V5", "I"} and m.n_median_beats >= 8
    f = m.fiducials_s
    assert f["p_on"] < f["qrs_on"] < 0 < f["qrs_off"] < f["t_end"]
    assert m.qrs_ms == pytest.approx((f["qrs_off"] - f["qrs_on"]) * 1000, abs=2.5)
    assert len(m.r_peaks_s) == m.n_beats


def test_a_long_qtc_is_reported_with_a_warning_to_check_the_t_end():
    """QTc >= 500 ms (the guideline's high-risk threshold) is reported, and the warning says to check the T end,
    where a U wave or a P wave on the T wave is most often taken for it (docs/measurements.md); a normal QTc
    gets no such warning."""
    normal, long_ = measure(st_lengthened_ecg(0.0)), measure(st_lengthened_ecg(0.15))
    assert normal.qtc_fridericia_ms < 480 and not any("is long" in w for w in normal.warnings)
    assert long_.qt_ms - normal.qt_ms == pytest.approx(150, abs=20)      # the T end followed the T wave
    assert long_.qtc_fridericia_ms >= 500
    [warning] = [w for w in long_.warnings if "is long" in w]
    assert f"QTc {long_.qtc_fridericia_ms:.0f} ms (Fridericia)" in warning and "check the T end" in warning
    assert "JT" not in warning                                          # a narrow QRS: no JT to add


@needs_ludb
def test_a_long_qtc_with_a_wide_qrs_names_the_jt_interval():
    """LUDB 93 (ventricular pacing, QRS ~220 ms): the QT holds the wide QRS, so the long-QTc warning gives the
    JT interval (QT - QRS), the repolarisation's own length."""
    m = measure(_ludb_ecg(93))
    [warning] = [w for w in m.warnings if "is long" in w]
    assert m.qrs_ms >= 120 and f"the QRS is wide ({m.qrs_ms:.0f} ms)" in warning
    assert f"JT (QT - QRS) {m.qt_ms - m.qrs_ms:.0f} ms" in warning


def test_irregular_rhythm_without_p_waves_gets_no_pr():
    """Beats at irregular intervals with the P wave cut away (as in AF): PR must not be reported."""
    import neurokit2 as nk
    fs = 500
    beat = nk.ecg_simulate(duration=3.0, sampling_rate=fs, heart_rate=60, random_state=4)
    r = fs + int(np.argmax(beat[fs:2 * fs]))
    template = beat[r - int(0.06 * fs): r + int(0.45 * fs)]      # QRS + T, no P
    rng = np.random.default_rng(0)
    x = np.zeros(12 * fs)
    t = int(0.3 * fs)
    while t + len(template) < len(x):
        x[t:t + len(template)] += template - template[0]
        t += int(rng.uniform(0.45, 1.1) * fs)
    x += rng.normal(scale=0.01, size=len(x))
    m = measure(ECG.from_leads(np.stack([x, x * 0.8]), ["II", "V5"], fs))
    assert m.rr_irregular is True
    assert m.pr_ms is None and m.p_waves is False
    assert "P" in m.notes["pr"]


@needs_data("cinc2017/REFERENCE.csv", "ludb/data/1.hea")
def test_no_pr_in_recorded_atrial_fibrillation_and_a_pr_in_sinus_rhythm():
    """The issue's plausibility rule on real recordings with a stated rhythm: 60 CinC 2017 records labelled AF
    (handheld, one lead; over all 738, 7 got a PR: `measure_validation.py --rhythm`) get a PR in at most 3;
    LUDB's sinus-rhythm records of the held-out sample get one in at least 90 %."""
    import csv

    import wfdb
    data = data_dir_or_none("cinc2017/REFERENCE.csv")
    reference = (data / "cinc2017" / "REFERENCE.csv").read_text().splitlines()
    labels = dict(row[:2] for row in csv.reader(reference) if len(row) >= 2)
    af = sorted(name for name, label in labels.items() if label == "A")[:60]
    with_pr = []
    for name in af:
        rec = wfdb.rdrecord(str(data / "cinc2017" / name))
        m = measure(ECG.from_leads(rec.p_signal.T[:1], ["I"], float(rec.fs)))
        if m.pr_ms is not None:
            with_pr.append(name)
    assert len(with_pr) <= 3, with_pr
    sinus = [r for r in HELD_OUT if "rhythm: sinus" in (LUDB / f"{r}.hea").read_text().lower()]
    reported = [r for r in sinus if measure(_ludb_ecg(r)).pr_ms is not None]
    assert len(sinus) >= 30 and len(reported) >= 0.9 * len(sinus), (len(reported), len(sinus))


@needs_data("cpsc2021/data_84_3.hea", "cpsc2021/data_8_3.hea", "cpsc2021/data_21_7.hea")
def test_no_pr_in_the_atrial_fibrillation_episodes_of_other_holters(tmp_path):
    """CPSC 2021 (two-lead Holter excerpts, 200 Hz; no part of measure() was chosen on it): every 10 s window
    inside an annotated AF episode of two persistent-AF records is called irregular and gets no PR (over all
    18 records 0 of 90 AF windows get one: `measure_validation.py --rhythm`); a record stated "non atrial
    fibrillation", in regular sinus rhythm at ~70 bpm, gets a PR in most of its windows (not every "non AF"
    record: patient 35's irregular bradycardia at 40-54 bpm shows no P wave and gets none)."""
    data = data_dir_or_none("cpsc2021/data_84_3.hea") / "cpsc2021"
    for name in ("data_84_3", "data_8_3", "data_21_7"):
        (tmp_path / f"{name}.hea").symlink_to(data / f"{name}.hea")
        for ext in ("dat", "atr"):
            (tmp_path / f"{name}.{ext}").symlink_to(data / f"{name}.{ext}")
    windows = _validation().episode_windows("CPSC 2021", tmp_path, every_s=20.0)
    af = [m for _, group, _, m in windows if group == "atrial fibrillation"]
    other = [m for _, group, _, m in windows if group == "sinus"]
    assert len(af) >= 15 and len(other) >= 5, (len(af), len(other))
    assert all(m.rr_irregular and m.pr_ms is None for m in af)
    assert sum(m.pr_ms is not None for m in other) >= 0.8 * len(other)


def test_rate_of_a_bigeminal_rhythm_is_the_beats_counted_over_the_time():
    """Coupled beats (RR alternating 0.55 s and 1.05 s): the median RR would sit on one of the two RRs (109 or
    57 bpm); the rate is the beats over the time, 60 / 0.8 s = 75 bpm."""
    import neurokit2 as nk
    fs = 500
    beat = nk.ecg_simulate(duration=3.0, sampling_rate=fs, heart_rate=60, random_state=5)
    r = fs + int(np.argmax(beat[fs:2 * fs]))
    template = beat[r - int(0.25 * fs): r + int(0.45 * fs)]
    x = np.zeros(12 * fs)
    onsets, t, k = [], int(0.2 * fs), 0
    while t + len(template) < len(x):
        x[t:t + len(template)] += template - template[0]
        onsets.append(t)
        t += int((0.55 if k % 2 == 0 else 1.05) * fs)
        k += 1
    x += np.random.default_rng(2).normal(scale=0.01, size=len(x))
    m = measure(ECG.from_leads(np.stack([x, 0.7 * x, -0.5 * x]), ["II", "V5", "V1"], fs))
    assert m.n_beats == len(onsets)
    assert m.rr_irregular is True
    expected = 60.0 * fs * (len(onsets) - 1) / (onsets[-1] - onsets[0])
    assert m.heart_rate_bpm == pytest.approx(expected, abs=1.5)


def test_ventricular_ectopic_beats_are_left_out_of_the_median_beat():
    """Bigeminy: every sinus beat followed by a wide ectopic beat half way to the next, so no beat is
    premature to the rule that leaves premature beats out. The median beat must still be made of the sinus
    beats alone (the dominant QRS shape), so that QRS, QT and PR are the sinus beats' and the tracing's marks
    sit under them."""
    fs = 500
    ecg, sinus, ectopics = bigeminy_ecg(fs)
    clean = measure(bigeminy_ecg(fs, with_ectopics=False)[0])
    m = measure(ecg)
    assert m.n_beats == len(sinus) + len(ectopics)
    assert m.n_other_shape == len(ectopics)
    used = np.round(np.asarray(m.median_beats_from_s) * fs)
    assert len(used) >= len(sinus) - 2
    assert all(np.min(np.abs(np.asarray(sinus) - u)) <= 0.03 * fs for u in used)
    assert m.qrs_ms == pytest.approx(clean.qrs_ms, abs=8)
    assert m.qt_ms == pytest.approx(clean.qt_ms, abs=12)
    assert m.p_waves is True and m.pr_ms == pytest.approx(clean.pr_ms, abs=10)


def test_in_bigeminy_the_median_beat_is_the_conducted_ones_even_when_the_ectopic_ones_are_more():
    """Bigeminy with premature ectopic beats (0.45 s coupling, then the pause), measured from just after a sinus
    beat: the 10 s hold one ectopic beat more than sinus beats, and the ectopic beats, alike among themselves,
    are the shape most beats resemble. The median beat is still made of the sinus beats (they are not the
    premature ones), with the ectopy-free QRS and a PR (before: QRS 170 ms, no PR; PTB-XL 628, 182 ms)."""
    fs = 500
    ecg, sinus, ectopics = bigeminy_ecg(fs, coupling_s=0.45)
    clean = measure(bigeminy_ecg(fs, with_ectopics=False)[0], start_s=0.6, seconds=10.0)
    m = measure(ecg, start_s=0.6, seconds=10.0)
    used = np.round(np.asarray(m.median_beats_from_s) * fs)
    assert len(used) >= 6 and all(np.min(np.abs(np.asarray(sinus) - u)) <= 0.03 * fs for u in used)
    assert m.qrs_ms == pytest.approx(clean.qrs_ms, abs=8)
    assert m.p_waves is True and m.pr_ms == pytest.approx(clean.pr_ms, abs=10)


@needs_data("mitdb/208.hea", "mitdb/104.hea", "mitdb/217.hea")
def test_where_ventricular_beats_outnumber_conducted_ones_the_median_beat_is_the_narrow_conducted_ones():
    """MIT-BIH 208 (runs of ventricular couplets): in its first 10 s, 9 ventricular and 5 conducted beats;
    the conducted beats' QRS is the narrow one, and the intervals are theirs (before: QRS 206 ms, a median of
    the ventricular beats). Among paced beats (104, 217), narrower fusion and pseudo-fusion beats do not take
    the paced beats' place (their QRS is not half as long)."""
    import wfdb

    def used_labels(record: str, start_s: float) -> tuple[float, list[str]]:
        ecg = read_ecg(DATA / "mitdb" / record)
        ann = wfdb.rdann(str(DATA / "mitdb" / record), "atr")
        m = measure(ecg, start_s=start_s, seconds=10.0)
        near = [int(np.argmin(np.abs(ann.sample - t * ecg.fs))) for t in m.median_beats_from_s]
        return m.qrs_ms, [ann.symbol[i] for i in near]

    for start_s in (0.0, 480.0):
        qrs, labels = used_labels("208", start_s)
        assert set(labels) == {"N"} and qrs < 100, (start_s, qrs, labels)
    for record, start_s in (("104", 120.0), ("217", 1200.0)):
        qrs, labels = used_labels(record, start_s)
        assert labels.count("/") > len(labels) / 2 and (qrs is None or qrs >= 180), (record, qrs, labels)


def test_beats_of_one_shape_are_all_kept():
    m = measure(_simulated(75, seconds=10))
    assert m.n_other_shape == 0 and len(m.median_beats_from_s) == m.n_median_beats >= m.n_beats - 2


@needs_data("mitdb/106.hea", "mitdb/119.hea")
def test_median_beats_of_holter_records_with_frequent_ventricular_beats_are_made_of_the_normal_ones(
        tmp_path, monkeypatch):
    """MIT-BIH 106 and 119 (frequent ventricular beats, bigeminy), one 10 s window a minute: the share of
    annotated ventricular beats among those the median beats are made of, with the dominant-shape rule and
    without it (every beat kept, none shifted, as before the rule): 7 % and 0 % against 26 % and 23 %."""
    from mets_core import measure as measuring
    validation = _validation()
    for record in ("106", "119"):
        for ext in ("hea", "dat", "atr"):
            (tmp_path / f"{record}.{ext}").symlink_to(DATA / "mitdb" / f"{record}.{ext}")

    def ventricular_share() -> dict[str, float]:
        rows = validation.ectopy_rows(tmp_path, step_s=60.0)
        return {rec: np.mean([k == "ventricular" for r in rows if r["record"] == rec for k in r["used"]])
                for rec in ("106", "119")}
    now = ventricular_share()
    monkeypatch.setattr(measuring, "SHAPE_MIN_SIMILARITY", -np.inf)
    monkeypatch.setattr(measuring, "SHAPE_MAX_SHIFT_S", 0.0)
    before = ventricular_share()
    assert now["106"] <= 0.10 and now["119"] <= 0.02, now
    assert before["106"] >= 0.2 and before["119"] >= 0.2, before


@needs_ludb
def test_swapped_arm_electrodes_are_flagged_and_the_original_is_not():
    import wfdb
    flagged_swapped = flagged_original = 0
    for record in (3, 5, 10, 12, 17, 20):
        rec = wfdb.rdrecord(str(LUDB / str(record)))
        x = {n.lower(): rec.p_signal[:, k] for k, n in enumerate(rec.sig_name)}
        ecg = ECG.from_leads(rec.p_signal.T, rec.sig_name, rec.fs)
        # left/right arm swapped: I inverted, II <-> III, aVR <-> aVL, aVF unchanged
        swapped = ECG.from_leads(np.stack([-x["i"], x["iii"], x["ii"], x["avl"], x["avr"], x["avf"]]),
                                 ["I", "II", "III", "aVR", "aVL", "aVF"], rec.fs)
        flagged_original += measure(ecg).limb_lead_reversal is not None
        flagged_swapped += measure(swapped).limb_lead_reversal is not None
    assert flagged_original == 0
    # 3, 17 and 20 are flagged. The check needs P waves: record 12's are too small or absent, and record 5's
    # swapped "II" (its lead III) finds them 54-143 samples before R from beat to beat. Record 5 was flagged
    # before stop 21 on a median beat blurred by R placed on the R of some beats and the S of others (QRS
    # 202 ms on its 6 limb leads against 118 ms on the 12); lined up, it is 110 ms and its PR not measured.
    assert flagged_swapped >= 3


def test_muscle_noise_is_reported_and_downgrades_the_lead():
    clean = _simulated(70, leads=("II", "V5"))
    noisy_signal = clean.signal.copy()
    rng = np.random.default_rng(1)
    v5 = STANDARD_LEADS.index("V5")
    noisy_signal[v5] += rng.normal(scale=0.12, size=noisy_signal.shape[1])     # broadband "EMG" on V5
    noisy = ECG(signal=noisy_signal, fs=clean.fs, lead_mask=clean.lead_mask)
    m = measure(noisy)
    assert "muscle noise" in m.lead_noise.get("V5", "")
    assert m.lead_quality["V5"] != "Excellent"
    assert "V5" not in measure(clean).lead_noise
    assert m.quality_words["V5"] in ("fair", "unusable")


def test_atrial_pacing_spikes_before_the_qrs_are_not_beats():
    """A dual-chamber pacemaker's atrial spike 260 ms before each QRS (a 2 mV, 2 ms pulse with its
    recharge tail, in every lead). Counted as beats they doubled the rate (LUDB 45: 109 bpm against 61)."""
    from mets_core.simulate import simulate_ecg
    base = simulate_ecg(10, 500, 60, leads=("I", "II", "V1", "V5"), noise_mv=0.01, seed=3)
    unpaced = measure(base)
    signal = base.signal.copy()
    t = np.arange(int(0.06 * base.fs)) / base.fs
    artefact = 2.0 * np.where(t == 0, 1.0, -0.25 * np.exp(-t / 0.015))
    for r in unpaced.r_peaks_s:
        at = int(round((r - 0.26) * base.fs))
        if at > 0:
            signal[:, at:at + len(t)] += artefact
    paced = measure(ECG(signal=signal, fs=base.fs, lead_mask=base.lead_mask))
    assert paced.n_beats == unpaced.n_beats
    assert paced.heart_rate_bpm == pytest.approx(60, abs=2)


@needs_ludb
def test_dual_chamber_paced_record_is_counted_by_its_qrs_complexes():
    """LUDB 45 (dual-chamber pacing): the atrial spikes no longer count. The first of them is less sharp
    than the others and still counts (one extra beat in 10 s: 68 against 61 bpm; 109 before)."""
    import wfdb
    m = measure(_ludb_ecg(45))
    ann = wfdb.rdann(str(LUDB / "45"), "ii")
    peaks = [s / 500.0 for s, sym in zip(ann.sample, ann.symbol) if sym == "N"]
    reference = 60.0 * (len(peaks) - 1) / (peaks[-1] - peaks[0])
    assert abs(m.heart_rate_bpm - reference) <= 8.0, (m.heart_rate_bpm, reference)
    assert sum(1 for t in m.r_peaks_s if peaks[0] - 0.1 <= t <= peaks[-1] + 0.1) == len(peaks)


def test_a_stretch_of_a_long_recording_is_measured_where_asked():
    m = measure(_simulated(60, seconds=90), start_s=40.0, seconds=10.0)
    assert m.start_s == pytest.approx(40.0) and m.seconds_analysed == pytest.approx(10.0)
    assert all(40.0 <= t <= 50.0 for t in m.r_peaks_s)
    assert "40.0-50.0 s" in m.notes["length"]


@needs_data("mitdb/203.hea")
@pytest.mark.parametrize("record,most_wrong", [("101", 0.01), ("203", 0.05), ("208", 0.03)])
def test_heart_rate_trend_finds_the_annotated_beats_of_a_holter_record(record, most_wrong):
    """The whole-record overview finds its beats as `measure` does (all leads, noisy leads weighing less).
    Missed plus extra beats over 30 min against MIT-BIH's annotations: 101 (muscle noise in V1) 5 of 1,865,
    203 (AF, multiform ventricular beats) 101 of 2,980 (one lead's detector: 270), 208 (couplets, fusion)
    47 of 2,955 (one lead: 13). With a plain mean over the leads, 101's V1 noise made 203 extra beats."""
    import wfdb
    path = str(data_dir_or_none("mitdb/203.hea") / "mitdb" / record)
    rec, ann = wfdb.rdrecord(path), wfdb.rdann(path, "atr")
    ecg = ECG.from_leads(rec.p_signal.T, rec.sig_name, rec.fs, name=f"mitdb/{record}")
    trend = heart_rate_trend(ecg)
    found = np.round(trend.beat_s * rec.fs).astype(int)
    validation = _validation()
    beats = np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym in validation.BEAT_SYMBOLS])
    beats = beats[beats > found[0] - 0.15 * rec.fs]       # the trend's first beat starts no RR interval
    missed, extra = validation.matched_beats(found, beats, rec.fs)
    assert missed + extra <= most_wrong * len(beats), (missed, extra, len(beats))
    assert trend.lead == ", ".join(ld for ld, on in zip(STANDARD_LEADS, ecg.lead_mask) if on)


def test_heart_rate_trend_of_a_whole_recording():
    trend = heart_rate_trend(_simulated(75, seconds=120, fs=250))
    assert trend.lead == "II" and len(trend.beat_s) >= 140
    assert np.nanmedian(trend.bpm) == pytest.approx(75, abs=3)


@needs_data("ptbxl/ptbxl_database.csv", "ptbxl/records100/00000/00045_lr.hea")
def test_ptbxl_mode_reads_the_statements_and_names_the_leads_that_set_the_qrs_limits():
    """benchmarks/measure_validation.py --ptbxl on four fold 1-8 records: statements count from likelihood
    50 (record 45: IRBBB 100 counts, RVH 35 does not; record 50: IVCD 100, so no narrow promise), the
    headline rows count the measured QRS, and each lead's own limits give back measure()'s global onset and
    offset as their 0.1 / 0.9 quantiles (so the worst-record list names the leads that set them). Fold 10
    is refused."""
    validation = _validation()
    folder = data_dir_or_none() / "ptbxl"
    rows = validation.ptbxl_rows(folder, validation.PTBXL_GROUPS["1-8"], ids={1, 2, 45, 50})
    codes = {r["id"]: r["codes"] for r in rows}
    assert codes[45] == {"IRBBB", "RAO/RAE"} and codes[50] == {"IVCD"}, codes
    assert validation._expected(codes[45]) == "narrow" and validation._expected(codes[50]) is None
    narrow = [r["m"].qrs_ms for r in rows if validation._expected(r["codes"]) == "narrow"]
    wide = sum(q >= 120 for q in narrow)
    headline = next(line for line in validation.ptbxl_table(rows, "1-8") if "expected < 120" in line)
    assert f"| {len(narrow)} |" in headline and f"| {wide}/{len(narrow)} " in headline, headline
    for r in rows:
        m, leads = r["m"], r["leads"]
        assert len(leads) >= 3, leads
        ons = [on if on is not None else 1000 * m.fiducials_s["qrs_on"] for on, _, _ in leads.values()]
        offs = [off if off is not None else 1000 * m.fiducials_s["qrs_off"] for _, off, _ in leads.values()]
        assert np.quantile(offs, 0.9) == pytest.approx(1000 * m.fiducials_s["qrs_off"], abs=4.0), (r["id"], offs)
        # the onset can sit later than the leads' (the P-wave valley rule of the spatial velocity), never earlier
        assert np.quantile(ons, 0.1) <= 1000 * m.fiducials_s["qrs_on"] + 4.0, (r["id"], ons)
    with pytest.raises(ValueError):
        validation.ptbxl_rows(folder, (9, 10))


def _dwt_leads():
    """(cleaned lead, R peaks, fs): simulated leads at three rates and noise levels, and LUDB's lead II and
    V1 of 8 records when the data folder is set."""
    import neurokit2 as nk
    cases = []
    for fs, rate, noise in ((500, 70, 0.0), (250, 110, 0.05), (100, 55, 0.02), (360, 85, 0.1)):
        x = nk.ecg_simulate(duration=10, sampling_rate=fs, heart_rate=rate, noise=noise, random_state=3)
        cases.append((x, fs))
    if LUDB is not None:
        import wfdb
        for record in (1, 9, 45, 74, 109, 126, 151, 200):
            rec = wfdb.rdrecord(str(LUDB / str(record)))
            for name in ("ii", "v1"):
                cases.append((rec.p_signal[:, rec.sig_name.index(name)], rec.fs))
    out = []
    for x, fs in cases:
        c = nk.ecg_clean(x, sampling_rate=fs)
        _, info = nk.ecg_peaks(c, sampling_rate=fs)
        if len(info["ECG_R_Peaks"]) >= 3:        # ecg_delineate fails on fewer (LUDB 45's paced V1)
            out.append((c, info["ECG_R_Peaks"], fs))
    return out


def test_dwt_p_onsets_are_neurokit2s_own(monkeypatch):
    """measure() runs only the steps of neurokit2's DWT delineation that lead to the P onsets (5 times
    faster): they must be the onsets ``ecg_delineate(method="dwt")`` gives, and where neurokit2's steps are
    not there (another version) the public call must be used."""
    import importlib
    import warnings

    import neurokit2 as nk
    from mets_core.measure import dwt_p_onsets
    leads = _dwt_leads()
    found = 0
    for c, rp, fs in leads:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, waves = nk.ecg_delineate(c, rp, sampling_rate=fs, method="dwt")
        expected = np.asarray(waves["ECG_P_Onsets"], dtype=float)
        ours = dwt_p_onsets(nk, c, rp, fs)
        np.testing.assert_array_equal(ours, expected)
        found += int(np.isfinite(ours).sum())
    assert found > 10 * len(leads)            # onsets were found, not two empty arrays compared
    # another neurokit2 whose step takes other arguments: the first call (ours) fails, ecg_delineate's own works
    dwt = importlib.import_module("neurokit2.ecg.ecg_delineate")
    step, calls = dwt._dwt_delineate_tp_peaks, []

    def changed_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise TypeError("_dwt_delineate_tp_peaks() got an unexpected keyword argument")
        return step(*args, **kwargs)

    c, rp, fs = leads[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.asarray(nk.ecg_delineate(c, rp, sampling_rate=fs, method="dwt")[1]["ECG_P_Onsets"], float)
    assert np.isfinite(expected).sum() >= 5
    monkeypatch.setattr(dwt, "_dwt_delineate_tp_peaks", changed_step)
    np.testing.assert_array_equal(dwt_p_onsets(nk, c, rp, fs), expected)
    assert len(calls) == 2                     # ours failed, then the public call ran


def test_leads_are_cleaned_as_neurokit2_cleans_them():
    """``clean_lead`` is neurokit2's ``ecg_clean`` with its high-pass designed once per rate: the same signal
    at odd rates too, with wander and noise, and on a real 12-lead record."""
    import warnings

    import neurokit2 as nk
    from mets_core.measure import clean_lead
    rng = np.random.default_rng(5)
    for fs in (100, 250, 257, 360, 500, 1000):
        for noise in (0.0, 0.3):
            x = nk.ecg_simulate(duration=12, sampling_rate=fs, heart_rate=72, noise=noise, random_state=2)
            x = x + np.sin(np.arange(len(x)) / fs * 2 * np.pi * 0.2) + rng.normal(scale=0.02, size=len(x))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = nk.ecg_clean(x, sampling_rate=fs)
            np.testing.assert_allclose(clean_lead(x, fs), expected, rtol=0, atol=1e-12)
    if LUDB is not None:
        ecg = _ludb_ecg(7)
        for i in range(12):
            x = np.asarray(ecg.signal[i], dtype=float)        # as measure() passes it (the ECG holds float32)
            np.testing.assert_allclose(clean_lead(x, ecg.fs), nk.ecg_clean(x, sampling_rate=ecg.fs), rtol=0, atol=1e-12)
    # measure() cleans all leads in one call: each row exactly as that lead alone
    rows = np.stack([nk.ecg_simulate(duration=10, sampling_rate=360, heart_rate=hr, noise=0.2, random_state=hr)
                     for hr in (50, 75, 140)])
    together = clean_lead(rows, 360)
    for row, alone in zip(rows, together):
        assert np.array_equal(clean_lead(row, 360), alone)


@pytest.mark.parametrize("noise", [0.05, 0.6])
def test_template_sqi_is_the_mean_correlation_of_the_beats_with_their_average(noise):
    """Orphanidou et al. (2015): each beat (R - 0.2 s to R + 0.4 s) correlated with the average beat."""
    import neurokit2 as nk
    from mets_core.measure import clean_lead
    fs = 500
    x = nk.ecg_simulate(duration=10, sampling_rate=fs, heart_rate=80, noise=noise, random_state=8)
    c = clean_lead(x, fs)
    rp = nk.ecg_findpeaks(c, sampling_rate=fs, method="neurokit")["ECG_R_Peaks"]
    beats = [c[r - 100:r + 200] for r in rp if r >= 100 and r + 200 <= len(c)]
    template = np.mean(beats, axis=0)
    expected = np.mean([np.corrcoef(b, template)[0, 1] for b in beats])
    m = measure(ECG.from_leads(x[None, :], ["II"], fs))
    assert m.lead_sqi["II"] == pytest.approx(expected, abs=0.0015)
    assert 0.2 < expected < 1.0


def test_the_whole_recordings_rate_by_the_minute_and_its_mean():
    """A Holter summary's numbers from the overview's beats: the mean rate over the span and each minute's
    median (one implausible or noisy beat does not set a minute; a minute with too few beats is left out)."""
    from mets_core.measure import HeartRateTrend
    beats = np.concatenate([np.arange(0.0, 60.0, 1.0), np.arange(60.0, 120.0, 0.5), [120.4]])   # 60, then 120 bpm
    bpm = 60.0 / np.diff(np.concatenate([[-1.0], beats]))
    bpm[30] = np.nan                                                  # an implausible RR
    trend = HeartRateTrend("II", beats, bpm)
    starts, rates = trend.by_minute()
    assert list(starts) == [0.0, 60.0] and list(rates) == [60.0, 120.0]       # the lone beat at 120.4 s: no minute
    assert trend.mean_bpm == pytest.approx(60.0 * (len(beats) - 1) / 120.4)
    assert HeartRateTrend(None, np.zeros(0), np.zeros(0)).mean_bpm is None
