"""The web console in a real headless Chromium (Debian's, through chromedriver and Selenium)
against a real controller with a real edge agent: pages load, the login keeps out a wrong
key, live updates arrive, the explanation is shown, no console errors; screenshots are kept
in the test's folder (pytest's tmp_path)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from edgewhisk_devkit import AgentSpec, Fleet
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from ..api.harness import Controller, create_action, started
from ..artifacts.test_api import uploaded
from ..artifacts.test_gates import alert_on, deploy, invoke

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,720")
WAIT_S = 30.0
ECHO = "def main(args):\n    return {'echo': args}\n"
TRAIN = """
from edgewhisk import Output, consumes, gate, produces

@consumes.data("con/readings", name="readings")
@produces.model("con/model", name="model", locality="cloud")
@gate.metric("accuracy", "<0.9")
def main(args, readings):
    return {"model": Output(readings.load() + b"!", metadata={"type": "con-classifier"},
                            metrics={"accuracy": args["accuracy"]})}
"""
SLOW = "import time\n\ndef main(args):\n    time.sleep(5)\n    return {}\n"
"""In flight while the pending page is read, right after logging in; short, because the
module's controller waits for it when it stops."""


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
    refusal = WebDriverWait(browser, WAIT_S).until(  # once the form's answer has loaded
        seen.presence_of_element_located((By.ID, "error")))
    assert refusal.text == "That key opens no namespace."
    browser.get(f"{controller.api_host}/console/")
    assert browser.current_url.endswith("/console/login")
    browser.save_screenshot(str(tmp_path / "login-refused.png"))
    refused = errors(browser)  # the browser reports the refused login's 401, and only it
    assert refused and all("/console/login" in e and "401" in e for e in refused), refused


def test_the_fleet_activations_live_updates_and_why_it_ran_there(
        browser: webdriver.Chrome, controller: Controller, tmp_path: Path) -> None:
    wait = WebDriverWait(browser, WAIT_S)
    errors(browser)  # what an earlier test left in the browser's log is not this test's
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


def test_artifacts_with_lineage_and_gate_verdicts_triggers_rules_pending_and_the_timeline(
        browser: webdriver.Chrome, controller: Controller, tmp_path: Path) -> None:
    errors(browser)  # what an earlier test left in the browser's log is not this test's
    with controller.client() as client:
        uploaded(client, "con/readings", b"rows", kind="data")
        deploy(client, "train", TRAIN)
        create_action(client, "alert", ECHO)
        alert_on(client, "train.metric")
        good, held = (invoke(client, "train", {"accuracy": a}) for a in (0.95, 0.5))
        create_action(client, "slow", SLOW)
        running = client.request("POST", "actions/slow", json={}).json()["activationId"]
        log_in(browser, controller, controller.auth)  # done once the fleet page shows
        WebDriverWait(browser, WAIT_S).until(seen.presence_of_element_located((By.ID, "fleet")))

        browser.get(f"{controller.api_host}/console/pending")
        pending = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "tr.pending")]
        assert any(running in r and "slow" in r for r in pending), pending
        browser.save_screenshot(str(tmp_path / "pending.png"))

        browser.get(f"{controller.api_host}/console/artifacts")
        names = [r.get_attribute("data-name")
                 for r in browser.find_elements(By.CSS_SELECTOR, "tr.artifact")]
        assert names == ["con/model", "con/readings"]
        browser.find_element(By.LINK_TEXT, "con/model").click()
        WebDriverWait(browser, WAIT_S).until(seen.presence_of_element_located((By.ID, "versions")))
        nodes = {n.get_attribute("data-key")
                 for n in browser.find_elements(By.CSS_SELECTOR, "#lineage g.node")}
        assert nodes == {"con/readings@1", "con/model@1", "con/model@2"}
        assert {n.get_attribute("data-key") for n in browser.find_elements(
            By.CSS_SELECTOR, "#lineage g.node.current")} == {"con/model@1", "con/model@2"}
        assert len(browser.find_elements(By.CSS_SELECTOR, "#lineage line")) == 2
        versions = {r.get_attribute("data-version"): r.text
                    for r in browser.find_elements(By.CSS_SELECTOR, "tr.version")}
        assert "held back" in versions["2"] and "accuracy 0.5 <0.9: fired" in versions["2"]
        assert "ok" in versions["1"] and "accuracy 0.95 <0.9: passed" in versions["1"]
        assert held["activationId"] in versions["2"] and "con/readings@1" in versions["2"]
        assert "cloud" in versions["1"]
        browser.save_screenshot(str(tmp_path / "artifact.png"))

        browser.get(f"{controller.api_host}/console/triggers")
        rules = {r.get_attribute("data-name"): r.text
                 for r in browser.find_elements(By.CSS_SELECTOR, "tr.rule")}
        assert rules == {"on-train.metric": "on-train.metric train.metric alert active"}
        assert [t.get_attribute("data-name") for t in
                browser.find_elements(By.CSS_SELECTOR, "tr.trigger")] == ["train.metric"]
        browser.save_screenshot(str(tmp_path / "triggers.png"))

        browser.get(f"{controller.api_host}/console/activations")
        lanes = {lane.get_attribute("data-invoker"): lane
                 for lane in browser.find_elements(By.CSS_SELECTOR, "#timeline g.lane")}
        invoker = next(a["value"] for a in good["annotations"] if a["key"] == "invoker")
        assert invoker in lanes and lanes[invoker].find_elements(By.TAG_NAME, "rect")
        browser.save_screenshot(str(tmp_path / "timeline.png"))
    assert errors(browser) == []


def test_the_work_pages_refuse_strangers_and_name_what_is_not_there(
        controller: Controller) -> None:
    stranger = requests.Session()
    for page in ("artifacts", "artifacts/con/model", "triggers", "pending"):
        answer = stranger.get(f"{controller.api_host}/console/{page}", allow_redirects=False)
        assert (answer.status_code, answer.headers["Location"]) == (303, "/console/login")
    user = requests.Session()
    answer = user.post(f"{controller.api_host}/console/login", data={"key": controller.auth})
    assert answer.status_code == 200 and answer.url.endswith("/console/")
    missing = user.get(f"{controller.api_host}/console/artifacts/con/none")
    assert missing.status_code == 404
    assert missing.json()["error"] == "no artifact con/none in namespace 'guest'"
    bad = user.get(f"{controller.api_host}/console/artifacts/bad%20name")
    assert bad.status_code == 400 and "bad name" in bad.json()["error"]
