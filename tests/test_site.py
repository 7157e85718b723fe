"""The built site as a reader meets it: every page opened offline in headless Chromium.

The site is built once (`built_site`, `mkdocs build --strict`), served from a local HTTP server,
and each page is opened in a 1,280-pixel-wide window of Debian's `chromium`, driven through
`chromedriver` (package `chromium-driver`) by Selenium. Chromium is told that no host but the
local server exists, so a page that needs the network shows it as an error. For every page, in
English and Chinese alike:

- no formula is left as LaTeX (no `\\(`, `\\[`, `$$` or LaTeX command in the text outside code);
- every image has loaded (a natural width above zero), and the lessons show their figures;
- the browser's console has no error, and nothing was requested from another host;
- no code block scrolls sideways.

Screenshots of a few pages are written to an artifacts folder,
`$TLM_ARTIFACTS_DIR/site-screenshots/` (by default `artifacts/` in the checkout), whose path the
test run prints at its end.

Needs the docs extra (MkDocs, Selenium) and the two Debian packages; skipped without them unless
`TLM_REQUIRE_BROWSER=1` (CI sets it), which turns the skip into a failure.
"""

import base64
import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

# One process runs these and the strict build test (tests/test_docs.py): the site is built once.
pytestmark = pytest.mark.xdist_group("site")
ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1280, 900
SCREENSHOTS = (
    "index.html",
    "concepts/self-attention/index.html",
    "zh/concepts/lstm/index.html",
    "notebooks/03_lstm_language_model/index.html",
    "notebooks/08_chinese_language_model/index.html",
)
# Pages whose sources hold formulas: each must show MathML with a size.
PAGES_WITH_FORMULAS = (
    "concepts/perplexity/index.html",
    "zh/concepts/perplexity/index.html",
    "concepts/lstm/index.html",
    "zh/concepts/lstm/index.html",
    "notebooks/02_self_attention/index.html",
)
RAW_LATEX = re.compile(r"\\\(|\\\[|\$\$|\\(?:frac|sum|text|mathbf|sqrt|sigma|odot|tanh|log|exp)\b")

INSPECT = """
const article = document.querySelector("article") || document.body;
const text = article.cloneNode(true);
text.querySelectorAll("pre, code, script, style, math, .highlight").forEach(e => e.remove());
const origin = window.location.origin;
return {
  text: text.textContent,
  images: Array.from(document.images).map(i => ({
    src: i.src.slice(0, 80), loaded: i.complete && i.naturalWidth > 0,
    output: i.closest(".jp-OutputArea") !== null})),
  scrolling: Array.from(document.querySelectorAll("pre, pre > code"))
    .filter(e => e.closest(".jp-OutputArea") === null && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.textContent.split("\\n").reduce((a, b) => a.length >= b.length ? a : b)),
  formulas: Array.from(document.querySelectorAll("math"))
    .filter(m => m.getBoundingClientRect().width > 0).length,
  elsewhere: performance.getEntriesByType("resource").map(e => e.name)
    .filter(n => !n.startsWith(origin) && !n.startsWith("data:")),
};
"""


def _browser_or_skip():
    required = os.environ.get("TLM_REQUIRE_BROWSER") == "1"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
    except ImportError:
        webdriver = None
    needed = (("chromium", chromium), ("chromedriver", driver), ("selenium", webdriver))
    missing = [name for name, found in needed if not found]
    if missing:
        message = f"needs {', '.join(missing)} (apt install chromium chromium-driver; docs extra)"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return webdriver, chromium, driver


@pytest.fixture(scope="module")
def served_site(built_site):
    assert built_site.completed.returncode == 0, built_site.completed.stderr[-4000:]
    handler = functools.partial(QuietHandler, directory=str(built_site.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield built_site.site, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    webdriver, chromium, driver = _browser_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},{HEIGHT}",
        # Offline: every host but the local server fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
    chrome.set_page_load_timeout(60)
    yield chrome
    chrome.quit()


def _pages(site: Path) -> list[str]:
    return sorted(
        str(path.relative_to(site))
        for path in site.rglob("index.html")
        if "assets" not in path.parts
    )


def _open(browser, url):
    browser.get(url)
    # Scroll to the end so that nothing waits for the reader to reach it, then back.
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight);")
    browser.execute_script("window.scrollTo(0, 0);")
    return browser.execute_script(INSPECT)


def _problems(page: str, found: dict, console: list) -> list[str]:
    problems = []
    latex = RAW_LATEX.search(found["text"])
    if latex:
        start = max(latex.start() - 40, 0)
        problems.append(f"raw LaTeX: ...{found['text'][start:latex.end() + 40]!r}")
    problems += [f"image not loaded: {image['src']}" for image in found["images"]
                 if not image["loaded"]]
    problems += [f"code scrolls sideways: {line[:100]!r}" for line in found["scrolling"]]
    problems += [f"requested from elsewhere: {url}" for url in found["elsewhere"]]
    problems += [f"console: {entry['message'][:200]}" for entry in console
                 if entry["level"] == "SEVERE"]
    return [f"{page}: {problem}" for problem in problems]


def _expected_figures(site_page: str) -> int:
    """Image outputs in the executed copy of the lesson a page shows (0 for other pages)."""
    name = site_page.split("/")[1] if site_page.startswith("notebooks/") else ""
    executed = ROOT / "docs" / "executed" / f"{name}.ipynb"
    if not name or not executed.is_file():
        return 0
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    return sum(
        "image/png" in output.get("data", {})
        for cell in cells if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    )


@pytest.mark.slow
def test_every_page_reads_offline_in_chromium(served_site, browser):
    site, base = served_site
    pages = _pages(site)
    assert any(page.startswith("zh/") for page in pages) and len(pages) > 40
    problems = []
    for page in pages:
        found = _open(browser, base + page)
        problems += _problems(page, found, browser.get_log("browser"))
        figures = sum(image["loaded"] and image["output"] for image in found["images"])
        if figures < _expected_figures(page):
            problems.append(f"{page}: {figures} figures shown, {_expected_figures(page)} made")
        if page in PAGES_WITH_FORMULAS and found["formulas"] == 0:
            problems.append(f"{page}: no formula drawn")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_every_lesson_page_shows_its_outputs(served_site, browser):
    site, base = served_site
    lessons = sorted(path.stem for path in (ROOT / "notebooks").glob("*.ipynb"))
    empty = []
    for name in lessons:
        browser.get(f"{base}notebooks/{name}/index.html")
        outputs = browser.execute_script(
            "return document.querySelectorAll('.jp-OutputArea-output').length;"
        )
        if outputs == 0:
            empty.append(name)
    assert not empty, f"lesson pages without outputs: {empty}"


@pytest.mark.slow
def test_screenshots_of_a_few_pages(served_site, browser, screenshot_folder):
    site, base = served_site
    folder = screenshot_folder
    for page in SCREENSHOTS:
        browser.get(base + page)
        height = browser.execute_script("return document.documentElement.scrollHeight;")
        picture = browser.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WIDTH, "height": min(height, 6000), "scale": 1},
            },
        )
        name = page.removesuffix("index.html").strip("/").replace("/", "_") or "home"
        target = folder / f"{name}.png"
        target.write_bytes(base64.b64decode(picture["data"]))
        assert target.stat().st_size > 10_000, f"{target}: an empty screenshot?"
