"""Shared fixtures: settings pointing at a temporary warehouse, builders for raw export files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PANDERA_VALIDATION_DEPTH", "SCHEMA_AND_DATA")

from builders import write_events_xlsx, write_utilization_csv

from hhcast.config import Settings, load_settings


@pytest.fixture(scope="session", autouse=True)
def project_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The parsed-SQL cache of this session (tasks/marts/project_cache.py), never the user's own."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    return folder / "hhcast"


@pytest.fixture(scope="session", autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hhcast's state folder (errors.log) of this session, never the user's own."""
    folder = tmp_path_factory.mktemp("xdg-state")
    os.environ["XDG_STATE_HOME"] = str(folder)
    return folder / "hhcast"


@pytest.fixture(scope="session", autouse=True)
def no_stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where `hhcast` looks for a running stack: never the developer's own `.prefect/`, whose
    stack would otherwise take the in-process commands of the suite."""
    import flows.stack_state

    folder = tmp_path_factory.mktemp("stack-home")
    flows.stack_state.HOME = folder
    return folder


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    landing.mkdir()
    return {"landing": landing, "lake": lake, "warehouse": tmp_path / "wh" / "hhcast.duckdb"}


@pytest.fixture
def env(paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """HHCAST_* variables pointing every location at the test's temporary folder."""
    values = {f"HHCAST_{k.upper()}": str(v) for k, v in paths.items()}
    # Worker processes pay a start-up that tiny test files never win back; the medium
    # sample's session exercises them.
    values["HHCAST_INGEST__WORKER_PROCESSES"] = "0"
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings()


@pytest.fixture
def events_xlsx() -> Callable[..., Path]:
    """Write an events workbook: header, rows, and optional title / blank rows above them."""
    return write_events_xlsx


@pytest.fixture
def utilization_csv() -> Callable[..., Path]:
    """Write a utilisation CSV in the given encoding."""
    return write_utilization_csv


@pytest.fixture(scope="session")
def prefect_harness(request: pytest.FixtureRequest):
    """One temporary Prefect API for the whole session (starting one costs ~15 s).

    Started with output capture off: the harness sets Prefect's logging up again, and a
    console handler bound to one test's captured stderr would write to it once it is closed.
    """
    from prefect.testing.utilities import prefect_test_harness

    capture = request.config.pluginmanager.getplugin("capturemanager")
    harness = prefect_test_harness(server_startup_timeout=120)
    with capture.global_and_fixture_disabled():
        harness.__enter__()
    try:
        yield
    finally:
        with capture.global_and_fixture_disabled():
            harness.__exit__(None, None, None)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto in server mode) on 127.0.0.1, reached over HTTP."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto server did not start")
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def s3_env(s3_server: str, monkeypatch: pytest.MonkeyPatch):
    """Credentials and endpoint for the local S3 server, and a fresh bucket for the test."""
    import uuid

    import s3fs

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HHCAST_S3__ENDPOINT_URL": s3_server,
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"hhcast-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(endpoint_url=s3_server, skip_instance_cache=True)
    fs.mkdir(bucket)
    return fs, bucket
