import numpy as np
import pytest

from mets_core.ecg import ECG, ECGReadError, STANDARD_LEADS
from mets_core.preprocess import (PreprocessConfig, filter_ecg, normalise, preprocess, resample,
                                  to_model_input, window_layout, windows)

from ludb_pairs import shared_data_dir, ludb_ecg, wfdb_ecg


def sine_ecg(fs: float, seconds: float, freq: float = 5.0, leads=STANDARD_LEADS, amp: float = 1.0) -> ECG:
    t = np.arange(int(round(fs * seconds))) / fs
    x = np.stack([amp * np.sin(2 * np.pi * freq * t + k) for k in range(len(leads))])
    return ECG.from_leads(x, list(leads), fs)


def test_config_round_trip_and_validation():
    cfg = PreprocessConfig(fs=250, normalise="none", notch_hz=50)
    assert PreprocessConfig.from_dict(cfg.to_dict()) == cfg
    assert PreprocessConfig().n_samples == 1000 and PreprocessConfig().stride_samples == 500
    with pytest.raises(ValueError, match="unknown preprocess settings"):
        PreprocessConfig.from_dict({"fs": 100, "windowsize": 3})
    with pytest.raises(ValueError, match="normalise"):
        PreprocessConfig(normalise="minmax")


@pytest.mark.parametrize("fs", [50, 128, 257, 360, 500, 1000, 10_000])
def test_resample_any_rate_keeps_the_waveform(fs):
    ecg = sine_ecg(fs, 10.0, freq=3.0)
    out = resample(ecg, 100.0)
    assert out.fs == 100.0
    assert abs(out.n_samples - 1000) <= 1
    t = np.arange(out.n_samples) / 100.0
    expected = np.sin(2 * np.pi * 3.0 * t)
    core = slice(50, -50)   # polyphase filter edges
    assert np.corrcoef(out.signal[0, core], expected[core])[0, 1] > 0.999
    assert np.abs(out.signal[0, core] - expected[core]).max() < 0.05


@pytest.mark.parametrize("fs", [20.0, 49.0, 20_000.0])
def test_resample_refuses_rates_outside_50hz_to_10khz(fs):
    with pytest.raises(ECGReadError, match="50 Hz"):
        resample(sine_ecg(fs, 10.0, freq=1.0), 100.0)


def test_filter_removes_baseline_wander_and_keeps_qrs_band():
    fs, n = 100.0, 1000
    t = np.arange(n) / fs
    drift = 2.0 * np.sin(2 * np.pi * 0.1 * t)
    beat = np.sin(2 * np.pi * 10 * t)
    ecg = ECG.from_leads(np.stack([drift + beat, beat]), ["I", "II"], fs)
    out = filter_ecg(ecg, 0.5, 40.0)
    residual = out.signal[0] - beat
    assert np.sqrt((residual ** 2).mean()) < 0.1 * np.sqrt((drift ** 2).mean())   # drift gone...
    assert np.abs(residual)[200:-200].max() < 0.02                              # ...away from the edges
    assert np.abs(out.signal[1] - beat)[200:-200].max() < 0.05  # 10 Hz untouched
    assert not out.signal[2:].any()                                # absent leads stay zero


def test_filter_skips_records_too_short_to_filter():
    ecg = sine_ecg(100.0, 0.1)   # 10 samples
    assert np.array_equal(filter_ecg(ecg).signal, ecg.signal)


def test_lowpass_is_clamped_below_nyquist():
    ecg = sine_ecg(60.0, 10.0, freq=5.0)   # nyquist 30 Hz < the 40 Hz default low-pass
    out = filter_ecg(ecg, 0.5, 40.0)
    assert np.isfinite(out.signal).all()
    assert np.corrcoef(out.signal[0, 60:-60], ecg.signal[0, 60:-60])[0, 1] > 0.99


def test_normalise_zscore_none_flat_and_absent():
    x = np.stack([np.linspace(-3, 5, 500), np.full(500, 0.7), np.r_[np.zeros(499), 50.0]])
    ecg = ECG.from_leads(x, ["I", "II", "V1"], 100.0)
    z = normalise(ecg, "zscore", clip=10.0).signal
    assert abs(z[0].mean()) < 1e-5 and abs(z[0].std() - 1) < 1e-4
    assert not z[1].any()                 # flat lead: zeros, not a division by zero
    assert z[6].max() == 10.0             # spike clipped at 10 standard deviations
    assert not z[[2, 3, 4, 5, 7, 8, 9, 10, 11]].any()
    mv = normalise(ecg, "none", clip=10.0).signal
    assert mv[6].max() == 10.0 and np.allclose(mv[0], x[0])


