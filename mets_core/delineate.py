"""Global QRS onset/offset, T end and P onset of a set of simultaneous median beats (one per lead).

The wave boundaries :mod:`mets_core.measure` reports its intervals from; public so that they can be checked
on constructed beats and used on one's own median beats. The functions work on median beats cut around R
(R at index ``r``), in mV, sampled at ``fs``; results are sample indices into the median beat (floats) or None.

- QRS: the *spatial velocity* of the leads, sqrt(sum over leads of (dV/dt)^2) of the lightly smoothed
  median beats. All leads are used at once, so the QRS starts where the first lead starts to move and ends
  where the last one stops (a global onset/offset, as a 12-lead machine defines it). Onset and offset are
  where the velocity falls below a share of its QRS peak (above the floor of the quiet PR or ST segment) and
  stays there for ``QRS_QUIET_MS``: the velocity also dips to ~0 at each apex inside the QRS (R, S), briefly.
  When the walk went through a P wave that runs into the QRS (a slow, low hump), the onset moves to the
  valley between the two. A velocity lobe after the offset at least half as tall as the QRS's peak is still
  QRS (a wide QRS with a broad apex: the walk had stopped in the apex's dip; QTDB sel102).
- QRS with 3 or more leads: the same walk on each lead's own velocity against its own peak, and the global
  onset/offset the 2nd earliest / 2nd latest of 12 (quantiles 0.1 / 0.9) of the leads' limits. In the
  spatial velocity the tall leads drown a low lead whose QRS ends later (a slow terminal S or R' in V1-V3):
  on LUDB's tuning half the offset was 20-40 ms early there and the QRS 8 ms narrow in the median against
  the trimmed global reference (itself the 2nd earliest / latest of the leads' marks); per lead, bias 0 and
  95th percentile 22 ms instead of 28. With 2 leads (QTDB) an order statistic of two noisy limits did worse
  than the spatial velocity (offset 95th percentile 30 ms against 18 on its tuning half): the spatial
  velocity's limits stand. A lead's onset threshold is at least half the fastest lead's
  (``QRS_LEAD_ONSET_OF_FASTEST``): on its own scale a low lead's P wave or noise started the QRS early and
  made narrow QRS complexes "wide" (PTB-XL: 15 % of the records labelled NORM, IRBBB, ILBBB or LAFB in folds
  1-8 measured >= 120 ms; 11 % with the rule; fold 9, scored once: 14.7 % -> 6.7 %).
- T end per lead: the T peak is the largest deflection from the PQ baseline in the ST-T window, of either
  sign (an inverted T is measured like an upright one); for a biphasic T whose later lobe is at least half
  as tall, the later lobe. T end is found by the trapezium-area method (Vazquez-Seisdedos et al. 2011, BMC
  Cardiovasc Disord 11:22; the "Zhang" method): from the steepest point of the T wave's return to baseline,
  the point that maximises the area of the trapezium it forms with a point ``T_TRAPEZIUM_MS`` further on.
  It needs no slope threshold and is less sensitive to a slow, low T tail than a threshold or the tangent.
  With ``T_TRAPEZIUM_MS`` = 110 ms the per-lead end is closer to that lead's own annotation on LUDB's
  tuning half (median +6 ms in the leads that count for the global end, below; +8 to +10 ms at 135 ms),
  and the shorter reach does not run into a following wave (QTDB sel43: 378 ms against 372 annotated; at
  135 ms, 466).
- Global T end: the upper quartile (``T_LEAD_QUANTILE``) of the T ends of the leads whose T wave is at least
  ``T_LEAD_SHARE`` as tall as the tallest (a near-flat T in one lead has no reliable end and would pull the
  global end). A global QT ends where the *last* lead's T wave ends, but the latest single lead is often an
  outlier (a low, slow T tail); the upper quartile is a late lead that one outlier does not decide (with 12
  leads about the 9th of 12; with 2 leads three quarters of the way from the earlier to the later end).
  No T end at all when even the tallest T wave is below ``MIN_TALLEST_T_MV`` (flat T waves: "not
  measurable" rather than a guess), and none in a lead whose T peak sits at the end of its search window
  (no peak found there).
- P onset (``p_onset``), given a hint (one lead's P onset: measure() passes the median of the interval
  lead's DWT P onsets) and the global QRS onset: per lead, the QRS's kind of walk on the lead's own slope
  (smoothed over 16 ms), back from its P upstroke (the first stretch at least ``P_FIRST_LOBE_SHARE`` of the
  fastest, between 20 ms before and ``P_UPSTROKE_MS`` after the hint) until the slope stays below
  ``P_ONSET_FRACTION`` of the upstroke's (above the floor before the P wave) for ``P_QUIET_MS``, at most
  ``P_SEARCH_BEFORE_MS`` before the hint. The global onset is the ``P_LEAD_QUANTILE`` quantile (2nd
  earliest of 12) of the onsets of the leads whose upstroke is at least ``P_LEAD_SHARE`` as steep as the
  steepest: the trimmed global reference's order statistic again. The DWT onset of the interval lead alone
  was 7-8 ms late in the median against that reference (LUDB tuning half). Parameters by cross-validation
  by record on the tuning halves (benchmarks/learned_delineation.py cv-p-onset); the onset can move at most
  ``P_SEARCH_BEFORE_MS`` before and ``P_UPSTROKE_MS`` after the hint, so a far-off hint stays far off
  (LUDB 100: the hint 72 ms late, PR 113 ms against 147).

Parameters were chosen on the tuning half of the validation sets (even LUDB records, every other QTDB
record); benchmarks/measure_validation.py prints both halves.
"""
from __future__ import annotations

