"""The import-layer contracts (pyproject.toml, checked by lint-imports in .ci/run) cover the
whole package: every command module is in the independence contract, every top-level package
of kernlab is placed in the layers."""

from __future__ import annotations

import tomllib
from pathlib import Path

import kernlab

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(kernlab.__file__).parent


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def test_every_command_module_is_in_the_independence_contract():
    independent = next(c for c in _contracts() if c["type"] == "independence")
    listed = set(independent["modules"])
    present = {f"kernlab.cli.{p.stem}" for p in (PACKAGE / "cli").glob("*_cmd.py")}
    assert present == listed, {"missing": present - listed, "gone": listed - present}


def test_every_package_is_in_a_layer():
    layers = next(c for c in _contracts() if c["type"] == "layers")
    placed = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    packages = {f"kernlab.{p.name}" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    packages |= {f"kernlab.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    assert packages - placed == set(), packages - placed
