"""Shared fixtures.

Tests that need the real PhysioNet databases take the ``data_dir`` fixture: it is the folder named by the
environment variable ``METS_DATA_DIR`` (``.ci/run`` sets it to ``../shared/data``), and the test is
skipped, with the reason, when the variable is unset or the folder is missing.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real ECG databases (ludb/, ptbdb/, mitdb/, ...), from METS_DATA_DIR."""
    value = os.environ.get("METS_DATA_DIR")
    if not value:
        pytest.skip("METS_DATA_DIR is not set: it must name the folder of real ECG databases "
                    "(e.g. METS_DATA_DIR=../shared/data, as .ci/run sets it)")
    path = Path(value).expanduser()
    if not path.is_dir():
        pytest.skip(f"METS_DATA_DIR={value!r} is not a folder")
    return path


def record_files(record: Path) -> list[tuple[str, bytes]]:
    """Every file of a WFDB record (header, signal files, annotations) as (name, bytes) pairs, the way a
    browser upload of the record's files arrives."""
    return [(p.name, p.read_bytes()) for p in sorted(record.parent.glob(record.name + ".*"))]


@pytest.fixture
def wfdb_upload():
    """record path (without extension) -> [(filename, bytes), ...] of all its files."""
    return record_files


DICOM_LEADS = ["Lead I", "Lead II", "Lead III", "Lead aVR", "Lead aVL", "Lead aVF",
               "Lead V1", "Lead V2", "Lead V3", "Lead V4", "Lead V5", "Lead V6"]


def make_dicom(signal_uv: np.ndarray, fs: float = 500.0, labels=DICOM_LEADS, sensitivity: float = 2.5,
               units: str = "uV", with_median: bool = True, rhythm_label: str = "RHYTHM") -> bytes:
    """A 12-lead ECG waveform DICOM (General ECG IOD), as an ECG cart writes it, in memory."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    def group(samples: np.ndarray, label: str) -> Dataset:
        g = Dataset()
        g.MultiplexGroupLabel = label
        g.WaveformOriginality = "ORIGINAL"
        g.NumberOfWaveformChannels = samples.shape[0]
        g.NumberOfWaveformSamples = samples.shape[1]
        g.SamplingFrequency = fs
        g.WaveformBitsAllocated = 16
        g.WaveformSampleInterpretation = "SS"
        channels = []
        for name in labels[: samples.shape[0]]:
            ch = Dataset()
            src = Dataset()
            src.CodeValue, src.CodingSchemeDesignator, src.CodeMeaning = "5.6.3-9-1", "SCPECG", name
            ch.ChannelSourceSequence = Sequence([src])
            ch.ChannelSensitivity = sensitivity
            unit = Dataset()
            unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = units, "UCUM", units
            ch.ChannelSensitivityUnitsSequence = Sequence([unit])
            ch.ChannelSensitivityCorrectionFactor = 1
            ch.ChannelBaseline = 0
            ch.WaveformBitsStored = 16
            channels.append(ch)
        g.ChannelDefinitionSequence = Sequence(channels)
        counts = np.round(samples / sensitivity).astype("<i2")
        g.WaveformData = counts.T.tobytes()          # interleaved: sample-major
        return g

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.9.1.2"       # General ECG Waveform Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "ECG"
    ds.PatientName = "Test^Synthetic"
    groups = [group(signal_uv, rhythm_label)]
    if with_median:
        groups.insert(0, group(signal_uv[:, :600], "MEDIAN"))
    ds.WaveformSequence = Sequence(groups)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
