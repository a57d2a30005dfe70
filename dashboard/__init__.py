"""The METS clinician dashboard (Streamlit). Run with `streamlit run dashboard/app.py`."""
