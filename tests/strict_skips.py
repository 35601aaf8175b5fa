"""A pytest plugin for CI (``.ci/run`` loads it with ``-p tests.strict_skips``): a test
skipped because something it needs is missing (a module ``pytest.importorskip`` could not
import, no PostgreSQL to run on) fails instead, so no test silently never runs there.
Other skips (a test that only applies to SQLite, say) stay skips."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import pytest

# importorskip's reason is "could not import 'yaml': No module named 'yaml'"; the database
# fixtures say "needs PostgreSQL: set MENTORBOT_TEST_POSTGRES_URL".
MISSING = re.compile(r"could not import|No module named|needs PostgreSQL")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if MISSING.search(reason):
            report.outcome = "failed"
            report.longrepr = f"skipped for want of a dependency, and CI runs every test: {reason}"
