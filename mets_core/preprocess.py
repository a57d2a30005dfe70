"""Preprocessing: one ECG in, one model-ready ECG out (resample -> band-pass -> normalise), then windows.

Every step takes and returns an ``ECG`` so the record type flows unchanged; only `windows` and
`to_model_input` produce arrays. Absent leads stay rows of zeros with ``lead_mask`` False at every step:
they are masked, never invented.

Order of operations in `preprocess`, and why:
  1. fill short NaN gaps by linear interpolation (a lead that is all NaN is marked absent);
  2. resample to ``cfg.fs`` first (scipy's polyphase resampler has its own anti-alias filter), so the
     band-pass then runs on 10x fewer samples for a 500 Hz record;
  3. zero-phase Butterworth band-pass (baseline wander below ``highpass_hz``, noise above ``lowpass_hz``)
     and an optional mains notch;
  4. per-lead normalisation ("zscore", then clip at +-``clip`` standard deviations; or "none": keep mV and
     clip at +-``clip`` mV) so a single artefact spike cannot dominate the input.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from fractions import Fraction

import numpy as np

from .checkpoint import settings_from_dict
from .ecg import ECG, ECGReadError
from .readers.limits import MAX_FS, MIN_FS  # one set of rate limits: the readers' (the model rate is held to them)


@dataclass(frozen=True)
class PreprocessConfig:
    fs: float = 100.0             # model rate, Hz
    window_s: float = 10.0        # model window, s
    stride_s: float = 5.0         # sliding-window stride for records longer than the window, s
    highpass_hz: float = 0.5      # baseline wander cut-off; 0 disables
    lowpass_hz: float = 40.0      # noise cut-off; clamped below 0.9 x Nyquist of `fs`; 0 disables
    notch_hz: float | None = None  # mains notch (50 or 60); None disables
    normalise: str = "zscore"     # "zscore" per lead | "none" (keep mV)
    clip: float = 10.0            # clip at +-clip (standard deviations for zscore, mV for none)
    max_windows: int = 720        # a longer record is covered by this many evenly spaced windows (1 h at 5 s)

    def __post_init__(self) -> None:
        if self.normalise not in ("zscore", "none"):
            raise ValueError(f"normalise must be 'zscore' or 'none', got {self.normalise!r}")
        if not (MIN_FS <= self.fs <= MAX_FS):
            raise ValueError(f"model rate fs must be within {MIN_FS:g}..{MAX_FS:g} Hz, got {self.fs!r}")
        if self.window_s <= 0 or self.stride_s <= 0:
            raise ValueError("window_s and stride_s must be positive")
        if self.max_windows < 1:
            raise ValueError("max_windows must be at least 1")
        # clip 0 would make every ECG the same zeros; a negative cut-off or notch filters nothing meaningful
        if self.clip <= 0 or self.highpass_hz < 0 or self.lowpass_hz < 0 or (self.notch_hz or 0) < 0:
            raise ValueError(f"clip must be positive and highpass_hz, lowpass_hz and notch_hz not negative, got "
                             f"clip {self.clip!r}, highpass_hz {self.highpass_hz!r}, lowpass_hz {self.lowpass_hz!r}, "
                             f"notch_hz {self.notch_hz!r}")

    @property
    def n_samples(self) -> int:
        """Samples per model window."""
        return int(round(self.fs * self.window_s))

    @property
    def stride_samples(self) -> int:
        return max(1, int(round(self.fs * self.stride_s)))

    def words(self) -> str:
        """What the ECG encoder reads, in words (`mets info`, the dashboard's model card): "10 s windows at 100 Hz
        (stride 5 s), band-pass 0.5-40 Hz, z-scored per lead (absolute amplitude is not seen)"."""
        band = (f"band-pass {self.highpass_hz:g}-{self.lowpass_hz:g} Hz" if self.highpass_hz and self.lowpass_hz
                else f"high-pass {self.highpass_hz:g} Hz" if self.highpass_hz
                else f"low-pass {self.lowpass_hz:g} Hz" if self.lowpass_hz else "not filtered")
        notch = f", notch {self.notch_hz:g} Hz" if self.notch_hz else ""
        scaled = ("z-scored per lead (absolute amplitude is not seen)" if self.normalise == "zscore"
                  else f"in mV, clipped at ±{self.clip:g} mV")
        return f"{self.window_s:g} s windows at {self.fs:g} Hz (stride {self.stride_s:g} s), {band}{notch}, {scaled}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "PreprocessConfig":
        return settings_from_dict(cls, d, "preprocess")


# ---------------------------------------------------------------------------------------------- steps

def fill_gaps(ecg: ECG) -> ECG:
    """NaN/inf samples by the readers' one rule (`readers.channels.fill_missing`): short gaps interpolated
    linearly, a lead missing more than the limit becomes absent. After `read_ecg` there is nothing to do; this
    is for ECGs built by hand."""
    from .readers.channels import fill_missing

    if np.isfinite(ecg.signal).all():
        return ecg
    x, usable, _ = fill_missing(ecg.signal)
    mask = ecg.lead_mask & usable
    if not mask.any():
        raise ECGReadError("every lead of the ECG is missing (NaN/infinite) too often: there is no signal to read")
    x = np.where(mask[:, None], x, 0.0).astype(np.float32)
    return replace(ecg, signal=x, lead_mask=mask, metadata=dict(ecg.metadata))


def model_lead_mask(ecg: ECG) -> np.ndarray:
    """The leads the model sees of `ecg` (bool (12,)): its `lead_mask` less any lead `fill_gaps` finds missing
    (NaN/inf) too often. What an ECG is judged by as a kind of lead set (12-lead or fewer, pipeline.METS.reference_for)
    must be what it was embedded with: a hand-built 12-lead ECG whose V6 is all NaN is embedded as 11 leads."""
    if all(np.isfinite(ecg.signal[i]).all() for i in np.flatnonzero(ecg.lead_mask)):   # a row at a time, no copy
        return ecg.lead_mask.copy()
    return fill_gaps(ecg).lead_mask.copy()


def resample(ecg: ECG, fs: float) -> ECG:
    """Resample to `fs` Hz with a polyphase filter (rational approximation of fs / ecg.fs).

    Accepts source rates from 50 Hz to 10 kHz. The output rate is `fs` to within 0.1%.
    """
    if not (MIN_FS <= ecg.fs <= MAX_FS):
        raise ECGReadError(
            f"sampling rate {ecg.fs:g} Hz is outside the accepted {MIN_FS:g} Hz .. {MAX_FS:g} Hz")
    if abs(ecg.fs - fs) < 1e-9:
        return ecg
    from scipy import signal as sps    # here, not at the top: importing scipy.signal takes ~1 s, and a
                                       # process that only encodes prepared windows never needs it
    ratio = Fraction(fs / ecg.fs).limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    y = _on_recorded_leads(ecg, lambda x: sps.resample_poly(x, up, down, axis=1))
    if y.shape[1] < 1:  # a record of a handful of samples at 10 kHz
        raise ECGReadError(
            f"the recording is too short ({ecg.n_samples} samples at {ecg.fs:g} Hz) to resample to {fs:g} Hz")
    return replace(ecg, signal=y, fs=float(fs), metadata=dict(ecg.metadata))


def _on_recorded_leads(ecg: ECG, step) -> np.ndarray:
    """`step` ((n_recorded, n) -> (n_recorded, m), each row on its own) run on the recorded leads only, the
    absent ones zero rows of the result: a 2-lead Holter is not resampled and filtered twelve times over (a
    day of it would take ~5 GB on the way), and what a step makes of a zero row never reaches the model."""
    y = np.asarray(step(ecg.signal[ecg.lead_mask]), dtype=np.float32)
    out = np.zeros((ecg.signal.shape[0], y.shape[1]), dtype=np.float32)
    out[ecg.lead_mask] = y
    return out


def _bandpass_sos(fs: float, highpass_hz: float, lowpass_hz: float) -> np.ndarray | None:
    from scipy import signal as sps
    nyq = fs / 2.0
    lo = highpass_hz if highpass_hz and highpass_hz > 0 else None
    hi = min(lowpass_hz, 0.9 * nyq) if lowpass_hz and lowpass_hz > 0 else None
    if lo is not None and hi is not None and lo < hi:
        return sps.butter(2, [lo, hi], btype="bandpass", fs=fs, output="sos")
    if lo is not None:
        return sps.butter(2, lo, btype="highpass", fs=fs, output="sos")
    if hi is not None:
        return sps.butter(2, hi, btype="lowpass", fs=fs, output="sos")
    return None


def filter_ecg(ecg: ECG, highpass_hz: float = 0.5, lowpass_hz: float = 40.0,
               notch_hz: float | None = None) -> ECG:
    """Zero-phase Butterworth band-pass (+ optional notch). Skipped when the record is too short to filter."""
    from scipy import signal as sps
    x = ecg.signal
    sos = _bandpass_sos(ecg.fs, highpass_hz, lowpass_hz)
    if notch_hz and 0 < notch_hz < 0.95 * ecg.fs / 2:
        b, a = sps.iirnotch(notch_hz, Q=30.0, fs=ecg.fs)
        notch = sps.tf2sos(b, a)
        sos = notch if sos is None else np.vstack([sos, notch])
    if sos is None:
        return ecg
    padlen = 3 * (2 * len(sos) + 1)   # sosfiltfilt's default edge padding
    if x.shape[1] <= padlen:
        return ecg                     # too short to filter meaningfully: leave as recorded
    y = _on_recorded_leads(ecg, lambda rows: sps.sosfiltfilt(sos, rows, axis=1))
    return replace(ecg, signal=y, metadata=dict(ecg.metadata))


def normalise(ecg: ECG, mode: str = "zscore", clip: float = 10.0) -> ECG:
    """Per-lead z-score (a flat lead becomes zeros) or 'none' (mV kept); then clip at +-clip."""
    if mode not in ("zscore", "none"):
        raise ValueError(f"normalise mode must be 'zscore' or 'none', got {mode!r}")

    def scaled(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32, copy=True)
        if mode == "zscore":
            mean = x.mean(axis=1, keepdims=True)
            std = x.std(axis=1, keepdims=True)
            x = np.where(std > 1e-6, (x - mean) / np.maximum(std, 1e-6), 0.0).astype(np.float32)
        return np.clip(x, -clip, clip, out=x)
    return replace(ecg, signal=_on_recorded_leads(ecg, scaled), metadata=dict(ecg.metadata))


def preprocess(ecg: ECG, cfg: PreprocessConfig | None = None) -> ECG:
    """The whole chain: fill NaN gaps, resample to cfg.fs, band-pass, normalise. Returns an ECG at cfg.fs."""
    cfg = cfg or PreprocessConfig()
    if not isinstance(ecg, ECG):
        raise TypeError(f"preprocess expects an mets_core.ECG, got {type(ecg).__name__}")
    out = fill_gaps(ecg)
    out = resample(out, cfg.fs)
    out = filter_ecg(out, cfg.highpass_hz, cfg.lowpass_hz, cfg.notch_hz)
    out = normalise(out, cfg.normalise, cfg.clip)
    out.metadata["preprocessed"] = "1"
    return out


# -------------------------------------------------------------------------------------------- windows

def window_layout(n: int, cfg: PreprocessConfig) -> list[tuple[int, int, int]]:
    """Where each model window comes from: a list of (src_start, src_end, dst_start) in samples.

    - n <= T (short record): one window, the record centred in it, zeros either side (zeros are what
      the encoder also sees for absent leads, and centring keeps both edges' padding short).
    - n > T: windows of T every `stride` samples; the last window is aligned to the end of the record so
      the tail is covered. More than `cfg.max_windows` windows are thinned to that many evenly spaced ones.
    """
    T, S = cfg.n_samples, cfg.stride_samples
    if n <= T:
        return [(0, n, (T - n) // 2)]
    starts = list(range(0, n - T + 1, S))
    if starts[-1] != n - T:
        starts.append(n - T)
    if len(starts) > cfg.max_windows:
        pick = np.linspace(0, len(starts) - 1, cfg.max_windows).round().astype(int)
        starts = [starts[i] for i in pick]
    return [(s, s + T, 0) for s in starts]


def windows(ecg: ECG, cfg: PreprocessConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A preprocessed ECG (at cfg.fs) -> (windows float32 (n_windows, 12, T), lead mask bool (12,))."""
    cfg = cfg or PreprocessConfig()
    if abs(ecg.fs - cfg.fs) > 1e-6:
        raise ValueError(f"windows() needs an ECG at {cfg.fs:g} Hz (call preprocess first), got {ecg.fs:g} Hz")
    layout = window_layout(ecg.n_samples, cfg)
    out = np.zeros((len(layout), ecg.signal.shape[0], cfg.n_samples), dtype=np.float32)
    for k, (s, e, d) in enumerate(layout):
        out[k, :, d:d + (e - s)] = ecg.signal[:, s:e]
    return out, ecg.lead_mask.copy()


def to_model_input(ecgs: ECG | list[ECG], cfg: PreprocessConfig | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw ECG(s) -> (x float32 (n_win, 12, T), mask bool (n_win, 12), owner int64 (n_win,)).

    `owner[k]` is the index of the ECG window k came from, so per-ECG embeddings are averages over
    `owner == i`.
    """
    cfg = cfg or PreprocessConfig()
    if isinstance(ecgs, ECG):
        ecgs = [ecgs]
    if len(ecgs) == 0:
        raise ValueError("to_model_input needs at least one ECG")
    xs, masks, owners = [], [], []
    for i, ecg in enumerate(ecgs):
        w, m = windows(preprocess(ecg, cfg), cfg)
        xs.append(w)
        masks.append(np.broadcast_to(m, (len(w), m.shape[0])))
        owners.append(np.full(len(w), i, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(masks).astype(bool), np.concatenate(owners)
