"""DICOM 12-lead, general and ambulatory ECG waveform files (pydicom).

The rhythm (full-length) multiplex group is read, not the median beats; channels that are not voltages
(respiration, pressure) are left out and listed. Units are declared per channel (DICOM's default: uV). No
patient identifiers are copied into the metadata; when the recording began is kept as
``metadata["recorded_at"]`` (``recorded.py``): AcquisitionDateTime, else AcquisitionDate and AcquisitionTime,
else ContentDate and ContentTime, else StudyDate and StudyTime - the first that gives a possible date.
"""
from __future__ import annotations

import io
import re
import threading
import warnings
from pathlib import Path

import numpy as np

from ..ecg import ECGReadError, standard_lead
from .channels import Channels, to_mv_factor
from .limits import (ACCEPTED_FORMATS, brief, check_agrees, check_channels, check_fs, check_length, counted,
                     override_names)
from .recorded import compact, compact_time, iso_stamp


def _dicom_label(channel) -> str:
    """Lead name of a DICOM channel: 'Lead I', 'Lead aVR (Einthoven)', ... -> 'I', 'aVR'."""
    def clean(label) -> str:
        label = re.sub(r"\(.*?\)", "", str(label or ""))
        return re.sub(r"^\s*lead\s+", "", label, flags=re.I).strip()

    source = channel.get("ChannelSourceSequence")
    label = clean(source[0].get("CodeMeaning", "")) if source else ""
    if standard_lead(label) is None and channel.get("ChannelLabel"):
        label = clean(channel.ChannelLabel)
    return label


def _recorded_at(ds) -> str | None:
    """When the recording began (``recorded.iso_stamp``): the first of AcquisitionDateTime (DT:
    ``YYYYMMDDHHMMSS.FFFFFF+HHMM``), AcquisitionDate + AcquisitionTime, ContentDate + ContentTime, StudyDate +
    StudyTime (DA ``YYYYMMDD``, TM ``HHMMSS.FFFFFF``) that gives a possible date; None when none does."""
    def value(keyword: str) -> str:
        try:
            return str(ds.get(keyword, "") or "")
        except Exception:            # a damaged element: no date, the ECG still reads
            return ""

    date, time, offset = compact(value("AcquisitionDateTime"))
    stamp = iso_stamp(date, time, offset) if date is not None else None
    for kind in ("Acquisition", "Content", "Study"):
        if stamp is not None:
            break
        date = compact(value(kind + "Date"))[0]
        if date is not None:
            stamp = iso_stamp(date, compact_time(value(kind + "Time")))
    return stamp


_LOCK = threading.Lock()
# (WaveformBitsAllocated, WaveformSampleInterpretation) of plain integer samples; mu-law and A-law (MB, AB) would
# be handed over undecoded, and other widths are not in the standard
SAMPLE_TYPES = ((8, "SB"), (8, "UB"), (16, "SS"), (16, "US"), (32, "SL"), (32, "UL"))


def read(data: bytes, filename: str, lead_names: list[str] | None = None, fs: float | None = None) -> Channels:
    """pydicom reports invalid values by logging and warning them, values included; uploads are never
    logged, so its reading validation is switched off (under a lock: it is a global setting) while an
    upload is decoded, and any other warning is silenced."""
    try:
        import pydicom
    except ImportError:  # pragma: no cover - pydicom is a dependency
        raise ECGReadError("reading DICOM needs pydicom (pip install pydicom)") from None
    settings = pydicom.config.settings
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved, settings.reading_validation_mode = settings.reading_validation_mode, pydicom.config.IGNORE
        try:
            return _decode(data, filename, lead_names, fs)
        except ECGReadError:
            raise
        except Exception as e:     # pydicom raises many types on damaged files, often only on element access
            raise ECGReadError(f"DICOM file {filename!r} could not be decoded ({brief(e)}); accepted: "
                               f"DICOM ECG waveform files (12-lead, general or ambulatory ECG)") from None
        finally:
            settings.reading_validation_mode = saved


