"""`codesign.atomic`: an interrupted write leaves the old file and no temporary file; every
file the package writes goes through it (docs/GUARANTEES.md, "Runs")."""

from __future__ import annotations

import ast
import os
import textwrap
from pathlib import Path

import pytest

import codesign
from codesign.atomic import TEMP_SUFFIX, atomic_write_bytes, atomic_write_text

PACKAGE = Path(codesign.__file__).resolve().parent


def test_write_replaces_the_whole_file(tmp_path):
    path = tmp_path / "a.json"
    atomic_write_text(path, "old\n")
    atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_an_interrupted_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "pareto.csv"
    atomic_write_text(path, "a,b\n1,2\n")

    def interrupted(src, dst):
        raise KeyboardInterrupt  # Ctrl-C (or SIGTERM) between the write and the rename

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"a,b\n3,")
    assert path.read_text() == "a,b\n1,2\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_files_get_the_umask_permissions_not_0600(tmp_path):
    """mkstemp creates 0600 files; a result folder is meant to be shared."""
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "x", "1")
    finally:
        os.umask(old)
    assert (tmp_path / "x").stat().st_mode & 0o777 == 0o640  # 0666 & ~0027


def direct_writes(source: str) -> list[str]:
    """Calls that write a file without going through `codesign.atomic`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("write_text", "write_bytes", "save", "savez", "savez_compressed",
                    "to_csv", "dump"):
            found.append(f"line {node.lineno}: {name}")
        elif name in ("open", "fdopen"):
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [k.value.value for k in node.keywords
                      if k.arg == "mode" and isinstance(k.value, ast.Constant)]
            if any(isinstance(m, str) and set(m) & set("wax+") for m in modes):
                found.append(f"line {node.lineno}: {name}(..., {modes[0]!r})")
        elif name == "savefig" and node.args and not (
                isinstance(node.args[0], ast.Name) and node.args[0].id == "buffer"):
            found.append(f"line {node.lineno}: savefig to a path")
    return found


def test_the_scan_finds_direct_writes():
    bad = textwrap.dedent("""
        Path(p).write_text(s)
        open(p, "w")
        open(p, mode="ab")
        np.savez(p, x=x)
        fig.savefig("a.png")
    """)
    assert len(direct_writes(bad)) == 5
    assert direct_writes("open(p)\nopen(p, 'rb')\nfig.savefig(buffer, format='png')\n") == []


def test_every_file_the_package_writes_is_written_atomically():
    offences = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "atomic.py":
            continue
        found = [f for f in direct_writes(path.read_text(encoding="utf-8"))
                 # np.savez into an in-memory buffer, then atomic_write_bytes
                 if not (rel == "search/checkpoint.py" and f.endswith(": savez"))]
        if found:
            offences[rel] = found
    assert not offences, offences


def test_a_failed_write_is_a_run_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    from codesign.errors import RunError

    with pytest.raises(RunError, match=r"cannot write \(No such file or directory\)"):
        atomic_write_text(tmp_path / "missing" / "a.csv", "x")
    path = tmp_path / "a.csv"
    atomic_write_text(path, "old")

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(RunError, match=r"a.csv: cannot write \(No space left on device\)"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]
