"""The built book in a real browser: headless Chromium, driven by Playwright, over the HTML
served on 127.0.0.1, at a desktop and a phone width.

Every page loads with no failed request, no request to another host, no console error and no
uncaught exception; its figures load, carry alt text and fit the page; its math is rendered
(MathJax is served with the book); its links and anchors resolve. The sidebar lists every page
and its toggle works; the search finds the chapters; the Colab buttons have the right form.
On the Read my digit page, strokes drawn with the mouse (and with touch, on a phone) are prepared
as ``digitlib.prepare_digit`` prepares them and read as Keras reads them, fast, and offline too.
A screenshot of every page at both widths is kept in ``DIGITLIB_SCREENSHOTS`` (by default
``_build/screenshots`` beside the built HTML), with each page's weight in ``weights.json`` and the
drawing pad's measurements in ``read_my_digit.json``.

Chromium is Debian's ``chromium`` (or the one ``DIGITLIB_CHROMIUM`` names). Without one these
tests skip and say how to install it, unless ``DIGITLIB_BROWSER_REQUIRED=1`` (set by
``.ci/run``) makes a missing browser a failure.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from conftest import ROOT, book_config, toc_files

CHROMIUM = os.environ.get("DIGITLIB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# As Debian's Chromium needs it here: no sandbox as root, and no calls home on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PAGES = ["intro", *toc_files()]
# Output wraps at the column, but a printed line longer than this is a wall of text wrapped
# over several lines (a Keras epoch line is about 100 characters).
MAX_PRINTED_LINE = 120


def _docname(url: str, base: str) -> str:
    return urlparse(url).path.removeprefix(urlparse(base).path).removesuffix(".html")


@pytest.fixture(scope="module")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if not (CHROMIUM and Path(CHROMIUM).exists() and sync_playwright):
        message = (
            "no Chromium for the browser tests: install Debian's `chromium` (apt-get install chromium) or set "
            "DIGITLIB_CHROMIUM to a Chromium or Chrome binary, and `pip install -r requirements.txt`"
        )
        if os.environ.get("DIGITLIB_BROWSER_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(built_book):
    """The built HTML served on 127.0.0.1: (base URL, folder)."""
    html, _ = built_book
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", html
    server.shutdown()
    thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def screenshots(site):
    folder = Path(os.environ.get("DIGITLIB_SCREENSHOTS") or site[1].parent / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    weights: dict = {}
    yield folder, weights
    (folder / "weights.json").write_text(json.dumps(weights, indent=1, sort_keys=True))


class Visit:
    """A page opened in a fresh browser context, with everything that went wrong on the way."""

    def __init__(self, browser, url: str, viewport: str, **options):
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], **options)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        host = urlparse(url).netloc
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught exception: {error}"))
        self.page.on(
            "console",
            lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed request: {r.url} ({r.failure})"))
        self.page.on(
            "request",
            lambda r: (
                self.problems.append(f"request to another host: {r.url}")
                if urlparse(r.url).scheme in ("http", "https") and urlparse(r.url).netloc != host
                else None
            ),
        )
        self.page.on(
            "response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None
        )
        self.page.goto(url, wait_until="networkidle")

    def weight(self) -> int:
        """Bytes the page and everything it loaded took over the wire."""
        return self.page.evaluate("""() => performance.getEntriesByType('navigation')
            .concat(performance.getEntriesByType('resource')).reduce((sum, e) => sum + e.encodedBodySize, 0)""")

    def close(self):
        self.context.close()


@pytest.fixture
def visit(chromium):
    opened = []

    def open_page(url, viewport="desktop", **options):
        opened.append(Visit(chromium, url, viewport, **options))
        return opened[-1]

    yield open_page
    for page in opened:
        page.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("docname", PAGES)
def test_page_loads_cleanly_with_its_figures_and_math(site, visit, screenshots, docname, viewport):
    base, _ = site
    page_visit = visit(f"{base}{docname}.html", viewport)
    page = page_visit.page
    assert not page_visit.problems, page_visit.problems
    width = VIEWPORTS[viewport]["width"]
    images = page.evaluate("""() => [...document.querySelectorAll('article img')].map(img => ({
        src: img.getAttribute('src'), alt: img.alt, loaded: img.complete && img.naturalWidth > 0,
        natural: img.naturalWidth, width: img.getBoundingClientRect().width,
        right: img.getBoundingClientRect().right}))""")
    for image in images:
        assert image["loaded"] and image["alt"].strip(), image
        assert image["right"] <= width + 1, f"{image['src']} runs off the page"
        if viewport == "desktop" and "/_images/" in image["src"]:  # a figure, shown at about its own size
            assert image["width"] >= 150, f"{image['src']} shows only {image['width']:.0f} px wide"
            assert image["width"] >= 0.85 * image["natural"], f"{image['src']} is shrunk: its labels shrink with it"
    n_math = page.locator("article .math").count()
    if n_math:
        page.wait_for_function("n => document.querySelectorAll('article mjx-container').length >= n", arg=n_math)
    assert "\\(" not in page.locator("article").inner_text(), "raw TeX on the page"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow} px wider than the window"
    folder, weights = screenshots
    page.screenshot(path=str(folder / f"{docname.replace('/', '-')}-{viewport}.png"), full_page=True)
    weights[f"{docname} ({viewport})"] = page_visit.weight()


@pytest.mark.parametrize("docname", PAGES)
def test_tables_and_printed_lines_fit_the_text_column(site, visit, docname):
    base, _ = site
    page = visit(f"{base}{docname}.html").page
    too_wide = page.evaluate("""() => {
        const column = document.querySelector('article').getBoundingClientRect().right;
        return [...document.querySelectorAll('article table, article .cell_output pre')]
            .filter(el => el.getBoundingClientRect().right > column + 1 || el.scrollWidth > el.clientWidth + 1
                          || el.parentElement.scrollWidth > el.parentElement.clientWidth + 1)
            .map(el => el.tagName + ': ' + el.innerText.slice(0, 80));
    }""")
    assert not too_wide, too_wide
    printed = [
        text
        for text in page.locator("article .cell_output pre").all_inner_texts()
        if not text.lstrip().startswith(("def ", "class ", "@"))
    ]  # source listings are code, not results
    long_lines = [line for text in printed for line in text.splitlines() if len(line) > MAX_PRINTED_LINE]
    assert not long_lines, [line[:100] for line in long_lines]


def test_internal_links_and_anchors_resolve(site):
    base, html = site
    ids: dict[Path, set] = {}
    broken = []
    for page in sorted(html.rglob("*.html")):
        if page.relative_to(html).parts[0] == "_static":  # the themes' templates, not pages
            continue
        text = page.read_text(encoding="utf-8")
        for href in re.findall(r'href="([^"]+)"', text):
            url, fragment = urldefrag(urljoin(f"{base}{page.relative_to(html).as_posix()}", href))
            url = url.split("?")[0]
            if not url.startswith(base):
                continue
            target = html / url.removeprefix(base)
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.name}: {href}")
                continue
            if fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8")))
                if fragment not in ids[target]:
                    broken.append(f"{page.name}: {href} (no such anchor)")
    assert not broken, broken[:20]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_sidebar_lists_every_page_and_its_toggle_works(site, visit, viewport):
    base, _ = site
    page = visit(f"{base}chapters/01_mnist_dataset.html", viewport).page
    sidebar = page.locator(".bd-sidebar-primary")
    listed = {
        _docname(urljoin(page.url, href), base)
        for href in sidebar.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    }
    assert set(toc_files()) <= listed, set(toc_files()) - listed

    def shown():
        return page.evaluate("""() => { const s = document.querySelector('.bd-sidebar-primary');
            const r = s.getBoundingClientRect();
            return getComputedStyle(s).visibility !== 'hidden' && r.right > 0 && r.width > 0; }""")

    toggle = page.locator(".primary-toggle:visible").first
    before = shown()
    assert before == (viewport == "desktop"), "the sidebar starts open on a desktop and closed on a phone"
    toggle.click()
    page.wait_for_timeout(500)
    assert shown() != before, "the sidebar toggle did nothing"
    if viewport == "desktop":
        toggle.click()
        page.wait_for_timeout(500)
        assert shown() == before


@pytest.mark.parametrize("query, docname", [("pooling", "chapters/03_pooling"), ("dropout", "chapters/06_dropout")])
def test_search_finds_the_chapters(site, visit, query, docname):
    base, _ = site
    page = visit(f"{base}search.html?q={query}").page
    page.wait_for_selector("#search-results li a", timeout=15_000)
    found = {
        _docname(urljoin(page.url, href).split("?")[0], base)
        for href in page.locator("#search-results li a").evaluate_all("a => a.map(x => x.getAttribute('href'))")
    }
    assert docname in found, found


def test_colab_buttons_open_the_colab_editions(site, visit):
    base, _ = site
    config = book_config()
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["sphinx"]["config"]["colab_branch"]
    for docname in [entry for entry in toc_files() if (ROOT / f"{entry}.ipynb").exists()]:
        page = visit(f"{base}{docname}.html").page
        links = page.locator("a[href*='colab.research.google.com']").evaluate_all("a => a.map(x => x.href)")
        assert links == [f"https://colab.research.google.com/github/{repo}/blob/{branch}/{docname}.ipynb"], links


# --- Read my digit: the book's model in the browser -----------------------------------------

PAD_PAGE = "chapters/10_read_my_digit"
# A 7 and a 4 in the pad's unit square (x right, y down), drawn as a reader would.
STROKES = {
    7: [[(0.2, 0.15), (0.8, 0.15), (0.45, 0.9)]],
    4: [[(0.55, 0.1), (0.2, 0.6), (0.8, 0.6)], [(0.6, 0.35), (0.6, 0.95)]],
}
# The largest mean absolute difference allowed between the page's 28 x 28 image and
# prepare_digit's for the same drawing (both in [0, 1]); they agree to float32 rounding.
PREPARATION_TOLERANCE = 1e-4
LATENCY_MS = 50


@pytest.fixture(scope="module")
def pad_model(site):
    """The Keras model the page carries: simple_convnet with the weights written into the page."""
    import keras

    import digitlib
    from digitlib.drawing_pad import weights_from_spec

    _, html = site
    text = (html / f"{PAD_PAGE}.html").read_text(encoding="utf-8")
    spec = json.loads(
        re.search(r'<script type="application/json" id="read-my-digit-model">(.*?)</script>', text, re.S).group(1)
    )
    keras.utils.set_random_seed(0)
    model = digitlib.simple_convnet()
    weights = weights_from_spec(spec)
    for name, layer in zip(("conv1", "conv2", "classifier"), [layer for layer in model.layers if layer.weights]):
        layer.set_weights([weights[name]["kernel"], weights[name]["bias"]])
    return model


def _draw(page, strokes, touch=False):
    """Draw ``strokes`` on the pad: with the mouse, or with a finger; returns the
    prediction's attributes once the page has read the drawing."""
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()  # in the window's coordinates, as the mouse moves
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        if touch:  # a finger, as Chromium's touch input: the page gets pointer events of type touch
            cdp = page.context.new_cdp_session(page)
            dense = _densify(points)
            for kind, (x, y) in [("touchStart", dense[0]), *[("touchMove", p) for p in dense[1:]]]:
                cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
            cdp.detach()
        else:
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in _densify(points)[1:]:
                page.mouse.move(*point)
            page.mouse.up()
    page.wait_for_function("() => document.getElementById('prediction').dataset.digit !== ''")
    return page.locator("#prediction").evaluate("e => ({...e.dataset})")


