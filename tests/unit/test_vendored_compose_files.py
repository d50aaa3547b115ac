"""The collection's copy of the compose file reader (plugins/module_utils/_compose_files.py,
for swarm_stack on the target's Python) is agent/swarmlet/cli/compose_files.py byte for byte,
and that file stays standard-library only (PyYAML imported when present)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "agent/swarmlet/cli/compose_files.py"
COPY = REPO / "plugins/module_utils/_compose_files.py"


def test_the_copy_is_the_source() -> None:
    assert COPY.read_text() == SOURCE.read_text(), (
        f"{COPY.relative_to(REPO)} is stale: cp {SOURCE.relative_to(REPO)} "
        f"{COPY.relative_to(REPO)}")


def test_it_imports_the_standard_library_and_yaml_only() -> None:
    tree = ast.parse(SOURCE.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            names.add((node.module or "").split(".")[0])
    names -= {"__future__", "yaml"}
    assert names <= set(sys.stdlib_module_names), names - set(sys.stdlib_module_names)


def test_it_reads_inline_data_without_yaml(monkeypatch) -> None:
    """A target without PyYAML still deploys the module's inline compose data."""
    import importlib.util

    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` raises ImportError
    spec = importlib.util.spec_from_file_location("_compose_files_noyaml", COPY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    body = module.load_compose_files([{"services": {"web": {"image": "x:${T}"}}}],
                                     environ={"T": "1"}, cwd="/")
    assert body["Files"][0]["Config"] == {"services": {"web": {"image": "x:1"}}}
    try:
        module.parse_yaml("a: 1", "c.yml")
    except module.ComposeFileError as exc:
        assert "needs PyYAML" in str(exc)
    else:
        raise AssertionError("parse_yaml without PyYAML must fail")
