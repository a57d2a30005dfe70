"""The dashboard's pages: scripts that dashboard/app.py hands to st.navigation (one file per page); run by
Streamlit, never imported."""
