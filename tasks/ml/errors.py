"""Errors of training and the registry that the command line reports as messages.

Here, apart from the modules that raise them, so that catching them costs no import of
scikit-learn or TensorFlow.
"""

from __future__ import annotations


class DatasetError(ValueError):
    """The dataset version asked for cannot be trained on; the message says why and what to do."""


class ArtifactRefused(RuntimeError):
    """An artifact is not what the registry recorded, or is in a format hhcast never loads."""


class ChampionChanged(RuntimeError):
    """The champion changed between comparing and deciding (another run decided first)."""


class RegistryError(RuntimeError):
    """The registry cannot do what was asked; the message says why."""
