"""Hostile CSV and NumPy input (a review's findings): a CSV over the limits is refused from its line count
before any row is parsed, the numbers are parsed in bulk with the old rules kept; odd encodings, Excel's
'sep=' line, look-alike lead names; NumPy headers that lie; the dashboard's and the command line's wording."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from helpers import csv_bytes, synthetic_signal, write_cli_model
from mets_core import ECGReadError, UnnamedLeadsError, read_ecg
from mets_core.cli import main
from mets_core.readers import MAX_SAMPLES_PER_LEAD, MAX_TOTAL_SAMPLES

ROOT = Path(__file__).resolve().parents[1]


def _under_memory_cap(code: str, headroom_mb: int) -> dict:
    """Run `code` (it builds its input, then calls `go()` and stores what happened in `result`) in a Python
    process whose address space may grow only `headroom_mb` past what it holds when `go` starts: reading
    that allocates more fails with MemoryError there instead of slowing this machine."""
    before = (f"import json, resource, sys\nsys.path.insert(0, {str(ROOT)!r})\n"
              "import mets_core.readers, pandas\nfrom mets_core import read_ecg\nresult = {}\n")
    after = textwrap.dedent(f'''
        vm = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (vm + {headroom_mb} * 2**20, resource.RLIM_INFINITY))
        try:
            go()
        except MemoryError:
            result["error"] = "MemoryError"
        except Exception as err:
            result["error"] = type(err).__name__
            result["message"] = str(err)
        print(json.dumps(result))
    ''')
    script = before + textwrap.dedent(code) + after
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- 1. size: refused from the line count, before parsing ------------------------------------------------

def test_a_csv_longer_than_the_limit_is_refused_before_its_rows_are_parsed():
    """One lead, a row more than MAX_SAMPLES_PER_LEAD (48 MB of text): refused with 150 MB to spare (splitting
    it into lines, as the reader did, takes over 1 GB)."""
    result = _under_memory_cap(f'''
        data = b"# fs=250\\nII\\n" + b"0\\n" * {MAX_SAMPLES_PER_LEAD + 1}
        def go():
            read_ecg(data, name="day.csv")
    ''', headroom_mb=150)
    assert result.get("error") == "ECGReadError", result
    assert f"{MAX_SAMPLES_PER_LEAD + 1:,} rows" in result["message"]
    assert f"at most {MAX_SAMPLES_PER_LEAD:,} samples per lead" in result["message"]


def test_too_many_samples_in_all_is_refused_from_the_line_count():
    """12 leads of empty cells, a row more than MAX_TOTAL_SAMPLES allows (80 MB of text): refused with 150 MB
    to spare."""
    result = _under_memory_cap(f'''
        rows = {MAX_TOTAL_SAMPLES // 12 + 1}
        data = b"# fs=500\\nI,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6\\n" + b",,,,,,,,,,,\\n" * rows
        def go():
            read_ecg(data, name="x.csv")
    ''', headroom_mb=150)
    assert result.get("error") == "ECGReadError", result
    assert f"at most {MAX_TOTAL_SAMPLES:,} samples in all" in result["message"]


def test_a_long_valid_csv_is_read_in_bulk_within_a_few_times_its_float64_size():
    """2 leads x 2,000,000 rows (32 MB as float64): read with 250 MB to spare."""
    result = _under_memory_cap('''
        import numpy as np
        data = b"# fs=250\\nI,II\\n" + b"0.25,-1.5\\n" * 2_000_000
        def go():
            ecg = read_ecg(data, name="long.csv")
            result.update(n=ecg.n_samples, leads=ecg.leads, first=float(ecg.lead("I")[0]),
                          last=float(ecg.lead("II")[-1]))
    ''', headroom_mb=250)
    assert result == {"n": 2_000_000, "leads": ["I", "II"], "first": 0.25, "last": -1.5}, result


# --- 3. CSV details ---------------------------------------------------------------------------------------

def _twelve_csv(sep=",", decimal=".") -> tuple[str, np.ndarray]:
    sig = synthetic_signal(3, n=600, fs=300).T
    lines = [sep.join(["I", "II", "V1"])]
    lines += [sep.join(f"{v:.4f}".replace(".", decimal) for v in row) for row in sig.T]
    return "\n".join(lines) + "\n", sig


def test_utf16_csv_as_excel_saves_unicode_text_is_read():
    text, sig = _twelve_csv(sep="\t")
    ecg = read_ecg(text.encode("utf-16"), name="unicode.txt", fs=300)
    assert ecg.leads == ["I", "II", "V1"]
    np.testing.assert_allclose(ecg.lead("V1"), sig[2], atol=1e-4)


def test_binary_csv_says_to_save_as_utf8():
    with pytest.raises(ECGReadError, match="save it as CSV in UTF-8"):
        read_ecg(b"I,II\x00\x01\x02" * 10, name="x.csv", fs=500)


def test_excels_sep_line_is_honoured():
    text, sig = _twelve_csv(sep=";", decimal=",")
    ecg = read_ecg(("sep=;\n" + text).encode(), name="excel.csv", fs=300)
    assert ecg.leads == ["I", "II", "V1"]
    np.testing.assert_allclose(ecg.lead("II"), sig[1], atol=1e-4)


def test_digit_separators_are_not_numbers():
    with pytest.raises(ECGReadError, match=r"data row 2 holds '1_000', which is not a number"):
        read_ecg(b"I,II\n0.1,0.2\n0.1,1_000\n0.3,0.4\n", name="x.csv", fs=500)


def test_unclosed_quote_is_worded():
    text, _ = _twelve_csv()
    lines = text.splitlines()
    lines[5] = '"' + lines[5]
    message = str(pytest.raises(ECGReadError, read_ecg, "\n".join(lines).encode(), name="q.csv", fs=300).value)
    assert 'an unclosed quote (") or an over-long line' in message and "Error:" not in message
    long_line = b"I,II\n1," + b"9" * 200_000 + b"\n1,2\n"
    message = str(pytest.raises(ECGReadError, read_ecg, long_line, name="l.csv", fs=300).value)
    assert "over-long line" in message and "field limit" not in message


def test_bulk_parsing_keeps_the_rules_cell_by_cell():
    """Missing-sample words in any case, inf, blank and comment lines between rows, CR line ends, quoted
    numbers; a short row and text in a cell are refused with their row."""
    rows = ["# fs=500", "I,II"] + [f"{0.01 * k:.2f},{-0.01 * k:.2f}" for k in range(400)]
    rows[10] = "NaN,0.1"
    rows[11] = "0.2,nULL"
    rows[12] = '"0.3",inf'
    rows.insert(20, "")
    rows.insert(30, "# a note in the middle")
    ecg = read_ecg("\r".join(rows).encode(), name="x.csv")
    assert ecg.n_samples == 400 and ecg.metadata["interpolated_samples"] == "I:1 II:2"
    assert "a note in the middle" in ecg.metadata["comments"]
    assert ecg.lead("I")[10] == pytest.approx(0.3)
    short = rows[:40] + ["0.5"] + rows[40:]
    with pytest.raises(ECGReadError, match="data row 37 has 1 cells but the header has 2"):
        read_ecg("\n".join(short).encode(), name="s.csv")
    text = rows[:50] + ["0.5,abc"] + rows[50:]
    with pytest.raises(ECGReadError, match="data row 47 holds 'abc', which is not a number"):
        read_ecg("\n".join(text).encode(), name="t.csv")


# --- 4. look-alike lead names -----------------------------------------------------------------------------

def test_fullwidth_lead_names_are_read_as_the_leads():
    sig = synthetic_signal(3, n=600).T
    ecg = read_ecg(csv_bytes(["Ｉ", "ＩＩ", "Ｖ１"], list(sig)), name="fw.csv", fs=500)
    assert ecg.leads == ["I", "II", "V1"]


def test_cyrillic_look_alike_names_are_refused_showing_the_letters():
    sig = synthetic_signal(2, n=600).T
    with pytest.raises(UnnamedLeadsError) as info:
        read_ecg(csv_bytes(["\u0406", "\u0406\u0406"], list(sig)), name="cy.csv", fs=500)
    assert "U+0406 CYRILLIC CAPITAL LETTER" in str(info.value) and "not plain ASCII" in str(info.value)


# --- 2. NumPy headers -------------------------------------------------------------------------------------

def _raw_npy(header: str, payload: bytes = b"", version: int = 1) -> bytes:
    h = header.encode()
    h += b" " * (64 - (10 + len(h) + 1) % 64) + b"\n"
    size = len(h).to_bytes(2 if version == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + payload


@pytest.mark.parametrize("shape,expected", [
    ("(12, -5)", "negative size"),
    ("(4294967296, 4294967296)", "truncated"),
])
def test_npy_shapes_that_overflow_or_are_negative_are_refused_in_words(shape, expected):
    data = _raw_npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}", b"\0" * 1000)
    message = str(pytest.raises(ECGReadError, read_ecg, data, name="x.npy", fs=500).value)
    assert expected in message and "ValueError" not in message and "reshape" not in message


def test_npy_header_with_code_is_not_a_numpy_header(tmp_path):
    marker = tmp_path / "ran"
    header = (f"{{'descr': '<f4', 'fortran_order': False, 'shape': (12, 500), "
              f"'x': __import__('os').system('touch {marker}')}}")
    message = str(pytest.raises(ECGReadError, read_ecg, _raw_npy(header, b"\0" * 24000), name="e.npy",
                                fs=500).value)
    assert "not a valid NumPy header" in message and "ast." not in message and "0x7f" not in message
    assert not marker.exists()


def test_npy_huge_header_is_refused_by_its_size():
    data = b"\x93NUMPY\x02\x00" + (50_000_000).to_bytes(4, "little") + b"{" + b" " * 1000
    message = str(pytest.raises(ECGReadError, read_ecg, data, name="h.npy", fs=500).value)
    assert "50,000,000 bytes" in message and "max_header_size" not in message and "\n" not in message


def test_a_long_npy_is_refused_from_its_header_before_loading(tmp_path):
    """1 x 30 M float32 (120 MB, a sparse file): the names and the length are judged from the header; loading
    it (+120 MB) and converting it to float64 (+240 MB) would pass the 200 MB to spare (reading the file
    takes 120 MB of them)."""
    path = tmp_path / "long.npy"
    n = 30_000_000
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (n,)})
    with open(path, "wb") as f:
        f.write(header.getvalue())
        f.truncate(len(header.getvalue()) + 4 * n)
    result = _under_memory_cap(f'''
        def go():
            try:
                read_ecg({str(path)!r}, fs=250)
            except Exception as err:
                result["unnamed"] = str(err)
            read_ecg({str(path)!r}, fs=250, lead_names=["II"])
    ''', headroom_mb=200)
    assert "holds 1 lead without a name" in result["unnamed"], result
    assert result.get("error") == "ECGReadError" and f"{n:,} samples per lead" in result["message"], result


def test_npz_leads_of_python_objects_are_refused_without_numpys_words():
    buf = io.BytesIO()
    np.savez(buf, signal=np.zeros((12, 1000)), fs=500, leads=np.array(["I", 2], dtype=object))
    message = str(pytest.raises(ECGReadError, read_ecg, buf.getvalue(), name="p.npz").value)
    assert "never unpickled" in message and "ValueError" not in message


# --- 5. the dashboard's words for a reader's failure ------------------------------------------------------

def test_dashboard_names_every_accepted_format_when_a_reader_fails(monkeypatch):
    from dashboard.loading import read_uploads
    from mets_core.readers import ACCEPTED_FORMATS, dispatch

    def broken(*args, **kwargs):
        raise OverflowError("int too large")

    monkeypatch.setitem(dispatch.READERS, "csv", broken)
    result = read_uploads([("x.csv", b"I,II\n1,2\n3,4\n")], fs=500)
    [(what, message)] = result.errors
    assert ACCEPTED_FORMATS in message and "OverflowError" in message and "export it again" in message
    monkeypatch.setitem(dispatch.READERS, "csv", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    [(what, message)] = read_uploads([("x.csv", b"I,II\n1,2\n3,4\n")], fs=500).errors
    assert "too large to read in the memory" in message


# --- 6, 7. the command line -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_cli_model(tmp_path_factory.mktemp("hostile") / "model", ["atrial fibrillation"])


def test_an_abbreviated_option_is_not_taken_for_another(tmp_path, capsys):
    """`--prompts` is no option: argparse's abbreviations read it as --prompts-file."""
    record = tmp_path / "r.csv"
    record.write_bytes(b"# fs=500\nI,II\n" + b"0.1,0.2\n" * 600)
    with pytest.raises(SystemExit) as info:
        main(["rank", str(record), "--prompts", "atrial fibrillation"])
    assert info.value.code == 2
    assert "unrecognized arguments: --prompts" in capsys.readouterr().err