def _decode(data: bytes, filename: str, lead_names: list[str] | None, fs: float | None) -> Channels:
    import pydicom
    from pydicom.waveforms.numpy_handler import multiplex_array

    where = f"DICOM file {filename!r}"
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        groups = list(ds.get("WaveformSequence") or [])
    except Exception as e:
        raise ECGReadError(f"{filename!r} is not a readable DICOM file ({brief(e)}); "
                           f"accepted: {ACCEPTED_FORMATS}") from None
    if not groups:
        raise ECGReadError(f"{where} has no waveform (WaveformSequence); only DICOM ECG waveform files "
                           f"(12-lead, general or ambulatory ECG) are accepted")
    # the rhythm (full-length) group, not the median beats; else the longest group
    labels = [str(g.get("MultiplexGroupLabel", "")).upper() for g in groups]
    index = labels.index("RHYTHM") if "RHYTHM" in labels else int(
        np.argmax([int(g.get("NumberOfWaveformSamples", 0) or 0) for g in groups]))
    group = groups[index]
    try:
        n_ch = int(group.NumberOfWaveformChannels)
        n_samp = int(group.NumberOfWaveformSamples)
        rate = float(group.SamplingFrequency)
        bits = int(group.WaveformBitsAllocated)
        interpretation = str(group.WaveformSampleInterpretation).strip().upper()
        channels = list(group.ChannelDefinitionSequence)
        n_bytes = len(group.WaveformData)
    except Exception as e:
        raise ECGReadError(f"{where}: waveform group {index} lacks a required element ({brief(e)}); a DICOM ECG needs "
                           f"NumberOfWaveformChannels, NumberOfWaveformSamples, SamplingFrequency, "
                           f"WaveformBitsAllocated, WaveformSampleInterpretation, ChannelDefinitionSequence and "
                           f"WaveformData") from None
    check_fs(rate, where)
    check_agrees(fs, rate, where)
    check_length(n_samp, rate, where)
    check_channels(n_ch, n_samp, where)
    if (bits, interpretation) not in SAMPLE_TYPES:
        accepted = ", ".join(f"{b} bits {i}" for b, i in SAMPLE_TYPES)
        raise ECGReadError(f"{where}: its samples are {bits}-bit {interpretation!r} (WaveformBitsAllocated, "
                           f"WaveformSampleInterpretation), which is not an ECG sample type this reader decodes; "
                           f"accepted: {accepted} (SB/SS/SL signed, UB/US/UL unsigned integers)")
    if len(channels) != n_ch:
        raise ECGReadError(f"{where}: {counted(n_ch, 'channel')} declared but {counted(len(channels), 'channel definition')} given")
    if n_bytes < n_ch * n_samp * bits // 8:
        raise ECGReadError(f"{where}: waveform data are truncated ({n_bytes} bytes for {counted(n_ch, 'channel')} x "
                           f"{n_samp} samples of {bits} bits)")
    try:
        arr = multiplex_array(ds, index, as_raw=False).T.astype(np.float64)    # (channels, samples)
    except Exception as e:
        raise ECGReadError(f"{where}: the waveform could not be decoded ({brief(e)})") from None
    names = override_names([_dicom_label(ch) for ch in channels], lead_names, n_ch, where)
    units = []
    for i, ch in enumerate(channels):
        seq = ch.get("ChannelSensitivityUnitsSequence")
        units.append(str(seq[0].get("CodeValue", "")) if seq else "uV")   # DICOM ECG default: microvolts
    voltage = [i for i, unit in enumerate(units) if to_mv_factor(unit) is not None]
    if not voltage:
        raise ECGReadError(f"{where}: no channel is a voltage (units {', '.join(map(repr, sorted(set(units))))}); "
                           f"an ECG's channels are in mV, uV or V")
    for i in voltage:
        arr[i] *= to_mv_factor(units[i])
    meta = {"source_format": "dicom", "record_name": Path(filename).stem, "files": filename,
            "units": " ".join(units), "dicom_group": labels[index] or str(index)}
    recorded = _recorded_at(ds)
    if recorded is not None:
        meta["recorded_at"] = recorded
    if len(voltage) < n_ch:    # e.g. respiration or blood pressure recorded beside the leads
        meta["non_voltage_channels"] = " ".join(f"{names[i]}({units[i]})" for i in range(n_ch) if i not in voltage)
    return Channels(arr[voltage], [names[i] for i in voltage], rate, meta, where)
