"""Conventional ECG measurements you can check: rate, intervals from median beats, QTc three ways, frontal
axis, plausibility checks, limb-lead reversal, per-lead signal and noise quality.

``measure(ecg) -> Measurements``. Every number is measured on the recording or is ``None`` ("not
measurable"), with the reason in ``Measurements.notes``: a number is never guessed or filled in. The
fiducial points every interval came from are returned (``fiducials_s``, ``median_beats``) so that a reader
can see them drawn on the median beats and on the tracing and check them.

How each value is obtained (and why)
- Beats: found on all recorded leads at once (``find_beats``): the *QRS energy*, the mean over
  the leads of the absolute slope of their 8-40 Hz band, each lead scaled by its own 98th percentile and
  weighted by how quiet it is between beats (``qrs_energy``); its
  peaks at least ``REFRACTORY_S`` apart (the larger kept) and at least ``BEAT_MIN_SHARE`` of the typical
  beat's (a T wave's slope is far below a QRS's). One lead's detector counted T waves as beats where the R
  is small and the T tall (LUDB 109, AF: 134 bpm against 97). A pacing or electrode spike (its raw slope
  concentrated in a few ms) followed by the next beat within ``PACED_AV_S`` is no beat: a dual-chamber
  pacemaker's atrial spike (LUDB 45: 109 bpm against 61; now 68). Each beat is then placed on the R peak that
  ``clean_lead`` (neurokit2's ``ecg_clean``) + ``nk.ecg_findpeaks`` find in one *interval lead* (the first
  present lead, in the order II, V5, I, V6, V2, ..., as in the rhythm strip, whose signal quality is not
  "Unacceptable" and that has at least ``MIN_BEATS`` beats): median beats and P waves are aligned on it.
- Heart rate and RR: RR irregularity is the coefficient of variation of RR (``rr_cv``; ``rr_irregular``
  above ``RR_IRREGULAR_CV``). Regular rhythm: the median RR (one missed or extra beat does not move it);
  irregular: the mean RR, i.e. the beats counted over the time, because the median of a two-peaked RR
  distribution (AF, bigeminy) sits on one of the peaks (LUDB 127: 80 bpm against 40). HR = 60 000 / RR (ms).
- Median beat per lead: every recorded lead of acceptable quality is cut around the beats' R peaks
  (beats are simultaneous in all leads) and the sample-wise median over the beats of the *dominant shape*
  whose preceding RR is within 20 % (``PREMATURE_SHARE``) of the median RR (premature beats left out; every
  beat of the dominant shape when the rhythm is irregular). The dominant shape (``_dominant_shape``), as ECG
  machines form their representative beat: each beat's QRS (``SHAPE_WINDOW_S`` around R, every recorded lead
  with a signal side by side) is compared with every other's, similarity 1 - |a - b|^2 / (|a|^2 + |b|^2)
  (shape and size), and the beat most others resemble (>= ``SHAPE_MIN_SIMILARITY``) names the class (in
  bigeminy, where the ectopic beats are as many, the shape whose beats are not premature:
  ``_conducted_shape``); a beat unlike it where it stands is compared again at its best shift within
  ``SHAPE_MAX_SHIFT_S`` and lined up by that shift (the beat finder can put R on the R of one beat and the S
  of the next: their median was a blur, LUDB 5's limb leads 202 ms wide).
  Ventricular ectopic beats have another QRS: in bigeminy or in an irregular rhythm the prematurity rule
  kept them, and the median beat was a blend of two shapes (``benchmarks/measure_validation.py --ectopy``,
  MIT-BIH and QTDB; docs/measurements.md). A beat distorted by noise or by the start of the stretch is left
  out the same way. The beats used are ``Measurements.median_beats_from_s`` (lined up); ``n_other_shape``
  says how many were left out for their shape. The dominant beats also rate the leads' template SQI and
  wander and are the beats whose P waves are looked for.
- QRS onset and offset (global) and T end: ``mets_core.delineate`` on the median beats of the leads of
  acceptable quality. QRS limits from the leads' *spatial velocity* (the root of the summed squared slopes)
  and, with 3 or more leads, as the 2nd earliest onset / 2nd latest offset of the leads' own limits, so the
  QRS starts where the first leads start and ends where the last ones end; T end per lead by the
  trapezium-area method after the T peak (either polarity; the later lobe of a biphasic T), and the global
  T end is the upper quartile of the T ends of the leads with a tall enough T wave (a late lead, as a global
  QT ends with the last lead's T wave, that one outlying lead does not decide). A T wave smaller than
  0.05 mV has no measurable end. Median beats sampled below 500 Hz (PTB-XL's 100 Hz) are upsampled first,
  so that the intervals do not depend on the sampling rate. That module's docstring gives the details and parameters.
- P waves: neurokit2 DWT delineation (``ECG_P_Onsets``) of the interval lead, beat by beat, relative to R
  (``_p_wave_lead``: another lead where the interval lead fails the template SQI on the beats found across
  all leads; the lead turned over where its median beat's P wave is clearly negative, as the DWT finds
  upright P waves only: LUDB 1 with lead II inverted read PR 329 ms against 138).
  PR is reported only when P waves are found in most beats at a consistent distance from the QRS, more
  strictly when the dominant beats' own rhythm is irregular (AF: "not applicable"). That rhythm is judged on
  the intervals from each dominant beat to the next (``_dominant_rr_cv``), not on every RR: in sinus rhythm
  with ventricular ectopic beats the RR is irregular and the sinus beats' is not (MIT-BIH 208's couplets,
  told "no consistent P waves ... (as in atrial fibrillation)" before); there the DWT is given every beat
  if the dominant beats alone give no consistent P waves. Where the irregularity is a regular rhythm's
  with a few premature beats of the same shape (``_regular_but_premature``: most RRs within 10 % of the
  median, the others premature or the pause after one), P waves that pass the regular rhythm's rule and
  stand clearly in the median (``_p_locked``) give the PR (CPSC 2021 data_101_6: sinus rhythm with two
  atrial premature beats was "as in atrial fibrillation"). In a regular rhythm whose DWT onsets scatter more
  than the rule allows, the median beat's P wave found (``delineate.p_onset``) and standing at least
  ``P_LOCKED_REGULAR_MIN`` times the beats' scatter (``_p_locked``) gives the PR (MIT-BIH 118's sinus pages,
  small or notched P waves); P waves that march through the QRS (AV dissociation) blur in the median and
  do not. The P onset itself is global
  (``delineate.p_onset``): near the median of those DWT onsets (the hint), each lead's own P onset on its
  median beat (a walk back from its P upstroke until its slope is quiet), and the 2nd earliest of 12
  (quantile 0.1) of the leads with a steep enough P upstroke, as the QRS onset is the 2nd earliest lead's;
  the hint where no lead has one. One lead's DWT onset was late against the 12 leads' (LUDB trimmed
  held-out PR bias -7 ms, 95th percentile 28 ms; now -4 and 15).
- QT = T end - QRS onset. QTc: Bazett (QT/RR^1/2, what ECG machines print; over-corrects at high rates),
  Fridericia (QT/RR^1/3) and Framingham (QT + 154 ms x (1 - RR)), RR in s.
- Plausibility: each interval is a median over physiologically possible values (``PLAUSIBLE_MS``: PR 60-400
  ms, QRS 40-250 ms, QT 200-700 ms, RR 200-3000 ms) and a QT of ``QT_MAX_RR_SHARE`` (95 %) of the RR interval
  or more is rejected (its T end ran into the next beat), and so is a T end at or after the QRS onset of
  the beat that follows the median beats' beats (their median; ``_next_qrs_onset``): in ventricular
  bigeminy that beat's QRS was taken for the T end (MIT-BIH 207: QT 696 ms). A QT that stands gets no QTc
  where the dominant beats' rhythm is regular but the whole is not (ectopic beats) and the median beats
  follow RRs more than 20 % off the mean RR (bigeminy: they follow the pause, the mean RR is half coupling
  interval, half pause, and no one RR corrects the QT). Below ``COARSE_FS`` (PTB-XL's 100 Hz) a note gives
  the boundaries' measured error at 100 Hz (``COARSE_QRS_ERROR_MS``). A QTc (Fridericia)
  under 320 ms is reported with a warning to check the T end; so is one of 500 ms or more, the guideline
  threshold of a high risk of torsades: if real it matters most, and it is where the T end is most often
  wrong (a U wave, or the next P wave on the T wave, taken for the T wave: on LUDB and QTDB 7 of the 20 such
  readings were more than 40 ms off the cardiologists' T end, against 22 of all 284), with the JT interval
  (QT - QRS) when the QRS is wide; warnings in ``Measurements.warnings``.
- Frontal axis: atan2 of the net QRS area (QRS onset to offset, above the PQ baseline) of the median beats
  of aVF and I. Needs both.
- Limb-lead reversal: lead I with a negative QRS and a negative P wave (main deflection below -0.02 mV) suggests
  left/right arm electrodes swapped (or dextrocardia); without P waves nothing is said (pacing and right axis
  deviation also make I negative); a near-flat I, II or III (< 15 % of the others' amplitude) suggests a
  leg (neutral) electrode swapped with an arm electrode.
- Per-lead signal quality: Zhao & Zhang's (2018) fuzzy label, neurokit2's
  ``ecg_quality(method="zhao2018", approach="fuzzy")`` computed from one spectrum (``mets_core.quality``;
  the same labels, ~4 times faster) ("Excellent", "Barely acceptable", "Unacceptable"), gated by a
  template-matching SQI (Orphanidou et al. 2015, IEEE JBHI 19:832): the mean correlation of each beat with
  the average beat, in ``Measurements.lead_sqi``; below ``TEMPLATE_SQI_MIN`` = 0.66 the lead is
  "Unacceptable". Noise the two miss is measured directly (``lead_noise``): muscle/high-frequency noise =
  RMS of the raw signal minus its 35 Hz low-pass outside the QRS complexes; baseline wander = range of the
  raw signal's level in the PR segment (80 ms before R) over the beats. Above
  ``MUSCLE_NOISE_MV``/``WANDER_MV`` an "Excellent" lead becomes "Barely acceptable", above twice that
  "Unacceptable"; these limits are voltages, so leads scaled one by one (z-scored, range-scaled) are not held
  to them (a warning says so). "Not recorded" for absent leads.

- Odd inputs: samples that are not numbers (an ECG built in code) are filled as the readers fill them
  (``readers.channels.fill_missing``; a lead missing too many is not measured), and said; amplitudes of µV
  read as mV (the readers' units rule, ``readers.channels.infer_uv``) are said, and not held to the noise
  limits in mV; a stretch without a beat longer than the longest plausible RR (a pause, or no signal) is said
  (``_beatless``); a QRS of ``QRS_MAX_RR_SHARE`` of the RR or more gets a warning; a lead too short for the
  template SQI's beats (``_too_short_to_judge``: a 3 s recording) is rated by its spectrum alone; a stretch
  with no samples is refused (ValueError).

Long recordings are measured on their first ``MAX_SECONDS`` seconds (stated in the notes); the dashboard
measures the page on screen by passing that stretch.
The delineation parameters were chosen on even-numbered LUDB records and every other QTDB record;
tests/test_measure.py checks them on odd-numbered LUDB records, and benchmarks/measure_validation.py prints
the error table (LUDB, QTDB) for both halves.
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from . import delineate
from .ecg import ECG, STANDARD_LEADS
from .quality import LABELS, lead_quality
from .readers.channels import amplitude_unit, infer_uv
from .readers.limits import MAX_MISSING_FRACTION, UV_AMPLITUDE_THRESHOLD

INTERVAL_LEAD_ORDER = ("II", "V5", "I", "V6", "V2", "V1", "V3", "V4", "aVF", "III", "aVL", "aVR")
MAX_SECONDS = 60.0
MIN_BEATS = 2
TEMPLATE_SQI_MIN = 0.66
MIN_SQI_BEATS = 4
NO_BEAT_SQI = 0.4                  # the beats found correlate with their mean below this in every lead: none repeats,
                                   # nothing is measured (white noise 0.24-0.31 on the interval lead where beats were
                                   # found at all; real interval leads 0.66 or more on LUDB, PTB-XL, MIT-BIH, CinC 2017
                                   # N and A)
PLAUSIBLE_MS = {"pr": (60.0, 400.0), "qrs": (40.0, 250.0), "qt": (200.0, 700.0), "rr": (200.0, 3000.0)}
QT_MAX_RR_SHARE = 0.95             # a QT this share of the RR interval or longer: its T end is not reliable
QRS_MAX_RR_SHARE = 0.5             # a QRS this share of the RR or longer leaves the ST-T no room: a warning (LUDB's
                                   # largest is 0.31, 140 ms at 132 bpm; ECGSYN at 180-200 bpm gave 0.6-0.67)
PR_SPREAD_MAX_MS = 40.0            # P onset to R: interquartile range over beats above this = no consistent P
P_WAVE_MAX_S = 0.12               # a P wave is at most this long (limb-lead reversal: its main deflection)
P_FOUND_MIN_SHARE = 0.6            # share of beats with a P onset found, for a PR to be reported
RR_NEAR_MEDIAN = 0.10              # sinus with premature beats: RRs within this share of the median RR ...
RR_NEAR_MEDIAN_SHARE = 0.5         # ... at least this share of them, every other one premature or the pause after
P_LOCKED_MIN = 5.0                 # ... and the median beat's P wave this many times the beats' scatter around it
P_LOCKED_REGULAR_MIN = 8.0         # a regular rhythm whose P onsets scatter beat by beat: its median beat's P
# wave this many times the beats' scatter gives the PR (``_p_wave``). Stricter than P_LOCKED_MIN: there the
# DWT onsets already agree, here the median beat is the only evidence. Chosen on the --rhythm windows that
# reach the rule (LUDB's odd records and PTB-XL fold 9 left out): atrial fibrillation up to 7.8 (CinC
# A02899, regular, no P wave; 5 would give it and A00680 a PR), complete heart block 1.0-1.7 (LUDB 34, 74),
# sinus 1.3-26 (docs/measurements.md, review 32).
DWT_ANALYSIS_FS = 2000             # neurokit2's DWT delineation works at this rate (its default)
P_NEGATIVE_RATIO = 3.0             # a P wave is negative when, before the QRS, the median beat dips this many times
P_NEGATIVE_MIN_SHARE = 0.05        # further than it rises, and by at least this share of its QRS (``_p_wave_lead``)
SHORT_QTC_MS = 320.0               # QTc (Fridericia) below this gets a warning ...
LONG_QTC_MS = 500.0                # ... and from this on (the guideline's high-risk threshold, not tuned here)
COARSE_FS = 150.0                  # sampled below this (PTB-XL's 100 Hz) the wave boundaries are coarse ...
# ... by this much: the 95th percentile of the absolute error (ms) against LUDB's cardiologists (all 200
# records, trimmed global reference) with LUDB resampled to 100 Hz, `benchmarks/measure_validation.py
# --ludb-only --ludb-rate 100`; beside it, the same at LUDB's own 500 Hz (the command without --ludb-rate)
COARSE_QRS_ERROR_MS = 28.2                # (QT: 42.0 and 37.9 ms)
FINE_QRS_ERROR_MS = 26.2
# ... and PTB-XL's 100 Hz ECGs whose statements mean a narrow QRS measured >= WIDE_QRS_MS (false wide):
# `benchmarks/measure_validation.py --ptbxl --folds 1-8`, 50 of 477
COARSE_FALSE_WIDE = (50, 477)
WIDE_QRS_MS = 120.0                # a QRS this wide or wider is wide (bundle-branch block, pacing)
RR_IRREGULAR_CV = 0.10             # RR coefficient of variation above which the rhythm is called irregular
DOMINANT_RR_MIN_DF = 3             # intervals between dominant beats (less one per group) to judge their own
                                   # rhythm; fewer: the whole rhythm's irregularity stands for it
REFRACTORY_S = 0.25                # two QRS complexes closer than this are one (the larger kept)
BEAT_MIN_SHARE = 0.33             # a QRS energy peak below this share of the typical beat's is no beat (T wave)
ENERGY_CLIP = 3.0                  # a lead's share of the QRS energy is clipped at this many times its 98th pct
ENERGY_FLAT = 1e-6                 # ... and where its scaled slope is below this, it records nothing (flat)
PACED_AV_S = 0.30                  # a spike at most this long before the next QRS is no beat (atrial pacing) ...
SPIKE_WIDTH_MS = 10.0              # ... a spike: the leads' raw slope above half its maximum for at most this long
SPIKE_SHARE = 0.35                 # ... and this share of the slope within +-5 ms of its maximum (a QRS: ~0.2)
SPIKE_MIN_FS = 250.0               # below this rate a spike cannot be told from a narrow QRS
SHAPE_WINDOW_S = (0.06, 0.10)      # the QRS around R (s before, after) whose shape tells beat classes apart
SHAPE_MIN_SIMILARITY = 0.9         # beats at least this similar to the dominant beat share its shape
SHAPE_MAX_SHIFT_S = 0.1            # ... compared at the best shift within this (R placed on R or on S)
SHAPE_RIVAL_SHARE = 0.75           # a second shape with this share of the first's beats (bigeminy) is dominant ...
PREMATURE_SHARE = 0.2              # ... if the first's are premature: RR before them this share shorter
NARROW_RIVAL_SHARE = 0.5           # a second shape with this share of the first's beats is dominant ...
NARROW_SHARE = 0.5                 # ... if its QRS is active at most this share of the first's time (conducted
                                   # beats among ventricular ones; not fusion or pseudo-fusion among paced beats)
MUSCLE_NOISE_MV = 0.04             # RMS of > 35 Hz content outside the QRS
WANDER_MV = 0.6                    # range of the < 0.7 Hz baseline
QUALITY_NOT_RECORDED = "Not recorded"
QUALITY_WORDS = {"Excellent": "good", "Barely acceptable": "fair", "Unacceptable": "unusable",
                 QUALITY_NOT_RECORDED: "not recorded"}


@dataclass
class Measurements:
    heart_rate_bpm: float | None = None
    rr_ms: float | None = None
    pr_ms: float | None = None
    qrs_ms: float | None = None
    qt_ms: float | None = None
    qtc_ms: float | None = None                # Bazett (what ECG machines print)
    qtc_formula: str = "Bazett"
    qtc_fridericia_ms: float | None = None
    qtc_framingham_ms: float | None = None
    axis_deg: float | None = None
    rr_cv: float | None = None                 # RR standard deviation / mean
    rr_irregular: bool | None = None
    p_waves: bool | None = None                # consistent P waves before the QRS
    af_like: bool | None = None                # an irregular rhythm without consistent P waves (atrial
                                               # fibrillation's picture: PR not applicable); None: not judged
    interval_lead: str | None = None          # the lead the beats' R peaks are placed on
    n_beats: int = 0                           # beats detected (on all leads)
    n_median_beats: int = 0                    # beats that went into the median beats
    n_other_shape: int = 0                     # beats left out of the median beats for their shape (ectopic)
    median_beats_from_s: list[float] = field(default_factory=list)   # those beats' R, s from the recording's start
    seconds_analysed: float = 0.0
    start_s: float = 0.0                       # where the analysed stretch starts in the recording
    lead_quality: dict[str, str] = field(default_factory=dict)   # every standard lead -> quality label
    lead_sqi: dict[str, float] = field(default_factory=dict)     # recorded leads -> template-matching SQI
    lead_noise: dict[str, str] = field(default_factory=dict)     # recorded leads -> noise found, in words
    fiducials_s: dict[str, float] = field(default_factory=dict)  # p_on, qrs_on, qrs_off, t_end: s from R
    median_beats: dict[str, list[float]] = field(default_factory=dict)   # lead -> median beat (mV)
    median_fs: float = 0.0
    median_r_s: float = 0.0                    # where R lies in each median beat (s from its start)
    r_peaks_s: list[float] = field(default_factory=list)          # beats found, s from the recording's start
    limb_lead_reversal: str | None = None      # a suspected electrode reversal, in words
    warnings: list[str] = field(default_factory=list)            # plausibility warnings, in words
    notes: dict[str, str] = field(default_factory=dict)          # why a value is None, and caveats

    def to_dict(self) -> dict:
        return asdict(self)

    def covers_whole(self, ecg: ECG) -> bool:
        """Whether these were measured on the whole of `ecg`, the stretch a ranking of the whole recording
        describes (a measurement stops at MAX_SECONDS): only then can the two be set against each other."""
        return self.start_s == 0 and self.seconds_analysed >= round(ecg.n_samples / float(ecg.fs), 3)

    @property
    def quality_words(self) -> dict[str, str]:
        return {lead: QUALITY_WORDS.get(q, q) for lead, q in self.lead_quality.items()}


def qtc_bazett(qt_ms: float, rr_ms: float) -> float:
    return qt_ms / math.sqrt(rr_ms / 1000.0)


def qtc_fridericia(qt_ms: float, rr_ms: float) -> float:
    return qt_ms / (rr_ms / 1000.0) ** (1.0 / 3.0)


def qtc_framingham(qt_ms: float, rr_ms: float) -> float:
    return qt_ms + 154.0 * (1.0 - rr_ms / 1000.0)


def measure(ecg: ECG, start_s: float = 0.0, seconds: float = MAX_SECONDS) -> Measurements:
    """Measure rate, intervals, axis and per-lead quality of an ECG (None where not measurable), on the
    stretch [start_s, start_s + seconds) of the recording."""
    import neurokit2 as nk  # heavy import, only when measuring

    fs = float(ecg.fs)
    a = int(max(0.0, min(float(start_s), ecg.duration)) * fs)
    n = min(ecg.n_samples - a, int(seconds * fs))
    if n <= 0:           # a caller's mistake, said as ECG.crop says it (numpy's words were "zero-size array")
        raise ValueError(f"cannot measure {seconds:g} s from {start_s:g} s of a {ecg.duration:g} s recording: the "
                         f"stretch holds no samples")
    out = Measurements(seconds_analysed=round(n / fs, 3), start_s=round(a / fs, 3))
    if ecg.n_samples > n and a == 0:
        out.notes["length"] = f"measured on the first {n / fs:.0f} s of {ecg.duration:.0f} s"
    elif ecg.n_samples > n:
        out.notes["length"] = f"measured on {a / fs:.1f}-{(a + n) / fs:.1f} s of {ecg.duration:.0f} s"
    raw: dict[str, np.ndarray] = {}
    cleaned: dict[str, np.ndarray] = {}
    peaks: dict[str, np.ndarray] = {}
    for i, lead in enumerate(STANDARD_LEADS):
        if ecg.lead_mask[i]:
            raw[lead] = np.asarray(ecg.signal[i, a:a + n], dtype=float)
        else:
            out.lead_quality[lead] = QUALITY_NOT_RECORDED
    from .readers.channels import filled_stretches
    gaps = [(g0, g1) for g0, g1 in filled_stretches(ecg.metadata) if g0 < (a + n) / fs and g1 > a / fs]
    filled, left_out = _fill_missing(raw, fs)
    gaps += [(a / fs + g0, a / fs + g1) for g0, g1 in filled]
    if gaps:             # the reader's straight line over missing samples reads as a pause, or a beat lost
        out.warnings.append("samples missing at " + ", ".join(f"{g0:.1f}-{g1:.1f} s" for g0, g1 in gaps)
                            + " were filled by a straight line: a pause, a rate or a rhythm there is not real; "
                              "check the tracing")
    if left_out:
        out.warnings.append(f"lead{'s' if len(left_out) > 1 else ''} {', '.join(left_out)}: more than "
                            f"{MAX_MISSING_FRACTION:.0%} of the samples are missing (not numbers): not measured")
    filtered = _filtered_together(raw, fs)
    for lead, x in raw.items():
        cleaned[lead], peaks[lead], out.lead_quality[lead], sqi = _clean_and_find(
            nk, x, fs, filtered.get(lead, (None, None))[0])
        if sqi is not None:                 # None: not judged (too short), which is no SQI of 0
            out.lead_sqi[lead] = sqi

    # neurokit2's quality rating is the slowest step of measuring (~55 %). Every lead but the interval lead
    # is rated again below, on the common beats, so rate here only as far as choosing the interval lead needs.
    def quality_of(ld: str) -> str:
        if out.lead_quality[ld] is None:
            out.lead_quality[ld] = _quality_label(cleaned[ld], fs)
        return out.lead_quality[ld]

    lead = _choose_interval_lead(peaks, quality_of)
    if lead is None:
        for ld in cleaned:               # (all rated already while choosing; kept explicit)
            quality_of(ld)
        why = "signal quality unacceptable in every recorded lead (noise, flat line or too few beats)"
        _nothing_measured(out, why)
        _axis_leads_absent(out, ecg)
        return out
    # the beats from all recorded leads at once (a small R or a tall T in one lead misleads its own
    # detector, and may get that lead called unusable), placed on the interval lead's R peaks
    energy_leads = {ld: x for ld, x in cleaned.items() if np.all(np.isfinite(x)) and np.ptp(x) > 1e-6}
    rp = _place_beats(find_beats(energy_leads, fs, {ld: raw[ld] for ld in energy_leads}), peaks[lead],
                      cleaned[lead], fs)
    if len(rp) < MIN_BEATS + 1:
        rp = peaks[lead]
    out.interval_lead = lead
    out.n_beats = int(len(rp))
    out.r_peaks_s = [round(float(r) / fs + a / fs, 4) for r in rp]
    # The beats of the dominant QRS shape (ectopic beats of another shape are left out of the median beats),
    # judged on every lead with a signal: in bigeminy a lead can fail the template SQI below for that very
    # reason, and it may be the lead that tells the shapes apart best.
    typical, shift = _dominant_shape(energy_leads or {lead: cleaned[lead]}, rp, fs)
    out.n_other_shape = int(np.sum(~typical))
    aligned = rp + shift                      # the beats lined up with the dominant one (R or S of it)
    # Beats are simultaneous in all leads: rate every lead's quality again on the interval lead's beats (those
    # of the dominant shape: beats of two shapes are no sign of noise). A lead's own detector can count tall T
    # waves as beats (V2-V3), which would wrongly call it unusable.
    rated_on = aligned[typical] if typical.sum() >= MIN_SQI_BEATS else rp
    common_sqi = []                  # each lead's template SQI on these beats, where there are enough of them
    for other in cleaned:
        if other == lead:
            # chosen on its own detector's peaks, it is held to the template SQI on these beats too: a simulated
            # lead II flat after 4 s of 10 stayed "Excellent" on its first 4 s of beats, and its P waves were
            # looked for before all 11 ("P waves found before only 50 %")
            if len(_sqi_beats(cleaned[lead], rated_on, fs)) >= MIN_SQI_BEATS:
                sqi = _template_sqi(cleaned[lead], rated_on, fs)
                if sqi < TEMPLATE_SQI_MIN:
                    out.lead_quality[lead], out.lead_sqi[lead] = "Unacceptable", round(sqi, 3)
                common_sqi.append(sqi)
        elif np.ptp(cleaned[other]) > 1e-6:
            out.lead_quality[other], sqi = _rate_on_beats(cleaned[other], rated_on, fs)
            if sqi is None:
                out.lead_sqi.pop(other, None)       # not judged (its own detector's 0 is not this lead's SQI)
            else:
                out.lead_sqi[other] = sqi
                common_sqi.append(sqi)
        else:
            quality_of(other)
    if common_sqi and max(common_sqi) < NO_BEAT_SQI:
        # beats "found" in noise, alike in no lead: a rate and intervals of white noise were given (HR 189, QRS
        # 128 ms) beside "every lead is noisy"
        why = "no repeating beat: the beats found do not resemble one another (noise, or no organised rhythm)"
        _nothing_measured(out, why)
        _axis_leads_absent(out, ecg)
        out.n_beats, out.interval_lead = 0, None
        return _rounded(out)
    unit = amplitude_unit(ecg.metadata)      # z-scored or range-scaled data is not in mV
    # µV read as mV (a file that declares mV, or a wrong gain: the readers convert declared units as they are
    # given): held to the noise limits in mV, every clean lead was "Unacceptable" and "every lead is noisy"
    uv_sized = unit == "mV" and infer_uv(np.stack(list(raw.values())))
    if uv_sized:
        out.warnings.append(f"the amplitudes are a thousand times an ECG's (typical peaks above "
                            f"{UV_AMPLITUDE_THRESHOLD:g} mV, which no ECG reaches), as µV read as mV: check the "
                            f"file's units or gain; muscle noise and baseline wander not judged (their limits are "
                            f"in mV), and the amplitudes here are not mV")
    elif unit == "mV":
        for other in raw:
            _rate_noise(out, other, raw[other], rp, fs, rated_on, filtered.get(other, (None, None))[1])
    else:
        # the noise limits are voltages: held to numbers of another unit they called clean leads "Unacceptable"
        # (a lead's SD is a few tenths of a mV, so its wander in SD reads several times larger) and left them out
        # of the median beats: z-scored, every 4th LUDB record had 263 of its 600 leads "Unacceptable" (0 in mV)
        # and a QRS > 10 ms off its mV value in 14 of 50 (now 1)
        out.warnings.append(f"muscle noise and baseline wander not judged: this recording's leads were scaled one "
                            f"by one (read in {unit}), and their limits are in mV; lead quality is from each lead's "
                            f"spectrum and beat-to-beat likeness only")
    if out.lead_quality.get(lead) == "Unacceptable":
        if any(q not in ("Unacceptable", QUALITY_NOT_RECORDED) for q in out.lead_quality.values()):
            out.warnings.append(f"lead {lead}, used to find the beats, is noisy: check the beats on the tracing")
        else:
            # the intervals below fall back on this lead alone (``usable``): stated bare, they read as measured
            # on leads of acceptable quality (a simulated ECG with 0.2 mV of noise: QRS 68 ms against 94)
            out.warnings.append(f"every lead is noisy: the beats and the intervals were measured on lead {lead} "
                                f"alone, which is rated unusable; check them on the tracing and the median beats")

    rr_all = np.diff(rp) / fs * 1000.0
    rr = plausible_median(rr_all, "rr")
    if rr is None:
        out.notes["rate"] = f"RR intervals outside {_plausible_range('rr')}"
    else:
        good = rr_all[_plausible_mask(rr_all, "rr")]
        if len(good) >= 3:
            out.rr_cv = float(np.std(good) / np.mean(good))
            out.rr_irregular = bool(out.rr_cv > RR_IRREGULAR_CV)
        # irregular: the mean RR (beats per minute over the stretch); the median of a two-peaked RR
        # distribution (AF, bigeminy) can sit on either peak
        out.rr_ms = float(np.mean(good)) if out.rr_irregular else rr
        out.heart_rate_bpm = 60000.0 / out.rr_ms
    quiet = _beatless(rp, n, fs, a / fs, gaps)
    if quiet:
        # left out of the rate as implausible without a word, a flat line in every lead for 5 s (asystole, or
        # no signal) read as a page at 69 bpm
        out.warnings.append("no beat for " + ", ".join(f"{t1 - t0:.1f} s ({t0:.1f}-{t1:.1f} s)" for t0, t1 in quiet)
                            + f", longer than any RR interval the rate counts ({PLAUSIBLE_MS['rr'][1] / 1000:g} s): a "
                              f"pause, or a stretch without signal (a flat line, an electrode off); the rate is "
                              f"that of the other beats; check the tracing")

    usable = [ld for ld in cleaned if out.lead_quality.get(ld) != "Unacceptable"] or [lead]
    beats, r_index, chosen = _median_beats(cleaned, rp, fs, out.rr_irregular, typical, shift)  # all leads
    if not beats:
        for key in ("pr", "qrs", "qt", "qtc", "axis"):
            out.notes[key] = "too few whole beats for a median beat"
        _axis_leads_absent(out, ecg)
        return _rounded(out)
    out.n_median_beats = len(chosen)
    if len(chosen) < MIN_SQI_BEATS:
        # a median of 2-3 beats keeps their noise (a clean simulated 3 s ECG: QRS 114 ms against 94 at 10 s)
        out.warnings.append(f"the median beats are of only {len(chosen)} beats: the intervals may be tens of ms "
                            f"off; check them on the tracing")
    picked = np.flatnonzero(np.isin(aligned, chosen))        # the median beats' indices among the beats
    # in sinus rhythm with ectopic beats the RR is irregular but the dominant beats' own is not
    dominant_cv = _dominant_rr_cv(rp, typical, fs) if out.rr_irregular and not typical.all() else None
    irregular = bool(out.rr_irregular) and (dominant_cv is None or dominant_cv > RR_IRREGULAR_CV)
    out.median_beats_from_s = [round(float(r) / fs + a / fs, 4) for r in chosen]
    out.median_fs, out.median_r_s = fs, r_index / fs
    out.median_beats = {ld: np.round(v, 4).tolist() for ld, v in beats.items()}

    qrs_beats = {ld: v for ld, v in beats.items() if ld in usable}
    if fs < COARSE_FS:
        wide, narrow = COARSE_FALSE_WIDE
        # a warning, not a note: every view of the measurements shows warnings (the Reader, the PDF, Compare)
        out.warnings.append(
            f"Sampled at {fs:.0f} Hz: QRS and QT limits are less precise; {wide} of {narrow} PTB-XL ECGs at 100 Hz "
            f"with a narrow QRS measured {WIDE_QRS_MS:.0f} ms or wider (1 in 20 QRS off by more than "
            f"{COARSE_QRS_ERROR_MS:.0f} ms on LUDB resampled to 100 Hz, {FINE_QRS_ERROR_MS:.0f} ms at 500 Hz). "
            f"Check them on the median beats.")
    rr_samples = (out.rr_ms or 1000.0) / 1000.0 * fs
    limits = delineate.delineate(qrs_beats, r_index, fs, rr_samples) if qrs_beats else None
    if limits is None:
        for key in ("pr", "qrs", "qt", "qtc", "axis"):         # the PR ends at the QRS onset: no reason was given
            out.notes[key] = "QRS limits not found on the median beats"
        _axis_leads_absent(out, ecg)
    else:
        on, off, t_end = limits
        out.fiducials_s["qrs_on"] = (on - r_index) / fs
        out.fiducials_s["qrs_off"] = (off - r_index) / fs
        out.qrs_ms = _one_plausible((off - on) / fs * 1000.0, "qrs")
        if out.qrs_ms is None:
            out.notes["qrs"] = (f"QRS width {(off - on) / fs * 1000:.0f} ms is outside {_plausible_range('qrs')}: "
                                f"not reported")
        if t_end is not None:
            out.fiducials_s["t_end"] = (t_end - r_index) / fs
            qt = (t_end - on) / fs * 1000.0
            out.qt_ms = _one_plausible(qt, "qt")
            next_on = _next_qrs_onset({ld: cleaned[ld] for ld in qrs_beats}, rp, aligned, picked, fs,
                                      t_end - r_index)
            if next_on is not None:
                # in bigeminy the median beat's window holds the ectopic beat that follows each conducted one,
                # and its QRS was taken for the T wave's end (MIT-BIH 207: QT 696 ms)
                out.notes["qt"] = (f"the T wave ends after the next beat begins (as in bigeminy): T end "
                                   f"{(t_end - on) / fs * 1000:.0f} ms after the QRS onset, the next beat's QRS "
                                   f"{(next_on - (on - r_index)) / fs * 1000:.0f} ms after it: QT not measurable")
                out.qt_ms = None
            elif out.qt_ms is None:
                out.notes["qt"] = f"QT {qt:.0f} ms is outside {_plausible_range('qt')}: not reported"
            elif out.rr_ms is not None and out.qt_ms >= QT_MAX_RR_SHARE * out.rr_ms:
                out.notes["qt"] = (f"QT {out.qt_ms:.0f} ms is not clearly shorter than the RR interval "
                                   f"({out.rr_ms:.0f} ms; {QT_MAX_RR_SHARE:.0%} of it or more): the T end is not "
                                   f"reliable")
                out.qt_ms = None
        else:
            out.notes["qt"] = "T wave end not found (flat or noisy T)"
        p_lead, p_signal, p_detected, p_turned = _p_wave_lead(cleaned, beats, lead, usable, rp, aligned, r_index,
                                                              on - r_index, off - r_index, fs)
        _p_wave(nk, out, p_signal, aligned, fs, on - r_index, qrs_beats, r_index, typical, p_detected,
                irregular, irregular and _regular_but_premature(rr_all))
        if out.pr_ms is not None and p_turned:
            # the PR stands on the P waves turned upright; the reader should know the lead looked upside down
            out.warnings.append(f"the P waves and the QRS are negative in lead {p_lead}, where the PR was measured: "
                                f"the lead may be recorded inverted (or its electrodes swapped); the P waves were "
                                f"read turned upright, check them on the tracing")
        if not _axis_leads_absent(out, ecg):          # (which says so)
            if unit != "mV":
                # the axis is the ratio of I's and aVF's voltages, which leads scaled one by one have lost (PTB-XL
                # 00272: -12 degrees in mV, -38, a left axis deviation, z-scored)
                out.notes["axis"] = (f"needs the leads' relative voltages: this recording's leads were scaled one by "
                                     f"one (read in {unit})")
            elif "I" in qrs_beats and "aVF" in qrs_beats:       # of acceptable quality (a noisy I gave 66-120)
                out.axis_deg = _frontal_axis(beats["I"], beats["aVF"], on, off, fs)
                if out.axis_deg is None:
                    out.notes["axis"] = "net QRS area not measurable in I and aVF"
            else:
                out.notes["axis"] = "needs leads I and aVF of acceptable quality"
        out.limb_lead_reversal = _limb_reversal(beats, on, off, r_index, fs, out.fiducials_s.get("p_on"),
                                                usable_i="I" in qrs_beats, in_mv=unit == "mV" and not uv_sized)
    for key, value, why in (("qrs", out.qrs_ms, "QRS limits not found"),
                            ("qt", out.qt_ms, "T wave end not found (flat or noisy T)")):
        if value is None:
            out.notes.setdefault(key, why)
    # the RR before the median beats' own, where the dominant beats' rhythm is regular and the whole one is not
    # (ectopic beats): in bigeminy they follow the pause, and the mean RR (the rate's) is half coupling interval,
    # half pause; the QT follows neither, and no one RR corrects it. (In atrial fibrillation the mean RR stays,
    # with its warning.)
    after = picked[picked > 0]
    rr_before = float(np.median(rp[after] - rp[after - 1])) / fs * 1000.0 if len(after) else None
    if (out.qt_ms is not None and out.rr_ms is not None and out.rr_irregular and not irregular
            and rr_before is not None and abs(rr_before - out.rr_ms) > PREMATURE_SHARE * out.rr_ms):
        out.notes["qtc"] = (f"not given: the median beats follow RR intervals of {rr_before:.0f} ms and the mean RR "
                            f"is {out.rr_ms:.0f} ms (as in bigeminy: a short coupling interval, then a pause); no "
                            f"one RR corrects the QT")
    elif out.qt_ms is not None and out.rr_ms is not None:
        out.qtc_ms = qtc_bazett(out.qt_ms, out.rr_ms)
        out.qtc_fridericia_ms = qtc_fridericia(out.qt_ms, out.rr_ms)
        out.qtc_framingham_ms = qtc_framingham(out.qt_ms, out.rr_ms)
        if out.heart_rate_bpm and out.heart_rate_bpm > 100:
            out.warnings.append("heart rate above 100 bpm: Bazett over-corrects; prefer Fridericia or Framingham")
        elif out.heart_rate_bpm and out.heart_rate_bpm < 50:
            out.warnings.append("heart rate below 50 bpm: Bazett under-corrects; prefer Fridericia or Framingham")
        if out.rr_irregular:
            out.warnings.append("irregular rhythm: QTc from the mean RR is approximate")
        if out.qtc_fridericia_ms < SHORT_QTC_MS:
            # rare in life (short-QT syndrome); far more often flutter waves or a flat T misled the T end
            out.warnings.append(f"QTc {out.qtc_fridericia_ms:.0f} ms (Fridericia) is unusually short: check the "
                                f"T end on the median beats (flutter waves or a flat T can mislead it)")
        elif out.qtc_fridericia_ms >= LONG_QTC_MS:
            # a long QTc matters most when it is real, and it is where the T end is most often wrong: a U wave,
            # or the next P wave at a fast rate, taken for the end of the T wave (docs/measurements.md)
            out.warnings.append(f"QTc {out.qtc_fridericia_ms:.0f} ms (Fridericia) is long ({LONG_QTC_MS:.0f} ms or "
                                f"more; a high risk if real): check the T end on the median beats (a U wave, or "
                                f"the next P wave on the T wave, can be taken for it)" + _wide_qrs_part(out))
    elif out.qt_ms is not None:
        out.notes["qtc"] = "needs a measurable RR"
    else:
        out.notes["qtc"] = "needs a measurable QT"
    if out.qrs_ms is not None and out.qrs_ms >= WIDE_QRS_MS and len(qrs_beats) < 3:
        out.warnings.append("wide QRS measured in fewer than 3 leads: check it on the median beats")
    if out.qrs_ms is not None and out.rr_ms is not None and out.qrs_ms >= QRS_MAX_RR_SHARE * out.rr_ms:
        # at a fast rate the QRS limits can run into the P and T waves, which crowd it (a ventricular rhythm's QRS
        # can be that wide, so it is reported, with the reason to look)
        out.warnings.append(f"the QRS ({out.qrs_ms:.0f} ms) takes {out.qrs_ms / out.rr_ms:.0%} of the RR interval "
                            f"({out.rr_ms:.0f} ms), leaving the ST segment and T wave little room: at this rate its "
                            f"limits may have run into the P or T waves; check them on the median beats")
    return _rounded(out)


def _wide_qrs_part(out: Measurements) -> str:
    """The long-QTc warning's last words when the QRS is wide: the QT then holds the slow depolarisation
    too (bundle-branch block, pacing), and the JT interval (QT - QRS) is the repolarisation's own length."""
    if out.qrs_ms is None or out.qrs_ms < WIDE_QRS_MS or out.qt_ms is None:
        return ""
    return f"; the QRS is wide ({out.qrs_ms:.0f} ms) and part of the QT: JT (QT - QRS) {out.qt_ms - out.qrs_ms:.0f} ms"


