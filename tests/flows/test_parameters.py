"""Every deployed flow explains its parameters in the Prefect UI's run form, and names its runs.

The form is built from the flow's parameter schema: type hints give the fields and defaults,
the docstring's Google-style `Args:` section their help texts.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from prefect.utilities.callables import parameter_schema

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINTS = sorted(
    {d["entrypoint"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
)


def _flow(entrypoint: str):
    path, name = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def test_every_flow_of_prefect_yaml_is_checked():
    assert len(ENTRYPOINTS) >= 9  # the eight flows and notify
    assert "flows/notify.py:notify" in ENTRYPOINTS


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_every_parameter_has_a_description(entrypoint):
    flow = _flow(entrypoint)
    schema = parameter_schema(flow.fn).model_dump()
    undescribed = [
        name
        for name, prop in schema["properties"].items()
        if not (prop.get("description") or "").strip()
    ]
    assert undescribed == []


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_every_flow_names_its_runs(entrypoint):
    assert _flow(entrypoint).flow_run_name is not None


@pytest.mark.parametrize(
    "entrypoint",
    ["flows/pipeline.py:pipeline", "flows/train.py:train_models", "flows/retrain.py:retrain"],
)
def test_promotion_is_a_choice_and_null_is_explained(entrypoint):
    promotion = parameter_schema(_flow(entrypoint).fn).model_dump()["properties"]["promotion"]
    (choice,) = [option for option in promotion["anyOf"] if "enum" in option]
    assert choice["enum"] == ["auto", "manual", "never"]
    assert promotion["default"] is None
    assert "null = promotion.policy" in promotion["description"]
