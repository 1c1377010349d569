"""Entry point and home page: `streamlit run dashboard.py`. Streamlit lists the function
pages of pages/ in the sidebar."""

from app.home import home_page

home_page()