def _rounded(out: Measurements) -> Measurements:
    for attr in ("heart_rate_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "qtc_fridericia_ms",
                 "qtc_framingham_ms", "axis_deg"):
        value = getattr(out, attr)
        if value is not None:
            setattr(out, attr, round(float(value), 1))
    if out.rr_cv is not None:
        out.rr_cv = round(out.rr_cv, 3)
    out.fiducials_s = {k: round(float(v), 4) for k, v in out.fiducials_s.items()}
    return out


def _fill_missing(raw: dict[str, np.ndarray], fs: float) -> tuple[list[tuple[float, float]], list[str]]:
    """Samples that are not numbers (NaN, inf) filled in `raw`, in place, by the readers' one rule for missing
    samples (``readers.channels.fill_missing``: a straight line over short gaps); an ECG built in code may hold
    them (the readers fill them as they read), and a lead with a gap was unusable, every lead with one left
    nothing measured "for signal quality". (The stretches filled (s from the stretch's start), the leads
    missing too many samples: left as they are, not measured.)"""
    from .readers.channels import fill_missing, missing_stretches
    spoiled = [ld for ld, x in raw.items() if not np.isfinite(x).all()]
    if not spoiled:
        return [], []
    rows = np.stack([raw[ld] for ld in spoiled])
    rows_filled, keep, _ = fill_missing(rows)
    for ld, row, kept in zip(spoiled, rows_filled, keep):
        if kept:
            raw[ld] = row
    return missing_stretches(~np.isfinite(rows[keep]), fs), [ld for ld, kept in zip(spoiled, keep) if not kept]


