"""app.py sets the theme's readable colours when `.streamlit/config.toml` is not read (the
server started from another folder): the two must name the same colours."""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def app_theme() -> dict[str, str]:
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "THEME" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("app.py has no THEME")


def test_app_py_and_the_config_file_set_the_same_colours():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    from_file = {f"theme.{k}": v for k, v in config["theme"].items() if k != "base"}
    assert app_theme() == from_file
