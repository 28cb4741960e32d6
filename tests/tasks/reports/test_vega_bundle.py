"""The inlined Vega bundle is built once and then read from the cache, which may be absent."""

from __future__ import annotations

import pytest
import vl_convert

from tasks.reports import vega_bundle as bundles


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty cache folder and no bundle remembered in this process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bundles.vega_bundle.cache_clear()
    yield tmp_path / "cache" / "hhcast-reports"
    bundles.vega_bundle.cache_clear()


def test_the_bundle_is_built_once_then_read_from_the_cache(fresh, monkeypatch):
    built = bundles.vega_bundle()
    assert "vegaEmbed" in built
    (kept,) = fresh.glob("vega-*.js")
    assert kept.name == f"vega-{vl_convert.__version__}-{bundles.VL_VERSION}.js"
    assert kept.read_text(encoding="utf-8") == built

    def no_bundling(**_):
        raise AssertionError("bundled again although the cache holds it")

    bundles.vega_bundle.cache_clear()
    monkeypatch.setattr(bundles.vl_convert, "javascript_bundle", no_bundling)
    assert bundles.vega_bundle() == built


def test_a_cache_that_cannot_be_written_is_skipped(fresh, monkeypatch):
    fresh.parent.mkdir()
    fresh.write_text("a file where the cache folder should be")
    monkeypatch.setattr(bundles.vl_convert, "javascript_bundle", lambda **_: "// the bundle")
    assert bundles.vega_bundle() == "// the bundle"