def _filterable(x: np.ndarray, fs: float) -> bool:
    """A lead with a signal to filter: finite, not flat, at least 2 s long."""
    return bool(np.all(np.isfinite(x)) and np.ptp(x) >= 1e-6 and len(x) >= int(2 * fs))


def _filtered_together(raw: dict[str, np.ndarray], fs: float) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """{lead: (``clean_lead`` of it, its muscle band: what ``_muscle_lowpass`` leaves out, None at rates it is
    not measured)} of every filterable lead, each filter run once over all of them: scipy's filters work along
    the last axis, so the numbers are those of one lead at a time, in less than half the time (scipy designs
    the initial conditions again on every call). {} when that call fails: then lead by lead."""
    from scipy.signal import sosfiltfilt

    leads = [ld for ld, x in raw.items() if _filterable(x, fs)]
    if not leads:
        return {}
    signals = np.stack([raw[ld] for ld in leads])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            clean = clean_lead(signals, fs)
            muscle = signals - sosfiltfilt(_muscle_lowpass(float(fs)), signals) if fs > 80 else None
        except Exception:  # noqa: BLE001 - pathological input: each lead meets it on its own below
            return {}
    return {ld: (clean[k], None if muscle is None else muscle[k]) for k, ld in enumerate(leads)}


