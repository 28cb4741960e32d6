"""Screenshots of the Prefect UI serving hhcast, taken in a real browser: docs/img/ui-*.png.

    ./dev python docs/screenshots.py [--out docs/img]

In a throw-away project folder (the code linked, a `small` sample, a fresh `.prefect/`) it
starts `hhcast stack` on a free port, runs `hhcast run --promotion never` through it (the
first training installs the naive baseline as champion and only records ridge, so there is a
challenger to review), starts a `manual` training from the train deployment as the UI's
Custom run would, and waits until it is Paused and notify has told about it (docs/served.py).
Then it opens the UI's pages in headless Chromium (Debian's /usr/bin/chromium driven by
playwright: no browser download), waits on each until its own text shows and its images have
loaded (a page still loading shows neither), saves it full-page at 1400 px wide, approves the
review in its form as reviewer `docs`, and stops the stack, checking that nothing it started
is left. Training uses two quick candidates (naive and ridge): about 3.5 minutes in all on a
busy 2-core machine. Needs `apt-get install chromium` once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from docs.served import Served, Stack, project_folder, serve_runs  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1400, 900
REVIEWER = "docs"
PAGE_MS = 60_000  # a page of the UI: the app loaded, its data fetched and drawn
# The scrolling parts of a page (the app scrolls inside its layout, not the window): how much
# taller than the viewport the tallest one is, so a "full page" can show all of it.
OVERFLOW_JS = """() => Math.max(0, ...[...document.querySelectorAll('*')].map(e => {
  const y = getComputedStyle(e).overflowY;
  return (y === 'auto' || y === 'scroll') ? e.scrollHeight - e.clientHeight : 0;
}))"""
MAX_HEIGHT = 8000  # px: a run's long log would make a page taller than anyone reads
ANSWER_SECONDS = 60  # a submitted review reaches the server and takes the run out of its pause
IMAGES_LOADED_JS = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"


@dataclass(frozen=True)
class Shot:
    """A page of the UI to take: where it is, what it must show first, a tab or button to
    click before that."""

    name: str  # saved as ui-<name>.png
    route: str  # formatted with the ids of Served
    shows: tuple[str, ...]
    tab: str | None = None
    button: str | None = None
    as_list: bool = False  # artifacts as a list: their descriptions in full, not cut short


SHOTS = (
    Shot("pipeline-run", "/runs/flow-run/{pipeline}",
         ("{pipeline_name}", "Completed", "pipeline-summary", "Pipeline ok"), tab="Artifacts",
         as_list=True),
    Shot("pipeline-summary", "/artifacts/artifact/{summary_artifact}",
         ("Pipeline ok", "ingest-landing", "transform-full", "train-latest-never")),
    Shot("runs", "/runs", ("{pipeline_name}", "{review_name}", "train-latest-never",
                           "ingest-landing", "transform-full", "notify-paused", "Paused")),
    Shot("artifacts", "/artifacts", ("champion-vs-challenger", "auto would promote",
                                     "forecast-report", "review-waiting", "training-progress"),
         as_list=True),
    Shot("deployments", "/deployments", ("pipeline-daily", "retrain", "forecast", "notify")),
    Shot("run-form", "/deployments/deployment/{train_deployment}/run",
         ("dataset_version", "promotion", "How the challenger may become champion")),
    Shot("train-artifacts", "/runs/flow-run/{review}",
         ("training-progress", "Candidates trained", "champion-vs-challenger"), tab="Artifacts",
         as_list=True),
    Shot("automations", "/automations", ("hhcast: review waiting", "hhcast: run failed",
                                         "hhcast: run crashed", "hhcast: champion degraded")),
    Shot("forecast-report", "/artifacts/artifact/{report_artifact}",
         ("hhcast report", "Forecast vs actual", "Champion history")),
    Shot("review", "/runs/flow-run/{review}",
         ("Resume Flow Run", "Approve", "Reviewer", "Your name (required)"), button="Resume"),
)  # fmt: skip


def take(page, ui_url: str, shot: Shot, served: Served, out: Path) -> str:
    """Open the shot's page, wait until it shows what it should, save it; its visible text."""
    ids = vars(served)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.goto(ui_url + shot.route.format(**ids))
    if shot.tab:
        page.get_by_text(shot.tab, exact=True).first.click(timeout=PAGE_MS)
    if shot.button:
        page.get_by_role("button", name=shot.button).first.click(timeout=PAGE_MS)
    page.get_by_text(shot.shows[0].format(**ids)).first.wait_for(timeout=PAGE_MS)
    if shot.as_list:
        _list_view(page)
    # Tall enough for all of the page: parts below the fold load only once in view.
    _fit_height(page)
    for text in shot.shows:
        page.get_by_text(text.format(**ids)).first.wait_for(timeout=PAGE_MS)
    page.wait_for_function(IMAGES_LOADED_JS, timeout=PAGE_MS)
    page.wait_for_timeout(1500)  # the run graph and charts draw after their data arrives
    _fit_height(page)
    page.screenshot(path=out / f"ui-{shot.name}.png", full_page=True)
    return page.inner_text("body")


