"""Shared fixtures (the builders behind them live in ``helpers.py``).

Tests that need the real PhysioNet databases take the ``data_dir`` fixture: it is the folder named by the
environment variable ``METS_DATA_DIR`` (``.ci/run`` sets it to ``../shared/data``), and the test is
skipped, with the one reason of ``helpers.skip_reason``, when the variable is unset or the folder is missing.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers import require_data, wfdb_12lead_upload


@pytest.fixture(autouse=True)
def _main_module_kept():
    """Streamlit's AppTest runs its script as ``__main__`` and leaves it there; a process the CLI's reader pool
    starts later (multiprocessing forkserver) re-runs ``__main__`` from its file, which AppTest has deleted, and
    dies. Each test leaves ``__main__`` as it found it, so the order of the tests does not matter."""
    main = sys.modules.get("__main__")
    kept = {k: getattr(main, k) for k in ("__file__", "__spec__") if hasattr(main, k)}
    yield
    if sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main
    for k, v in kept.items():
        if getattr(main, k, None) is not v:
            setattr(main, k, v)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real ECG databases (ludb/, ptbdb/, mitdb/, ...), from METS_DATA_DIR."""
    return require_data()


@pytest.fixture(scope="module")
def rec1(tmp_path_factory) -> dict[str, bytes]:
    """A valid synthetic 12-lead WFDB upload {'1.hea': ..., '1.dat': ...} (see helpers.wfdb_12lead_upload)."""
    from mets_core import STANDARD_LEADS, read_ecg
    files = wfdb_12lead_upload(tmp_path_factory.mktemp("rec1"))
    assert read_ecg(list(files.items())).leads == list(STANDARD_LEADS)    # valid as written
    return files


@pytest.fixture(scope="session")
def ludb_leads(data_dir):
    """Leads I, II, V1 of LUDB record 1 (500 Hz), as float32 -- real values for round trips. The LUDB copy
    beside the project has every lead scaled to a peak-to-peak of exactly 1 (channels.looks_range_scaled):
    given each its own size here (0.6, 1.4, 0.9 mV peak to peak), as a recording in mV has them."""
    import numpy as np
    import wfdb
    rec = wfdb.rdrecord(str(data_dir / "ludb" / "data" / "1"), channels=[0, 1, 6])
    sizes = np.array([[0.6], [1.4], [0.9]])
    return (rec.p_signal.T * sizes).astype(np.float32).astype(np.float64)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A random-init checkpoint with its report index (dashboard_fixtures.make_test_weights), per module."""
    from dashboard_fixtures import make_test_weights
    return make_test_weights(tmp_path_factory.mktemp("weights"))


@pytest.fixture
def app(weights, monkeypatch):
    """The dashboard in Streamlit's AppTest on the test checkpoint, run once (dashboard_fixtures.new_app)."""
    from dashboard_fixtures import new_app
    monkeypatch.setenv("METS_WEIGHTS", str(weights))
    monkeypatch.setenv("METS_THREADS", "0")     # AppTest runs in pytest's process: leave its threads alone
    return new_app()


@pytest.fixture
def shipped_app(monkeypatch):
    """The dashboard in AppTest on the shipped weights/ (reference ECGs, the known-phrase threshold: they know
    "atrial fibrillation" and not "banana"); skipped when weights/ ships no reference ECGs."""
    from dashboard_fixtures import REPO, new_app
    if not (REPO / "weights" / "reference.safetensors").is_file():
        pytest.skip("weights/ ships no reference ECGs")
    monkeypatch.setenv("METS_WEIGHTS", str(REPO / "weights"))
    monkeypatch.setenv("METS_THREADS", "0")
    return new_app()
