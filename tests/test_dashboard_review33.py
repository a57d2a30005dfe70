"""Review 33 of the dashboard: the paper's layout a reader chose for 12-lead ECGs was lost once a 1-3-lead
recording had been opened (it draws its recorded leads only): the next 12-lead ECG came back as 3×4."""
from dashboard_fixtures import errors, new_app, synthetic_csv, upload


def _two_leads(seconds: float = 20.0, fs: int = 125) -> bytes:
    import neurokit2 as nk
    x = nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=70, random_state=4)
    return ("time,II,V5\n" + "\n".join(f"{k / fs:.4f},{v:.4f},{0.6 * v:.4f}" for k, v in enumerate(x)) + "\n").encode()


def test_the_layout_chosen_for_12_leads_comes_back_after_a_two_lead_recording():
    at = new_app()
    upload(at, [("first.csv", synthetic_csv(seconds=10.0))])
    at.radio(key="layout").set_value("12×1").run()
    upload(at, [("holter.csv", _two_leads())])
    assert at.radio(key="layout").value == "recorded leads only"        # its own rows, as before
    upload(at, [("second.csv", synthetic_csv(seconds=9.0))])            # another 12-lead ECG
    assert not errors(at)
    assert at.radio(key="layout").value == "12×1"


def test_a_12_lead_ecg_opened_first_gets_the_standard_layout():
    at = new_app()
    upload(at, [("holter.csv", _two_leads())])
    upload(at, [("first.csv", synthetic_csv(seconds=10.0))])
    assert at.radio(key="layout").value == "3×4 + rhythm strip"
