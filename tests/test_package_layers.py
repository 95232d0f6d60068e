"""explorer/ is layered: each package imports only the ones below it (pages -> ui, figures -> lab
-> nn -> data), and nothing below ui imports streamlit. explorer/i18n.py (the catalogs, no
streamlit) is for everyone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EXPLORER = Path(__file__).resolve().parents[1] / "explorer"
BELOW = {  # what each package may import from explorer (besides itself)
    "data": set(),
    "nn": {"data"},
    "lab": {"data", "nn"},
    "figures": {"data", "nn", "lab"},
    "ui": {"data", "nn", "lab", "figures"},
    "cli": {"data", "nn", "lab", "ui"},
}


def imported_packages(path: Path) -> set[str]:
    """The explorer packages (and 'streamlit') a module imports, at any depth in its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "streamlit":
                found.add("streamlit")
            elif parts[0] == "explorer" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(BELOW))
def test_a_package_imports_only_the_layers_below_it(package):
    for module in sorted((EXPLORER / package).glob("*.py")):
        if module.name == "__main__.py":  # an entry point (python -m explorer.data) runs the CLI
            continue
        imported = imported_packages(module) - {package, "i18n"}
        allowed = BELOW[package] | ({"streamlit"} if package in ("ui", "cli") else set())
        assert imported <= allowed, f"{module.relative_to(EXPLORER.parent)} imports {sorted(imported - allowed)}"


def test_the_checker_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from explorer.ui import url_state\n    import streamlit as st\n")
    assert imported_packages(module) == {"ui", "streamlit"}
