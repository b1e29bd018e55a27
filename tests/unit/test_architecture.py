"""The architecture of the product, read from the source (ast), nothing imported (issue 23).

- The product does not depend on the development tools: the Jenkins emulator, the Slack fake
  and the ledger's sample generator live in devtools/, which the wheel and the Docker image
  leave out. No product module imports devtools or tests, not even inside a function, and no
  test fake lives in the product.
- The layout's dependency rule (docs/architecture.md): no import cycles; the domain, policy and
  the pipeline import no adapters, Rasa glue, ledger, delivery or entry points, nor Rasa, Slack,
  Jenkins or web frameworks; the domain imports neither policy nor the pipeline, policy not the
  pipeline. Known exceptions are listed below and the lists only shrink."""
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


# --- The layout's dependency rule (issue 23, item 2; docs/architecture.md) -----------------------
# Every import counts: module level, inside functions, `from deploybot.domain import messages`
# (which names the module deploybot.domain.messages) and relative imports.

INNER = ("deploybot.domain", "deploybot.policy", "deploybot.pipeline")
# What the domain, policy and the pipeline never import: the adapters, the Rasa glue, the ledger,
# delivery, the entry points, Rasa's own top-level packages, and the frameworks the adapters wrap.
FORBIDDEN_FOR_INNER = ("deploybot.adapters", "deploybot.rasa_glue", "deploybot.ledger", "deploybot.delivery",
                       "deploybot.cli", "actions", "channels", "rasa", "rasa_sdk", "slack_sdk",
                       "jenkins",  # python-jenkins
                       "sanic", "aiohttp")
# Inside the inner ring, the order is domain < policy < pipeline: nothing imports what is above it.
FORBIDDEN_WITHIN = {"deploybot.domain": ("deploybot.policy", "deploybot.pipeline"),
                    "deploybot.policy": ("deploybot.pipeline",)}

# Known import cycles, as the import edges that close them; it may only shrink
# (test_the_allowed_cycle_edges_still_exist). Empty since the actions became adapters over
# deploybot/pipeline (issue 23, item 1), which removed the cycle actions.approvals, .batches,
# .deploy, .held, .safeguards and the five local imports that worked around it.
ALLOWED_CYCLE_EDGES: set[tuple[str, str]] = set()  # emptied by the pipeline rewrite of the actions (issue 23)
# Forbidden imports that are allowed for now, each with why; it only shrinks the same way. Empty.
ALLOWED_FORBIDDEN: set[tuple[str, str]] = set()


def module_of(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path = ROOT):
    """Every module name an import in the file reaches, relative imports resolved, at any depth."""
    me = module_of(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def within(module: str, prefixes) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def import_graph(root: Path = ROOT):
    """product module -> the product modules it imports (the longest known prefix of each name)."""
    files = {module_of(path, root): path for base in PRODUCT for path in (root / base).rglob("*.py")
             if "migrations" not in path.parts}
    graph = {}
    for module, path in files.items():
        graph[module] = set()
        for name in imports_of(path, root):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph[module].add(name)
    return graph


def cycles(graph, allowed_edges=frozenset()):
    """The import cycles (strongly connected components of more than one module), sorted."""
    graph = {module: {t for t in targets if (module, t) not in allowed_edges} for module, targets in graph.items()}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def rule_violations(root: Path = ROOT):
    """'importer: imported' for every import the dependency rule forbids."""
    found = []
    for base in INNER:
        for path in sorted((root / Path(*base.split("."))).rglob("*.py")):
            me = module_of(path, root)
            forbidden = FORBIDDEN_FOR_INNER + next((v for k, v in FORBIDDEN_WITHIN.items() if within(me, [k])), ())
            names = {name for name in imports_of(path, root) if within(name, forbidden)}
            # `from x.y import Name` names x.y and x.y.Name: report the module once
            found += [(me, name) for name in names if not any(name.startswith(other + ".") for other in names)]
    return sorted(found)


def test_the_layout_has_its_layers():
    for package in ("domain", "policy", "delivery", "adapters", "rasa_glue", "cli", "ledger", "storage"):
        assert (ROOT / "deploybot" / package / "__init__.py").is_file(), package
    flat = sorted(path.name for path in (ROOT / "deploybot").glob("*.py") if path.name != "__init__.py")
    assert flat == [], "every module of deploybot/ belongs to a package that says what it is"


def test_no_import_cycles_among_product_modules():
    assert cycles(import_graph(), ALLOWED_CYCLE_EDGES) == []


def test_the_allowed_cycle_edges_still_exist():
    """The allow-list only shrinks: an edge that is gone must leave it."""
    graph = import_graph()
    assert sorted(edge for edge in ALLOWED_CYCLE_EDGES if edge[1] not in graph.get(edge[0], ())) == []


def test_domain_policy_and_pipeline_import_no_adapters_rasa_ledger_or_delivery():
    assert [v for v in rule_violations() if v not in ALLOWED_FORBIDDEN] == []
    assert sorted(ALLOWED_FORBIDDEN - set(rule_violations())) == []  # only shrinks


def plant(tmp_path, files):
    """A copy of the product with a few files added: a planted violation must be found."""
    for path in (path for base in PRODUCT for path in (ROOT / base).rglob("*.py")):
        copy = tmp_path / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(path.read_text())
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_checks_find_planted_violations(tmp_path):
    root = plant(tmp_path, {
        # a cycle through a local import inside a function
        "deploybot/domain/planted_a.py": "from deploybot.domain import planted_b\n",
        "deploybot/domain/planted_b.py": "def f():\n    from deploybot.domain.planted_a import x\n",
        # the domain reaching an adapter, the ledger, Rasa, and policy (above it), relatively too
        "deploybot/domain/planted_c.py": ("from deploybot.adapters.slack import web_api\nimport rasa_sdk\n"
                                          "def g():\n    from ..ledger import queries\n    from ..policy import approvals\n"),
        # policy reaching the pipeline and delivery; the pipeline reaching the actions and Jenkins
        "deploybot/policy/planted_d.py": "from deploybot.pipeline import stages\nfrom deploybot import delivery\n",
        "deploybot/pipeline/planted_e.py": "import actions.deploy\nimport jenkins\n",
    })
    assert ["deploybot.domain.planted_a", "deploybot.domain.planted_b"] in cycles(import_graph(root), ALLOWED_CYCLE_EDGES)
    found = set(rule_violations(root))
    assert {("deploybot.domain.planted_c", "deploybot.adapters.slack"),
            ("deploybot.domain.planted_c", "rasa_sdk"),
            ("deploybot.domain.planted_c", "deploybot.ledger"),
            ("deploybot.domain.planted_c", "deploybot.policy"),
            ("deploybot.policy.planted_d", "deploybot.pipeline"),
            ("deploybot.policy.planted_d", "deploybot.delivery"),
            ("deploybot.pipeline.planted_e", "actions.deploy"),
            ("deploybot.pipeline.planted_e", "jenkins")} <= found
