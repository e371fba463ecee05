"""The operators' console in a real browser (issue 13): headless Chromium from apt, driven by Selenium.

The console runs as `make up` runs it (deploy/local/console.sh) next to the test stack's four services. The test
logs in, sees a transfer it just made with its state, sees a dead letter it caused (a credit signed with a key the
registry does not know yet), checks that a read-only operator can neither see a replay button nor replay by posting
the form, registers the key (the fix), replays the dead letter as an operator and sees it answered `completed`.

Who is let in (issue 29, ADR 0024): a cookie replayed after its logout, a demoted or disabled operator's open
session, a name locked after five wrong passwords, a refused login's typed name (never in the audit log), a forged
CSRF token (audited), another Host header (400), and the first operator made again when its row is gone while the
password file survives.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from shared.contracts.topics import INGRESS_ENROLLMENT
from shared.settings import CONSOLE, PlatformSettings, key_registry_path
from shared.signing import registry_entry, sign
from tests.e2e.conftest import Platform
from tests.e2e.families import Wallets
from tests.support.infra import REPO, TEST_METRICS_PORT_BASE
from tests.support.kafka import Publisher, Record, Watcher, envelope

pytestmark = pytest.mark.e2e

PORT = TEST_METRICS_PORT_BASE + 80
URL = f"http://127.0.0.1:{PORT}"
OPERATOR, VIEWER = ("ops", "ops-password-1234"), ("watcher", "watcher-password-1234")
DEPUTY, LOCKED = ("deputy", "deputy-password-1234"), ("locked", "locked-password-1234")
COOKIE = "medaid_console"
DLQ = "ingress.enrollment.v1.dlq"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, check=False, cwd=REPO)


def operators(env: dict[str, str], *args: str, password: str | None = None) -> None:
    """The console's operators CLI (add, role, disable), as an operator of the platform runs it."""
    python = os.environ.get("MEDAID_PYTHON", str(REPO / ".venv" / "bin" / "python"))
    extra = {"MEDAID_CONSOLE_PASSWORD": password} if password else {}
    done = script({**env, **extra}, python, "-m", "services.console.entrypoints.operators", *args)
    assert done.returncode == 0, done.stderr


async def in_console_schema(platform: Platform, sql: str) -> None:
    conn = await asyncpg.connect(platform.settings.dsn(CONSOLE))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def console(platform: Platform) -> Iterator[dict[str, str]]:
    env = {**platform.env, "MEDAID_CONSOLE_PORT": str(PORT)}
    for (name, password), role in ((OPERATOR, "operator"), (VIEWER, "viewer")):
        operators(env, "add", name, "--role", role, password=password)
    started = script(env, str(REPO / "deploy" / "local" / "console.sh"), "start")
    assert started.returncode == 0, started.stderr
    try:
        yield env
    finally:
        script(env, str(REPO / "deploy" / "local" / "console.sh"), "stop")


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def log_in(driver: WebDriver, who: tuple[str, str]) -> None:
    driver.delete_all_cookies()
    driver.get(f"{URL}/")
    assert "/login" in driver.current_url, "no page without a login"
    driver.find_element(By.ID, "name").send_keys(who[0])
    driver.find_element(By.ID, "password").send_keys(who[1])
    driver.find_element(By.ID, "login").click()
    assert shown(driver, "who").text.startswith(who[0])


def shown(driver: WebDriver, element_id: str) -> WebElement:
    """An element of the page a click leads to, once that page is there."""
    found: WebElement = WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, element_id)))
    return found


async def until(driver: WebDriver, url: str, found: Callable[[WebDriver], bool], what: str) -> None:
    """Load the page again until it shows what is expected (the read model follows the streams)."""
    for _ in range(120):
        driver.get(url)
        if found(driver):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what} never appeared on {url}:\n{driver.find_element(By.TAG_NAME, 'main').text[:2000]}")


def about(msgid: str) -> Callable[[Record], bool]:
    """An answer to `msgid`, or its dead letter."""
    return lambda r: (
        isinstance(r.value, dict) and msgid in (r.value["body"].get("omsgid"), r.value["body"].get("msgid"))
    )


def answers_cell(driver: WebDriver, msgid: str) -> str:
    rows = driver.find_elements(By.CSS_SELECTOR, f'tr.letter[data-msgid="{msgid}"] td.answers')
    return rows[0].text if rows else ""