def _error_line(err: str, what) -> str:
    [line] = [ln for ln in err.splitlines() if ln.startswith(f"mets: {what}: ")]
    return line


def test_cli_error_lines_name_the_record_once(tmp_path, model_dir, capsys):
    from hospital_files import muse_xml, synthetic_12lead
    leads = synthetic_12lead(10, 500)
    entity = tmp_path / "entity.xml"
    entity.write_bytes(b'<?xml version="1.0"?><!DOCTYPE RestingECG [<!ENTITY a "x">]><RestingECG>&a;'
                       b'</RestingECG>')
    no_ids = tmp_path / "no_ids.xml"
    xml = muse_xml({k: leads[k] for k in ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]}).decode("latin-1")
    import re
    no_ids.write_bytes(re.sub(r"<LeadID>[^<]*</LeadID>", "<LeadID></LeadID>", xml).encode("latin-1"))
    archive = tmp_path / "two.npz"
    np.savez(archive, signal=np.zeros((12, 1000)), fs=500.0, leads=np.array(["I", "II"]))
    records = [entity, no_ids, archive]
    rc = main(["rank", *map(str, records), "-p", "atrial fibrillation", "--model", str(model_dir), "--json"])
    err = capsys.readouterr().err
    assert rc == 1
    entity_line = _error_line(err, entity)
    assert "GE the" not in entity_line and "the GE MUSE XML file declares XML entities" in entity_line
    no_ids_line = _error_line(err, no_ids)
    assert "'no_ids.xml'" not in no_ids_line and f"{no_ids}: none of the lead names" in no_ids_line
    archive_line = _error_line(err, archive)
    assert "'two.npz'" not in archive_line and f"{archive}: 2 lead names given" in archive_line