import math

import numpy as np

QRS_ONSET_FRACTION = 0.03          # QRS onset: spatial velocity above the PR floor, as a share of its peak
QRS_OFFSET_FRACTION = 0.10         # QRS offset: the same above the ST floor
QRS_QUIET_MS = 12.0                # ... below that for at least this long (dips at the R and S apices are shorter)
QRS_P_VALLEY = 0.08                # a P wave run into: a valley below this share of the peak ...
QRS_P_HUMP = 0.15                  # ... with no hump taller than this share between it and the onset found
QRS_LATER_LOBE = 0.5               # a velocity lobe this share of the peak after the offset is still QRS
QRS_PER_LEAD_MIN_LEADS = 3         # with this many leads, QRS limits from the leads' own limits (_per_lead_limits)
QRS_LEAD_ONSET_FRACTION = 0.03     # ... a lead's onset: its velocity above its PR floor, as a share of its peak
QRS_LEAD_ONSET_OF_FASTEST = 0.5    # ... but its threshold at least this share of the fastest lead's (a low lead)
QRS_LEAD_OFFSET_FRACTION = 0.10    # ... a lead's offset: the same above its ST floor
QRS_LEAD_ONSET_QUANTILE = 0.1      # ... the global onset: this quantile of the leads' onsets (2nd of 12)
QRS_LEAD_OFFSET_QUANTILE = 0.9     # ... the global offset: this quantile of their offsets (11th of 12)
QRS_SEARCH_S = (0.15, 0.25)        # QRS limits searched this long before and after R (s); see qrs_limits
QRS_STEEP_SHARE = 0.25             # without a quiet stretch: the quietest point beyond this share of the peak
MIN_T_AMPLITUDE_MV = 0.05          # a lead's T wave smaller than this has no measurable end
T_SECOND_LOBE_SHARE = 0.5          # a biphasic T's later lobe ends the T wave when at least this tall
T_PEAK_MAX_S = 0.45                # T peak searched up to this long after R ...
T_PEAK_MAX_RR = 0.55               # ... and at most this share of the RR interval (not the next P wave)
T_TRAPEZIUM_MS = 110.0             # trapezium method: reference point this far after the steepest point
MIN_TALLEST_T_MV = 0.08            # no global T end when even the tallest T wave is lower than this
T_LEAD_SHARE = 0.5                 # leads whose T wave is at least this share of the tallest one count ...
T_LEAD_QUANTILE = 0.75             # ... and the global T end is this quantile of their T ends (a late lead)
P_ONSET_FRACTION = 0.3            # a lead's P onset: its speed below this share of its P upstroke's ...
P_QUIET_MS = 8.0                   # ... for this long
P_LEAD_SHARE = 0.3                 # leads whose P upstroke is at least this share of the steepest one count ...
P_LEAD_QUANTILE = 0.1              # ... and the global P onset is this quantile of their onsets (2nd of 12)
P_SEARCH_BEFORE_MS = 60.0          # a lead's P onset at most this long before the hint (the DWT's onset) ...
P_UPSTROKE_MS = 60.0               # ... and its P upstroke searched up to this long after the hint
P_FIRST_LOBE_SHARE = 0.5           # the P upstroke: the first stretch with at least this share of the top speed
DELINEATION_FS = 500.0             # median beats sampled slower are upsampled to at least this rate first


