"""What every benchmark's main() does around its measurement: a working folder (the
one given, or a temporary one removed afterwards), the run, and the optional JSON; and
the ``--postgres-url`` option the benchmarks that run on either database share."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any


def run_in_workdir(
    db_dir: Path | None,
    prefix: str,
    measure: Callable[[Path], Coroutine[Any, Any, dict[str, Any]]],
    json_path: Path | None,
) -> dict[str, Any]:
    if db_dir is not None:
        db_dir.mkdir(parents=True, exist_ok=True)
        results = asyncio.run(measure(db_dir))
    else:
        with tempfile.TemporaryDirectory(prefix=prefix) as work:
            results = asyncio.run(measure(Path(work)))
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def add_postgres_url(parser: argparse.ArgumentParser) -> None:
    """``--postgres-url``: run on PostgreSQL (default ``$MENTORBOT_BENCH_POSTGRES_URL``),
    else on a SQLite file."""
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MENTORBOT_BENCH_POSTGRES_URL"),
        help="an admin URL of a PostgreSQL server (a database is created and dropped); "
        "default: $MENTORBOT_BENCH_POSTGRES_URL, else a SQLite file in a temporary folder",
    )
