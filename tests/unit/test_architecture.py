"""The product does not depend on the development tools (issue 23): the Jenkins emulator, the
Slack fake and the ledger's sample generator live in devtools/, which the wheel and the Docker
image leave out. So no product module may import devtools or tests, not even inside a function,
and no test fake may live in the product. Read from the source (ast), nothing imported."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What ships: pyproject's packages plus the Rasa parts the image loads from /app.
PRODUCT = ["deploybot", "actions", "channels", "components"]
NOT_PRODUCT = {"devtools", "tests"}
FAKE_NAME = re.compile(r"emulator|fake|sample|stub")


def product_files():
    return sorted(path for root in PRODUCT for path in (ROOT / root).rglob("*.py"))


def imported_modules(path: Path):
    """Every module an import statement names, anywhere in the file (function-level too)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_the_product_imports_no_development_tools_and_no_tests():
    assert product_files(), "no product files found: the test would check nothing"
    offending = [f"{path.relative_to(ROOT)}: {module}"
                 for path in product_files() for module in imported_modules(path)
                 if module.split(".")[0] in NOT_PRODUCT]
    assert offending == []


def test_no_test_fakes_in_the_product():
    fakes = [str(path.relative_to(ROOT)) for path in product_files() if FAKE_NAME.search(path.name)]
    fake_classes = [f"{path.relative_to(ROOT)}: {node.name}"
                    for path in product_files() for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.ClassDef) and re.match(r"Fake|Stub|Mock|.*Emulator$", node.name)]
    assert (fakes, fake_classes) == ([], [])
    assert (ROOT / "devtools" / "jenkins_emulator.py").is_file()  # they moved, not vanished


def test_the_image_leaves_out_devtools():
    ignored = {line.strip().strip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert "devtools" in ignored


def test_without_devtools_the_stack_asks_for_a_real_jenkins(tmp_path):
    """As in the Docker image: the product alone, no devtools/ on the path."""
    (tmp_path / "deploybot").symlink_to(ROOT / "deploybot")
    check = ("from deploybot.cli.stack import emulator_problem; "
             "print(emulator_problem({})); print(emulator_problem({'JENKINS_URL': 'https://jenkins.example'}))")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    without, with_url = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env, text=True,
                                       capture_output=True, check=True).stdout.splitlines()
    assert "JENKINS_URL is not set" in without and "Docker image" in without
    assert with_url == "None"
    env["PYTHONPATH"] = str(ROOT)  # a checkout: the emulator is there
    assert subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=env, text=True, capture_output=True,
                          check=True).stdout.splitlines() == ["None", "None"]