def delineate(beats: dict[str, np.ndarray], r: int, fs: float, rr: float
              ) -> tuple[float, float, float | None] | None:
    """(QRS onset, QRS offset, T end or None) in samples of the median beats, or None when the QRS is not
    found. ``rr``: the RR interval in samples.

    Beats sampled below ``DELINEATION_FS`` (PTB-XL's 100 Hz, QTDB's 250 Hz) are first upsampled by an
    integer factor (polyphase, no new frequency content): at 100 Hz a central-difference slope spans 20 ms
    and widened the QRS by 10-20 ms (LUDB's median beats decimated to 100 Hz: 23 of 195 QRS called >= 120
    ms against < 110 ms annotated; with upsampling 1 of 195, as at 500 Hz)."""
    beats, k = _upsampled(beats, fs)
    limits = qrs_limits(beats, r * k, fs * k)
    if limits is None:
        return None
    end = t_end(beats, r * k, limits[0], limits[1], rr * k, fs * k)
    return limits[0] / k, limits[1] / k, (end / k if end is not None else None)


def upsampled_qrs_limits(beats: dict[str, np.ndarray], r: int, fs: float) -> tuple[float, float] | None:
    """``qrs_limits`` on beats upsampled first, as ``delineate`` does (samples at ``fs``): for one beat's
    QRS on the tracing too (measure() finds where the beat after a median beat's one begins)."""
    beats, k = _upsampled(beats, fs)
    limits = qrs_limits(beats, r * k, fs * k)
    return None if limits is None else (limits[0] / k, limits[1] / k)


def _upsampled(beats: dict[str, np.ndarray], fs: float) -> tuple[dict[str, np.ndarray], int]:
    """(the beats at ``fs`` x k >= ``DELINEATION_FS``, k): upsampled by an integer factor (polyphase), k = 1
    when already fast enough."""
    from scipy.signal import resample_poly

    k = max(1, int(math.ceil(DELINEATION_FS / fs - 1e-9)))
    if k > 1:
        beats = {ld: resample_poly(np.asarray(v, float), k, 1) for ld, v in beats.items()}
    return beats, k


def _of_leads_that_count(found: list[tuple[float, float]], share: float, quantile: float) -> float:
    """The `quantile` of the leads' boundaries among the leads whose size is at least `share` of the
    largest; `found`: (boundary, size) per lead, not empty."""
    largest = max(size for _, size in found)
    return float(np.quantile([at for at, size in found if size >= share * largest], quantile))


def _smooth(x: np.ndarray, fs: float, ms: float) -> np.ndarray:
    k = max(1, int(round(ms / 1000.0 * fs)))
    if k <= 1:
        return x
    pad = np.pad(x, (k, k), mode="edge")
    return np.convolve(pad, np.ones(k) / k, mode="same")[k:-k]


def spatial_velocity(beats: dict[str, np.ndarray], fs: float) -> np.ndarray:
    """sqrt(sum over leads of (dV/dt)^2), mV/s, of the median beats smoothed over 8 ms."""
    stack = np.stack([np.gradient(_smooth(np.asarray(v, float), fs, 8.0)) * fs for v in beats.values()])
    return np.sqrt(np.sum(stack ** 2, axis=0))


