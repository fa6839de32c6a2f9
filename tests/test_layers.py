"""The layers run one way, and this test is what keeps them so.

Bottom up: `clients/` and `models/` import nothing else of the project; the product's logic
(`smsbridge/` but its CLI) imports only those; `webhook/`, `flows/` and the CLI import the logic;
`deployments/` imports `flows/`. `sandbox/` imports nothing of the product: an emulator that reused
our code could not catch our mistakes. Every import counts, lazy ones inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOGIC = {"smsbridge", "clients", "models"}

# layer → what it may import. A layer is a top-level package, or `smsbridge.cli`.
ALLOWED: dict[str, set[str]] = {
    "clients": {"clients"},
    "models": {"models"},
    "smsbridge": LOGIC,
    "webhook": LOGIC | {"webhook"},
    "flows": LOGIC | {"flows"},
    # The CLI runs the webhook process and, for `make run`, the emulators; never a flow (Prefect
    # stays out of every command's start-up: the flows run in their own process).
    "smsbridge.cli": LOGIC | {"smsbridge.cli", "webhook", "sandbox"},
    "deployments": LOGIC | {"flows", "deployments"},
    "sandbox": {"sandbox"},
}


def layer_of(module: str) -> str | None:
    if module == "smsbridge.cli" or module.startswith("smsbridge.cli."):
        return "smsbridge.cli"
    top = module.split(".")[0]
    return top if top in ALLOWED else None


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from smsbridge import cli` names a module, not just a package.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def wrong_way_imports(root: Path) -> list[str]:
    wrong: dict[str, str] = {}  # file:line → the first wrong module it imports
    for package in ("clients", "models", "smsbridge", "webhook", "flows", "deployments", "sandbox"):
        for path in sorted((root / package).rglob("*.py")):
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            source_layer = layer_of(module)
            assert source_layer is not None
            for line, imported in imported_modules(path):
                target = layer_of(imported)
                if target is None or target == source_layer:
                    continue
                if target not in ALLOWED[source_layer]:
                    wrong.setdefault(f"{path.relative_to(root)}:{line}", imported)
    return [f"{where} imports {imported}" for where, imported in sorted(wrong.items())]


def test_no_import_runs_the_wrong_way() -> None:
    assert wrong_way_imports(ROOT) == []


@pytest.mark.parametrize(
    ("package", "source", "wrong"),
    [
        ("models", "from smsbridge.status.states import State\n", True),
        ("smsbridge", "from webhook.outbox import Claimed\n", True),
        ("smsbridge", "def f():\n    from flows.poll_statuses import poll_statuses\n", True),
        ("sandbox", "from smsbridge.rules.segments import measure\n", True),
        ("sandbox", "from clients.smsru.callbacks import sign\n", True),
        ("clients", "import models\n", True),
        ("smsbridge", "from smsbridge import cli\n", True),
        ("webhook", "from smsbridge.cli.app import app\n", True),
        ("smsbridge", "from clients.smsru.client import SmsRuClient\n", False),
        ("webhook", "from smsbridge.status.states import State\n", False),
        ("deployments", "from flows.poll_statuses import poll_statuses\n", False),
    ],
)
def test_the_check_sees_a_wrong_way_import(
    tmp_path: Path, package: str, source: str, wrong: bool
) -> None:
    folder = tmp_path / package
    folder.mkdir()
    (folder / "module.py").write_text(source)
    for other in ALLOWED:
        (tmp_path / other.split(".")[0]).mkdir(exist_ok=True)
    assert bool(wrong_way_imports(tmp_path)) is wrong
