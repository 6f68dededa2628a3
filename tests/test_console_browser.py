"""The console in a real headless Chromium, against a real ``neko run --listen`` process.

One host process serves the example plugins plus a hostile one (markup in its description,
schema titles, results, errors, log lines and messages) from a throwaway venv; one browser
drives the pages. Screenshots of the main pages are saved under ``tests/artifacts/console``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from browser import ARTIFACTS, SAVED, new_browser, set_viewport, wait_for
from plugin_factory import TempVenv, build_wheel
from processes import LineReader
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

HOSTILE = f'''
"""A plugin whose every string is markup."""

from nekohooks import NekoPluginBase, neko_plugin, plugin_entry

EVIL = {EVIL!r}


@neko_plugin(description="Hostile " + EVIL)
class Hostile(NekoPluginBase):
    async def startup(self):
        self.ctx.logger.warning("log line %s", EVIL)
        await self.ctx.send_message("room " + EVIL, "message " + EVIL)

    @plugin_entry(
        id="echo",
        description="Echoes " + EVIL,
        input_schema={{
            "type": "object",
            "properties": {{"text": {{"type": "string", "title": "Text " + EVIL, "default": EVIL}}}},
        }},
    )
    def echo(self, text: str = EVIL):
        return {{"html": EVIL, "text": text}}

    @plugin_entry(
        id="shape",
        description="Returns its arguments",
        input_schema={{
            "type": "object",
            "properties": {{
                "color": {{"enum": ["red", EVIL], "default": "red"}},
                "ratio": {{"type": "number", "exclusiveMaximum": 1}},
                "tags": {{"type": "array", "items": {{"type": "string"}}}},
                "loud": {{"type": "boolean", "default": True}},
            }},
            "required": ["ratio"],
        }},
    )
    def shape(self, **arguments):
        return arguments

    @plugin_entry(id="count", description="Yields n items")
    async def count(self, n: int = 3):
        for i in range(n):
            yield {{"i": i, "html": EVIL}}

    @plugin_entry(id="fail", description="Raises " + EVIL)
    def fail(self):
        raise RuntimeError("error " + EVIL)


@neko_plugin(description="Fails to start")
class Broken(NekoPluginBase):
    def startup(self):
        raise RuntimeError("startup " + EVIL)
'''

EXTRA = """
from nekohooks import NekoPluginBase, plugin_entry


class Extra(NekoPluginBase):
    \"\"\"Installed from the console.\"\"\"

    @plugin_entry(id="ping")
    def ping(self) -> str:
        return "pong"
