"""kanon/policy/ stands apart: no settings reader, no Streamlit, nothing touching the release."""

from __future__ import annotations

from tests.unit.test_architecture import ROOT, imported_modules

FORBIDDEN = ("kanon", "streamlit", "reports")


def forbidden(module: str) -> bool:
    """Anything of Kanon's but the policy package itself, Streamlit, or the reports."""
    return module.split(".")[0] in FORBIDDEN and not (
        module == "kanon.policy" or module.startswith("kanon.policy.")
    )


def test_policy_imports_neither_settings_nor_the_release():
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if forbidden(m))
        for path in sorted((ROOT / "kanon" / "policy").glob("*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}