def _quietest(seg: np.ndarray, w: int) -> float:
    if len(seg) < w:
        return 0.0
    return float(np.min(np.convolve(seg, np.ones(w) / w, mode="valid")))


def qrs_limits(beats: dict[str, np.ndarray], r: int, fs: float) -> tuple[float, float] | None:
    """(onset, offset) of the QRS over all leads, in samples; None when the QRS is not found within
    ``QRS_SEARCH_S`` of R, 150 ms before and 250 ms after it (a paced or bundle-branch-block QRS can end
    200 ms after the interval lead's R when that R is early in it: LUDB 45 and 74, paced, had no QRS with
    180 ms; now 218 and 202 ms against 190 and 162 annotated)."""
    if not beats:
        return None
    sv = spatial_velocity(beats, fs)
    walked = _walked_limits(sv, r, fs, QRS_ONSET_FRACTION, QRS_OFFSET_FRACTION, later_lobe=True)
    if walked is None:
        return None
    onset, offset, peak_at, peak = walked
    # no quiet stretch (no isoelectric PR or ST segment, as in synthetic ECGs): the quietest point outside
    # the QRS's steep part instead
    a, b = qrs_search_span(r, len(sv), fs)
    onset = _quietest_outside(sv, peak_at, -1, a, peak) if onset is None else onset
    offset = _quietest_outside(sv, peak_at, +1, b - 1, peak) if offset is None else offset
    if onset is None or offset is None:
        return None
    if len(beats) >= QRS_PER_LEAD_MIN_LEADS:
        onset, offset = _per_lead_limits(beats, r, fs, onset, offset)
    onset = _after_p_wave(sv, onset, peak_at, peak, fs)
    return float(onset), float(offset)


def qrs_search_span(r: int, n: int, fs: float) -> tuple[int, int]:
    """[a, b): the samples of a median beat of `n` samples, R at `r`, where its QRS limits are looked for
    (``QRS_SEARCH_S`` before and after R, within the beat)."""
    return max(0, r - int(QRS_SEARCH_S[0] * fs)), min(n, r + int(QRS_SEARCH_S[1] * fs))


def _walked_limits(sv: np.ndarray, r: int, fs: float, on_share: float, off_share: float, later_lobe: bool
                   ) -> tuple[int | None, int | None, int, float] | None:
    """(onset or None, offset or None, index of the velocity peak, the peak) of one velocity curve: from
    its peak within 50 ms of R, the walk outwards until it stays below `on_share` / `off_share` of the peak
    above the PR / ST floor (None: no quiet stretch within ``qrs_search_span``). None when the
    curve has no peak."""
    n = len(sv)
    a, b = qrs_search_span(r, n, fs)
    peak_at = _peak_near_r(sv, r, fs)
    peak = float(sv[peak_at])
    if peak <= 0:
        return None
    # floors: the quietest 20 ms of the PR and of the ST segment (P and T waves move slower than the QRS)
    w = max(2, int(0.02 * fs))
    pr_floor = _quietest(sv[max(0, r - int(0.3 * fs)):max(0, r - int(0.06 * fs))], w)
    st_floor = _quietest(sv[min(n, r + int(0.08 * fs)):min(n, r + int(0.3 * fs))], w)
    thr_off = st_floor + off_share * (peak - st_floor)
    quiet = max(2, int(round(QRS_QUIET_MS / 1000.0 * fs)))
    onset = _walk(sv, peak_at, -1, a, pr_floor + on_share * (peak - pr_floor), quiet)
    offset = _walk(sv, peak_at, +1, b - 1, thr_off, quiet)
    # a wide QRS with a broad apex (QTDB sel102, 216 ms): the walk stops in the dip at the apex and a second
    # velocity lobe as fast as the first follows; a T wave's velocity never comes near the QRS's (at most
    # 0.3 of its peak after the offset in the tuning windows), so such a lobe is still QRS: walk on from it
    while later_lobe and offset is not None and offset < b - 1 and sv[offset:b].max() >= QRS_LATER_LOBE * peak:
        offset = _walk(sv, offset + int(np.argmax(sv[offset:b])), +1, b - 1, thr_off, quiet)
    return onset, offset, peak_at, peak


