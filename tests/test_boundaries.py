"""The dependency direction of DESIGN §2, checked on the source, not on trust."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fare", "validators", "settlement", "ticketing")
ALLOWED = {
    "fare": set(),
    "validators": {"fare"},
    "settlement": {"validators", "fare"},
}
# The shell's glue: the app factory, the CLI, the table registry for Alembic, migrations.
SHELL_GLUE = ("ticketing/app.py", "ticketing/cli/", "ticketing/models.py", "ticketing/migrations/")


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(PACKAGES)


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_domain_packages_import_only_downstream() -> None:
    problems = []
    for package, allowed in ALLOWED.items():
        for path in sources(package):
            bad = imported_packages(path) - allowed - {package}
            if bad:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert problems == []


def test_shell_modules_other_than_glue_import_no_domain_package() -> None:
    problems = []
    for path in sources("ticketing"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(SHELL_GLUE):
            continue
        bad = imported_packages(path) - {"ticketing"}
        if bad:
            problems.append(f"{relative} imports {sorted(bad)}")
    assert problems == []


def test_validators_is_this_repository_and_not_the_pypi_package() -> None:
    spec = importlib.util.find_spec("validators")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve().is_relative_to(ROOT)
