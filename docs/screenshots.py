"""Screenshots of the two-Gaussian page after a click, at the three sizes the app is checked
at (desktop, laptop, phone), and of a guided scenario, for the README:

    python docs/screenshots.py        # writes docs/screenshots/*.png
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import launch_chromium, streamlit_server, wait_for_app  # noqa: E402

SIZES = {"desktop-1400x1000": (1400, 1000), "laptop-1280x720": (1280, 720), "phone-390x844": (390, 844)}


def main() -> None:
    out = ROOT / "docs" / "screenshots"
    out.mkdir(exist_ok=True)
    with streamlit_server() as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for name, (width, height) in SIZES.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{url}/Two-Gaussian_bowl?start=0.5,1")
            wait_for_app(page)
            page.wait_for_timeout(20_000)  # the race ends (500 steps at 30 ms)
            page.screenshot(path=str(out / f"{name}.png"))
            print(out / f"{name}.png")
            page.close()
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/Two-Gaussian_bowl?guide=momentum-spirals")
        wait_for_app(page)
        page.wait_for_timeout(12_000)  # the race ends (300 steps at 30 ms)
        page.screenshot(path=str(out / "scenario-momentum-spirals.png"))
        print(out / "scenario-momentum-spirals.png")
        browser.close()


if __name__ == "__main__":
    main()