def _per_lead_limits(beats: dict[str, np.ndarray], r: int, fs: float, onset: int, offset: int) -> tuple[int, int]:
    """Onset and offset as order statistics of the leads' own QRS limits (each lead's velocity against its
    own peak, the same walk as the spatial velocity's). In the spatial velocity the tall leads drown a low
    lead whose QRS starts earlier or ends later (a slow terminal S or R' in V1-V3), and a global reference
    (the second earliest / second latest of the leads' marks) is set by exactly such a lead. The quantiles
    are that order statistic with 12 leads (the 2nd of 12 from either end), so one lead's outlying limit
    does not decide; the spatial velocity's limit stands in for a lead whose walk finds no quiet stretch.
    (The later-lobe rule is the spatial velocity's only: a lead's own S can outgrow its R within 50 ms.)"""
    found = _lead_limits(beats, r, fs).values()
    if not found:
        return onset, offset
    ons = [onset if on is None else on for on, _ in found]
    offs = [offset if off is None else off for _, off in found]
    return (int(round(np.quantile(ons, QRS_LEAD_ONSET_QUANTILE))),
            int(round(np.quantile(offs, QRS_LEAD_OFFSET_QUANTILE))))


def _lead_limits(beats: dict[str, np.ndarray], r: int, fs: float) -> dict[str, tuple[int | None, int | None]]:
    """Each lead's own QRS (onset, offset) in samples (None: no quiet stretch), for the leads whose velocity
    has a peak near R.

    A lead's onset threshold is ``QRS_LEAD_ONSET_FRACTION`` of its own velocity peak, but at least
    ``QRS_LEAD_ONSET_OF_FASTEST`` of the fastest lead's threshold (3 % of its own peak and 1.5 % of the
    fastest lead's): a lead's QRS has started when it moves on a scale common to the leads, as the spatial
    velocity judges. 3 % of a low lead's own small peak lies in its P wave or noise, and its onset ran into
    them: PTB-XL 6002 (NORM, incomplete RBBB), III and aVL from -72 and -54 ms while most leads start near
    -35 ms, QRS 126 ms; on PTB-XL folds 1-8, 15 % of the records labelled NORM, IRBBB, ILBBB or LAFB were
    measured >= 120 ms, mostly by such early onsets and late offsets (docs/measurements.md, "Against
    PTB-XL's labels"). The offsets keep each lead's own scale: the slow terminal part of a bundle-branch
    block lies in low leads (V1), and an offset analogue left more of them under 120 ms."""
    velocity = {lead: spatial_velocity({"lead": v}, fs) for lead, v in beats.items()}
    peaks = {lead: float(sv[_peak_near_r(sv, r, fs)]) for lead, sv in velocity.items()}
    fastest = max(peaks.values(), default=0.0)
    out = {}
    for lead, sv in velocity.items():
        scale = max(1.0, QRS_LEAD_ONSET_OF_FASTEST * fastest / peaks[lead]) if peaks[lead] > 0 else 1.0
        walked = _walked_limits(sv, r, fs, QRS_LEAD_ONSET_FRACTION * scale, QRS_LEAD_OFFSET_FRACTION,
                                later_lobe=False)
        if walked is not None:
            out[lead] = (walked[0], walked[1])
    return out


def _peak_near_r(sv: np.ndarray, r: int, fs: float) -> int:
    """Index of the velocity's largest value within 50 ms of R (the QRS's peak)."""
    core = slice(max(0, r - int(0.05 * fs)), min(len(sv), r + int(0.05 * fs)))
    return core.start + int(np.argmax(sv[core]))