def _densify(points, steps=12):
    dense = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        dense += [(x0 + (x1 - x0) * t / steps, y0 + (y1 - y0) * t / steps) for t in range(1, steps + 1)]
    return dense


def _pad_pixels(page):
    import numpy as np

    width, height, data = page.evaluate("""() => { const c = document.getElementById('pad');
        return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]; }""")
    return np.array(data, dtype=np.uint8).reshape(height, width, 4)


@pytest.mark.parametrize("digit", STROKES)
def test_the_pad_prepares_a_drawing_as_prepare_digit_and_reads_it_as_keras(site, visit, pad_model, screenshots, digit):
    import numpy as np

    import digitlib

    base, _ = site
    page_visit = visit(f"{base}{PAD_PAGE}.html")
    page = page_visit.page
    shown = _draw(page, STROKES[digit])
    pixels = _pad_pixels(page)
    ours = np.array(page.evaluate("() => readMyDigit.input"), dtype=np.float32).reshape(28, 28, 1)
    expected = digitlib.prepare_digit(pixels)
    difference = float(np.abs(ours - expected).mean())
    assert difference < PREPARATION_TOLERANCE, difference
    keras_probabilities = pad_model.predict(ours[np.newaxis], verbose=0)[0]
    page_probabilities = np.array(json.loads(shown["probabilities"]))
    assert int(shown["digit"]) == int(keras_probabilities.argmax())
    assert np.abs(page_probabilities - keras_probabilities).max() < 1e-4
    assert float(shown["milliseconds"]) < LATENCY_MS, f"{shown['milliseconds']} ms from the stroke's end to the answer"
    assert not page_visit.problems, page_visit.problems
    folder, _ = screenshots
    page.screenshot(path=str(folder / f"read_my_digit-{digit}.png"), full_page=True)
    report = folder / "read_my_digit.json"
    measured = json.loads(report.read_text()) if report.exists() else {}
    measured[f"drawn {digit}"] = {
        "read as": int(shown["digit"]),
        "latency_ms": float(shown["milliseconds"]),
        "preparation_mean_abs_difference": difference,
    }
    report.write_text(json.dumps(measured, indent=1))
    page.click("#clear")
    assert page.locator("#prediction").get_attribute("data-digit") == ""
    assert (_pad_pixels(page)[..., :3] == 255).all(), "Clear leaves ink on the pad"


