"""The README's settings table is the full list (DESIGN.md): every setting, no more, no less."""

import re
from pathlib import Path

from kanon.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def settings_table() -> dict[str, str]:
    """Setting -> its environment variable, from the README's "## Settings" table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| `(\w+)` \|", section, flags=re.M))


def test_every_setting_is_in_the_readme_table_and_nothing_else():
    assert set(settings_table()) == set(Settings.model_fields)


def test_each_row_names_its_environment_variable():
    for name, env in settings_table().items():
        assert env == f"KANON_{name.upper()}"