def lead_qrs_limits(beats: dict[str, np.ndarray], r: int, fs: float
                    ) -> dict[str, tuple[float | None, float | None]]:
    """Each lead's own QRS (onset, offset), samples of the median beats (None: no quiet stretch): what the
    per-lead limits of ``qrs_limits`` take their order statistics of (with 3 or more leads), to see which
    leads set the global limits. Upsampled first, as in ``delineate``."""
    beats, k = _upsampled(beats, fs)
    return {lead: tuple(None if x is None else x / k for x in limits)
            for lead, limits in _lead_limits(beats, r * k, fs * k).items()}


def _quietest_outside(sv: np.ndarray, start: int, step: int, stop: int, peak: float) -> int | None:
    """The lowest sv between the outermost point (from start towards stop) where sv is still above a
    quarter of its peak and stop; None when that lowest point is the search window's edge."""
    idx = np.arange(start, stop + step, step)
    steep = np.flatnonzero(sv[idx] >= QRS_STEEP_SHARE * peak)
    rest = idx[steep[-1]:] if len(steep) else idx
    best = int(rest[int(np.argmin(sv[rest]))])
    return None if best == stop else best


def _after_p_wave(sv: np.ndarray, onset: int, peak_at: int, peak: float, fs: float) -> int:
    """Move the onset to the end of the PR segment when the walk went through a P wave that runs into the
    QRS: the rightmost valley of sv below ``QRS_P_VALLEY`` x peak, with nothing taller than ``QRS_P_HUMP``
    x peak between it and the onset found (a P wave is slow; a q wave or the QRS's first lobe is not)."""
    half = max(1, int(round(0.01 * fs)))
    best = onset
    for v in range(onset + half, peak_at - half):
        if sv[v] > QRS_P_VALLEY * peak or sv[v] > sv[v - half:v + half + 1].min():
            continue
        if sv[onset:v].max() >= QRS_P_HUMP * peak:
            break
        best = v
    return best


def _walk(sv: np.ndarray, start: int, step: int, stop: int, threshold: float, quiet: int) -> int | None:
    """From start, step outwards until sv has stayed <= threshold for `quiet` samples; the first quiet
    sample (the QRS limit), or None when the walk reaches `stop` first."""
    i, run = start, 0
    while i != stop and run < quiet:
        i += step
        run = run + 1 if sv[i] <= threshold else 0
    if run < quiet:
        return None
    return i - step * (run - 1)


def t_end_lead(beat: np.ndarray, r: int, on: float, off: float, rr: float, fs: float) -> tuple[float, float]:
    """(T end in samples, T amplitude in mV) of one lead's median beat; T end NaN when not measurable.
    ``on``/``off``: global QRS limits (samples), ``rr``: RR interval (samples)."""
    x = _smooth(np.asarray(beat, float), fs, 20.0)
    on_i, off_i = int(on), int(off)
    baseline = float(np.median(beat[max(0, on_i - int(0.03 * fs)):on_i + 1]))
    ta = off_i + int(0.04 * fs)
    tb = min(len(x), r + int(min(T_PEAK_MAX_S * fs, T_PEAK_MAX_RR * rr)))
    if tb - ta <= int(0.06 * fs):
        return math.nan, 0.0
    dev = x[ta:tb] - baseline
    hi, lo = int(np.argmax(dev)), int(np.argmin(dev))
    main = hi if dev[hi] >= -dev[lo] else lo
    other = lo if main == hi else hi
    if other > main and abs(dev[other]) >= T_SECOND_LOBE_SHARE * abs(dev[main]):
        main = other
    amp = abs(float(dev[main]))
    if amp < MIN_T_AMPLITUDE_MV:
        return math.nan, amp
    if main >= len(dev) - max(1, int(0.01 * fs)):
        return math.nan, 0.0                  # still rising at the window's end: no T peak found
    sign = 1.0 if dev[main] > 0 else -1.0
    tp = ta + main
    end = min(len(x), tp + int(0.2 * fs), r + int(0.9 * rr))
    if end - tp < 4:
        return math.nan, amp
    y = (x[tp:end] - baseline) * sign          # upright, returning towards 0 after the peak
    k = int(np.argmin(np.gradient(y)))         # steepest return
    if np.gradient(y)[k] >= 0:
        return math.nan, amp
    xr = min(len(y) - 1, k + int(T_TRAPEZIUM_MS / 1000.0 * fs))
    xi = np.arange(k, xr + 1)
    area = 0.5 * (y[k] - y[xi]) * (2 * xr - xi - k)
    return float(tp + xi[int(np.argmax(area))]), amp


