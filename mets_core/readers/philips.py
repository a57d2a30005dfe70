"""Philips Sierra ECG / PhilipsECG XML (``<restingecgdata>``, document versions 1.03-1.04.x), as
PageWriter carts and IntelliSpace ECG export resting ECGs.

Layout: ``dataacquisition/signalcharacteristics`` gives ``samplingrate`` (Hz) and ``signalresolution``
(microvolts per bit); ``waveforms/parsedwaveforms`` holds the samples in base64, with attributes
``leadlabels``, ``numberofleads``, ``durationperchannel`` (ms) and ``compression``/``compressmethod``
(``XLI`` or none). Uncompressed data are the leads one after the other as little-endian int16.

XLI (Philips' compression) is decoded with the ``sierraecg`` package's LZW decoder and delta filter,
under a cap on the decoded size (a hostile chunk cannot expand without limit). In XLI data, leads III,
aVR, aVL and aVF are stored as residuals from I and II; they are rebuilt as sierraecg does. For
uncompressed data that store residuals (III near zero where II - I is not) the same rebuild applies,
and ``metadata['philips_limb_leads']`` says which case was found. When the recording began, the
``date`` (``YYYY-MM-DD``) and ``time`` (``HH:MM:SS``) attributes of ``<dataacquisition>``, is kept as
``metadata["recorded_at"]`` (``recorded.py``).
"""
from __future__ import annotations

import re

import numpy as np

from ..ecg import ECGReadError, standard_lead
from . import xml_safe
from .channels import Channels, with_caller_hints
from .limits import MAX_CHANNELS, check_channels, check_fs, check_length, counted
from .recorded import compact_time, iso_stamp
from .xml_safe import b64decode, integer, number, stack

MAX_XLI_CHUNKS = 64
STANDARD_ORDER = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")                  # YYYY-MM-DD


def read(data: bytes, filename: str, lead_names: list[str] | None = None,
         fs_given: float | None = None) -> Channels:
    where = f"Philips XML file {filename!r}"
    root = xml_safe.parse(data, where, "restingecgdata")
    signal = root.find("dataacquisition/signalcharacteristics")
    waves = root.find("waveforms/parsedwaveforms")
    if waves is None:
        waves = root.find(".//parsedwaveforms")
    if signal is None or waves is None:
        raise ECGReadError(f"{where} lacks {'<signalcharacteristics>' if signal is None else '<parsedwaveforms>'}; "
                           f"a Philips resting ECG has dataacquisition/signalcharacteristics and "
                           f"waveforms/parsedwaveforms")
    fs = number(xml_safe.text(signal, "samplingrate") or waves.get("samplespersecond"), "the sampling rate", where)
    check_fs(fs, where)
    resolution_text = xml_safe.text(signal, "signalresolution") or xml_safe.text(signal, "resolution")
    if resolution_text is None:
        raise ECGReadError(f"{where}: signalcharacteristics has no <signalresolution> (microvolts per bit), so "
                           f"the amplitudes cannot be scaled")
    uv_per_bit = number(resolution_text, "signalresolution", where)
    if uv_per_bit <= 0:
        raise ECGReadError(f"{where}: signalresolution is {uv_per_bit:g} microvolts per bit; it must be positive")
    labels = _labels(signal, waves, where)
    duration_ms = number(waves.get("durationperchannel"), "durationperchannel (ms)", where)
    n_exact = duration_ms * fs / 1000.0
    if not np.isfinite(n_exact):
        raise ECGReadError(f"{where}: durationperchannel is {duration_ms:g} ms, which no recording lasts; "
                           f"the file is damaged")
    n_samples = int(round(n_exact))
    if n_samples < 2:
        raise ECGReadError(f"{where}: durationperchannel {duration_ms:g} ms at {fs:g} Hz holds no samples")
    check_length(n_samples, fs, f"{where} (its durationperchannel)")
    check_channels(len(labels), n_samples, where)
    encoding = (waves.get("dataencoding") or "Base64").strip()
    if encoding.lower() != "base64":
        raise ECGReadError(f"{where}: waveform data encoding {encoding!r} is not supported; accepted: Base64")
    raw = b64decode(waves.text, f"{where} <parsedwaveforms>")
    method = (waves.get("compressmethod") or waves.get("compression") or "").strip()
    meta = {"source_format": "philips-xml", "units": f"uV ({uv_per_bit:g} per bit, declared)"}
    version = xml_safe.text(root, "documentinfo/documentversion")
    if version:
        meta["philips_version"] = version
    recorded = _recorded_at(root.find("dataacquisition"))
    if recorded is not None:
        meta["recorded_at"] = recorded
    if method.upper() == "XLI":
        leads = _xli_decode(raw, len(labels), n_samples, where)
        meta["philips_compression"] = "XLI"
        residual = True
    elif method.lower() in ("", "uncompressed", "none"):
        if len(raw) < 2 * n_samples * len(labels):
            raise ECGReadError(f"{where}: the waveform data are truncated ({len(raw)} bytes for "
                               f"{counted(len(labels), 'lead')} x {n_samples} samples of 2 bytes)")
        flat = np.frombuffer(raw[: 2 * n_samples * len(labels)], dtype="<i2").astype(np.int64)
        leads = list(flat.reshape(len(labels), n_samples))
        residual = _looks_residual(leads, labels)
    else:
        raise ECGReadError(f"{where}: waveform compression {method!r} is not supported; accepted: XLI or none")
    if residual:
        _rebuild_limb_leads(leads, labels, where)
    meta["philips_limb_leads"] = "rebuilt from stored residuals" if residual else "stored as recorded"
    signals = stack([np.asarray(lead[:n_samples], dtype=np.float64) for lead in leads]) * uv_per_bit * 1e-3
    return with_caller_hints(Channels(signals, labels, fs, meta, repr(filename)),
                             lead_names, fs_given)