def test_preprocess_interpolates_nan_gaps_and_masks_all_nan_leads():
    ecg = sine_ecg(500.0, 10.0, leads=["I", "II", "III"])
    ecg.signal[0, 1000:1010] = np.nan
    ecg.signal[2, :] = np.nan
    out = preprocess(ecg)
    assert np.isfinite(out.signal).all()
    assert out.leads == ["I", "II"]
    assert not out.signal[2].any()


def test_preprocess_output_rate_and_absent_leads_stay_zero():
    ecg = sine_ecg(500.0, 10.0, leads=["II", "V5"])
    out = preprocess(ecg, PreprocessConfig())
    assert out.fs == 100.0 and out.signal.shape == (12, 1000) and out.signal.dtype == np.float32
    assert out.leads == ["II", "V5"]
    assert not np.delete(out.signal, [1, 10], axis=0).any()


def test_short_record_is_centred_in_zero_padding():
    cfg = PreprocessConfig()
    pp = preprocess(sine_ecg(100.0, 4.0), cfg)          # 400 samples in a 1000-sample window
    w, mask = windows(pp, cfg)
    assert w.shape == (1, 12, 1000) and mask.all()
    assert not w[0, :, :300].any() and not w[0, :, 700:].any()
    assert np.array_equal(w[0, :, 300:700], pp.signal)


def test_long_record_sliding_windows_cover_the_tail():
    cfg = PreprocessConfig()
    assert [s for s, _, _ in window_layout(3000, cfg)] == [0, 500, 1000, 1500, 2000]
    assert [s for s, _, _ in window_layout(3200, cfg)] == [0, 500, 1000, 1500, 2000, 2200]
    assert window_layout(1000, cfg) == [(0, 1000, 0)]
    pp = preprocess(sine_ecg(100.0, 32.0), cfg)
    w, _ = windows(pp, cfg)
    assert w.shape == (6, 12, 1000)
    assert np.array_equal(w[-1], pp.signal[:, -1000:])
    assert np.array_equal(w[1], pp.signal[:, 500:1500])


def test_max_windows_thins_evenly_and_keeps_both_ends():
    cfg = PreprocessConfig(max_windows=10)
    layout = window_layout(100 * 3600, cfg)             # one hour at 100 Hz: 719 windows -> 10
    starts = [s for s, _, _ in layout]
    assert len(starts) == 10 and starts[0] == 0 and starts[-1] == 100 * 3600 - 1000
    assert starts == sorted(starts)


def test_windows_refuse_unpreprocessed_rate():
    with pytest.raises(ValueError, match="preprocess first"):
        windows(sine_ecg(500.0, 10.0))


def test_to_model_input_owner_and_mask():
    a = sine_ecg(500.0, 10.0)                        # 1 window
    b = sine_ecg(250.0, 20.0, leads=["I"])           # 3 windows
    x, mask, owner = to_model_input([a, b])
    assert x.shape == (4, 12, 1000) and x.dtype == np.float32
    assert owner.tolist() == [0, 1, 1, 1]
    assert mask.shape == (4, 12) and mask[0].all() and mask[1:, 0].all() and not mask[1:, 1:].any()
    assert not x[1:, 1:].any()


# ----------------------------------------------------------------------------------------- real records

def test_real_records_at_their_native_rates_preprocess_to_model_rate():
    d = shared_data_dir()
    cases = [(d / "ludb" / "data" / "1", 500, 10.0), (d / "mitdb" / "101", 360, 1805.6),
             (d / "ptbdb" / "patient200_s0405_re", 1000, 10.0)]
    for path, fs, approx_s in cases:
        ecg = wfdb_ecg(path)
        assert ecg.fs == fs
        out = preprocess(ecg)
        assert out.fs == 100.0 and np.isfinite(out.signal).all()
        assert abs(out.duration - ecg.duration) < 0.05 and abs(out.duration - approx_s) < 1.0
        assert out.leads == ecg.leads


def test_ludb_preprocessed_signal_looks_like_an_ecg():
    out = preprocess(ludb_ecg(1))
    # z-scored per lead; an ECG is spiky (QRS), so the max is several standard deviations
    assert np.allclose(out.signal.mean(axis=1), 0, atol=1e-3)
    assert (np.abs(out.signal).max(axis=1) > 3).all()