@pytest.fixture
def rotated_key(platform: Platform) -> tuple[str, Ed25519PrivateKey, Callable[[], None]]:
    """Guangdong's new key, not yet in the registry; the third item registers it (the operators' fix)."""
    key_id = f"440000-rotated-{os.getpid()}-{datetime.now().timestamp():.0f}"
    private = Ed25519PrivateKey.generate()
    path = key_registry_path(PlatformSettings())

    def register() -> None:
        registry = json.loads(path.read_text())
        now = platform.now()
        entry = registry_entry(
            key_id, "440000", private.public_key(), now - timedelta(days=1), now + timedelta(days=30)
        )
        registry["keys"].append(entry)
        tmp = path.with_suffix(".console-test")
        tmp.write_text(json.dumps(registry, indent=1))
        tmp.replace(path)

    return key_id, private, register


def signed_credit(
    platform: Platform, key_id: str, private: Ed25519PrivateKey, psn_no: str
) -> tuple[dict[str, Any], bytes, list[tuple[str, bytes]]]:
    msg = envelope(
        "account.credited",
        {"psn_no": psn_no, "amount": "12.00", "period": "202611", "kind": "contribution"},
        sender="440300",
        sent_at=platform.now(),
    )
    raw = json.dumps(msg, ensure_ascii=False).encode()
    headers = sign(private, key_id, msg["msgid"], msg["type"], msg["sender"], msg["sent_at"], raw)
    return msg, raw, [(k, v.encode()) for k, v in headers.items()]


