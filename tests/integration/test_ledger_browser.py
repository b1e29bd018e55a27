"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium through
/usr/bin/chromedriver (scripts/ensure-services installs both; nothing is downloaded). Signs
in through the link, opens every page, follows a deployment from the matrix to its page,
checks that the charts are drawn, and saves a screenshot of each page under results/ledger/."""
import shutil
import tempfile
from pathlib import Path

import pytest

from deploybot.storage.database import Database, migrate
from devtools.ledger_sample import fill
from tests.integration.test_ledger_web import TOKEN, start_dashboard, stop
from tests.support import ROOT

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "results" / "ledger"
# Chromium's own network traffic is refused on this machine: switched off, not waited for.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1000"]


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium or ChromeDriver is missing: run scripts/ensure-services (make test does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="deploybot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ledger-browser")
    url = f"sqlite:///{directory / 'deploybot.db'}"
    migrate(url)
    fill(Database(url), 5000, audit_count=500)
    running = start_dashboard(url, directory)
    yield running
    stop(running)


def click_and_load(driver, element, timeout: float = 30) -> None:
    """Clicks a link or submit button and waits for the next page: a click returns before
    the navigation is done, and on a busy machine the old page is still there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, timeout).until(expected_conditions.staleness_of(page))


def shoot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(max(height + 40, 600), 3000))
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    driver.set_window_size(1280, 1000)


def test_sign_in_open_every_page_and_follow_a_deployment(browser, dashboard):
    from selenium.webdriver.common.by import By

    browser.get(dashboard.url + "/history")
    assert "Sign in first" in browser.page_source                   # 401 without a session
    browser.get(f"{dashboard.url}/signin?token={TOKEN}")
    assert browser.current_url == dashboard.url + "/"                 # the token left the address bar
    assert "What runs where now" in browser.find_element(By.TAG_NAME, "h1").text
    cookie = browser.get_cookie("deploybot_ledger_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert browser.execute_script("return document.cookie") == ""    # out of scripts' reach
    shoot(browser, "now")

    # from the matrix to the running deployment of cms on production, and its timeline
    running = browser.find_element(By.CSS_SELECTOR, ".matrix .active a")
    click_and_load(browser, running)
    assert browser.current_url.startswith(dashboard.url + "/deployments/")
    assert "Timeline" in browser.page_source and "running" in browser.find_element(By.CSS_SELECTOR, ".timeline").text
    shoot(browser, "deployment")

    # History: filter by the form (keyboard: the button is a real submit), then page on
    browser.get(dashboard.url + "/history")
    browser.find_element(By.CSS_SELECTOR, "select[name=state] option[value=failed]").click()
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button"))
    assert "state=failed" in browser.current_url
    states = {cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "td.state")}
    assert states == {"failed"}
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "a[rel=next]"))
    assert "Page 2 of" in browser.page_source
    shoot(browser, "history")
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "td a[href^='/deployments/']"))
    assert "End of the console" in browser.page_source
    shoot(browser, "deployment-failed")

    browser.get(dashboard.url + "/audit")
    assert browser.find_elements(By.CSS_SELECTOR, "td.outcome")
    shoot(browser, "audit")

    browser.get(dashboard.url + "/metrics?since=2026-10-01&until=2026-12-31")
    images = browser.find_elements(By.CSS_SELECTOR, ".charts img")
    assert len(images) == 4
    for image in images:   # drawn: the SVG loaded and has a size
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 100, \
            image.get_attribute("src")
    shoot(browser, "metrics")

    # a phone: the pages fit without sideways scrolling of the page itself
    browser.set_window_size(390, 844)
    browser.get(dashboard.url + "/")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 400
    browser.save_screenshot(str(SCREENSHOTS / "now-phone.png"))
