"""Entry point: `streamlit run dashboard.py`. The home page, then one page per function in
sections (the page files live in pages/)."""

import streamlit as st

from app.home import home_page
from app.navigation import navigation_pages

st.navigation(navigation_pages(home_page), expanded=True).run()
