"""Where each function's page lives. Streamlit builds the sidebar from pages/ (sorted by the
number in front, titled by the rest of the file name); each page file is a few lines calling
the shared page builder. tests/test_pages.py checks that every core function has its page."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = ROOT / "pages"


def page_files() -> dict[str, Path]:
    """Function name -> its page file, read from the page files themselves."""
    found = {}
    for path in sorted(PAGES_DIR.glob("*.py")):
        text = path.read_text()
        if "function_page(" in text:
            name = text.split('function_page("', 1)[1].split('"', 1)[0]
            found[name] = path
    return found


def page_link_path(function_name: str) -> str:
    """The path st.page_link takes: relative to the entry point's folder."""
    return str(page_files()[function_name].relative_to(ROOT))