def _clean_and_find(nk, x: np.ndarray, fs: float, c: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, str | None, float | None]:
    """Cleaned lead (`c`: cleaned already), its R peaks, "Unacceptable" when unusable (else None: to be rated by
    `_quality_label` when needed) and its template SQI (None: not judged, the lead too short for it:
    ``_too_short_to_judge``)."""
    none = np.zeros(0, dtype=int)
    if not _filterable(x, fs):
        return np.zeros_like(x), none, "Unacceptable", 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            c = clean_lead(x, fs) if c is None else c
            # ecg_peaks' own detector, without the per-sample DataFrame ecg_peaks also builds (~1 ms a lead)
            rp = np.asarray(nk.ecg_findpeaks(c, sampling_rate=fs, method="neurokit")["ECG_R_Peaks"], dtype=int)
        except Exception:  # neurokit2 raises assorted errors on pathological input
            return np.zeros_like(x), none, "Unacceptable", 0.0
    if len(rp) < MIN_BEATS + 1:
        return c, rp, "Unacceptable", 0.0
    if len(_sqi_beats(c, rp, fs)) < MIN_SQI_BEATS and _too_short_to_judge(rp, len(c), fs):
        return c, rp, None, None
    sqi = _template_sqi(c, rp, fs)
    return c, rp, ("Unacceptable" if sqi < TEMPLATE_SQI_MIN else None), round(sqi, 3)


def _too_short_to_judge(rp: np.ndarray, n: int, fs: float) -> bool:
    """Whether a lead of `n` samples whose detector found the R peaks `rp` is too short for the template SQI's
    ``MIN_SQI_BEATS`` whole beats, rather than missing beats: its peaks keep a steady rhythm (every RR within
    ``PREMATURE_SHARE`` of their median) that fills the lead (no more than one RR before the first and after
    the last), and at that rhythm the lead holds fewer whole beats at some phase. A clean 3-3.5 s recording
    at 70 bpm holds 3, and its every lead was "Unacceptable" (nothing measured); on a 10 s lead only a rate
    under 30 bpm does, and peaks in noise keep no steady rhythm."""
    rr = np.diff(rp)
    if len(rr) < MIN_BEATS:
        return False
    med = float(np.median(rr))
    whole = int(0.2 * fs) + int(0.4 * fs)            # a beat's stretch in the template SQI (``_sqi_beats``)
    return bool(np.all(np.abs(rr - med) <= PREMATURE_SHARE * med) and rp[0] <= med and n - rp[-1] <= med
                and n - whole < MIN_SQI_BEATS * med)


def clean_lead(x: np.ndarray, fs: float) -> np.ndarray:
    """One lead (or each row of an array of leads) cleaned as neurokit2's ``ecg_clean`` (method "neurokit")
    cleans it: a 0.5 Hz 5th-order Butterworth high-pass run both ways, then a moving average over one 50 Hz
    period, both ways. The high-pass is designed once per rate (``ecg_clean`` designs it for every lead).
    tests/test_measure.py checks that the result is ``ecg_clean``'s."""
    from scipy.signal import filtfilt, sosfiltfilt

    y = sosfiltfilt(_baseline_highpass(float(fs)), np.asarray(x, dtype=float))
    width = int(fs / 50) if fs >= 100 else 2
    return filtfilt(np.ones(width), [width], y, method="pad")


@functools.lru_cache(maxsize=16)
def _baseline_highpass(fs: float) -> np.ndarray:
    from scipy.signal import butter
    return butter(5, 0.5, btype="highpass", output="sos", fs=fs)


def clean_and_rate_lead(nk, x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, str, float | None]:
    """One lead rated on its own, as ``measure`` rates the lead it may find the beats on: (the lead cleaned
    (``clean_lead``), its R peaks (neurokit2's detector), its quality label (one of ``quality.LABELS``;
    "Unacceptable" when unusable) and its template SQI (None: the lead too short to judge it)). ``nk``: the
    neurokit2 module."""
    c, rp, quality, sqi = _clean_and_find(nk, x, fs)
    return c, rp, quality or _quality_label(c, fs), sqi