async def test_an_operator_sees_a_transfer_and_replays_a_dead_letter_a_viewer_cannot(
    platform: Platform,
    desk: tuple[Wallets, Any],
    console: dict[str, str],
    browser: WebDriver,
    rotated_key: tuple[str, Ed25519PrivateKey, Callable[[], None]],
) -> None:
    wallets, _ = desk
    key_id, private, register = rotated_key

    # a transfer, accepted and waiting for the recipient
    provider, recipient, _ = await wallets.family("440300", "510100")
    requested = await wallets.transfer(provider, recipient, "150.00")
    assert requested["status"] == "accepted", requested
    transfer_id = requested["transfer_id"]

    log_in(browser, OPERATOR)
    await until(
        browser,
        f"{URL}/sagas?q={transfer_id}",
        lambda d: any(
            transfer_id in r.text and "pending" in r.text for r in d.find_elements(By.CSS_SELECTOR, "tr.saga")
        ),
        f"transfer {transfer_id} pending",
    )
    row = browser.find_element(By.CSS_SELECTOR, "tr.saga")
    assert provider.psn_no not in row.text, "a person's number is masked on screen"
    assert provider.psn_no[-4:] in row.text
    browser.find_element(By.LINK_TEXT, transfer_id).click()
    assert shown(browser, "state").text == "pending"
    assert "wallet.quota-held" in browser.find_element(By.ID, "timeline").text

    # per-fund conservation on the overview (ADR 0021): the provider's region issued what is attributed to it
    await until(
        browser,
        f"{URL}/",
        lambda d: any("440300" in r.text and "holds" in r.text for r in d.find_elements(By.CSS_SELECTOR, "#funds tr")),
        "Shenzhen's fund",
    )
    # every service holds the key registry file as it stands (issue 29: a broken one shows here in red)
    await until(
        browser,
        f"{URL}/",
        lambda d: d.find_element(By.ID, "key-registry").text.startswith("valid"),
        "the key registry valid",
    )

    # a dead letter: a credit signed with a key the registry does not know yet
    # (ADR 0023: a record whose signature does not verify is answered to nobody; operators see it here)
    msg, raw, headers = signed_credit(platform, key_id, private, provider.psn_no)
    async with Publisher(platform.settings.kafka_bootstrap) as pub:
        await pub.send_raw(INGRESS_ENROLLMENT, raw, key=provider.psn_no, headers=headers)
    dlq_page = f"{URL}/dead-letters?topic={DLQ}"
    nobody = "answered to nobody"
    await until(browser, dlq_page, lambda d: nobody in answers_cell(d, msg["msgid"]), "the dead letter")

    # a read-only operator sees it, but has no replay button, and a replay posted anyway is refused and audited
    log_in(browser, VIEWER)
    await until(browser, dlq_page, lambda d: nobody in answers_cell(d, msg["msgid"]), "the dead letter (viewer)")
    assert not browser.find_elements(By.ID, "replay")
    assert browser.find_element(By.ID, "read-only").is_displayed()
    offset = browser.find_element(By.CSS_SELECTOR, f'tr.letter[data-msgid="{msg["msgid"]}"] input[name=offset]')
    status = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
           const form = new URLSearchParams({csrf: document.querySelector('input[name=csrf]').value,
                                             topic: arguments[0], offset: arguments[1]});
           fetch('/dead-letters/replay', {method: 'POST', body: form}).then(r => done(r.status));""",
        DLQ,
        offset.get_attribute("value"),
    )
    assert status == 403
    browser.get(f"{URL}/clearing")
    assert not browser.find_elements(By.ID, "close"), "no month close for a read-only operator either"

    # the fix: the key goes into the registry; the services read it again (a probe signed with it is accepted)
    register()
    for _ in range(60):
        probe, probe_raw, probe_headers = signed_credit(platform, key_id, private, provider.psn_no)
        async with Watcher(platform.settings.kafka_bootstrap, ["province.440000.notifications.v1", DLQ]) as w:
            async with Publisher(platform.settings.kafka_bootstrap) as pub:
                await pub.send_raw(INGRESS_ENROLLMENT, probe_raw, key=provider.psn_no, headers=probe_headers)
            # answered once the key is known; until then dead-lettered, answered to nobody
            [seen] = await w.wait_for(about(probe["msgid"]), timeout=90.0)
            if seen.topic != DLQ and seen.value["body"]["status"] == "completed":
                break
        await asyncio.sleep(1.0)

    # the operator replays it and sees it answered
    log_in(browser, OPERATOR)
    await until(browser, dlq_page, lambda d: nobody in answers_cell(d, msg["msgid"]), "the dead letter (operator)")
    browser.find_element(By.CSS_SELECTOR, f'tr.letter[data-msgid="{msg["msgid"]}"] input[name=offset]').click()
    browser.find_element(By.ID, "replay").click()
    message = shown(browser, "message").text
    assert "replayed" in message, message
    await until(browser, dlq_page, lambda d: "completed" in answers_cell(d, msg["msgid"]), "the replay's answer")

    # an operator closes a month that has ended (as the national operator's system would) and sees the answer
    month = f"{platform.now().year - 1}01"
    browser.get(f"{URL}/clearing")
    browser.find_element(By.ID, "period").send_keys(month)
    browser.find_element(By.ID, "close").click()
    assert f"close of {month} asked" in shown(browser, "message").text
    await until(
        browser,
        f"{URL}/clearing",
        lambda d: any(
            month in r.text and ("completed" in r.text or "rejected" in r.text)
            for r in d.find_elements(By.CSS_SELECTOR, "#closes tr")
        ),
        f"the answer to closing {month}",
    )

    browser.get(f"{URL}/audit")
    audit = browser.find_element(By.ID, "audit").text
    assert f"{VIEWER[0]} replay {DLQ} refused: read-only" in audit
    assert f"{OPERATOR[0]} replay {DLQ} done" in audit
    assert f"{OPERATOR[0]} close-month {month} sent" in audit


def log_in_refused(driver: WebDriver, name: str, password: str) -> str:
    driver.get(f"{URL}/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login").click()
    return shown(driver, "error").text


def post_replay(driver: WebDriver, csrf: str | None) -> int:
    """A replay posted by the page's own script, with the page's CSRF token or with `csrf`."""
    status: int = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           const field = document.querySelector('input[name=csrf]');
           const form = new URLSearchParams({csrf: arguments[1] ?? field.value, topic: arguments[0], offset: '0'});
           fetch('/dead-letters/replay', {method: 'POST', body: form}).then(r => done(r.status));""",
        DLQ,
        csrf,
    )
    return status