def _recorded_at(acquisition) -> str | None:
    """The ``date`` (YYYY-MM-DD) and ``time`` (HH:MM:SS) attributes of ``<dataacquisition>`` in ISO 8601, or
    None (no date, or an impossible one)."""
    date = _DATE.fullmatch((acquisition.get("date") or "").strip()) if acquisition is not None else None
    if date is None:
        return None
    return iso_stamp(tuple(int(g) for g in date.groups()), compact_time(acquisition.get("time")))


def _labels(signal, waves, where: str) -> list[str]:
    text = (waves.get("leadlabels") or "").split()
    count = waves.get("numberofleads") or xml_safe.text(signal, "numberchannelsallocated")
    n = integer(count, "numberofleads", where, 1, MAX_CHANNELS) if count is not None else len(text)
    if not 1 <= n <= MAX_CHANNELS:
        raise ECGReadError(f"{where}: leadlabels names {counted(n, 'lead')}; accepted: 1 to {MAX_CHANNELS}")
    if text:
        if len(text) < n:
            raise ECGReadError(f"{where}: leadlabels names {counted(len(text), 'lead')} but numberofleads is {n}")
        return text[:n]
    acquisition = (xml_safe.text(signal, "acquisitiontype") or "").upper()
    if acquisition in ("STD-12", "10-WIRE") and n >= 12:   # the cart's standard order, as sierraecg assumes
        return list(STANDARD_ORDER) + [f"Channel {i + 1}" for i in range(12, n)]
    raise ECGReadError(f"{where} names no leads (no leadlabels attribute, acquisition type "
                       f"{acquisition or 'unknown'!r}); accepted: leadlabels, or a STD-12/10-WIRE acquisition")


