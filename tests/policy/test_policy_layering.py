"""policy/ stands apart: no settings reader, no Streamlit, nothing that touches the release."""

from __future__ import annotations

from tests.unit.test_architecture import ROOT, imported_modules

FORBIDDEN = ("kanon", "streamlit", "reports", "store", "ui", "access")


def test_policy_imports_neither_settings_nor_the_release():
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN)
        for path in sorted((ROOT / "policy").glob("*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}
