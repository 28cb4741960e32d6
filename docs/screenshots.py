"""Screenshots of the Prefect UI serving hhcast, taken in a real browser: docs/img/ui-*.png.

    ./dev python docs/screenshots.py [--out docs/img]

In a throw-away project folder (the code linked, a `small` sample, a fresh `.prefect/`) it
starts `hhcast stack` on a free port, runs `hhcast run --promotion never` through it (the
first training installs the naive baseline as champion and only records ridge, so there is a
challenger to review), starts a `manual` training from the train deployment as the UI's
Custom run would and waits until it is Paused for review and notify has told about it. Then
it opens the UI's pages in headless Chromium (Debian's /usr/bin/chromium driven by
playwright: no browser download), waits on each until it shows its text and its images (not
a spinner), saves it full-page at 1400 px wide, answers the review in its own form (approve,
reviewer `docs`) and stops the stack, checking that nothing it started is left. Training uses
two quick candidates (naive and ridge): about three minutes in all. Needs
`apt-get install chromium` once.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.processes import alive, descendants, free_port, stop_tree  # noqa: E402
from hhcast.sample import generate  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
HHCAST = str(Path(sys.executable).parent / "hhcast")
RUN_LINK = re.compile(r"run: http://\S+/runs/flow-run/([0-9a-f-]{36})")
VERSION = re.compile(r"dataset version ([0-9a-f]{16})")
WIDTH, HEIGHT = 1400, 900
REVIEWER = "docs"
# The naive baseline, which the first training installs as champion, and ridge, which beats
# it on the small sample: a quick training, and a challenger to review.
CANDIDATES = (
    "{naive_last_year: {algorithm: naive, params: {column: hh_lag_52, fallback: hh_rolling_4}},"
    " ridge: {algorithm: linear, params: {alpha: 1.0}}}"
)
READY_SECONDS = 300  # the stack takes 35-100 s on a busy 2-core machine
RUN_SECONDS = 300  # a deployment run: the worker starts a process, imports, trains
PAGE_MS = 60_000  # a page of the UI: the app loaded, its data fetched and drawn
# The scrolling parts of a page (the app scrolls inside its layout, not the window): how much
# taller than the viewport the tallest one is, so a "full page" can show all of it.
OVERFLOW_JS = """() => Math.max(0, ...[...document.querySelectorAll('*')].map(e => {
  const y = getComputedStyle(e).overflowY;
  return (y === 'auto' || y === 'scroll') ? e.scrollHeight - e.clientHeight : 0;
}))"""
MAX_HEIGHT = 8000  # px: a run's long log would make a page taller than anyone reads
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


@dataclass(frozen=True)
class Served:
    """What the runs left on the stack's server, by id, for the pages' routes."""

    pipeline: str  # the `hhcast run` pipeline run
    pipeline_name: str
    review: str  # the paused manual training run
    review_name: str
    train_deployment: str
    report_artifact: str


SHOTS = (
    Shot("pipeline-run", "/runs/flow-run/{pipeline}",
         ("{pipeline_name}", "Completed", "Finished in state Completed()")),
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


def project_folder(base: Path) -> tuple[Path, dict[str, str]]:
    """A fresh-clone-like project with a small sample; the environment to run hhcast in."""
    project = base / "project"
    project.mkdir()
    for name in ("prefect.yaml", "hhcast.yaml"):
        (project / name).write_bytes((ROOT / name).read_bytes())
    for name in ("flows", "tasks", "warehouse", "hhcast", "sql"):
        (project / name).symlink_to(ROOT / name)
    generate(base / "sample", preset="small", seed=7)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HHCAST_"))}
    return project, {
        **clean,
        "HHCAST_LANDING": str(base / "sample" / "landing"),
        "HHCAST_LAKE": str(base / "lake"),
        "HHCAST_WAREHOUSE": str(base / "warehouse" / "hhcast.duckdb"),
        "HHCAST_INGEST__WORKER_PROCESSES": "0",
        "HHCAST_TRAINING__CANDIDATES": CANDIDATES,
        "HHCAST_PROMOTION__MANUAL_POLL_SECONDS": "2",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "XDG_CACHE_HOME": str(base / "cache"),
        "XDG_STATE_HOME": str(base / "state"),
    }


class Stack:
    """`hhcast stack` started in the project for the block, stopped after it with nothing left."""

    def __init__(self, project: Path, env: dict[str, str], output: Path) -> None:
        self.project, self.env, self.output = project, env, output
        self.port = free_port()
        self.ui_url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.ui_url}/api"

    def __enter__(self) -> Stack:
        with self.output.open("wb") as out:
            self.supervisor = subprocess.Popen(
                [HHCAST, "stack", "--port", str(self.port)], cwd=self.project, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            self._wait_until_ready()
        except BaseException:
            stop_tree(self.supervisor.pid)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        started = [self.supervisor.pid, *descendants(self.supervisor.pid)]
        try:
            self.hhcast("stack", "stop")
            self.supervisor.wait(timeout=60)
        finally:
            if self.supervisor.poll() is None:
                stop_tree(self.supervisor.pid)
        left = [pid for pid in started if alive(pid)]
        if left:
            raise RuntimeError(f"the stack left processes behind: {left}")

    def hhcast(self, *args: str) -> str:
        """Run an hhcast command in the project (it uses the stack); its output."""
        done = subprocess.run([HHCAST, *args], cwd=self.project, env=self.env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"hhcast {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    @contextmanager
    def client(self) -> Iterator:
        """A synchronous Prefect client of the stack's API."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api_url}), get_client(sync_client=True) as c:
            yield c

    def wait_for(self, run_id: str, state: str) -> None:
        """Wait until the run is in `state` (a state type, e.g. PAUSED); fail on another end."""
        deadline = time.monotonic() + RUN_SECONDS
        while time.monotonic() < deadline:
            with self.client() as client:
                now = client.read_flow_run(run_id).state
            if now is not None and now.type.value == state:
                return
            if now is not None and now.is_final():
                raise RuntimeError(f"run {run_id} ended {now.name}: {now.message}")
            time.sleep(1)
        raise RuntimeError(f"run {run_id} not {state} after {RUN_SECONDS} s")

    def latest_artifact(self, key: str) -> str | None:
        """The id of the newest artifact under `key`, if any."""
        with self.client() as client:
            found = client.read_latest_artifacts()
        return next((str(a.latest_id) for a in found if a.key == key), None)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        state_file = self.project / ".prefect" / "stack.json"
        while time.monotonic() < deadline:
            if self.supervisor.poll() is not None:
                raise RuntimeError(f"hhcast stack exited:\n{self.output.read_text()}")
            try:
                if json.loads(state_file.read_text()).get("ready"):
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        log = self.output.read_text()
        raise RuntimeError(f"hhcast stack not ready in {READY_SECONDS} s\n{log}")