def test_the_pad_reads_200_test_digits_as_keras_does(site, visit, pad_model):
    import numpy as np

    import digitlib

    base, _ = site
    page = visit(f"{base}{PAD_PAGE}.html").page
    _, (test_images, test_labels) = digitlib.load_mnist()
    x, _ = digitlib.preprocess(test_images[:200], test_labels[:200])
    ours = np.array(page.evaluate("images => readMyDigit.predict(images)", x.ravel().tolist())).reshape(200, 10)
    theirs = pad_model.predict(x, verbose=0)
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()
    assert np.abs(ours - theirs).max() < 1e-4, np.abs(ours - theirs).max()


def test_the_pad_takes_touch_on_a_phone(site, visit):
    base, _ = site
    page_visit = visit(f"{base}{PAD_PAGE}.html", "phone", has_touch=True, is_mobile=True)
    page = page_visit.page
    box = page.locator("#pad").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORTS["phone"]["width"], box
    assert page.locator("#pad").evaluate("e => getComputedStyle(e).touchAction") == "none", (
        "touch would scroll the page"
    )
    shown = _draw(page, STROKES[7], touch=True)
    assert shown["digit"] != "" and len(json.loads(shown["probabilities"])) == 10
    assert not page_visit.problems, page_visit.problems


def test_the_pad_works_offline_from_the_built_folder(site, visit):
    _, html = site
    page = visit((html / f"{PAD_PAGE}.html").as_uri(), offline=True).page
    shown = _draw(page, STROKES[4])
    assert abs(sum(json.loads(shown["probabilities"])) - 1) < 1e-5


