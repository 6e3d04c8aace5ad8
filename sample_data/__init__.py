"""The offline GA4 property's definition (`property.toml`), shipped as package data.

A package, not a loose folder, so a wheel install (`pip install .`) finds it from anywhere.
"""

from importlib.resources import files
from importlib.resources.abc import Traversable


def definition_file() -> Traversable:
    """The committed `property.toml`, wherever Kanon is installed."""
    return files(__name__) / "property.toml"
