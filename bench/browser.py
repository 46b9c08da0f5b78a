"""Headless Chromium for the benchmarks, launched as the tests launch it (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--disable-component-update", "--disable-sync", "--no-first-run")


def start_browser(width: int = 1920, height: int = 1080):
    """A Selenium driver of Debian's chromium (or CALLBOARD_CHROMIUM) through chromedriver (or
    CALLBOARD_CHROMEDRIVER), showing pages at ``width`` x ``height`` CSS pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    chromium = os.environ.get("CALLBOARD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        options.binary_location = chromium
    for flag in (*FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = os.environ.get("CALLBOARD_CHROMEDRIVER") or shutil.which("chromedriver")
    return webdriver.Chrome(service=Service(driver), options=options)
