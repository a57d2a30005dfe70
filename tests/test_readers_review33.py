"""Reader defects found in review 33, each shown on a file built here (no data folder needed):

* EDF: a Holter's numbered channels ('ECG1', 'ECG2', 'ECG3') were read as leads I, II and III;
* GE MUSE and SCP-ECG: lead_names were matched against the stored leads plus the limb leads derived from I
  and II, so naming the 8 stored leads was refused ("has 12 channels"), and naming unnamed stored leads gave
  no derived limb leads;
* XML in a multi-byte encoding (Shift_JIS, GB2312, EUC-KR, Big5) was refused with "(ValueError)", and an
  unknown declared encoding let a LookupError escape read_ecg;
* CSV: a units row's 'ms' under a time column was ignored (the column read as seconds and refused).
"""
from __future__ import annotations

import numpy as np
import pytest

from hospital_files import aecg_xml, edf_bytes, muse_xml, philips_xml, scp_bytes, synthetic_12lead
from mets_core import ECGReadError, UnnamedLeadsError, read_ecg

EIGHT = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture(scope="module")
def uv250():
    return synthetic_12lead(10, 250)


# ------------------------------------------------------------------------------------------------ EDF

def test_edf_holter_channels_numbered_ecg1_to_ecg3_are_not_taken_for_leads_i_ii_iii(uv250):
    """A 3-channel Holter's ECG1/ECG2/ECG3 are channels (here V5, V1, aVF), not leads I, II, III: reading
    them as I/II/III drew the wrong leads under the wrong names. Now the file asks for their names, as a WFDB
    or CSV file with such channels does, and reads once they are given."""
    data = edf_bytes({"ECG1": uv250["V5"], "ECG2": uv250["V1"], "ECG3": uv250["aVF"]}, fs=250,
                     extra={"SpO2": (np.full(10, 97.0), 1.0, "%")})
    with pytest.raises(UnnamedLeadsError) as refused:
        read_ecg(data, "holter.edf")
    assert refused.value.channel_names == ["ECG1", "ECG2", "ECG3"]
    assert "lead_names" in str(refused.value)

    ecg = read_ecg(data, "holter.edf", lead_names=["V5", "V1", "aVF"])
    assert ecg.leads == ["aVF", "V1", "V5"]
    for lead in ("V5", "V1", "aVF"):
        np.testing.assert_allclose(ecg.lead(lead), uv250[lead] / 1000, atol=2e-3)
    assert ecg.metadata["non_ecg_signals"] == "SpO2"


def test_edf_numbered_channel_beside_named_leads_is_left_out_and_listed(uv250):
    data = edf_bytes({"ECG II": uv250["II"], "ECG2": uv250["V1"], "EKG": uv250["I"]}, fs=250)
    ecg = read_ecg(data, "mixed.edf")
    assert ecg.leads == ["I", "II"]                        # a bare ECG/EKG is lead I, as the alias table says
    assert ecg.metadata["dropped_leads"] == "ECG2"
    np.testing.assert_allclose(ecg.lead("II"), uv250["II"] / 1000, atol=2e-3)


# ----------------------------------------------------------------------------------- MUSE and SCP-ECG

def test_muse_lead_names_name_the_stored_leads_and_the_limb_leads_are_derived_from_them(uv250):
    stored = {k: uv250[k] for k in EIGHT}
    ecg = read_ecg(muse_xml(stored, fs=250), "muse.xml", lead_names=EIGHT)
    assert ecg.leads == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

    unnamed = {name: uv250[lead] for name, lead in zip(["A", "B", "C"], ["I", "II", "V1"])}
    with pytest.raises(UnnamedLeadsError) as refused:
        read_ecg(muse_xml(unnamed, fs=250), "muse.xml")
    assert refused.value.channel_names == ["A", "B", "C"]
    ecg = read_ecg(muse_xml(unnamed, fs=250), "muse.xml", lead_names=["I", "II", "V1"])
    assert ecg.leads == ["I", "II", "III", "aVR", "aVL", "aVF", "V1"]
    np.testing.assert_allclose(ecg.lead("III"), ecg.lead("II") - ecg.lead("I"), atol=1e-6)
    assert "III" in ecg.metadata["derived_leads"]