def _list_view(page) -> None:
    """Switch an artifact grid to its list (the UI remembers the choice)."""
    as_list = page.locator(".p-button-group__button").nth(1)
    if as_list.get_attribute("aria-selected") != "true":
        as_list.click()


def _fit_height(page) -> None:
    """Make the viewport as tall as the page's content (the app scrolls inside its layout, so
    a full-page screenshot alone would stop at the viewport)."""
    for _ in range(3):  # content that comes into view may load more
        taller = page.evaluate(OVERFLOW_JS)
        if not taller:
            return
        height = page.viewport_size["height"] + taller
        page.set_viewport_size({"width": WIDTH, "height": min(height, MAX_HEIGHT)})
        page.wait_for_timeout(700)


def answer_review(page, stack: Stack, served: Served, say) -> None:
    """Approve the paused review in its own form, as a reviewer would, and wait until the run
    has acted on it.

    An answer the server never got (the form still open, or the run still Paused a minute
    later: it happened once in CI, on a loaded machine) is given once more from a reloaded
    page, as a reviewer would; what the page showed is printed first. A second miss fails.
    """
    for attempt in (1, 2):
        form = page.get_by_role("dialog")
        form.get_by_role("switch").click()  # approve
        reviewer, note = form.get_by_role("textbox").all()
        reviewer.fill(REVIEWER)
        note.fill("screenshots taken; ridge beats the naive baseline")
        form.get_by_role("button", name="Submit").click()
        missed = _answer_missed(page, form, stack, served)
        if missed is None:
            break
        if attempt == 2:
            raise RuntimeError(f"the review form's answer did not reach the server: {missed}")
        say(f"the review form's answer did not reach the server ({missed}); answering again")
        page.reload()
        page.get_by_role("button", name="Resume").first.click(timeout=PAGE_MS)
        page.get_by_text("Your name (required)").first.wait_for(timeout=PAGE_MS)
    stack.wait_for(served.review, "COMPLETED")


def _answer_missed(page, form, stack: Stack, served: Served) -> str | None:
    """Why a submitted review answer did not reach the server, or None once the run left its
    pause."""
    try:
        form.wait_for(state="hidden", timeout=PAGE_MS)
    except Exception:  # playwright's TimeoutError
        return f"the form stayed open, showing: {form.inner_text()[-500:]!r}"
    deadline = time.monotonic() + ANSWER_SECONDS
    while time.monotonic() < deadline:
        state = stack.state_of(served.review)
        if state is None or not state.is_paused():
            return None
        time.sleep(1)
    return f"the run is still Paused {ANSWER_SECONDS} s later; the page shows {_toasts(page)!r}"


def _toasts(page) -> str:
    """The UI's notices (an error saying why a request failed shows as one)."""
    return " | ".join(page.locator(".p-toast").all_inner_texts()) or "no notice"


def capture(out: Path, base: Path) -> dict[str, str]:
    """Serve hhcast in a project under `base`, save every shot in `out`; each page's text."""
    from playwright.sync_api import sync_playwright

    started = time.monotonic()

    def say(what: str) -> None:
        print(f"{time.monotonic() - started:5.0f} s  {what}", flush=True)

    out.mkdir(parents=True, exist_ok=True)
    project, env = project_folder(base)
    texts = {}
    with Stack(project, env, base / "stack.out") as stack:
        say(f"hhcast stack is up at {stack.ui_url}")
        served = serve_runs(stack)
        say(f"{served.pipeline_name} done, {served.review_name} paused for review")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            for shot in SHOTS:
                texts[shot.name] = take(page, stack.ui_url, shot, served, out)
                say(f"{out / f'ui-{shot.name}.png'}")
            answer_review(page, stack, served, say)  # the last shot left its form open
            say(f"review approved in its form as {REVIEWER!r}: {served.review_name} completed")
            browser.close()
    say("hhcast stack stopped, nothing left running")
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="PNG folder")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: `apt-get install chromium` first")
    with tempfile.TemporaryDirectory(prefix="hhcast-screenshots-") as tmp:
        capture(args.out, Path(tmp))


if __name__ == "__main__":
    main()