def _python_preparation(drawing):
    """prepare_digit's answer as the page gives it: (the 28 x 28 image or None, the problem)."""
    import digitlib

    try:
        return digitlib.prepare_digit(drawing)[..., 0], None
    except ValueError as error:
        kinds = {"blank": "blank", "edges of the image": "edges", "of the image, more than": "share", "frame": "frame"}
        return None, next(kind for text, kind in kinds.items() if text in str(error))


def test_the_pads_preparation_is_prepare_digits_on_many_drawings(chromium):
    """The page's JavaScript preparation, alone, against prepare_digit: drawings of many sizes,
    shrunk (Pillow's box filter) and enlarged (bilinear), on white and on transparent paper,
    and what it refuses: a blank page, ink across the image, too much ink, a frame."""
    import numpy as np

    import digitlib
    from digitlib import own_digits

    rng = np.random.default_rng(0)
    inks = []
    for _ in range(40):
        height, width = (int(n) for n in rng.integers(12, 300, size=2))
        extent = rng.uniform(0.05, 1.0)  # a digit from tiny (enlarged) to filling the image (shrunk)
        box = (0.1 * width, 0.1 * height, (0.1 + 0.8 * extent) * width, (0.1 + 0.8 * extent) * height)
        strokes = [rng.random((int(rng.integers(2, 6)), 2)) for _ in range(int(rng.integers(1, 4)))]
        inks.append(digitlib.draw_strokes(strokes, (height, width), width=float(rng.uniform(1, 20)), box=box))
    inks += [
        np.zeros((50, 60)),  # a blank page
        digitlib.draw_strokes([[(0, 0.5), (1, 0.5)], [(0.5, 0), (0.5, 1)]], (80, 80), width=6, box=(0, 0, 80, 80)),
        digitlib.draw_strokes([[(0.5, 0.5)]], (60, 60), width=45),  # ink over almost half the image
        digitlib.draw_strokes(
            [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], [(0.3, 0.2), (0.6, 0.8)]], (100, 100), width=5
        ),  # a frame around a stroke
    ]
    drawings = []
    for k, ink in enumerate(inks):
        rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
        if k % 4 == 3:  # dark ink on transparent paper
            rgba[..., 3] = np.round(255 * ink)
        else:
            rgba[..., :3] = np.round(255 * (1 - ink))[..., np.newaxis]
            rgba[..., 3] = 255
        drawings.append(rgba)
    page = chromium.new_page()
    try:
        page.set_content(
            "<script>window.module = {exports: {}};</script><script>"
            + (Path(own_digits.__file__).parent / "resources" / "read_my_digit.js").read_text()
            + "</script>"
        )
        ours = page.evaluate(
            """([drawings, constants]) => drawings.map(([w, h, data]) => {
            const rgba = Uint8ClampedArray.from(atob(data), (c) => c.charCodeAt(0));
            const {input, problem} = module.exports.prepare(rgba, w, h, constants);
            return [input && Array.from(input), problem]; })""",
            [
                [[d.shape[1], d.shape[0], base64.b64encode(d.tobytes()).decode()] for d in drawings],
                digitlib.drawing_pad.model_spec(digitlib.simple_convnet())["constants"],
            ],
        )
    finally:
        page.close()
    answers = [_python_preparation(drawing) for drawing in drawings]
    assert [problem for _, problem in ours] == [problem for _, problem in answers]
    assert {problem for _, problem in answers[-4:]} == {"blank", "edges", "share", "frame"}
    for (image, _), (expected, _) in zip(ours, answers):
        if expected is not None:
            assert np.abs(np.array(image).reshape(28, 28) - expected).max() < 1e-6


def test_the_pad_says_when_a_drawing_is_not_one_digit(site, visit):
    base, _ = site
    page = visit(f"{base}{PAD_PAGE}.html").page
    _draw(page, STROKES[7])
    box = page.locator("#pad").bounding_box()
    left, top, right, bottom = box["x"] + 1, box["y"] + 1, box["x"] + box["width"] - 1, box["y"] + box["height"] - 1
    middle_x, middle_y = (left + right) / 2, (top + bottom) / 2
    for start, end in [((left, middle_y), (right, middle_y)), ((middle_x, top), (middle_x, bottom))]:  # a cross
        page.mouse.move(*start)
        page.mouse.down()
        for point in _densify([start, end])[1:]:
            page.mouse.move(*point)
        page.mouse.up()
    page.wait_for_function("() => document.getElementById('prediction').dataset.digit === ''")
    assert "edges of the box" in page.locator(".rmd-answer").inner_text()