def answer_for_host(host: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request("GET", "/login", headers={"Host": host})
        answer = conn.getresponse()
        answer.read()
        return answer
    finally:
        conn.close()


async def test_sessions_end_at_once_logins_are_throttled_and_refusals_are_audited(
    platform: Platform, console: dict[str, str], browser: WebDriver
) -> None:
    await in_console_schema(platform, "DELETE FROM login_failures")  # earlier runs' failures from 127.0.0.1
    operators(console, "add", DEPUTY[0], "--role", "operator", password=DEPUTY[1])
    operators(console, "add", LOCKED[0], "--role", "viewer", password=LOCKED[1])

    # a page asked for by another Host name (DNS rebinding) is refused before anything else
    assert answer_for_host("evil.example").status == 400
    page = answer_for_host(f"127.0.0.1:{PORT}")
    assert page.status == 200
    assert page.getheader("X-Frame-Options") == "DENY", "no other site frames a page"

    # logging out ends the session for whoever holds its cookie
    log_in(browser, OPERATOR)
    stolen = browser.get_cookie(COOKIE)
    assert stolen is not None
    assert stolen["httpOnly"]
    assert stolen["sameSite"] == "Strict"
    browser.find_element(By.ID, "logout").click()
    WebDriverWait(browser, 30).until(ec.url_contains("/login"))  # the click's navigation ends after click() returns
    browser.add_cookie({"name": COOKIE, "value": stolen["value"], "path": "/"})
    browser.get(f"{URL}/audit")
    assert "/login" in browser.current_url, "the old cookie's value no longer logs anyone in"

    # a demoted operator's open session loses the operator's rights at its next request, a disabled one ends
    log_in(browser, DEPUTY)
    browser.get(f"{URL}/clearing")
    assert browser.find_elements(By.ID, "close")
    operators(console, "role", DEPUTY[0], "--role", "viewer")
    browser.get(f"{URL}/dead-letters")
    assert browser.find_element(By.ID, "who").text == f"{DEPUTY[0]} (viewer)"
    assert post_replay(browser, None) == 403
    browser.get(f"{URL}/clearing")
    assert not browser.find_elements(By.ID, "close")
    operators(console, "disable", DEPUTY[0])
    browser.get(f"{URL}/clearing")
    assert "/login" in browser.current_url

    # five wrong passwords lock the name: the right one is refused too, with the same answer
    browser.delete_all_cookies()
    for i in range(5):
        wrong = log_in_refused(browser, LOCKED[0], f"not-the-password-{i}")
    assert log_in_refused(browser, LOCKED[0], LOCKED[1]) == wrong
    assert "/login" in browser.current_url
    assert not browser.find_elements(By.ID, "who")

    # a password typed into the name field is not kept where viewers read
    typed = f"hunter2-typed-into-the-name-field-{os.getpid()}"
    assert log_in_refused(browser, typed, "anything") == wrong

    # a form with a forged CSRF token is refused and audited, with who, where and from where
    log_in(browser, OPERATOR)
    browser.get(f"{URL}/dead-letters")
    assert post_replay(browser, "forged-token") == 403

    log_in(browser, VIEWER)
    browser.get(f"{URL}/audit")
    audit = browser.find_element(By.ID, "audit").text
    for secret in (typed, "hunter2", "not-the-password"):
        assert secret not in audit
    assert "an unknown name login console refused: unknown name" in audit
    assert f"{LOCKED[0]} login console refused: wrong password; locked" in audit
    assert f"{OPERATOR[0]} logout console ok" in audit
    assert f"{DEPUTY[0]} replay {DLQ} refused: read-only" in audit
    assert f"{OPERATOR[0]} csrf /dead-letters/replay refused: not this session's CSRF token" in audit
    assert "127.0.0.1" in audit


async def test_the_first_operator_is_made_again_when_none_is_left_and_the_password_file_survives(
    platform: Platform, console: dict[str, str], browser: WebDriver
) -> None:
    password_file = Path(console["MEDAID_STATE_DIR"]) / "secrets" / "console.json"
    stopped = script(console, str(REPO / "deploy" / "local" / "console.sh"), "stop")
    assert stopped.returncode == 0, stopped.stderr
    if not password_file.exists():  # as `make up` left it on an earlier day
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(json.dumps({"admin": f"kept-password-{os.getpid()}"}))
        password_file.chmod(0o600)
    kept = json.loads(password_file.read_text())["admin"]
    await in_console_schema(platform, "DELETE FROM operators")  # as `make wipe` leaves the database

    started = script(console, str(REPO / "deploy" / "local" / "console.sh"), "start")
    assert started.returncode == 0, started.stderr
    assert "first operator admin made" in started.stderr + started.stdout
    log_in(browser, ("admin", kept))
    assert shown(browser, "who").text == "admin (operator)"
