"""CI's rule that no test may silently never run: ``-p tests.strict_skips`` turns a skip
for a missing dependency into a failure, and leaves other skips alone."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SAMPLE = """
import pytest

def test_needs_a_module_nobody_has() -> None:
    pytest.importorskip("surely_not_installed_anywhere")

def test_only_on_sqlite() -> None:
    pytest.skip("SQLite only")

def test_runs() -> None:
    assert True
"""


def run_pytest(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *options,
         str(folder / "test_sample.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )  # fmt: skip


def test_a_skip_for_a_missing_module_fails_under_the_plugin(tmp_path: Path) -> None:
    plain = run_pytest(tmp_path)
    assert plain.returncode == 0, plain.stdout
    assert "1 passed, 2 skipped" in plain.stdout

    strict = run_pytest(tmp_path, "-p", "tests.strict_skips")
    assert strict.returncode == 1, strict.stdout
    assert "1 failed, 1 passed, 1 skipped" in strict.stdout
    assert "skipped for want of a dependency" in strict.stdout
    assert "surely_not_installed_anywhere" in strict.stdout


def test_ci_runs_the_tests_with_the_plugin() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m pytest -q -p tests.strict_skips" in script


def test_the_dev_extra_has_what_the_tests_import() -> None:
    # tests/slack/test_manifest.py reads the manifest with PyYAML.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dev = project["project"]["optional-dependencies"]["dev"]
    assert any(requirement.lower().startswith("pyyaml>=") for requirement in dev), dev
