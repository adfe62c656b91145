"""The web console in a real headless Chromium (Debian's, through chromedriver and Selenium)
against a real controller with a real edge agent: pages load, the login keeps out a wrong
key, live updates arrive, the explanation is shown, no console errors; screenshots are kept
in the test's folder (pytest's tmp_path)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from edgewhisk_devkit import AgentSpec, Fleet
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from ..api.harness import Controller, create_action, started

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,720")
WAIT_S = 30.0
ECHO = "def main(args):\n    return {'echo': args}\n"


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    yield from started(tmp_path_factory.mktemp("console") / "data")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (Path(CHROMIUM).exists() and shutil.which(DRIVER)):
        pytest.fail("chromium and chromium-driver are not installed: run make test "
                    "(runtime_images/host-setup.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def log_in(browser: webdriver.Chrome, controller: Controller, key: str) -> None:
    browser.get(f"{controller.api_host}/console/login")
    field = browser.find_element(By.ID, "key")
    field.clear()
    field.send_keys(key)
    browser.find_element(By.ID, "login").click()


def errors(browser: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_a_wrong_key_opens_nothing(browser: webdriver.Chrome, controller: Controller,
                                   tmp_path: Path) -> None:
    log_in(browser, controller, "nobody:nothing")
    assert browser.find_element(By.ID, "error").text == "That key opens no namespace."
    browser.get(f"{controller.api_host}/console/")
    assert browser.current_url.endswith("/console/login")
    browser.save_screenshot(str(tmp_path / "login-refused.png"))
    refused = errors(browser)  # the browser reports the refused login's 401, and only it
    assert refused and all("/console/login" in e and "401" in e for e in refused), refused


def test_the_fleet_activations_live_updates_and_why_it_ran_there(
        browser: webdriver.Chrome, controller: Controller, tmp_path: Path) -> None:
    wait = WebDriverWait(browser, WAIT_S)
    with controller.client() as client, \
            Fleet(client, [AgentSpec("con-edge", ("--no-battery",))], tmp_path / "logs"):
        create_action(client, "echo", ECHO)
        log_in(browser, controller, controller.auth)
        wait.until(seen.presence_of_element_located((By.ID, "fleet")))
        rows = {r.get_attribute("data-id"): r.text
                for r in browser.find_elements(By.CSS_SELECTOR, "tr.invoker")}
        assert set(rows) == {"local0", "con-edge"} and "tunnel" in rows["con-edge"]
        browser.save_screenshot(str(tmp_path / "fleet.png"))

        browser.get(f"{controller.api_host}/console/activations")
        wait.until(seen.text_to_be_present_in_element((By.ID, "live"), "live"))
        activation_id = client.actions.invoke("echo", {"n": 1}).id
        wait.until(seen.presence_of_element_located((By.LINK_TEXT, activation_id)))
        assert browser.find_elements(By.CSS_SELECTOR, "tr.activation.live")
        browser.save_screenshot(str(tmp_path / "activations-live.png"))

        browser.find_element(By.LINK_TEXT, activation_id).click()
        why = wait.until(seen.presence_of_element_located((By.ID, "why"))).text
        record = client.activations.get(activation_id)
        chosen = next(a["value"] for a in record["annotations"] if a["key"] == "placement")
        assert f"Ran on {chosen['invoker']}" in why
        assert f"among {chosen['of']} invoker(s)" in why
        browser.save_screenshot(str(tmp_path / "activation.png"))
    assert errors(browser) == []
