"""Real LUDB records and their diagnoses for engine tests (read straight with wfdb; skip when the shared
data folder is not configured)."""
from __future__ import annotations

from pathlib import Path

from mets_core.ecg import ECG

from helpers import require_data


def shared_data_dir() -> Path:
    return require_data()


def wfdb_ecg(path: Path) -> ECG:
    import wfdb
    r = wfdb.rdrecord(str(path))
    return ECG.from_leads(r.p_signal.T, r.sig_name, r.fs, name=path.name)


def ludb_ecg(i: int) -> ECG:
    return wfdb_ecg(shared_data_dir() / "ludb" / "data" / str(i))


def ludb_diagnosis(i: int) -> str:
    """The English diagnoses of LUDB record i: header comment lines after '<diagnoses>:', joined."""
    lines = (shared_data_dir() / "ludb" / "data" / f"{i}.hea").read_text().splitlines()
    comments = [ln.lstrip("#").strip() for ln in lines if ln.startswith("#")]
    start = next(k for k, c in enumerate(comments) if c.startswith("<diagnoses>"))
    return " ".join(c for c in comments[start + 1:] if c)


def ludb_pairs(n: int) -> list[tuple[ECG, str]]:
    """The first n LUDB records whose diagnosis texts are all different."""
    out, seen = [], set()
    for i in range(1, 201):
        text = ludb_diagnosis(i)
        if text in seen:
            continue
        seen.add(text)
        out.append((ludb_ecg(i), text))
        if len(out) == n:
            return out
    raise AssertionError(f"LUDB has fewer than {n} distinct diagnoses")