"""

EXAMPLES = ("companion", "hello", "netkit", "reminders")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """The running host: its base URL, token, and a way to get fresh login links."""

    def __init__(self, venv: TempVenv, env: dict[str, str], base: str, token: str) -> None:
        self.venv = venv
        self.env = env
        self.base = base
        self.token = token

    def neko(self, *args: str) -> str:
        proc = subprocess.run(
            [str(self.venv.python), "-m", "nekohooks.cli", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def login_link(self) -> str:
        """A one-time link, as an operator gets it: ``neko console``."""
        out = self.neko("console")
        links = [w for w in out.split() if w.startswith(f"{self.base}/login?code=")]
        assert links, out
        return links[0]

    def api(self, method: str, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, self.base + path, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("console")
    venv = TempVenv(root / "venv")
    wheel = build_wheel(
        root / "wheels",
        "neko-hostile",
        {"neko_hostile/__init__.py": HOSTILE},
        entry_points={"hostile": "neko_hostile:Hostile", "broken": "neko_hostile:Broken"},
    )
    venv.install(wheel)
    extra = build_wheel(  # installed later, from the console, out of a local folder
        root / "index",
        "neko-extra",
        {"neko_extra/__init__.py": EXTRA},
        entry_points={"extra": "neko_extra:Extra"},
    )
    assert extra.exists()
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEKO_")},
        "NEKO_HOME": str(root / "home"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PIP_NO_INDEX": "1",  # pip's own config: the host installs from this folder only
        "PIP_FIND_LINKS": str(root / "index"),
    }
    proc = subprocess.Popen(
        [
            *(str(venv.python), "-m", "nekohooks.cli", "run", "--no-live"),
            *("--listen", f"127.0.0.1:{port}", "--allow-install"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    reader = LineReader(proc.stdout)
    try:
        base = f"http://127.0.0.1:{port}"
        token_file = root / "home" / "run" / "token"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, reader.drain()
            if token_file.exists():
                token = token_file.read_text().strip()
                try:
                    headers = {"Authorization": f"Bearer {token}"}
                    if httpx.get(base + "/v1/healthz", headers=headers, timeout=5).is_success:
                        break
                except httpx.TransportError:
                    pass
            assert time.monotonic() < deadline, reader.drain()
            time.sleep(0.1)
        yield Served(venv, env, base, token)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver = new_browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: WebDriver, served: Served) -> WebDriver:
    """The browser, logged in (through a fresh `neko console` link if it has no session)."""
    if browser.get_cookie("neko_session") is None:
        log_in(browser, served)
    return browser


def shoot(driver: WebDriver, name: str) -> None:
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    SAVED.append(path)


def log_in(driver: WebDriver, served: Served) -> None:
    driver.get(served.login_link())
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#plugins tbody tr[data-plugin]"))


# Rows are rebuilt whenever an event changes what they show, so tests read them in one script
# call (an element looked up first and read later could be gone by then).
def row_text(driver: WebDriver, plugin: str) -> str | None:
    text: str | None = driver.execute_script(
        "const row = document.querySelector(`tr[data-plugin='${arguments[0]}']`);"
        "return row ? row.innerText : null",
        plugin,
    )
    return text


def state_of(driver: WebDriver, plugin: str) -> str | None:
    state: str | None = driver.execute_script(
        "const cell = document.querySelector(`tr[data-plugin='${arguments[0]}'] [data-state]`);"
        "return cell ? cell.textContent : null",
        plugin,
    )
    return state


def heading(driver: WebDriver) -> str | None:
    text: str | None = driver.execute_script(
        "const h = document.querySelector('h1');return h ? h.textContent : null"
    )
    return text


def press(driver: WebDriver, selector: str) -> str:
    """Focus the control ``selector`` finds and press Enter on it; return its aria-label."""
    label: str = driver.execute_script(
        "const el = document.querySelector(arguments[0]); el.focus();"
        "return el.getAttribute('aria-label') || el.textContent",
        selector,
    )
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    return label


def test_without_a_session_the_console_refuses(browser: WebDriver, served: Served) -> None:
    browser.delete_all_cookies()
    browser.get(served.base + "/")
    assert heading(browser) == "Not logged in"
    assert "neko console" in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.CSS_SELECTOR, "script")
    browser.get(served.base + "/v1/plugins")
    assert "Unauthorized" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(served.base + "/login?code=made-up")
    assert heading(browser) == "Login link refused"
    shoot(browser, "login-refused")


def test_after_login_the_table_lists_the_plugins(browser: WebDriver, served: Served) -> None:
    log_in(browser, served)
    assert browser.current_url == served.base + "/"  # the code is gone from the address bar
    names = browser.execute_script(
        "return [...document.querySelectorAll('#plugins tbody tr')].map(r => r.dataset.plugin)"
    )
    assert set(EXAMPLES) | {"hostile", "broken"} <= set(names)
    wait_for(browser, lambda d: state_of(d, "hello") == "running")
    wait_for(
        browser, lambda d: "on" in d.find_element(By.ID, "live").get_attribute("class").split()
    )
    assert "neko-hello 0.1.0" in (row_text(browser, "hello") or "")
    cookie = browser.get_cookie("neko_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: no script sees it
    shoot(browser, "plugins")


def test_a_form_refuses_out_of_range_values_then_calls(page: WebDriver, served: Served) -> None:
    page.get(served.base + "/plugins/companion")
    card = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, '[data-entry="set_timeout"]'))
    cells = page.execute_script(
        "return [...document.querySelectorAll('#jobs tr[data-job=checkpoint] td')]"
        ".map(td => td.textContent)"
    )
    assert cells[:2] == ["checkpoint", "every 60s"]
    assert cells[3].endswith("s)") and "in " in cells[3]  # next run: "9:41:07 PM (in 59s)"
    page.execute_script(
        "window.__calls = [];"
        "const real = window.fetch;"
        "window.fetch = (url, init) => { window.__calls.push(String(url)); return real(url, init); };"
    )
    field = card.find_element(By.CSS_SELECTOR, 'input[name="timeout"]')
    label = card.find_element(By.CSS_SELECTOR, f'label[for="{field.get_attribute("id")}"]')
    assert label.text.startswith("timeout")
    field.send_keys("301", Keys.ENTER)  # the keyboard submits the form
    error = card.find_element(By.CSS_SELECTOR, ".field-error")
    wait_for(page, lambda d: error.text)
    assert error.text == "timeout must be at most 300"
    assert field.get_attribute("aria-invalid") == "true"
    assert page.execute_script("return document.activeElement") == field
    assert page.execute_script("return window.__calls") == []  # refused before sending
    assert card.find_element(By.CSS_SELECTOR, "[data-result]").text == ""

    field.clear()
    field.send_keys("42", Keys.ENTER)
    value = wait_for(page, lambda d: card.find_elements(By.CSS_SELECTOR, "[data-value]"))[0]
    assert '"timeout": 42' in value.text
    assert error.text == ""
    calls = page.execute_script("return window.__calls")
    assert calls == ["/v1/call/companion.set_timeout"]
    assert served.api("POST", "/v1/call/companion.get_config").json()["result"]["timeout"] == 42
    shoot(page, "plugin-companion")


def test_disabling_a_plugin_updates_the_table_without_a_reload(
    page: WebDriver, served: Served
) -> None:
    page.get(served.base + "/")
    wait_for(page, lambda d: state_of(d, "hello") == "running")
    wait_for(page, lambda d: "on" in d.find_element(By.ID, "live").get_attribute("class"))
    page.execute_script("window.__sameDocument = true")
    try:
        # From outside the page (as `neko disable` would): only the event stream can tell it.
        assert served.api("POST", "/v1/plugins/hello/disable").is_success
        wait_for(page, lambda d: state_of(d, "hello") == "disabled")
        assert page.execute_script("return window.__sameDocument") is True
        # From the page: its own button, keyboard only.
        label = press(page, 'tr[data-plugin="hello"] [data-action="enable"]')
        assert label == "Enable hello"
        wait_for(page, lambda d: state_of(d, "hello") == "running")
        assert page.execute_script("return window.__sameDocument") is True
    finally:
        served.api("POST", "/v1/plugins/hello/enable")


def test_hostile_strings_render_as_text(page: WebDriver, served: Served) -> None:
    page.get(served.base + "/")
    wait_for(page, lambda d: "startup " + EVIL in (row_text(d, "broken") or ""))

    page.get(served.base + "/plugins/hostile")
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, '[data-entry="fail"]'))
    main = page.find_element(By.TAG_NAME, "main")  # the page's frame: never replaced
    wait_for(page, lambda d: "log line " + EVIL in main.text)
    assert "Hostile " + EVIL in main.text  # the description
    assert "Echoes " + EVIL in main.text  # an entry's description
    assert "Text " + EVIL in main.text  # a schema title
    assert "message " + EVIL in main.text  # a ctx.send_message
    field = page.find_element(By.CSS_SELECTOR, '[data-entry="echo"] input[name="text"]')
    assert field.get_attribute("value") == EVIL  # the schema default, as a value

    field.send_keys(Keys.ENTER)
    value = wait_for(
        page, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-entry="echo"] [data-value]')
    )
    assert EVIL.replace('"', '\\"') in value[0].text  # JSON of the result, as text
    page.find_element(By.CSS_SELECTOR, '[data-entry="fail"] button[type="submit"]').send_keys(
        Keys.ENTER
    )
    error = wait_for(
        page, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-entry="fail"] [data-error]')
    )
    assert "error " + EVIL in error[0].text

    assert (
        page.execute_script("return document.querySelectorAll('main img, main script').length") == 0
    )
    assert page.execute_script("return window.__pwned") is None
    shoot(page, "plugin-hostile")


def test_forms_cover_enums_booleans_arrays_and_streams(page: WebDriver, served: Served) -> None:
    page.get(served.base + "/plugins/hostile")
    card = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, '[data-entry="shape"]'))
    options = [o.text for o in card.find_elements(By.CSS_SELECTOR, 'select[name="color"] option')]
    assert options == ["(not set)", "red", EVIL]  # enum values as text
    assert card.find_element(By.CSS_SELECTOR, 'select[name="color"] option:checked').text == "red"
    assert card.find_element(By.CSS_SELECTOR, 'input[name="loud"]').is_selected()
    ratio = card.find_element(By.CSS_SELECTOR, 'input[name="ratio"]')
    ratio.send_keys("1", Keys.ENTER)
    error = card.find_element(By.CSS_SELECTOR, '[data-field="ratio"] .field-error')
    wait_for(page, lambda d: error.text)
    assert error.text == "ratio must be less than 1"
    assert not card.find_elements(By.CSS_SELECTOR, "[data-value]")

    ratio.clear()
    ratio.send_keys("0.25")
    card.find_element(By.CSS_SELECTOR, 'select[name="color"] option:nth-child(3)').click()
    card.find_element(By.CSS_SELECTOR, 'input[name="loud"]').send_keys(Keys.SPACE)  # untick
    card.find_element(By.CSS_SELECTOR, 'textarea[name="tags"]').send_keys('["a", "b"]')
    card.find_element(By.CSS_SELECTOR, "button[type=submit]").send_keys(Keys.ENTER)
    value = wait_for(page, lambda d: card.find_elements(By.CSS_SELECTOR, "[data-value]"))[0]
    assert json.loads(value.text) == {
        "color": EVIL,
        "ratio": 0.25,
        "tags": ["a", "b"],
        "loud": False,
    }

    stream = page.find_element(By.CSS_SELECTOR, '[data-entry="count"]')
    n = stream.find_element(By.CSS_SELECTOR, 'input[name="n"]')
    n.clear()
    n.send_keys("4", Keys.ENTER)
    wait_for(page, lambda d: "4 item(s)" in stream.find_element(By.CSS_SELECTOR, ".status").text)
    items = [json.loads(li.text) for li in stream.find_elements(By.CSS_SELECTOR, "[data-items] li")]
    assert items == [{"i": i, "html": EVIL} for i in range(4)]
    assert page.execute_script("return document.querySelectorAll('main img').length") == 0


def test_the_pages_fit_a_phone(page: WebDriver, served: Served) -> None:
    set_viewport(page, 390, 844, mobile=True)
    try:
        page.get(served.base + "/")
        wait_for(page, lambda d: state_of(d, "hello") == "running")
        width = page.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # no sideways scrolling: rows become cards
        shoot(page, "plugins-phone")
        page.get(served.base + "/plugins/companion")
        wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-entry="records"]'))
        assert page.execute_script("return document.documentElement.scrollWidth") <= 390
        unlabeled = page.execute_script(
            "return [...document.querySelectorAll('input, select, textarea, button')]"
            ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')"
            " && !e.textContent.trim()).map(e => e.outerHTML)"
        )
        assert unlabeled == []
        shoot(page, "plugin-phone")
    finally:
        set_viewport(page, 1280, 800)


def test_install_and_uninstall_from_the_console(page: WebDriver, served: Served) -> None:
    page.get(served.base + "/")
    wait_for(page, lambda d: state_of(d, "hello") == "running")
    field = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "form input[type=text]"))
    label = page.find_element(By.CSS_SELECTOR, f'label[for="{field.get_attribute("id")}"]')
    assert label.text == "Install a plugin"
    field.send_keys("neko-extra", Keys.ENTER)
    wait_for(page, lambda d: state_of(d, "extra") == "running", timeout=60)

    page.get(served.base + "/plugins/extra")
    button = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "[data-uninstall]"))
    button.send_keys(Keys.ENTER)
    assert button.text == "Really uninstall extra?"  # nothing happens without a second press
    assert served.api("GET", "/v1/plugins/extra").is_success
    button.send_keys(Keys.ENTER)
    wait_for(page, lambda d: d.current_url == served.base + "/", timeout=60)
    wait_for(page, lambda d: state_of(d, "hello"))
    assert state_of(page, "extra") is None
    assert served.api("GET", "/v1/plugins/extra").status_code == 404


def test_logging_out_ends_the_session(page: WebDriver, served: Served) -> None:
    page.get(served.base + "/")
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "#plugins tbody tr[data-plugin]"))
    page.find_element(By.ID, "logout").send_keys(Keys.ENTER)
    wait_for(page, lambda d: heading(d) == "Signed out")
    page.get(served.base + "/")
    assert heading(page) == "Not logged in"
