"""Save a PNG of a Callboard page as a display of a given size shows it (headless Chromium).

    python tools/screenshot.py http://127.0.0.1:8050/wall docs/wall.png --size 1920x1080 \
        --sign-in 'http://127.0.0.1:8050/signin/link?key=…'

Start Callboard first (`callboard demo`, which prints a one-time sign-in link and a display URL;
either signs the browser in, the display URL for the wall only). Used for the screenshots in docs/; needs Debian's
chromium and chromium-driver and the test extra (selenium).
"""

from __future__ import annotations

import argparse
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--size", default="1920x1080", help="the display's size in CSS pixels (default 1920x1080)")
    parser.add_argument("--click", action="append", default=[],
                        help="CSS selector to click before the screenshot (repeatable, in order)")
    parser.add_argument("--sign-in", metavar="URL",
                        help="a sign-in link or display URL to open first (the pages need a signed-in browser)")
    parser.add_argument("--settle", type=float, default=4.0, help="seconds to let the page fill in (default 4)")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    options = Options()
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        # The page's own viewport, exactly the display's size (the window would include its frame).
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        if args.sign_in:
            driver.get(args.sign_in)
        driver.get(args.url)
        time.sleep(args.settle)
        for selector in args.click:
            # In the page itself: a live page redraws its parts, which can leave a driver's handle stale.
            driver.execute_script("document.querySelector(arguments[0]).click()", selector)
            time.sleep(args.settle / 2)
        driver.save_screenshot(args.out)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