def t_end(beats: dict[str, np.ndarray], r: int, on: float, off: float, rr: float, fs: float) -> float | None:
    """Global T end (samples): the upper quartile of the T ends of the leads with a tall enough T wave;
    None when no lead's T end is measurable."""
    found = [t_end_lead(v, r, on, off, rr, fs) for v in beats.values()]
    found = [(e, amp) for e, amp in found if math.isfinite(e)]
    if not found:
        return None
    if max(amp for _, amp in found) < MIN_TALLEST_T_MV:
        return None
    return _of_leads_that_count(found, T_LEAD_SHARE, T_LEAD_QUANTILE)


def p_onset(beats: dict[str, np.ndarray], r: int, fs: float, hint: float, qrs_on: float) -> float | None:
    """Global P onset (samples of the median beats) near ``hint`` (one lead's P onset, where the P wave is),
    before the global QRS onset ``qrs_on``: the ``P_LEAD_QUANTILE`` quantile of the leads' own P onsets
    (``p_onset_lead``) among the leads whose P upstroke is at least ``P_LEAD_SHARE`` as steep as the steepest;
    None when no lead has one. Beats sampled below ``DELINEATION_FS`` are upsampled first, as in
    ``delineate``."""
    beats, k = _upsampled(beats, fs)
    found = [p_onset_lead(np.asarray(v, float), hint * k, qrs_on * k, fs * k) for v in beats.values()]
    found = [(on, amp) for on, amp in found if on is not None]
    if not found:
        return None
    return _of_leads_that_count(found, P_LEAD_SHARE, P_LEAD_QUANTILE) / k


def p_onset_lead(beat: np.ndarray, hint: float, qrs_on: float, fs: float) -> tuple[float | None, float]:
    """(P onset in samples or None, the P wave's steepest slope in mV/s) of one lead's median beat, by the
    QRS's kind of walk on the lead's own velocity (its slope, smoothed over 16 ms: a P wave is slow): from
    the P wave's upstroke (the first stretch where the speed reaches ``P_FIRST_LOBE_SHARE`` of its largest
    value between 20 ms before the hint and ``P_UPSTROKE_MS`` after it, before the QRS; a walk from a later,
    steeper part, as in a notched P, would stop in the notch or at the apex), back until the speed stays below ``P_ONSET_FRACTION`` of the
    upstroke's, above the floor (the quietest 20 ms of the ``P_SEARCH_BEFORE_MS`` before the hint), for
    ``P_QUIET_MS``; None when it does not within that stretch."""
    speed = np.abs(np.gradient(_smooth(beat, fs, 16.0))) * fs
    h, q = int(round(hint)), int(round(qrs_on))
    lo = max(0, h - int(P_SEARCH_BEFORE_MS / 1000.0 * fs))
    a, b = max(lo + 1, h - int(0.02 * fs)), min(q - int(0.02 * fs), h + int(P_UPSTROKE_MS / 1000.0 * fs))
    w = max(2, int(0.02 * fs))
    if b - a < 2 or h - lo < w:
        return None, 0.0
    fast = np.flatnonzero(speed[a:b] >= P_FIRST_LOBE_SHARE * speed[a:b].max())
    end = fast[0]
    while end + 1 < b - a and speed[a + end + 1] >= speed[a + end]:
        end += 1                           # up to the top of that first fast stretch
    top = a + end
    peak = float(speed[top])
    floor = _quietest(speed[lo:h], w)
    if peak <= floor:
        return None, 0.0
    quiet = max(2, int(round(P_QUIET_MS / 1000.0 * fs)))
    onset = _walk(speed, top, -1, lo, floor + P_ONSET_FRACTION * (peak - floor), quiet)
    return (None if onset is None else float(onset)), peak
