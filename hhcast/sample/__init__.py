"""Deterministic sample data: raw exports with every real-world quirk, plus their answer key."""

from hhcast.sample.generator import GenerationReport, generate
from hhcast.sample.presets import PRESETS, Preset

__all__ = ["PRESETS", "GenerationReport", "Preset", "generate"]
