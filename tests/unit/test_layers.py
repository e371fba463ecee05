"""The four services look the same inside, and their imports run one way (docs/adr/0020): entrypoints ->
service layer -> domain, with the adapters behind the service layer's ports. Read from the source (ast), so it
holds for every module, imported by a test or not; what a module imports is followed through the repository."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("wallet", "relationship", "payment", "clearing")
IO = ("asyncpg", "aiokafka", "faststream", "shared.db", "shared.messaging.outbox", "shared.messaging.consumer",
      "shared.messaging.kafka", "shared.messaging.runtime")  # fmt: skip
"""What does input and output: the domain and the service layer reach none of it, even through another module."""
SQL_CALLS = {"execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table"}


def module_of(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def path_of(module: str) -> Path | None:
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


@cache
def imports_of(module: str) -> frozenset[str]:
    """The modules `module` imports at run time (not those under TYPE_CHECKING)."""
    path = path_of(module)
    if path is None:
        return frozenset()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if path_of(f"{node.module}.{a.name}")}
    return frozenset(found)


def reaches(module: str) -> set[str]:
    """Every module `module` imports, directly or through the repository's own modules."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        for imported in imports_of(todo.pop()):
            if imported not in seen:
                seen.add(imported)
                if path_of(imported) is not None:
                    todo.append(imported)
    return seen


def modules(service: str, layer: str) -> Iterator[str]:
    for path in sorted((REPO / "services" / service / layer).glob("*.py")):
        yield module_of(path)


def under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_four_services_have_the_same_layers() -> None:
    for service in SERVICES:
        root = REPO / "services" / service
        assert {p.name for p in root.iterdir() if p.is_dir() and p.name != "__pycache__"} >= {
            "domain", "service_layer", "adapters", "entrypoints", "migrations",
        }, service  # fmt: skip
        for required in ("domain/commands.py", "domain/events.py", "service_layer/ports.py",
                         "service_layer/context.py", "adapters/memory.py", "entrypoints/unit_of_work.py",
                         "bootstrap.py"):  # fmt: skip
            assert (root / required).exists(), f"services/{service}/{required}"
        loose = {p.name for p in root.glob("*.py")} - {"__init__.py", "__main__.py", "app.py", "bootstrap.py"}
        assert not loose, f"services/{service} has modules outside the layers: {sorted(loose)}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_is_pure(service: str) -> None:
    for module in modules(service, "domain"):
        for imported in reaches(module):
            assert not any(under(imported, io) for io in IO), f"{module} reaches {imported}"
            assert not under(imported, "shared.messaging"), f"{module} reaches {imported}: events are pure data"
            for layer in ("service_layer", "adapters", "entrypoints"):
                assert not under(imported, f"services.{service}.{layer}"), f"{module} imports {imported}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_layer_sees_only_the_domain_and_its_ports(service: str) -> None:
    for module in modules(service, "service_layer"):
        for imported in reaches(module):
            assert not any(under(imported, io) for io in IO), f"{module} reaches {imported}"
            for layer in ("adapters", "entrypoints"):
                assert not under(imported, f"services.{service}.{layer}"), f"{module} imports {imported}"


@pytest.mark.parametrize("service", SERVICES)
def test_adapters_implement_ports_and_call_no_use_case(service: str) -> None:
    allowed = {f"services.{service}.service_layer.ports", f"services.{service}.service_layer.context"}
    for module in modules(service, "adapters"):
        for imported in imports_of(module):
            assert not under(imported, f"services.{service}.entrypoints"), f"{module} imports {imported}"
            if under(imported, f"services.{service}.service_layer"):
                assert imported in allowed, f"{module} imports the use case {imported}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    for path in sorted((REPO / "services" / service).rglob("*.py")):
        for imported in imports_of(module_of(path)):
            others = [s for s in (*SERVICES, "console") if s != service]
            assert not any(under(imported, f"services.{o}") for o in others), f"{path} imports {imported}"


def sql_calls(path: Path) -> list[str]:
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            calls.append(f"{path.relative_to(REPO)}:{node.lineno} .{node.func.attr}()")
    return calls


def test_sql_lives_only_in_adapters() -> None:
    outside = []
    for service in SERVICES:
        for path in sorted((REPO / "services" / service).rglob("*.py")):
            if "adapters" not in path.relative_to(REPO / "services" / service).parts:
                outside += sql_calls(path)
    assert outside == []


def test_the_kernel_is_a_pipeline_of_stages_in_order() -> None:
    """shared/messaging/kernel/: each stage imports only stages listed before it (kernel/__init__.py), and nothing
    in the kernel reaches a service."""
    from shared.messaging.kernel import STAGES

    kernel = REPO / "shared" / "messaging" / "kernel"
    assert {p.stem for p in kernel.glob("*.py")} - {"__init__"} == set(STAGES)
    for index, stage in enumerate(STAGES):
        module = f"shared.messaging.kernel.{stage}"
        for imported in imports_of(module):
            if under(imported, "shared.messaging.kernel") and imported != "shared.messaging.kernel":
                name = imported.split(".")[3]
                assert name in STAGES[:index], f"{stage} imports {name}, not a stage before it"
        for imported in reaches(module):
            assert not under(imported, "services"), f"{stage} reaches {imported}"


def test_the_largest_module_of_the_kernel_is_small() -> None:
    """A stage is a room one can live in: no module of shared/messaging above 300 lines."""
    sizes = {p.name: len(p.read_text().splitlines()) for p in (REPO / "shared" / "messaging").rglob("*.py")}
    assert max(sizes.values()) <= 300, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