def _quality_label(c: np.ndarray, fs: float) -> str:
    """The fuzzy quality label (Zhao & Zhang 2018; neurokit2's, computed faster: mets_core.quality) of a
    cleaned lead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return lead_quality(c, fs)
        except Exception:
            return "Unacceptable"


def _rate_on_beats(c: np.ndarray, rp: np.ndarray, fs: float) -> tuple[str, float | None]:
    """(quality label, template SQI) of a lead on the beats `rp` found on all leads. Fewer than
    ``MIN_SQI_BEATS`` whole beats (a recording of 3 s, or a slow rate): the SQI is not judged (None) and
    the spectral label stands; as a 0 it called every clean lead of a 3 s recording "Unacceptable". (A
    lead's own detector's few peaks, in ``_clean_and_find``, are still held to it: there they may be noise.)"""
    if len(_sqi_beats(c, rp, fs)) < MIN_SQI_BEATS:
        return _quality_label(c, fs), None
    sqi = _template_sqi(c, rp, fs)
    if sqi < TEMPLATE_SQI_MIN:          # unusable whatever the spectral label would say: not asked
        return "Unacceptable", round(sqi, 3)
    return _quality_label(c, fs), round(sqi, 3)


def _rate_noise(out: Measurements, lead: str, x: np.ndarray, rp: np.ndarray, fs: float, levels_at: np.ndarray,
                hf: np.ndarray | None = None) -> None:
    """Muscle (high-frequency) noise outside every QRS of `rp` and baseline wander at the beats `levels_at`
    (the dominant shape's: an ectopic beat's QRS starts where a normal beat's PR segment is) of the raw lead
    (`hf`: its muscle band, filtered already); downgrade its quality label. In mV only (the limits are
    voltages)."""
    from scipy.signal import sosfiltfilt

    if not _filterable(x, fs):
        return
    found, level = [], 0
    if fs > 80:
        hf = x - sosfiltfilt(_muscle_lowpass(float(fs)), x) if hf is None else hf
        keep = np.ones(len(x), bool)
        half = int(0.08 * fs)
        for r in rp:
            keep[max(0, r - half):r + half] = False
        rms = float(np.sqrt(np.mean(hf[keep] ** 2))) if keep.sum() > fs else float(np.sqrt(np.mean(hf ** 2)))
        if rms > MUSCLE_NOISE_MV:
            found.append(f"muscle noise {rms:.2f} mV")
            level = max(level, 2 if rms > 2 * MUSCLE_NOISE_MV else 1)
    # baseline = the PR segment's level (just before each QRS), so that the waves themselves do not count
    half_w = max(1, int(0.01 * fs))
    levels = [float(np.median(x[r - int(0.08 * fs) - half_w:r - int(0.08 * fs) + half_w + 1]))
              for r in levels_at if r - int(0.08 * fs) - half_w >= 0]
    wander = float(np.ptp(levels)) if len(levels) >= 2 else 0.0
    if wander > WANDER_MV:
        found.append(f"baseline wander {wander:.1f} mV")
        level = max(level, 2 if wander > 2 * WANDER_MV else 1)
    if not found:
        return
    out.lead_noise[lead] = ", ".join(found)
    order = list(LABELS)               # best first
    current = out.lead_quality.get(lead, "Excellent")
    if current in order:
        out.lead_quality[lead] = order[max(order.index(current), level)]


@functools.lru_cache(maxsize=16)
def _muscle_lowpass(fs: float) -> np.ndarray:
    """The 35 Hz low-pass that muscle noise is measured above (designed once per rate, not once per lead)."""
    from scipy.signal import butter
    return butter(4, min(35.0, 0.45 * fs) / (fs / 2), btype="low", output="sos")


def _sqi_beats(c: np.ndarray, rp: np.ndarray, fs: float) -> np.ndarray:
    """(beats, samples): the stretches of `c` from 0.2 s before to 0.4 s after each R of `rp` that lie whole
    in it, which the template SQI compares."""
    before, after = int(0.2 * fs), int(0.4 * fs)
    return np.array([c[r - before:r + after] for r in rp if r - before >= 0 and r + after <= len(c)])


def _template_sqi(c: np.ndarray, rp: np.ndarray, fs: float) -> float:
    """Mean correlation of each beat with the average beat (Orphanidou et al. 2015)."""
    beats = _sqi_beats(c, rp, fs)
    if len(beats) < MIN_SQI_BEATS:   # a couple of random noise peaks can correlate by chance
        return 0.0
    template = beats.mean(axis=0)
    if np.ptp(template) <= 0:
        return 0.0
    # Pearson correlation of every beat with the template at once (np.corrcoef beat by beat was ~15 ms a window)
    centred = beats - beats.mean(axis=1, keepdims=True)
    t = template - template.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (centred @ t) / np.sqrt(np.einsum("ij,ij->i", centred, centred) * (t @ t))
    corr = np.where(np.ptp(beats, axis=1) > 0, np.clip(corr, -1.0, 1.0), 0.0)
    return float(np.nanmean(corr))


def qrs_energy(leads: dict[str, np.ndarray], fs: float) -> np.ndarray:
    """Multi-lead QRS energy: a weighted mean over the leads of the absolute slope of the 8-40 Hz band (where
    the QRS has its energy and P, T and flutter waves have little), each lead scaled by its own 98th
    percentile and clipped at ``ENERGY_CLIP`` (one lead's electrode pop cannot make a beat), smoothed over
    40 ms. Each lead weighs inversely to its noise floor (the median of its smoothed scaled slope: beats
    take ~10 % of the time, so the median is the level between them; taken where the lead is not flat,
    ``ENERGY_FLAT``): in a plain mean a lead full of muscle
    noise had the same say as a clean one, and on 2-lead Holter records its noise bursts passed for beats
    (MIT-BIH, 26 whole records: 1,583 extra beats of 59,782 with the plain mean, 924 weighted; missed
    132 and 147)."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, [8.0 / (fs / 2), min(40.0, 0.45 * fs) / (fs / 2)], btype="band", output="sos")
    k = max(1, int(round(0.04 * fs)))
    box = np.ones(k) / k
    parts, weights = [], []
    for band in sosfiltfilt(sos, np.stack(list(leads.values()))):      # one call for all leads, as above
        slope = np.abs(np.gradient(band))
        scale = float(np.percentile(slope, 98))
        if scale > 0:
            part = np.convolve(np.minimum(slope / scale, ENERGY_CLIP), box, mode="same")
            parts.append(part)
            # the floor where the lead records: a stretch with no signal at all (an electrode off, samples
            # missing filled by a straight line) has no noise, and a lead flat for half the page had a floor
            # of 0 and 10 times the weight of every other lead, so that only its own beats counted (LUDB 1
            # with II flat after 4 s: 3 beats of 7, and every other lead rated "Unacceptable" on them)
            moving = part[part > ENERGY_FLAT]
            weights.append(1.0 / max(float(np.median(moving)) if len(moving) else 0.0, 1e-3))
    if not parts:
        return np.zeros(len(next(iter(leads.values()))))
    return np.average(np.asarray(parts), axis=0, weights=weights)


def find_beats(leads: dict[str, np.ndarray], fs: float, raw: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """QRS complexes (sample index of the energy peak) found on the multi-lead QRS energy (``qrs_energy``).

    Beats are simultaneous in all leads, so a small R or a tall T in one lead does not decide: the energy's
    local maxima at least ``REFRACTORY_S`` apart (the larger one kept), and of those the ones at least
    ``BEAT_MIN_SHARE`` as high as the typical beat's (a T wave's slope is far below the QRS's).

    ``raw``: the same leads unfiltered (cleaning smears a 1-2 ms spike over ~20 ms). With them, a candidate
    that is a spike (``_is_spike``: an atrial pacing artefact, or an electrode artefact) followed by the
    next candidate within ``PACED_AV_S`` is no beat: a dual-chamber pacemaker's atrial spike comes ~150-300
    ms before the QRS, farther than ``REFRACTORY_S``, and counted as a beat it doubled the rate (LUDB 45:
    109 bpm against 61). A ventricular pacing spike is part of its QRS (within the refractory time)."""
    from scipy.signal import find_peaks

    energy = qrs_energy(leads, fs)
    at, props = find_peaks(energy, height=1e-9, distance=max(1, int(REFRACTORY_S * fs)))
    if len(at) == 0:
        return at
    height = props["peak_heights"]
    # the typical beat: the median of the clearly tall maxima (most maxima between beats are small bumps)
    typical = float(np.median(height[height >= 0.4 * np.percentile(height, 90)]))
    edge = int(0.05 * fs)              # the filters' edge transients are no beats
    at = at[(height >= BEAT_MIN_SHARE * typical) & (at >= edge) & (at < len(energy) - edge)]
    if raw is None or fs < SPIKE_MIN_FS or len(at) < 2:
        return at
    spike = _is_spike(raw, fs, at)
    before_next = np.append(np.diff(at) <= PACED_AV_S * fs, False)
    return at[~(spike & before_next)]


def _is_spike(raw: dict[str, np.ndarray], fs: float, at: np.ndarray) -> np.ndarray:
    """For each candidate beat: is it a spike rather than a QRS? On the leads' raw slope (each lead's
    absolute first difference scaled by its 99th percentile, the mean over the leads) within 50 ms of the
    candidate: above half its maximum for at most ``SPIKE_WIDTH_MS`` and with at least ``SPIKE_SHARE`` of
    it within 5 ms of the maximum. On LUDB 45 the atrial pacing spikes score 4-8 ms and 0.38-0.45 (its
    first one, 28 ms and 0.27, is missed: one extra beat). The QRS complexes of the other LUDB records: a
    share of 0.23 (median; 0.29 at the 95th percentile); ventricular-paced ones and sharp notches score as
    spikes (LUDB 34, 74, 104: up to 0.9), but never with another beat within ``PACED_AV_S`` after them, so
    only a spike just before a QRS is dropped."""
    parts = []
    for x in raw.values():
        slope = np.abs(np.diff(np.nan_to_num(np.asarray(x, dtype=float))))
        scale = float(np.percentile(slope, 99))
        if scale > 0:
            parts.append(slope / scale)
    out = np.zeros(len(at), dtype=bool)
    if not parts:
        return out
    s = np.mean(parts, axis=0)
    w, h = int(0.05 * fs), max(1, int(0.005 * fs))
    for i, a in enumerate(at):
        seg = s[max(0, a - w):a + w]
        if len(seg) == 0 or seg.max() <= 0:
            continue
        k = int(np.argmax(seg))
        width_ms = np.sum(seg > 0.5 * seg[k]) / fs * 1000.0
        share = seg[max(0, k - h):k + h + 1].sum() / seg.sum()
        out[i] = width_ms <= SPIKE_WIDTH_MS and share >= SPIKE_SHARE
    return out


def _place_beats(beats: np.ndarray, own: np.ndarray, c: np.ndarray, fs: float) -> np.ndarray:
    """The beats found on all leads, each placed at the interval lead's own R peak where its detector found
    that QRS (within 80 ms; the median beats and P waves are aligned on it), else at the same distance from
    the energy peak as the matched ones, moved to the nearest extremum of their polarity within 30 ms."""
    tol, near = int(0.08 * fs), max(1, int(0.03 * fs))
    placed, missing, offsets = [], [], []
    for b in beats:
        j = int(np.argmin(np.abs(own - b))) if len(own) else -1
        if j >= 0 and abs(int(own[j]) - int(b)) <= tol:
            placed.append(int(own[j]))
            offsets.append(int(own[j]) - int(b))
        else:
            placed.append(-1)
            missing.append(len(placed) - 1)
    shift = int(np.median(offsets)) if offsets else 0
    sign = float(np.sign(np.median([c[p] for p in placed if p >= 0]))) if offsets else 0.0
    for i in missing:
        centre = int(np.clip(beats[i] + shift, 0, len(c) - 1))
        a, b = max(0, centre - near), min(len(c), centre + near + 1)
        seg = c[a:b] * sign if sign else np.abs(c[a:b])
        placed[i] = a + int(np.argmax(seg))
    return np.unique(np.asarray(placed, dtype=int))


def _beatless(rp: np.ndarray, n: int, fs: float, start_s: float, explained: list[tuple[float, float]]
              ) -> list[tuple[float, float]]:
    """The stretches (s from the recording's start; the stretch measured, of `n` samples, starts at `start_s`)
    without a beat of `rp` for longer than the longest plausible RR (``PLAUSIBLE_MS``): between two beats, or
    before the first or after the last; not those that meet a stretch in `explained` (samples missing, filled:
    said already)."""
    longest = PLAUSIBLE_MS["rr"][1] / 1000.0 * fs
    edges = np.concatenate([[0], np.asarray(rp, dtype=int), [n]])
    out = []
    for s0, s1 in zip(edges[:-1], edges[1:]):
        t0, t1 = start_s + s0 / fs, start_s + s1 / fs
        if s1 - s0 > longest and not any(g0 < t1 and g1 > t0 for g0, g1 in explained):
            out.append((t0, t1))
    return out


def _axis_leads_absent(out: Measurements, ecg: ECG) -> bool:
    """Whether lead I or aVF, which the axis needs, is not recorded; if so, that is the axis's note, whatever
    else kept it from being measured: a 2-lead Holter's pages were told "QRS limits not found" on one page and
    "needs leads I and aVF" on the next, when no page of it has an axis."""
    absent = [ld for ld in ("I", "aVF") if not ecg.lead_mask[STANDARD_LEADS.index(ld)]]
    if absent:           # a 2-lead Holter has neither: not a matter of quality
        out.notes["axis"] = f"needs leads I and aVF: {' and '.join(absent)} not recorded"
    return bool(absent)


def _nothing_measured(out: Measurements, why: str) -> None:
    """Every value of `out` left out, each for the one reason `why`."""
    for key in ("rate", "pr", "qrs", "qt", "qtc", "axis"):
        out.notes[key] = why


def _choose_interval_lead(peaks: dict[str, np.ndarray], quality_of) -> str | None:
    """The first lead of INTERVAL_LEAD_ORDER with enough beats whose quality (`quality_of(lead)`, asked
    only of leads with enough beats, in that order) is not "Unacceptable"."""
    for lead in INTERVAL_LEAD_ORDER:
        if lead in peaks and len(peaks[lead]) >= MIN_BEATS + 1 and quality_of(lead) != "Unacceptable":
            return lead
    return None


def _plausible_mask(values_ms: np.ndarray, kind: str) -> np.ndarray:
    """Which of the intervals (ms) of `kind` ("pr", "qrs", "qt", "rr") are physiologically possible: finite
    and within ``PLAUSIBLE_MS[kind]``, both ends included."""
    lo, hi = PLAUSIBLE_MS[kind]
    v = np.asarray(values_ms, dtype=float)
    return np.isfinite(v) & (v >= lo) & (v <= hi)


def _plausible_range(kind: str) -> str:
    """``PLAUSIBLE_MS[kind]`` in words, for a note: "200-3000 ms"."""
    lo, hi = PLAUSIBLE_MS[kind]
    return f"{lo:g}-{hi:g} ms"


def plausible_median(values_ms: np.ndarray, kind: str) -> float | None:
    """The median (ms) of the intervals of `kind` ("pr", "qrs", "qt", "rr") that are physiologically possible
    (``PLAUSIBLE_MS``); None when fewer than ``MIN_BEATS`` are."""
    v = np.asarray(values_ms, dtype=float)
    v = v[_plausible_mask(v, kind)]
    return float(np.median(v)) if len(v) >= MIN_BEATS else None


def _one_plausible(value_ms: float, kind: str) -> float | None:
    return float(value_ms) if bool(_plausible_mask(value_ms, kind)) else None


def _dominant_shape(leads: dict[str, np.ndarray], rp: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(which beats of `rp` have the dominant QRS shape, a mask; each beat's shift in samples that lines it up
    with the dominant beat). Each beat is its QRS (``SHAPE_WINDOW_S`` around R) in `leads` side by side, each
    lead's stretch less its mean; the similarity of two beats a, b is 1 - |a - b|^2 / (|a|^2 + |b|^2): 1
    for equal beats, 0 for unrelated ones, and below 1 for the same shape at another size too (a correlation
    is blind to that). The dominant beat is the one most others resemble (>= ``SHAPE_MIN_SIMILARITY``) where
    they stand, or the conducted shape's when two shapes are nearly as frequent (``_conducted_shape``); a beat
    unlike it where it stands is compared again at its best shift within
    ``SHAPE_MAX_SHIFT_S``: a beat finder may place R on the R in one beat and on the S of a biphasic QRS in
    the next, and such beats are of one shape, to be lined up before their median is taken. Every beat,
    unshifted, when fewer than ``MIN_BEATS`` would be kept; a beat whose QRS runs off the stretch is kept
    unshifted."""
    keep, shift = np.ones(len(rp), dtype=bool), np.zeros(len(rp), dtype=int)
    pre, post = int(SHAPE_WINDOW_S[0] * fs), int(SHAPE_WINDOW_S[1] * fs)
    reach, width = int(SHAPE_MAX_SHIFT_S * fs), pre + post
    n = min(len(x) for x in leads.values()) if leads else 0
    inside = (rp - pre - reach >= 0) & (rp + post + reach <= n)
    if inside.sum() < 2 * MIN_BEATS:
        return keep, shift
    at = rp[inside]
    # every beat's stretch with room for the shifts, per lead: (leads, beats, width + 2 reach); each window of
    # `width` in it is one shift, less its mean (the same shape on another baseline is the same shape)
    stretches = np.stack([x[(at - pre - reach)[:, None] + np.arange(width + 2 * reach)] for x in leads.values()])
    windows = np.lib.stride_tricks.sliding_window_view(stretches, width, axis=2)    # (leads, beats, shifts, width)
    here = windows[:, :, reach] - windows[:, :, reach].mean(axis=2, keepdims=True)
    flat = here.transpose(1, 0, 2).reshape(len(at), -1)
    sq = np.einsum("ij,ij->i", flat, flat)
    # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, so the similarity is 2 a.b / (|a|^2 + |b|^2)
    alike = 2.0 * (flat @ flat.T) / np.maximum(sq[:, None] + sq[None, :], 1e-12) >= SHAPE_MIN_SIMILARITY
    rr_before = np.concatenate([[np.nan], np.diff(rp).astype(float)])[inside]
    dominant = _conducted_shape(alike, rr_before, lambda k: _qrs_activity_s(here[:, alike[k]], fs))
    target = here[:, dominant]                                                         # (leads, width), mean 0
    dots = np.einsum("lbsw,lw->bs", windows, target)            # a window's mean adds nothing against mean 0
    sums, squares = windows.sum(axis=3), np.einsum("lbsw,lbsw->lbs", windows, windows)
    norms = (squares - sums ** 2 / width).sum(axis=0)           # |window less its mean|^2, summed over leads
    to_dominant = 2.0 * dots / np.maximum(norms + sq[dominant], 1e-12)                # (beats, shifts)
    # a beat like the dominant one where it stands stays there (its R placed as the others'); only one
    # that is like it elsewhere within reach is moved
    best = np.where(to_dominant[:, reach] >= SHAPE_MIN_SIMILARITY, reach, np.argmax(to_dominant, axis=1))
    similar = to_dominant[np.arange(len(at)), best] >= SHAPE_MIN_SIMILARITY
    if similar.sum() < MIN_BEATS:
        return keep, shift
    index = np.flatnonzero(inside)
    keep[index[~similar]] = False
    shift[index[similar]] = best[similar] - reach
    return keep, shift


def _conducted_shape(alike: np.ndarray, rr_before: np.ndarray, activity_s) -> int:
    """The beat that names the dominant shape, given which beats are alike (a square mask), the RR before
    each beat (s or samples; NaN for the first) and `activity_s(k)`, how long the QRS of the beats alike to
    beat k is active (s; ``_qrs_activity_s``): the beat most others resemble, unless a second shape, unlike
    it, either
    - has nearly as many beats (``SHAPE_RIVAL_SHARE``) and the first shape's beats come early after the beat
      before them (median RR at least ``PREMATURE_SHARE`` shorter than the second's): in bigeminy the
      ventricular beats are as many as the conducted ones and, alike among themselves, may outnumber them by
      one in a 10 s window (PTB-XL 628: a median of its ventricular beats, QRS 182 ms); the conducted beats
      follow the pause, the ectopic ones the short coupling interval; or
    - has at least half as many beats (``NARROW_RIVAL_SHARE``, and at least 3) and a QRS active for at most
      half as long (``NARROW_SHARE``): a ventricular beat's QRS is wide, a conducted one's narrow, and where
      runs of ectopic beats outnumber the conducted ones (MIT-BIH 208's first 10 s: 9 ventricular, 5
      conducted) the intervals are still the conducted beats'. Half, because among paced beats the fusion
      and pseudo-fusion beats are narrower too, but not that much (MIT-BIH 104, 217: 0.57-0.69 of the paced
      beats' time; 208's conducted beats 0.38-0.46 of its ventricular ones')."""
    counts = alike.sum(axis=1)
    first = int(np.argmax(counts))
    unlike = np.flatnonzero(~alike[first])
    if not len(unlike):
        return first
    rival = int(unlike[np.argmax(counts[unlike])])
    if counts[rival] >= SHAPE_RIVAL_SHARE * counts[first]:
        rr_first, rr_rival = (np.nanmedian(rr_before[alike[k]]) if np.isfinite(rr_before[alike[k]]).any()
                              else np.nan for k in (first, rival))
        if rr_first <= (1.0 - PREMATURE_SHARE) * rr_rival:
            return rival
    if (counts[rival] >= max(3, NARROW_RIVAL_SHARE * counts[first])
            and activity_s(rival) <= NARROW_SHARE * activity_s(first)):
        return rival
    return first


def _qrs_activity_s(beats: np.ndarray, fs: float) -> float:
    """How long (s) the spatial velocity (over the leads) of the median of `beats` (leads, beats, samples: the
    QRS windows of ``SHAPE_WINDOW_S``) stays at or above a fifth of its peak: the QRS's width as far as the
    window shows it (a wider QRS runs past it: the window's length at most)."""
    velocity = np.sqrt((np.diff(np.median(beats, axis=1), axis=1) ** 2).sum(axis=0))
    peak = float(velocity.max()) if velocity.size else 0.0
    return float((velocity >= 0.2 * peak).sum()) / fs if peak > 0 else 0.0


def _next_qrs_onset(leads: dict[str, np.ndarray], rp: np.ndarray, centres: np.ndarray, picked: np.ndarray,
                    fs: float, t_end_from_r: float) -> float | None:
    """Where the beat after the median beat begins, as the median beat sees it, when that is at or before
    its T end (`t_end_from_r`, samples from R); else None. For each beat that went into the median beats
    (`picked`, indices into the beats as found, `rp`, and into `centres`, their R lined up), the beat that
    follows it, whatever its shape: its QRS onset on `leads` (``delineate.upsampled_qrs_limits`` on a stretch
    around it; its R where none is found), in samples from the median beat's R; their median (the lower one
    of an even count), as the median beat is a median over those beats. In bigeminy every median beat's
    next beat is the ectopic one, and the median beat's T end lies in its QRS (MIT-BIH 207); a single early
    beat does not shape the median beat, and its T end stands (data_101_6: an atrial premature beat 405 ms
    after the beat before it, before that beat's T end). Only a beat whose R is near enough for its QRS
    onset (looked for up to ``delineate.QRS_SEARCH_S``[0] before R) to come before the T end is
    delineated; the others count as after it."""
    n = min(len(x) for x in leads.values())
    reach = int(delineate.QRS_SEARCH_S[0] * fs)
    onsets = []
    for k in picked:
        if k + 1 >= len(rp):
            continue
        if rp[k + 1] - centres[k] - reach > t_end_from_r:
            onsets.append(math.inf)
            continue
        nxt = int(rp[k + 1])
        a, b = max(0, nxt - int(0.3 * fs)), min(n, nxt + int(0.3 * fs))
        limits = delineate.upsampled_qrs_limits({ld: x[a:b] for ld, x in leads.items()}, nxt - a, fs)
        onsets.append((nxt if limits is None else a + limits[0]) - centres[k])
    if not onsets:
        return None
    median = float(np.sort(onsets)[(len(onsets) - 1) // 2])
    return median if median <= t_end_from_r else None


def _median_beats(leads: dict[str, np.ndarray], rp: np.ndarray, fs: float, irregular: bool | None,
                  typical: np.ndarray, shift: np.ndarray) -> tuple[dict, int, list[int]]:
    """({lead: median beat} cut [R - pre, R + post] around the beats lined up (`rp` + `shift`), R's index, the
    lined-up beats used): the beats of the dominant shape (`typical`, a mask over `rp`) that are whole and,
    in a regular rhythm, not premature (RR before them, between the beats as found, over all beats, within
    20 % of the median RR); the whole beats of the dominant shape when fewer than ``MIN_BEATS`` are left,
    then all whole beats."""
    rr = np.diff(rp)
    if len(rr) == 0:
        return {}, 0, []
    med = float(np.median(rr))
    prev_rr, next_rr = np.concatenate([rr[:1], rr]), np.concatenate([rr, rr[-1:]])
    # the window reaches back and forward as far as the dominant beats' own neighbours allow (in bigeminy the
    # median RR is the mean of the coupling interval and the pause)
    before, after = ((med, med) if typical.all() else
                     (float(np.median(prev_rr[typical])), float(np.median(next_rr[typical]))))
    pre = int(min(0.4 * fs, 0.45 * before))
    post = int(min(0.75 * fs, 0.95 * after))
    centres = rp + shift
    whole = (centres - pre >= 0) & (centres + post <= min(len(x) for x in leads.values()))
    steady = np.ones(len(rp), dtype=bool) if irregular else np.abs(prev_rr - med) <= PREMATURE_SHARE * med
    for pick in (whole & typical & steady, whole & typical, whole):
        chosen = [int(r) for r in centres[pick]]
        if len(chosen) >= MIN_BEATS:
            break
    else:
        return {}, pre, []
    out: dict = {ld: np.median(np.stack([x[r - pre:r + post] for r in chosen]), axis=0) for ld, x in leads.items()}
    return out, pre, chosen


def dwt_p_onsets(nk, c: np.ndarray, rp: np.ndarray, fs: float) -> np.ndarray:
    """neurokit2's DWT P onsets (``ecg_delineate(method="dwt")["ECG_P_Onsets"]``) of one cleaned lead, in
    samples (NaN where a beat has none; empty when the delineation fails).

    Only the DWT's own steps that lead to the P onsets are run: resampling to 2 kHz, the wavelet scales, the
    P and T peaks and the P onsets. ``ecg_delineate`` also finds every beat's Q and S peaks through pandas,
    which only its QRS limits use: ~80 % of its time (50 -> 10 ms per 10 s lead at 500 Hz). The steps are
    neurokit2's private functions, called as its ``_dwt_ecg_delineator`` calls them in every version from
    0.2.7 (the lowest we accept) to 0.3.0 (read); where they are missing or take other arguments, the
    public call is used. tests/test_measure.py checks that both give the same onsets."""
    rp = np.asarray(rp, dtype=np.int64)
    if len(rp) == 0:
        return np.zeros(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _dwt_p_onsets_steps(c, rp, fs)
        except (AttributeError, ImportError, TypeError):
            pass                       # not the neurokit2 these steps were read from: the public call
        except Exception:
            return np.zeros(0)
        try:
            _, waves = nk.ecg_delineate(c, rp, sampling_rate=fs, method="dwt")
            return np.asarray(waves.get("ECG_P_Onsets", []), dtype=float)
        except Exception:
            return np.zeros(0)


def _dwt_p_onsets_steps(c: np.ndarray, rp: np.ndarray, fs: float) -> np.ndarray:
    """The steps of neurokit2's ``_dwt_ecg_delineator`` that give ``ECG_P_Onsets``, in its order."""
    import importlib

    from neurokit2.signal import signal_resample
    dwt = importlib.import_module("neurokit2.ecg.ecg_delineate")   # the module, not its same-named function
    x = signal_resample(c, sampling_rate=fs, desired_sampling_rate=DWT_ANALYSIS_FS)
    scales = dwt._dwt_compute_multiscales(x, 9)
    r_fast = dwt._dwt_resample_points(rp, fs, DWT_ANALYSIS_FS)
    _, p_peaks = dwt._dwt_delineate_tp_peaks(x, r_fast, scales, sampling_rate=DWT_ANALYSIS_FS)
    p_onsets, _ = dwt._dwt_delineate_tp_onsets_offsets(p_peaks, r_fast, scales, sampling_rate=DWT_ANALYSIS_FS)
    onsets = np.asarray(dwt._dwt_resample_points(p_onsets, DWT_ANALYSIS_FS, desired_sampling_rate=fs),
                        dtype=float)
    # as ecg_delineate does after its delineator: an onset at or past the end is none, and 0 is dropped
    if len(onsets) and onsets[-1] >= len(c):
        onsets[-1] = np.nan
    return onsets[(onsets > 0) | np.isnan(onsets)]


def _p_wave_lead(cleaned: dict[str, np.ndarray], beats: dict[str, np.ndarray], lead: str, usable: list[str],
                 rp: np.ndarray, aligned: np.ndarray, r_index: int, qrs_on_from_r: float, qrs_off_from_r: float,
                 fs: float) -> tuple[str, np.ndarray, np.ndarray, bool]:
    """The lead whose P waves the DWT looks for: (its name, its cleaned signal with the P wave made upright,
    the beats' R on it for the DWT, whether it was turned over). neurokit2's DWT finds upright P waves only:
    given lead II inverted it took other waves for them (LUDB 1: PR 329 ms against 138), or found none (a
    simulated lead I: "P waves found before only 0 %").

    The lead: the interval lead where it is of acceptable quality on the beats found across all leads
    (`usable`), else the first such lead of ``INTERVAL_LEAD_ORDER``. It is turned over when it reads as
    recorded upside down: its QRS's largest deflection is downward and its median beat (`beats`), over the
    300 ms up to 20 ms before the QRS onset and against its level there, dips at least ``P_NEGATIVE_RATIO``
    times further than it rises and by at least ``P_NEGATIVE_MIN_SHARE`` of the QRS's range; an upright,
    biphasic or too small P wave, or a negative one before an upright QRS, is given as recorded. (Typical
    atrial flutter's waves are negative in II before an upright QRS: turned over, the DWT took them for P
    waves and PTB-XL 20 and 23, flutter with 2:1 conduction, got a PR of 154-156 ms.) Thresholds chosen on
    LUDB's even records (the interval leads that dip most dip at most 0.04 of their QRS, or under 3 times their
    rise)
    and on the inverted leads of LUDB 1, CinC 2017 A00051 and the simulated ECG (dips 5.7 times the rise or
    more, 0.10 of the QRS or more). The DWT sizes its P search by where R is: the interval lead's R (`rp`) as
    its detector placed them, and on any other signal each beat's highest point within the QRS limits
    (`aligned`: the beats lined up with the median beat; its detector had put R on the inverted lead's
    highest point, 60 ms before the QRS of LUDB 1 with II inverted)."""
    p_lead = lead if lead in usable else next((ld for ld in INTERVAL_LEAD_ORDER if ld in usable), lead)
    beat = np.asarray(beats[p_lead], dtype=float)
    on, off = r_index + int(round(qrs_on_from_r)), r_index + int(round(qrs_off_from_r))
    a, b = max(0, on - int(0.3 * fs)), on - int(0.02 * fs)
    turned = False
    if b - a >= 2 and off > on:
        before, qrs = beat[a:b] - beat[b], beat[on:off + 1] - beat[on]
        rise, dip = float(before.max()), float(-before.min())
        turned = (dip > 0 and dip >= P_NEGATIVE_RATIO * rise and dip >= P_NEGATIVE_MIN_SHARE * np.ptp(qrs)
                    and -qrs.min() > qrs.max())
    signal = -cleaned[p_lead] if turned else cleaned[p_lead]
    if p_lead == lead and not turned:
        return p_lead, signal, rp, turned
    start, stop = int(round(qrs_on_from_r)), int(round(qrs_off_from_r))
    r_on_lead = np.array([c0 + start + int(np.argmax(signal[c0 + start:c0 + stop + 1]))
                          if c0 + start >= 0 and c0 + stop < len(signal) else r
                          for c0, r in zip(aligned, rp)], dtype=int)
    return p_lead, signal, r_on_lead, turned


def _p_onsets_per_beat(nk, c: np.ndarray, rp: np.ndarray, fs: float, qrs_on_from_r: float,
                       typical: np.ndarray, detected: np.ndarray | None = None,
                       every_beat: bool = False) -> tuple[list[float], int]:
    """neurokit2's DWT P onsets (``ECG_P_Onsets``) of one cleaned lead, beat by beat: (for each beat of the
    dominant shape (`typical`) with a P onset 40-450 ms before its QRS onset and after the previous beat, that
    P onset relative to R in samples; the number of such beats searched: those not so near the start that
    their P wave may be cut off). A ventricular ectopic beat has no P wave of its own: in bigeminy, counting
    it made the sinus beats' P waves look absent half the time. `rp`: the beats as lined up with the
    median beat (``_dominant_shape``'s shifts); `detected`: where the beat finder put their R (default
    `rp`), which is what the DWT expects; `every_beat`: the DWT is given every beat, not only the dominant
    ones."""
    detected = rp if detected is None else detected
    # the DWT looks for each P wave before its R, in a window it sizes by the rate of the beats it is given:
    # given the ectopic beats' R too, it looked in their T waves (bigeminy); given the dominant beats only
    # where runs of ectopic beats stand between them, far before the QRS (MIT-BIH 208: the first is tried first)
    given = detected if every_beat or typical.sum() < MIN_BEATS else detected[typical]
    candidates = dwt_p_onsets(nk, c, given, fs)
    candidates = candidates[np.isfinite(candidates)]
    rel, searched = [], 0
    for k, r in enumerate(rp):
        on = r + qrs_on_from_r
        if on - 0.3 * fs < 0 or not typical[k]:
            continue                   # a beat at the very start: its P wave may be cut off
        searched += 1
        lo = max(rp[k - 1] if k > 0 else 0, on - 0.45 * fs)
        inside = candidates[(candidates > lo) & (candidates < on - 0.04 * fs)]
        if len(inside):
            rel.append(float(inside.max()) - r)
    return rel, searched


def _dominant_rr_cv(rp: np.ndarray, typical: np.ndarray, fs: float) -> float | None:
    """The RR coefficient of variation of the dominant-shape beats' own rhythm (`typical`, a mask over the
    beats `rp`): the interval from each dominant beat to the next dominant one, compared with the others
    that span as many beats of another shape (sinus to sinus; sinus to sinus over one ventricular beat, its
    compensatory pause making about two sinus cycles; over a couplet), as the root of the pooled variance of
    each interval's share of its group's mean (one degree of freedom less per group: a group of one tells
    nothing). In sinus rhythm with ventricular ectopic beats the RR is irregular and these are not (MIT-BIH
    208: 1.85-1.96 s over each couplet); in atrial fibrillation they are irregular whatever the ectopic beats.
    None when fewer than ``DOMINANT_RR_MIN_DF`` degrees of freedom are left."""
    at = np.flatnonzero(typical)
    spans = np.diff(rp[at]) / fs * 1000.0
    others_between = np.diff(at) - 1
    squares, df = 0.0, 0
    for k in np.unique(others_between):
        group = spans[others_between == k]
        group = group[_plausible_mask(group / (k + 1), "rr")]
        if len(group) >= 2:
            squares += float(np.sum((group / group.mean() - 1.0) ** 2))
            df += len(group) - 1
    return math.sqrt(squares / df) if df >= DOMINANT_RR_MIN_DF else None


def _regular_but_premature(rr_ms: np.ndarray) -> bool:
    """Whether RR intervals (ms) are those of a regular rhythm with a few premature beats of the dominant
    shape (atrial premature beats): at least ``RR_NEAR_MEDIAN_SHARE`` of them within ``RR_NEAR_MEDIAN`` of the
    median RR, and every other one short (a premature beat) or right after a short one (the pause). In
    atrial fibrillation long intervals come without a short one before them. CPSC 2021 data_101_6's first
    10 s: 720-785 ms, two premature beats (405, 360 ms) and the pause (880 ms): RR CV 0.20."""
    rr_ms = np.asarray(rr_ms, dtype=float)
    if len(rr_ms) < 3:
        return False
    med = float(np.median(rr_ms))
    near = np.abs(rr_ms - med) <= RR_NEAR_MEDIAN * med
    short = rr_ms < (1.0 - RR_NEAR_MEDIAN) * med
    after_short = np.concatenate([[False], short[:-1]])
    return bool(near.mean() >= RR_NEAR_MEDIAN_SHARE and np.all(near | short | after_short))


def _p_locked(c: np.ndarray, rp: np.ndarray, fs: float, p_on_from_r: float, qrs_on_from_r: float) -> float:
    """How clearly a P wave stands before the beats `rp` of the cleaned lead `c`: the range of their median
    over 20 ms before the P onset (`p_on_from_r`, samples from R) to the QRS onset, over the median (over
    the beats) of each beat's scatter (standard deviation) around that median; each stretch taken from its
    first sample. A P wave keeps its distance to the QRS and stands in the median; fibrillation waves, found
    before the beats by chance, do not, and scatter as much as they stand. Chosen on the windows of
    ``benchmarks/measure_validation.py --rhythm`` that this rule can reach (irregular, RRs as
    ``_regular_but_premature`` says, P waves passing the regular rhythm's rule): atrial fibrillation 3.4-4.5
    (3 windows, CinC 2017), sinus rhythm 3.3-9.2 (11; the 3 under 5, CinC 2017's, stay withheld), and
    data_101_6's first 10 s 25. A regular rhythm whose P onsets scatter is held to ``P_LOCKED_REGULAR_MIN``
    instead (``_p_wave``). 0 when no beat has the whole stretch."""
    a, b = int(p_on_from_r - 0.02 * fs), int(qrs_on_from_r)
    whole = [int(r) for r in rp if r + a >= 0 and r + b <= len(c)]
    if b - a < 2 or len(whole) < MIN_BEATS:
        return 0.0
    stretches = np.stack([c[r + a:r + b] for r in whole])
    stretches = stretches - stretches[:, :1]
    median = np.median(stretches, axis=0)
    scatter = float(np.median(np.std(stretches - median, axis=1)))
    return float(np.ptp(median)) / scatter if scatter > 0 else math.inf


def _p_wave(nk, out: Measurements, c: np.ndarray, rp: np.ndarray, fs: float, qrs_on_from_r: float,
            beats: dict[str, np.ndarray], r_index: int, typical: np.ndarray, detected: np.ndarray,
            irregular: bool, premature_only: bool = False) -> None:
    """PR only when the P waves are consistent: the interval lead's DWT P onsets, beat by beat, found before
    most beats at a steady distance from R (``_p_onsets_per_beat``). The P onset itself is then global, from the
    median beats of ``beats`` (the leads of acceptable quality), near where the DWT onsets point
    (``delineate.p_onset``); the DWT onsets' median where that finds none. `irregular`: the dominant beats'
    own rhythm is irregular (``_dominant_rr_cv``), where P waves must be found before more of the beats
    at a steadier distance, and "not applicable" is said when they are not (as in atrial fibrillation).
    `premature_only`: that irregularity is a regular rhythm's with a few premature beats of the same shape
    (``_regular_but_premature``): P waves that pass the regular rhythm's rule and stand clearly in the median
    (``_p_locked``) are then held to the regular rhythm's rule (sinus rhythm with atrial premature beats, whose
    per-beat DWT onsets scatter more than the strict rule allows: data_101_6, 200 Hz, 35 ms); the PR keeps the
    irregular rhythm's warning. In a regular rhythm, P onsets that scatter more than ``PR_SPREAD_MAX_MS``
    give the PR when the median beat's P onset is found and its P wave stands ``P_LOCKED_REGULAR_MIN`` times
    the beats' scatter (``_p_locked``): small or notched sinus P waves the DWT places unevenly (MIT-BIH 118);
    P waves that march through the QRS (AV dissociation) blur in the median and keep "no single PR"."""
    def consistency(rel: list[float], searched: int) -> tuple[float, float]:
        share = len(rel) / max(1, searched)
        spread = (float(np.subtract(*np.percentile(rel, [75, 25]))) / fs * 1000.0) if len(rel) >= 3 else math.inf
        return share, spread

    rel, searched = _p_onsets_per_beat(nk, c, rp, fs, qrs_on_from_r, typical, detected)
    share, spread = consistency(rel, searched)
    # the strict rule of an irregular rhythm, unless that is a regular one's with premature beats and its P
    # waves pass the regular rule and stand in the median (the PR's irregular-rhythm warning stays)
    strict = irregular and not (premature_only and share >= P_FOUND_MIN_SHARE and spread <= PR_SPREAD_MAX_MS
                                and _p_locked(c, rp[typical], fs, float(np.median(rel)), qrs_on_from_r)
                                >= P_LOCKED_MIN)
    spread_max = PR_SPREAD_MAX_MS / 2 if strict else PR_SPREAD_MAX_MS
    if (share < P_FOUND_MIN_SHARE or spread > spread_max) and out.rr_irregular and not irregular:
        # sinus rhythm with ectopic beats: the P waves looked for again with every beat given to the DWT
        again = _p_onsets_per_beat(nk, c, rp, fs, qrs_on_from_r, typical, detected, every_beat=True)
        share_again, spread_again = consistency(*again)
        if share_again >= P_FOUND_MIN_SHARE and spread_again <= spread_max:
            (rel, searched), share, spread = again, share_again, spread_again
    out.af_like = bool(strict and (share < P_FOUND_MIN_SHARE or spread > PR_SPREAD_MAX_MS / 2))
    if out.af_like:
        out.p_waves = False
        out.notes["pr"] = ("no consistent P waves in an irregular rhythm (as in atrial fibrillation): "
                           "PR not applicable")
        return
    if share < P_FOUND_MIN_SHARE or len(rel) < MIN_BEATS:
        out.p_waves = False
        out.notes["pr"] = f"P waves found before only {share:.0%} of the beats (no P waves, or noise)"
        return
    hint = float(np.median(rel))
    found = delineate.p_onset(beats, r_index, fs, r_index + hint, r_index + qrs_on_from_r)
    # a regular rhythm's P onsets may scatter beat by beat on a small or notched P wave that keeps its distance
    # to the QRS: the median beat's P wave, where it stands clearly above the beats' scatter, gives the PR
    if spread > PR_SPREAD_MAX_MS and not (not irregular and found is not None and _p_locked(
            c, rp[typical], fs, hint, qrs_on_from_r) >= P_LOCKED_REGULAR_MIN):
        out.p_waves = False
        coarse = f"; at {fs:.0f} Hz the P waves found beat by beat are coarse" if fs < COARSE_FS else ""
        out.notes["pr"] = (f"the P wave's distance to the QRS varies by {spread:.0f} ms between beats: no "
                           f"single PR (AV dissociation, wandering pacemaker, or noise{coarse})")
        return
    out.p_waves = True
    p_on = hint if found is None else found - r_index
    out.fiducials_s["p_on"] = p_on / fs
    pr = (qrs_on_from_r - p_on) / fs * 1000.0
    out.pr_ms = _one_plausible(pr, "pr")
    if out.pr_ms is None:
        out.notes["pr"] = f"PR {pr:.0f} ms is outside {_plausible_range('pr')}: not reported"
    elif irregular:
        # a wave at a steady distance before each QRS of an irregular rhythm passes as a P wave, and in
        # atrial fibrillation it is not one (LUDB 101: PR 120 ms where the cardiologists mark no P wave);
        # no measure found here tells the two apart without losing real P waves (docs/measurements.md)
        out.warnings.append(f"irregular rhythm: PR measured on waves found before {len(rel)} of {searched} "
                            f"beats; check on the tracing that they are P waves (atrial fibrillation has none)")
    elif spread > PR_SPREAD_MAX_MS:
        # the median beat is the only evidence, and on a notched P wave its onset may be placed at either hump
        # (MIT-BIH 124: PR 88-201 ms on pages whose P wave is ~140 ms before the QRS)
        out.warnings.append(f"PR read from the median beat alone (the P waves found beat by beat vary by "
                            f"{spread:.0f} ms): check its P onset mark on the median beats")


def _frontal_axis(lead_i, lead_avf, on, off, fs) -> float | None:
    on, off = int(on), int(off)
    if off <= on:
        return None
    pre = slice(max(0, on - int(0.03 * fs)), on + 1)
    a_i = float(np.sum(lead_i[on:off + 1] - np.median(lead_i[pre]))) / fs
    a_f = float(np.sum(lead_avf[on:off + 1] - np.median(lead_avf[pre]))) / fs
    if abs(a_i) < 1e-6 and abs(a_f) < 1e-6:
        return None
    return math.degrees(math.atan2(a_f, a_i))


def _net(beat: np.ndarray, a: int, b: int, base_at: int, fs: float) -> float:
    base = float(np.median(beat[max(0, base_at - int(0.03 * fs)):base_at + 1]))
    return float(np.sum(beat[a:b + 1] - base)) / fs


def _limb_reversal(beats: dict, on: float, off: float, r: int, fs: float, p_on_s: float | None,
                   usable_i: bool = True, in_mv: bool = True) -> str | None:
    """An electrode-swap warning from the median beats, or None. The signs of lead I's P wave and QRS only
    where lead I is of acceptable quality (`usable_i`: a noisy I is no sign of reversed arms); the near-flat
    limb lead (a leg electrode on an arm) only in mV (`in_mv`): leads scaled one by one are all one size."""
    on, off = int(on), int(off)
    if "I" in beats and usable_i and p_on_s is not None:
        # the P wave decides: a negative QRS in I alone is common with pacing or right axis deviation
        # the P wave itself: from its onset for at most P_WAVE_MAX_S, ending 20 ms before the QRS (from a
        # global, early P onset the stretch up to the QRS also held the PR segment's drift: LUDB 17)
        p0 = max(0, r + int(p_on_s * fs))
        p1 = max(p0 + 1, min(p0 + int(P_WAVE_MAX_S * fs), on - int(0.02 * fs)))
        dev = beats["I"][p0:p1] - beats["I"][p0]
        p_peak = float(dev[int(np.argmax(np.abs(dev)))]) if len(dev) else 0.0     # the P wave's main deflection
        if _net(beats["I"], on, off, on, fs) < 0 and p_peak < -0.02:
            return ("P wave and QRS are negative in lead I: left and right arm electrodes may be swapped "
                    "(or dextrocardia); check the electrodes")
    amps = {ld: float(np.ptp(beats[ld][on:off + 1])) for ld in ("I", "II", "III") if ld in beats}
    if len(amps) == 3 and in_mv:
        for ld, amp in amps.items():
            others = [v for k, v in amps.items() if k != ld]
            if amp < 0.15 * min(others) and min(others) > 0.3:
                return (f"lead {ld} is almost flat while the other limb leads are not: a leg electrode may be "
                        f"swapped with an arm electrode; check the electrodes")
    return None


@dataclass
class HeartRateTrend:
    """Beat-to-beat heart rate of a whole recording, for an overview: beat times (s) and rate (bpm)."""
    lead: str | None            # the leads the beats were found on ("II, V1"); None when no beats were found
    beat_s: np.ndarray          # time of each beat (s from the start)
    bpm: np.ndarray             # 60 / RR ending at that beat; NaN where the RR is implausible
    note: str = ""

    def by_minute(self, minute_s: float = 60.0, least_beats: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(start of each minute (s), its median rate (bpm)) over the minutes holding at least `least_beats`
        plausible rates: a Holter summary's slowest and fastest minute, which one noisy beat does not set."""
        ok = np.isfinite(self.bpm)
        minutes = np.floor(self.beat_s[ok] / minute_s).astype(int)
        starts, rates = [], []
        for k in np.unique(minutes):
            here = self.bpm[ok][minutes == k]
            if len(here) >= least_beats:
                starts.append(k * minute_s)
                rates.append(float(np.median(here)))
        return np.asarray(starts, dtype=float), np.asarray(rates, dtype=float)

    @property
    def mean_bpm(self) -> float | None:
        """Beats per minute over the span the beats cover (what a Holter report calls the mean rate)."""
        if len(self.beat_s) < 2 or self.beat_s[-1] <= self.beat_s[0]:
            return None
        return 60.0 * (len(self.beat_s) - 1) / float(self.beat_s[-1] - self.beat_s[0])


TREND_CHUNK_S = 60.0               # the whole-record beat finder works on stretches this long ...
TREND_OVERLAP_S = 2.0              # ... each read with this much more on both sides (filter edges)


def heart_rate_trend(ecg: ECG, max_seconds: float = 24 * 3600.0) -> HeartRateTrend:
    """Beats of the whole recording found as ``measure`` finds them (``find_beats`` on all recorded leads,
    cleaned as ``measure`` cleans them; pacing spikes before a QRS left out), stretch by stretch, and the
    instantaneous heart rate at each beat. For an overview only: rates are not validated beat by beat.
    Each stretch of ``TREND_CHUNK_S`` is read with ``TREND_OVERLAP_S`` around it and keeps the beats inside
    it, so no beat is lost or doubled at the seams; the leads are scaled per stretch, so a lead that is
    noisy for a while does not decide elsewhere."""
    fs = float(ecg.fs)
    n = min(ecg.n_samples, int(max_seconds * fs))
    leads = {}
    for i, lead in enumerate(STANDARD_LEADS):
        if ecg.lead_mask[i]:
            x = np.nan_to_num(np.asarray(ecg.signal[i, :n], dtype=float))
            if np.ptp(x) >= 1e-6:
                leads[lead] = x
    if not leads or n < 2 * fs:
        return HeartRateTrend(None, np.zeros(0), np.zeros(0), "no lead with a signal")
    chunk, pad = int(TREND_CHUNK_S * fs), int(TREND_OVERLAP_S * fs)
    found = []
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        lo, hi = max(0, a - pad), min(n, b + pad)
        if hi - lo < 2 * fs:
            continue
        part = {ld: x[lo:hi] for ld, x in leads.items()}
        cleaned = {ld: clean_lead(x, fs) for ld, x in part.items()}
        beats = find_beats(cleaned, fs, raw=part) + lo
        found.append(beats[(beats >= a) & (beats < b)])
    rp = np.concatenate(found) if found else np.zeros(0, dtype=int)
    if len(rp) < MIN_BEATS + 1:
        return HeartRateTrend(None, np.zeros(0), np.zeros(0), "no beats found")
    rr = np.diff(rp) / fs
    bpm = 60.0 / rr
    bpm[~_plausible_mask(rr * 1000, "rr")] = np.nan
    return HeartRateTrend(", ".join(leads), rp[1:] / fs, bpm)
