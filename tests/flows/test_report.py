"""The report flow writes the page and the PNGs to the lake and shows the charts in the UI;
`hhcast report --out` writes the page alone."""

from __future__ import annotations

import base64
import re

import pytest
from prefect.client.orchestration import get_client
from report_tables import crafted_tables, write_warehouse

from flows.cli import main
from flows.report import report
from tasks.report import ARTIFACT_KEY
from warehouse.connection import connect


@pytest.fixture
def crafted_warehouse(settings):
    with connect(settings.warehouse) as con:
        write_warehouse(con, crafted_tables())
    return settings


def test_the_flow_writes_the_page_and_pngs_to_the_lake_and_the_artifact_shows_them(
    crafted_warehouse, paths, prefect_harness
):
    summary = report(return_state=True).result()

    lake = paths["lake"].resolve()
    (page,) = (lake / "reports").glob("*.html")
    assert summary.html_uri == str(page)
    run_id = page.stem.split("-", 3)[3]  # <yyyy>-<mm>-<dd>-<run id>
    assert page.read_text(encoding="utf-8").count('class="chart"') == 4
    pngs = {key: (lake / "reports" / page.stem / f"{key}.png") for key in summary.png_uris}
    assert sorted(pngs) == ["champions", "drift", "errors", "forecast"]
    assert all(str(path) == summary.png_uris[key] for key, path in pngs.items())

    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts()
        (shown,) = [a for a in artifact if a.key == ARTIFACT_KEY]
    assert shown.type == "markdown"
    assert str(shown.flow_run_id) == run_id
    inline = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)\)", shown.data)
    assert sorted(base64.b64decode(data) for data in inline) == sorted(
        path.read_bytes() for path in pngs.values()
    )
    assert f"`{page}`" in shown.data
    # the run is named for its day, the page's day
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).name == f"report-{page.stem[:10]}"


def test_report_out_writes_only_the_page_and_says_where(crafted_warehouse, paths, tmp_path, capsys):
    out = tmp_path / "out" / "report.html"
    assert main(["report", "--out", str(out)]) == 0
    assert f"report written to {out}" in capsys.readouterr().out
    assert "vegaEmbed" in out.read_text(encoding="utf-8")
    assert not (paths["lake"] / "reports").exists()


@pytest.mark.parametrize("out", [["--out", "r.html"], []])
def test_a_report_on_a_missing_warehouse_is_a_message_and_creates_nothing(
    env, paths, tmp_path, capsys, out
):
    assert main(["report", *out]) == 2
    assert "does not exist yet: run `hhcast run`" in capsys.readouterr().err
    assert not paths["warehouse"].parent.exists()


def test_a_report_in_an_s3_lake_is_linked_over_the_configured_address(
    crafted_warehouse, s3_env, monkeypatch, prefect_harness
):
    fs, bucket = s3_env
    monkeypatch.setenv("HHCAST_LAKE", f"s3://{bucket}/lake")
    monkeypatch.setenv("HHCAST_REPORTS__URL", "https://reports.example/lake/reports/")
    summary = report(return_state=True).result()

    stem = summary.html_uri.removeprefix(f"s3://{bucket}/lake/reports/").removesuffix(".html")
    assert fs.cat_file(summary.html_uri).count(b'class="chart"') == 4
    assert sorted(fs.ls(f"{bucket}/lake/reports/{stem}")) == sorted(
        uri.removeprefix("s3://") for uri in summary.png_uris.values()
    )
    with get_client(sync_client=True) as client:
        (shown,) = [a for a in client.read_latest_artifacts() if a.key == ARTIFACT_KEY]
    assert "data:image" not in shown.data  # the images are served: linked, not inlined
    assert f"[open the report](https://reports.example/lake/reports/{stem}.html)" in shown.data
    assert f"(https://reports.example/lake/reports/{stem}/forecast.png)" in shown.data
