"""METS: zero-shot ECG reading with a frozen language model.

Public API (kept stable): read_ecg, ECG, ECGReadError, METS, Match, ReportIndex.
Heavy modules (torch, transformers) are imported on first use so `import mets_core` stays fast.
Submodules (mets_core.preprocess, mets_core.measure, ...) are imported by their own names; no function here
shares a name with a submodule, so importing one never shadows the other.
"""
from __future__ import annotations

from importlib import import_module

from .ecg import ECG, ECGReadError, STANDARD_LEADS, UnnamedLeadsError

__version__ = "0.1.0"

_LAZY = {
    "read_ecg": "mets_core.readers",
    "METS": "mets_core.pipeline",
    "Match": "mets_core.pipeline",
    "ReportIndex": "mets_core.index",
}

__all__ = ["ECG", "ECGReadError", "UnnamedLeadsError", "STANDARD_LEADS", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mets_core' has no attribute {name!r}")
