"""Numbers scaled lead by lead to one peak-to-peak size are not voltages, whatever the file says: this project's
LUDB copy (../shared/data) has every lead of every record at a range of exactly 1 "mV" (header gains 238-10,592
per mV, by lead and record, where LUDB's own are 1000), which drew every lead the same height on the paper as if in mV. They are read
as relative amplitudes, as z-scored data is (mets_core.readers.channels.looks_range_scaled)."""
from __future__ import annotations

import numpy as np
import pytest
import wfdb

from helpers import require_data
from mets_core import read_ecg
from mets_core.readers.channels import amplitude_basis, amplitude_unit
from mets_core.simulate import simulate_ecg

LEADS = ["I", "II", "V1", "V5"]


def _wfdb(folder, signals: np.ndarray, names: list[str]) -> str:
    folder.mkdir(exist_ok=True)
    wfdb.wrsamp("rec", fs=500, units=["mV"] * len(names), sig_name=names, p_signal=signals.T.astype(np.float64),
                fmt=["16"] * len(names), write_dir=str(folder))
    return str(folder / "rec")


def _leads(n: int = 4) -> np.ndarray:
    ecg = simulate_ecg(10.0, fs=500, leads=LEADS[:n], noise_mv=0.02, seed=3)
    return np.stack([ecg.lead(name) for name in LEADS[:n]])


def test_leads_scaled_to_one_size_are_not_read_as_mv(tmp_path):
    raw = _leads()
    scaled = (raw - raw.min(axis=1, keepdims=True)) / np.ptp(raw, axis=1, keepdims=True) - 0.5
    ecg = read_ecg(_wfdb(tmp_path / "scaled", scaled, LEADS))
    assert amplitude_basis(ecg.metadata) == "range-scaled" and amplitude_unit(ecg.metadata) == "× lead range"
    as_recorded = read_ecg(_wfdb(tmp_path / "mv", raw, LEADS))        # the same ECG in mV: as the file says
    assert amplitude_basis(as_recorded.metadata) == "declared" and amplitude_unit(as_recorded.metadata) == "mV"


def test_two_leads_of_one_size_are_not_judged(tmp_path):
    raw = _leads(2)
    scaled = raw / np.ptp(raw, axis=1, keepdims=True)
    assert amplitude_basis(read_ecg(_wfdb(tmp_path, scaled, LEADS[:2])).metadata) == "declared"


@pytest.mark.parametrize("record, basis", [("ludb/data/1", "range-scaled"), ("ludb/data/200", "range-scaled"),
                                           ("ptbxl/records100/00000/00001_lr", "declared"),
                                           ("ptbdb/patient233_s0459_re", "declared")])
def test_the_data_folders_ludb_copy_is_scaled_per_lead_and_the_others_are_mv(record, basis):
    data = require_data(record + ".hea")
    assert amplitude_basis(read_ecg(data / record).metadata) == basis


def test_leads_clipped_at_the_rails_are_not_called_scaled(tmp_path):
    """Electrodes off: every lead sits at the recorder's full scale, so every lead spans the same range; that
    is a recording problem, not numbers scaled lead by lead."""
    raw = _leads()
    railed = np.clip(raw * 50, -2.0, 2.0)                  # each lead driven into +-2 mV for long stretches
    assert amplitude_basis(read_ecg(_wfdb(tmp_path / "railed", railed, LEADS)).metadata) == "declared"
