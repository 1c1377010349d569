"""The app's pages: one file per function in pages/ (each a few lines calling the shared page
builder), listed by `st.navigation` in dashboard.py with titles, icons and sections.
tests/test_pages.py checks that every core function has its page."""

from __future__ import annotations

from pathlib import Path

from core import FUNCTION_CLASSES

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = ROOT / "pages"
ARTICLE_SECTION, CLASSIC_SECTION, YOURS_SECTION = "The article's functions", "Classic test functions", "Your own"
ICONS = {"two_gaussians": ":material/blur_on:", "rastrigin": ":material/grid_on:", "rosenbrock": ":material/moving:",
         "custom": ":material/edit:", "saddle": ":material/unfold_more:"}


def page_files() -> dict[str, Path]:
    """Function name -> its page file, read from the page files themselves."""
    found = {}
    for path in sorted(PAGES_DIR.glob("*.py")):
        text = path.read_text()
        if "function_page(" in text:
            name = text.split('function_page("', 1)[1].split('"', 1)[0]
            found[name] = path
    return found


def url_path(function_name: str) -> str:
    """The page's address (see `_url_path_of`)."""
    return _url_path_of(page_files()[function_name])


def _url_path_of(page_file: Path) -> str:
    """The address Streamlit infers from a page's file name: 01_Two-Gaussian_bowl.py is
    /Two-Gaussian_bowl (see `leave_pages_directory_mode`)."""
    return page_file.stem.split("_", 1)[1]


def leave_pages_directory_mode() -> None:
    """Streamlit runs the first script run of a server in its old pages/-directory mode (it
    finds pages/ beside dashboard.py), with the old sidebar, until dashboard.py's st.navigation
    switches it off. A page opened directly (a shared link) on a fresh server is found in that
    mode, since its url_path is the one the old mode infers; this reruns it at once under
    st.navigation, so that the sidebar has its sections and no "Page not found" appears."""
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_title(function_name: str) -> str:
    return "Your function" if function_name == "custom" else FUNCTION_CLASSES[function_name].title


def section_of(function_name: str) -> str:
    from .presets import ARTICLE_FUNCTIONS  # presets imports core's registries; no cycle

    if function_name == "custom":
        return YOURS_SECTION
    return ARTICLE_SECTION if function_name in ARTICLE_FUNCTIONS else CLASSIC_SECTION


def page_link_path(function_name: str) -> str:
    """The path st.page_link takes: relative to the entry point's folder."""
    return str(page_files()[function_name].relative_to(ROOT))


def navigation_pages(home) -> dict[str, list]:
    """Sections -> st.Page list for st.navigation: the home page, then the function pages."""
    import streamlit as st

    sections = {"": [st.Page(home, title="Home", icon=":material/home:", default=True)],
                ARTICLE_SECTION: [], CLASSIC_SECTION: [], YOURS_SECTION: []}
    for name, path in page_files().items():
        sections[section_of(name)].append(
            st.Page(str(path.relative_to(ROOT)), title=page_title(name), url_path=_url_path_of(path),
                    icon=ICONS.get(name, ":material/show_chart:")))
    return {section: pages for section, pages in sections.items() if pages}