def test_muse_lead_names_of_the_wrong_count_say_how_many_leads_are_stored(uv250):
    with pytest.raises(ECGReadError, match="lead_names has 3 names but 'muse.xml' has 8 channels"):
        read_ecg(muse_xml({k: uv250[k] for k in EIGHT}, fs=250), "muse.xml", lead_names=["I", "II", "V1"])


def test_scp_lead_names_name_the_stored_leads_and_the_limb_leads_are_derived(uv250):
    data = scp_bytes({k: uv250[k] for k in EIGHT}, fs=250.0)
    ecg = read_ecg(data, "cart.scp", lead_names=EIGHT)
    assert len(ecg.leads) == 12
    np.testing.assert_allclose(ecg.lead("aVF"), ecg.lead("II") - ecg.lead("I") / 2, atol=1e-6)


# ------------------------------------------------------------------------------------- XML encodings

def _declared_as(document: bytes, encoding: str) -> bytes:
    """The same document saved in `encoding`, its declaration saying so, with a patient name in a script
    that encoding exists for (as a cart set up in that language writes it)."""
    text = document.decode("latin-1")
    declaration = text[: text.index("?>") + 2]
    name = {"EUC-KR": "\uae40\ubbfc\uc218", "Big5": "\u9673\u5927\u6587"}.get(encoding, "\u5c71\u7530")
    text = text.replace(declaration, f'<?xml version="1.0" encoding="{encoding}"?>').replace("M\xfcller", name)
    text = text.replace("TEST0001", f"TEST0001 {name}")
    return text.encode(encoding)


@pytest.mark.parametrize("encoding", ["Shift_JIS", "GB2312", "EUC-KR", "Big5"])
@pytest.mark.parametrize("fmt", ["muse", "philips", "hl7aecg"])
def test_xml_in_a_multibyte_encoding_reads_as_its_utf8_twin(uv250, fmt, encoding):
    twelve = {k: v[:1000] for k, v in synthetic_12lead(4, 250).items()}
    document = {"muse": lambda: muse_xml({k: uv250[k] for k in EIGHT}, fs=250),
                "philips": lambda: philips_xml(twelve, fs=250),
                "hl7aecg": lambda: aecg_xml(twelve, fs=250.0)}[fmt]()
    plain = read_ecg(document, "ecg.xml")
    ecg = read_ecg(_declared_as(document, encoding), "ecg.xml")
    assert ecg.leads == plain.leads and ecg.fs == plain.fs
    np.testing.assert_array_equal(ecg.signal, plain.signal)


def test_xml_declaring_an_unknown_encoding_is_refused_in_words(uv250):
    document = muse_xml({k: uv250[k] for k in ["I", "II"]}, fs=250).replace(b"ISO-8859-1", b"x-cart-charset")
    with pytest.raises(ECGReadError, match=r"'x-cart-charset'.*saved as UTF-8"):
        read_ecg(document, "ecg.xml")


def test_xml_whose_bytes_are_not_in_its_declared_multibyte_encoding_says_so(uv250):
    document = muse_xml({k: uv250[k] for k in ["I", "II"]}, fs=250).replace(b"ISO-8859-1", b"Shift_JIS")
    document = document.replace(b"TEST0001", b"TEST0001 \x80\xff")      # no Shift_JIS character
    with pytest.raises(ECGReadError, match=r"not in the text encoding it declares \(Shift_JIS\)"):
        read_ecg(document, "ecg.xml")


# ------------------------------------------------------------------------------------------------ CSV

def test_csv_units_row_ms_under_a_time_column_is_read_as_milliseconds():
    t = np.arange(2000) * 2                                         # ms: 500 Hz
    rows = "\n".join(f"{ms},{np.sin(ms / 80):.4f},{np.cos(ms / 80):.4f}" for ms in t)
    ecg = read_ecg(f"time,II,V5\nms,mV,mV\n{rows}\n".encode(), "export.csv")
    assert ecg.fs == 500.0 and ecg.leads == ["II", "V5"]
    seconds = "\n".join(f"{ms / 1000:.3f},{np.sin(ms / 80):.4f},{np.cos(ms / 80):.4f}" for ms in t)
    assert read_ecg(f"time,II,V5\ns,mV,mV\n{seconds}\n".encode(), "export.csv").fs == 500.0
