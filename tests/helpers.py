"""What many tests build, written once: the data folder and its one skip reason, code-carrying pickles, the
bytes of zips, NumPy files, CSVs, WFDB uploads and DICOM files, and the test suite's synthetic signal.

The synthetic signal comes from the project's one public generator, ``mets_core.simulate.simulate_ecg``
(which the dashboard's demos use too).
"""
from __future__ import annotations

import functools

import io
import os
import pickle
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

# ---------------------------------------------------------------------------------------- benchmarks

@functools.lru_cache(maxsize=None)
def benchmark(name: str):
    """The script benchmarks/NAME.py as a module, loaded once: tests score with its definitions (the LUDB and
    QTDB references of measure_validation, ...) rather than copies of them."""
    import importlib.util
    import sys
    spec = importlib.util.spec_from_file_location(f"mets_benchmark_{name}",
                                                  Path(__file__).resolve().parent.parent / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module                  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------- data folder

DATA_DIR_UNSET = ("METS_DATA_DIR is not set: it must name the folder of real ECG databases "
                  "(e.g. METS_DATA_DIR=../shared/data, as .ci/run sets it)")


def data_dir_or_none(*needed: str) -> Path | None:
    """The folder named by METS_DATA_DIR when it exists and holds every path in ``needed``, else None."""
    value = os.environ.get("METS_DATA_DIR")
    path = Path(value).expanduser() if value else None
    if path is None or not path.is_dir() or not all((path / p).exists() for p in needed):
        return None
    return path


def skip_reason(*needed: str) -> str:
    """Why a test needing ``needed`` under METS_DATA_DIR is skipped (the one wording for every test)."""
    value = os.environ.get("METS_DATA_DIR")
    if not value:
        return DATA_DIR_UNSET
    if not Path(value).expanduser().is_dir():
        return f"METS_DATA_DIR={value!r} is not a folder"
    missing = [p for p in needed if not (Path(value).expanduser() / p).exists()]
    return f"METS_DATA_DIR={value!r} lacks {', '.join(missing)}"


def require_data(*needed: str) -> Path:
    """The data folder, or skip the calling test with the reason."""
    path = data_dir_or_none(*needed)
    if path is None:
        pytest.skip(skip_reason(*needed))
    return path


def needs_data(*needed: str):
    """Marker: skip (with the reason) unless METS_DATA_DIR holds ``needed``."""
    return pytest.mark.skipif(data_dir_or_none(*needed) is None, reason=skip_reason(*needed))


# ---------------------------------------------------------------------------------- code-carrying pickles

class CodeRunningPickle:
    """Unpickling this runs code that creates the file ``marker``: proof that something was executed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('executed')",))


PICKLE_KINDS = ("pickle-protocol-0", "pickle-protocol-2", "pickle-protocol-4", "pickle-protocol-5", "torch.save",
                "npy-object-array")


def pickle_payload(kind: str, marker, key: str = "weight") -> bytes:
    """Bytes that run code when unpickled: ``pickle-protocol-N`` (a dict ``{key: payload}``), ``torch.save``
    (the same dict), ``npy-object-array`` (an .npy of dtype object)."""
    evil = CodeRunningPickle(marker)
    if kind.startswith("pickle-protocol-"):
        return pickle.dumps({key: evil}, protocol=int(kind.rsplit("-", 1)[1]))
    buf = io.BytesIO()
    if kind == "torch.save":
        import torch
        torch.save({key: evil}, buf)
    elif kind == "npy-object-array":
        np.save(buf, np.array([evil, 1.0], dtype=object), allow_pickle=True)
    else:
        raise ValueError(f"unknown pickle kind {kind!r}; known: {PICKLE_KINDS}")
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ file bytes

def zip_bytes(entries, prefix: str = "", symlinks=(), compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``(name, bytes)`` entries (each name under ``prefix``), plus symbolic links ``(name, target)``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(prefix + name, data)
        for name, target in symlinks:
            info = zipfile.ZipInfo(prefix + name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def npy_bytes(arr, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def npz_bytes(**entries) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **entries)
    return buf.getvalue()


def csv_bytes(header: list[str], columns: list[np.ndarray], comments: tuple[str, ...] = (), sep: str = ",") -> bytes:
    """A CSV: ``# comment`` lines, a header row, one row per sample (NaN written as an empty cell)."""
    lines = [f"# {c}" for c in comments] + [sep.join(header)]
    lines += [sep.join(repr(float(v)) if not np.isnan(v) else "" for v in row) for row in zip(*columns)]
    return ("\n".join(lines) + "\n").encode()


def bigeminy_ecg(fs: int = 500, with_ectopics: bool = True, coupling_s: float = 0.6) -> tuple:
    """Sinus beats 1.2 s apart (neurokit2's simulated beat, with its P wave) and, when `with_ectopics`, a
    ventricular beat `coupling_s` after each: wide (~160 ms), large, without a P wave, its T wave opposite
    (with a coupling shorter than 0.6 s, the pause after it is longer: premature, as ectopic beats are).
    (ECG, the sinus beats' R samples, the ectopic beats' QRS samples)."""
    import neurokit2 as nk
    beat = nk.ecg_simulate(duration=3.0, sampling_rate=fs, heart_rate=60, random_state=5)
    r = fs + int(np.argmax(beat[fs:2 * fs]))
    pre = int(0.3 * fs)
    template = beat[r - pre: r + int(0.5 * fs)]
    t = np.arange(-int(0.15 * fs), int(0.35 * fs)) / fs
    ectopic = -2.5 * (t / 0.025) * np.exp(-0.5 * (t / 0.025) ** 2) + 0.5 * np.exp(-0.5 * ((t - 0.15) / 0.04) ** 2)
    x = np.zeros(14 * fs)
    sinus, ectopics = [], []
    for start in range(int(0.2 * fs), len(x) - len(template), int(1.2 * fs)):
        x[start:start + len(template)] += template - template[0]
        sinus.append(start + pre)
        e = start + pre + int(coupling_s * fs) - int(0.15 * fs)
        if with_ectopics and e + len(ectopic) < len(x):
            x[e:e + len(ectopic)] += ectopic
            ectopics.append(e + int(0.15 * fs))
    x += np.random.default_rng(2).normal(scale=0.01, size=len(x))
    from mets_core.ecg import ECG
    return ECG.from_leads(np.stack([x, 0.7 * x, -0.5 * x]), ["II", "V5", "V1"], fs), sinus, ectopics


def st_lengthened_ecg(extra_s: float, fs: int = 500):
    """Beats 1 s apart (neurokit2's simulated beat) whose ST segment is lengthened by `extra_s` (a flat
    stretch inserted 50 ms after R, as hypocalcaemia lengthens the QT)."""
    import neurokit2 as nk
    beat = nk.ecg_simulate(duration=3.0, sampling_rate=fs, heart_rate=60, random_state=4)
    r = fs + int(np.argmax(beat[fs:2 * fs]))
    j = r + int(0.05 * fs)
    template = np.concatenate([beat[r - int(0.3 * fs):j], np.full(int(extra_s * fs), beat[j]),
                               beat[j:r + int(0.6 * fs)]])
    x = np.zeros(12 * fs)
    for start in range(int(0.2 * fs), len(x) - len(template), fs):
        x[start:start + len(template)] += template - template[0]
    x += np.random.default_rng(1).normal(scale=0.01, size=len(x))
    from mets_core.ecg import ECG
    return ECG.from_leads(np.stack([x, 0.8 * x, 0.6 * x]), ["II", "V5", "I"], fs)


def record_files(record: Path) -> list[tuple[str, bytes]]:
    """Every file of a WFDB record (header, signal files, annotations) as (name, bytes) pairs, the way a
    browser upload of the record's files arrives."""
    return [(p.name, p.read_bytes()) for p in sorted(record.parent.glob(record.name + ".*"))]


def assert_same_ecg(a, b) -> None:
    """Two reads of the same record: equal samples, mask, rate, name and metadata."""
    np.testing.assert_array_equal(a.signal, b.signal)
    np.testing.assert_array_equal(a.lead_mask, b.lead_mask)
    assert (a.fs, a.name, a.metadata) == (b.fs, b.name, b.metadata)


def synthetic_signal(n_leads: int = 3, n: int = 2000, fs: float = 500.0, seed: int = 0) -> np.ndarray:
    """(n, n_leads) ECG values in mV (the first n_leads standard leads) from the project's one synthetic-ECG
    generator, mets_core.simulate.simulate_ecg (for exact round trips through a format). Memoised: the
    generator integrates a model per lead, and many tests ask for the same signal."""
    return _simulated(n_leads, n, float(fs), seed).copy()


@functools.lru_cache(maxsize=64)
def _simulated(n_leads: int, n: int, fs: float, seed: int) -> np.ndarray:
    from mets_core.ecg import STANDARD_LEADS
    from mets_core.simulate import simulate_ecg
    ecg = simulate_ecg(duration_s=n / fs, fs=int(round(fs)), leads=STANDARD_LEADS[:n_leads], seed=seed)
    return ecg.signal[ecg.lead_mask].T.astype(np.float64)[:n]


WRITTEN_BY_WFDB = ["16", "24", "32", "80", "508", "516", "524"]
# formats wfdb reads but cannot write: the test packs the samples itself (the reader still decodes with wfdb)
PACKED_HERE = {
    "61": lambda d: d.astype(">i2").tobytes(),                              # big-endian 16 bit
    "160": lambda d: (d + 32768).astype("<u2").tobytes(),                   # offset binary 16 bit
    "212": lambda d: _pack_212(d),                                          # two 12-bit samples in 3 bytes
}


def _pack_212(digital: np.ndarray) -> bytes:
    flat = (digital.reshape(-1) & 0xFFF).astype(np.uint16)
    if flat.size % 2:
        flat = np.append(flat, 0)
    a, b = flat[0::2], flat[1::2]
    out = np.stack([a & 0xFF, ((a >> 8) & 0x0F) | (((b >> 8) & 0x0F) << 4), b & 0xFF], axis=1)
    return out.astype(np.uint8).tobytes()


def wfdb_12lead_upload(folder: Path) -> dict[str, bytes]:
    """A valid 12-lead WFDB record written by wfdb, as an upload {'1.hea': ..., '1.dat': ...}: 500 Hz,
    5000 samples, format 16, LUDB-style lead names i ... v6. Synthetic, so it needs no data folder."""
    import wfdb
    t = np.arange(5000) / 500
    sig = np.stack([np.sin(2 * np.pi * (1 + 0.1 * k) * t) * (0.3 + 0.1 * k) for k in range(12)], axis=1)
    names = ["i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"]
    wfdb.wrsamp("1", fs=500, units=["mV"] * 12, sig_name=names, d_signal=np.round(sig * 1000).astype(int),
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(folder),
                comments=["<age>: 51", "Rhythm: Sinus rhythm."])
    return {"1.hea": (folder / "1.hea").read_bytes(), "1.dat": (folder / "1.dat").read_bytes()}


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


def write_cli_model(folder: Path, reports: list[str]) -> Path:
    """A small random-init checkpoint (width 16) with a report index of `reports` (ids r1, r2, ...): what the
    CLI tests load. Scores are meaningless; the commands' plumbing is what they check."""
    from mets_core.index import ReportIndex
    from mets_core.pipeline import METS

    m = METS.random_init({"model": {"width": 16}}, seed=0)
    m.save_pretrained(folder, training={"corpus": "none (random init, for tests)"})
    ReportIndex.build(m, reports, [f"r{i + 1}" for i in range(len(reports))]).save(Path(folder) / "index")
    return Path(folder)


def pdf_content_streams(pdf: bytes) -> list[str]:
    """The text of every deflated stream of a PDF (page contents, glyph procedures), each decompressed from its
    start to the end of its own deflate data: cutting it at the next "endstream" failed whenever the compressed
    bytes held that word's line break first (a report printed at 20:02 UTC lost its tracing)."""
    import re
    import zlib
    texts = []
    for start in re.finditer(rb">>\s*stream\r?\n", pdf):
        try:
            texts.append(zlib.decompressobj().decompress(pdf[start.end():]).decode("latin-1"))
        except zlib.error:
            continue
    return texts


@pytest.fixture
def restore_torch_threads():
    """For modules whose tiny training configs set threads=1 (``pytestmark = pytest.mark.usefixtures(...)``):
    torch's thread count as it was, after each test."""
    import torch
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def pdf_strokes(pdf: bytes) -> list[np.ndarray]:
    """The points (in PDF points) of every polyline of the PDF's content streams: a new one at each move-to."""
    strokes = []
    for text in pdf_content_streams(pdf):
        tokens = text.split()
        for i, token in enumerate(tokens):
            if token == "m":
                strokes.append([(float(tokens[i - 2]), float(tokens[i - 1]))])
            elif token == "l" and strokes:
                strokes[-1].append((float(tokens[i - 2]), float(tokens[i - 1])))
    return [np.array(points) for points in strokes]
