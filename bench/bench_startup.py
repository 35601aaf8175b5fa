"""Benchmark: how long the command line takes to start, as whole processes.

Run by hand (``python -m bench.bench_startup --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

Each round runs, in turn and in a new process each:

1. **baseline**: ``python -c "import typer"``, the floor under any typer command line;
2. **--help**: ``mentorbot --help`` (``python -c "from adapters.cli import main; main()"
   --help``, so the pyenv shim or a venv launcher is not part of it), to its exit;
3. **console ready**: ``mentorbot console --db FILE`` on a migrated SQLite file, from
   the start of the process until its first line (the banner, printed once the database
   is open and the console reads its first line) arrives on the pipe; then ``:quit``;
4. **dispatch**: ``mentorbot dispatch`` with no token on that file, to its exit.

Per command: the median wall time, CPU time (user + system, from ``wait4``) and peak RSS
over ``--rounds`` rounds, and the wall-time ratio to the baseline of the same rounds.
``--code DIR`` runs another checkout of the code (PYTHONPATH=DIR), e.g. the commit before
the lazy imports, so both can be compared in one sitting.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

CLI = "from adapters.cli import main; main()"
BANNER = b"mentorbot console"


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds, until exit (or until the console's first line)
    cpu: float  # seconds of user + system time of the whole process
    rss_mb: float  # peak resident set size


def _env(code: Path, database: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DISCORD_", "DATABASE_", "MENTORBOT_"))
    }
    env.update(PYTHONPATH=str(code), DATABASE_URL=f"sqlite:///{database}", NO_COLOR="1")
    return env


def _reap(process: subprocess.Popen[bytes], started: float, ready: float | None) -> Sample:
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped here; stop Popen from waiting again
    wall = (ready if ready is not None else time.perf_counter()) - started
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def run_to_exit(args: list[str], env: dict[str, str], cwd: Path) -> Sample:
    started = time.perf_counter()
    process = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return _reap(process, started, None)


def console_ready(env: dict[str, str], cwd: Path, database: Path) -> Sample:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, "console", "--db", str(database)],
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline()
    ready = time.perf_counter()
    if BANNER not in line:
        raise SystemExit(f"the console did not start: {line!r}")
    process.stdin.write(b":quit\n")
    process.stdin.close()
    process.stdout.read()
    return _reap(process, started, ready)


COMMANDS = ("baseline", "--help", "console ready", "dispatch")


def measure(code: Path, rounds: int, work: Path) -> dict[str, list[Sample]]:
    database = work / "bench.db"
    env = _env(code, database)
    # Migrate once, so every timed console/dispatch opens an up-to-date file.
    subprocess.run(
        [sys.executable, "-c", CLI, "db", "upgrade"], env=env, cwd=work, check=True,
        capture_output=True,
    )  # fmt: skip
    samples: dict[str, list[Sample]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        samples["baseline"].append(run_to_exit([sys.executable, "-c", "import typer"], env, work))
        samples["--help"].append(run_to_exit([sys.executable, "-c", CLI, "--help"], env, work))
        samples["console ready"].append(console_ready(env, work, database))
        samples["dispatch"].append(run_to_exit([sys.executable, "-c", CLI, "dispatch"], env, work))
    return samples


def summary(samples: dict[str, list[Sample]]) -> dict[str, dict[str, float]]:
    base = statistics.median(s.wall for s in samples["baseline"])
    return {
        name: {
            "wall_s": statistics.median(s.wall for s in runs),
            "cpu_s": statistics.median(s.cpu for s in runs),
            "rss_mb": statistics.median(s.rss_mb for s in runs),
            "x_baseline": statistics.median(s.wall for s in runs) / base,
        }
        for name, runs in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--code",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the checkout to run (default: this one)",
    )
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        samples = measure(options.code.resolve(), options.rounds, Path(folder))
    table = summary(samples)
    print(f"code: {options.code}; {options.rounds} rounds; medians")
    print(f"{'command':<15}{'wall s':>8}{'CPU s':>8}{'RSS MB':>8}{'x typer':>9}")
    for name, row in table.items():
        print(
            f"{name:<15}{row['wall_s']:>8.3f}{row['cpu_s']:>8.3f}{row['rss_mb']:>8.1f}"
            f"{row['x_baseline']:>9.2f}"
        )
    if options.json is not None:
        raw = {name: [asdict(s) for s in runs] for name, runs in samples.items()}
        options.json.write_text(json.dumps({"summary": table, "samples": raw}, indent=2))


if __name__ == "__main__":
    main()
