"""Structural guarantees: imports point downstream, and the CLI starts without torch."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "codesign"

# Data flows workload -> arch -> mapping -> cost -> search -> results -> cli (DESIGN.md).
# A module may import its own stage and stages to its left, never to its right. The
# hierarchy (levels, loop nests and their counts) needs only workloads; the Timeloop readers
# build hierarchies.
STAGES = ["errors", "workload", "arch", "hierarchy", "timeloop", "mapping", "cost", "search",
          "results", "api", "campaign", "cli"]


def _stage(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "codesign" or len(parts) < 2:
        return None
    name = parts[1]
    return STAGES.index(name) if name in STAGES else None


def test_imports_only_point_downstream():
    offences = []
    for path in PACKAGE.rglob("*.py"):
        module = "codesign." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        own = _stage(module)
        if own is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                other = _stage(target)
                if other is not None and other > own:
                    offences.append(f"{module} imports {target}")
    assert not offences, "\n".join(offences)


def test_help_does_not_import_torch():
    code = ("import sys; from click.testing import CliRunner; from codesign.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