def _xli_decode(raw: bytes, n_leads: int, n_samples: int, where: str) -> list[np.ndarray]:
    """sierraecg's XLI chunks (8-byte header: int32 size, int16, int16 first delta; then 10-bit LZW of the
    split high/low bytes of second differences), each decoded to at most the bytes a lead can need."""
    try:
        from sierraecg.lzw import LzwDecoder
        from sierraecg.xli import xli_decode_deltas
    except ImportError:   # pragma: no cover - a dependency
        raise ECGReadError("reading XLI-compressed Philips files needs the sierraecg package") from None
    cap = 2 * (n_samples + 64)        # bytes of one decoded lead, with slack for padding
    leads, offset = [], 0
    try:
        while offset < len(raw):
            if len(leads) >= min(n_leads, MAX_XLI_CHUNKS):
                break
            if offset + 8 > len(raw):
                raise ECGReadError(f"{where}: XLI data end inside a chunk header; the file is truncated")
            size = int.from_bytes(raw[offset:offset + 4], "little", signed=True)
            start = int.from_bytes(raw[offset + 6:offset + 8], "little", signed=True)
            offset += 8
            if size <= 0 or offset + size > len(raw):
                raise ECGReadError(f"{where}: XLI chunk {len(leads) + 1} declares {size} bytes but "
                                   f"{len(raw) - offset} remain; the file is truncated or damaged")
            decoder = LzwDecoder(raw[offset:offset + size], bits=10)
            offset += size
            buffer = []
            while len(buffer) <= cap and (b := decoder.read()) != -1:
                buffer.append(b & 0xFF)
            if len(buffer) > cap:
                raise ECGReadError(f"{where}: XLI chunk {len(leads) + 1} decodes to more than the "
                                   f"{n_samples} samples a lead holds; the file is damaged")
            if len(buffer) % 2:
                buffer.append(0)
            if len(buffer) < 4:
                raise ECGReadError(f"{where}: XLI chunk {len(leads) + 1} decodes to no samples")
            leads.append(np.asarray(xli_decode_deltas(buffer, start), dtype=np.int64))
    except ECGReadError:
        raise
    except Exception as e:      # sierraecg raises IndexError/OverflowError/... on damaged chunks
        raise ECGReadError(f"{where}: the XLI-compressed data could not be decoded ({type(e).__name__}); "
                           f"the file is damaged") from None
    if len(leads) < n_leads:
        raise ECGReadError(f"{where}: the XLI data hold {counted(len(leads), 'lead')} but {n_leads} are declared; "
                           f"the file is truncated")
    if min(len(lead) for lead in leads) < n_samples:
        short = min(len(lead) for lead in leads)
        raise ECGReadError(f"{where}: an XLI lead holds {short} samples but durationperchannel needs "
                           f"{n_samples}; the file is truncated")
    return leads


def _indices(labels: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, label in enumerate(labels):
        std = standard_lead(label)
        if std is not None and std not in out:
            out[std] = i
    return out


def _looks_residual(leads: list[np.ndarray], labels: list[str]) -> bool:
    """Uncompressed data: True when stored III is near zero where II - I is not (residual storage)."""
    idx = _indices(labels)
    if not all(k in idx for k in ("I", "II", "III")):
        return False
    true_iii = leads[idx["II"]] - leads[idx["I"]]
    stored = leads[idx["III"]]
    return float(np.abs(stored).mean()) < 0.1 * float(np.abs(true_iii).mean()) if np.abs(true_iii).mean() > 0 \
        else False


def _rebuild_limb_leads(leads: list[np.ndarray], labels: list[str], where: str) -> None:
    """sierraecg's reconstruction: III = II - I - r3; aVR = -r4 - floor((I+II)/2);
    aVL = floor((I-III)/2) - r5; aVF = floor((II+III)/2) - r6 (integers, in place)."""
    idx = _indices(labels)
    need = ("I", "II", "III", "aVR", "aVL", "aVF")
    if not all(k in idx for k in need):
        missing = [k for k in need if k not in idx]
        raise ECGReadError(f"{where}: XLI data need leads I, II, III, aVR, aVL and aVF to rebuild the limb "
                           f"leads, but {', '.join(missing)} are not labelled")
    n = min(len(leads[idx[k]]) for k in need)
    i, ii = leads[idx["I"]][:n], leads[idx["II"]][:n]
    iii = ii - i - leads[idx["III"]][:n]
    avr = -leads[idx["aVR"]][:n] - np.floor_divide(i + ii, 2)
    avl = np.floor_divide(i - iii, 2) - leads[idx["aVL"]][:n]
    avf = np.floor_divide(ii + iii, 2) - leads[idx["aVF"]][:n]
    for name, values in (("III", iii), ("aVR", avr), ("aVL", avl), ("aVF", avf)):
        leads[idx[name]] = values
