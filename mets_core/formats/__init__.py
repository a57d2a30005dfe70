"""Readers of the ECG file formats hospitals and device makers export, one module per format.

Each module decodes bytes (never a path: uploads stay in memory) into ``Channels`` - recorded channels in
mV, their names, the sampling rate and metadata - and raises ``ECGReadError`` saying what was wrong and
what is accepted. ``mets_core.readers.read_ecg`` detects the format (``sniff``), applies the shared rules
(limits, missing samples, lead-name mapping) and builds the one ``ECG`` type.

* ``muse``     GE MUSE XML (``RestingECG``): rhythm or median waveforms, III/aVR/aVL/aVF derived when
               only the 8 independent leads are stored.
* ``philips``  Philips Sierra/PhilipsECG XML (``restingecgdata``), uncompressed or XLI-compressed.
* ``hl7aecg``  HL7 v3 annotated ECG (FDA aECG) XML (``AnnotatedECG``).
* ``edf``      EDF, EDF+ (continuous) and BDF/BDF+ (edfio).

XML is parsed by ``_xml.parse`` only, which refuses entity declarations and external references
(billion laughs, XXE) before anything is expanded or fetched.
"""
from __future__ import annotations

from ._common import Channels

# format name -> module; sniff() returns one of these names
FORMATS = ("muse", "philips", "hl7aecg", "edf")
EXTENSIONS = {".xml": "xml", ".edf": "edf", ".bdf": "edf", ".rec": "edf"}


def sniff(filename: str, data: bytes) -> str | None:
    """The format of a file by its content ('muse', 'philips', 'hl7aecg', 'edf'), or None."""
    if data[:8] == b"0       " or data[:8] == b"\xffBIOSEMI":
        return "edf"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        from ._xml import root_name
        return {"RestingECG": "muse", "restingecgdata": "philips", "AnnotatedECG": "hl7aecg"}.get(
            root_name(data) or "", None)
    return None


def read(kind: str, data: bytes, filename: str) -> Channels:
    """Decode ``data`` as format ``kind`` (a name from ``FORMATS``)."""
    from importlib import import_module
    return import_module(f"{__name__}.{kind}").read(data, filename)


__all__ = ["Channels", "FORMATS", "EXTENSIONS", "sniff", "read"]
