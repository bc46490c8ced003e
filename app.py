"""RSIC Studio app.

    make app            # or: .venv/bin/streamlit run app.py

With no configuration it opens on the offline demo dataset; the sidebar takes a dataset path.
"""

from pathlib import Path

import streamlit as st

from ui.state import dataset_sidebar

FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"  # served by the app: nothing fetched from the web

st.set_page_config(page_title="RSIC Studio", page_icon=str(FAVICON), layout="wide")

PAGES = {
    "Data": [
        st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("views/explorer.py", title="Dataset explorer", icon=":material/photo_library:"),
    ],
    "Preprocessing": [
        st.Page("views/statistics.py", title="Caption statistics", icon=":material/bar_chart:"),
        st.Page("views/synonyms.py", title="Synonym clusters", icon=":material/hub:"),
    ],
    "Evaluation": [
        st.Page("views/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("views/runs.py", title="Runs", icon=":material/table_chart:"),
        st.Page("views/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:"),
        st.Page("views/efficiency.py", title="Efficiency", icon=":material/speed:"),
    ],
    "Captioning": [
        st.Page("views/live_caption.py", title="Live caption", icon=":material/image_search:"),
        st.Page("views/map.py", title="Scene map", icon=":material/map:"),
    ],
    "Training": [
        st.Page("views/train.py", title="Train", icon=":material/model_training:"),
    ],
}

navigation = st.navigation(PAGES)
dataset_sidebar()
navigation.run()