def serve_runs(stack: Stack) -> Served:
    """`hhcast run` through the stack, then a manual review from the train deployment, left
    Paused once notify has published its notice."""
    out = stack.hhcast("run", "--promotion", "never")
    (pipeline,) = RUN_LINK.findall(out)
    version = VERSION.search(out)
    with stack.client() as client:
        deployment = client.read_deployment_by_name("train/train")
        review = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"dataset_version": version and version.group(1), "promotion": "manual"},
        )
    stack.wait_for(str(review.id), "PAUSED")
    deadline = time.monotonic() + RUN_SECONDS
    while stack.latest_artifact("review-waiting") is None:  # the automation's notify run
        if time.monotonic() > deadline:
            raise RuntimeError("notify published no review-waiting notice")
        time.sleep(1)
    with stack.client() as client:
        names = {i: client.read_flow_run(i).name for i in (pipeline, review.id)}
    return Served(
        pipeline, names[pipeline], str(review.id), names[review.id], str(deployment.id),
        stack.latest_artifact("forecast-report") or "none",
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


def answer_review(page, stack: Stack, served: Served) -> None:
    """Approve the paused review in its own form, as a reviewer would, and wait until the run
    has acted on it."""
    form = page.get_by_role("dialog")
    form.get_by_role("switch").click()  # approve
    reviewer, note = form.get_by_role("textbox").all()
    reviewer.fill(REVIEWER)
    note.fill("screenshots taken; ridge beats the naive baseline")
    form.get_by_role("button", name="Submit").click()
    stack.wait_for(served.review, "COMPLETED")


def capture(out: Path, base: Path) -> dict[str, str]:
    """Serve hhcast in a project under `base`, save every shot in `out`; each page's text."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    project, env = project_folder(base)
    texts = {}
    with Stack(project, env, base / "stack.out") as stack:
        served = serve_runs(stack)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            for shot in SHOTS:
                texts[shot.name] = take(page, stack.ui_url, shot, served, out)
            answer_review(page, stack, served)  # the last shot left its form open
            browser.close()
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="PNG folder")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: `apt-get install chromium` first")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hhcast-screenshots-") as tmp:
        texts = capture(args.out, Path(tmp))
    for name in texts:
        print(f"{args.out / f'ui-{name}.png'}")
    print(f"{len(texts)} screenshots in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
