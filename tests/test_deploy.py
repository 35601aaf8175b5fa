"""The deployment recipes in deploy/, checked against the code, since no container engine
or init system runs here: every ``mentorbot`` command they run exists with the options
they give it, every setting they name is one mentorbot reads, the Dockerfile installs the
way the README does and copies every package, and the README says they are untested on a
real engine."""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
FILES = ("mentorbot.service", "crontab", "Dockerfile", "compose.yaml")
# Names that are mentorbot settings when they appear (anything else is the platform's:
# PYTHONUNBUFFERED, POSTGRES_PASSWORD, SHELL, ...).
OURS = re.compile(
    r"\b(?:(?:SLACK|DISCORD|DATABASE|DISPATCH|LOG|ADMIN|DATA|MENTORBOT)_[A-Z_]+|PORT)\b"
)
SETTINGS = {name.upper() for name in Settings.model_fields}


def text(name: str) -> str:
    return (DEPLOY / name).read_text(encoding="utf-8")


def code_lines(name: str) -> list[str]:
    """The file without its comments, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text(name))
    return [
        line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


SHELL_OPERATORS = ("&&", "||", ";", ">>", ">", "2>&1", "|")


def invocations(name: str) -> list[list[str]]:
    """Every ``mentorbot`` command line in a file: shell words after a ``mentorbot``
    program (a path ending in /mentorbot, or the bare name), and exec-form lists."""
    found: list[list[str]] = []
    for line in code_lines(name):
        for listed in re.findall(r'\[\s*"mentorbot"((?:\s*,\s*"[^"]*")*)\s*\]', line):
            found.append(re.findall(r'"([^"]*)"', listed))
        if '"mentorbot"' in line:
            continue
        words = shlex.split(line.split("=", 1)[1] if line.startswith("Exec") else line)
        for i, word in enumerate(words):
            starts_command = i == 0 or words[i - 1] in SHELL_OPERATORS
            if word.endswith("/bin/mentorbot") or (word == "mentorbot" and starts_command):
                rest = []
                for arg in words[i + 1 :]:
                    if arg in SHELL_OPERATORS:
                        break
                    rest.append(arg)
                found.append(rest)
    return found


def test_each_recipe_runs_mentorbot() -> None:
    assert [args for args in invocations("mentorbot.service")] == [["db", "upgrade"], ["run"]]
    assert invocations("crontab") == [["dispatch", "--max-seconds", "50"]]
    assert invocations("Dockerfile") == [["run"]]
    assert sorted(map(tuple, invocations("compose.yaml"))) == [
        ("db", "upgrade"),
        ("run",),
        ("run",),
    ]


@pytest.mark.parametrize("name", FILES)
def test_every_command_and_option_named_exists(name: str) -> None:
    for args in invocations(name):
        command = [a for a in args if re.fullmatch(r"[a-z][a-z-]*", a)]
        shown = CliRunner().invoke(app, [*command, "--help"])
        assert shown.exit_code == 0, (name, args, shown.output)
        assert "Usage: " in shown.output and " ".join(command) in shown.output
        for option in (a.split("=")[0] for a in args if a.startswith("--")):
            assert option in shown.output, (name, option)


@pytest.mark.parametrize("name", FILES)
def test_every_setting_named_is_one_mentorbot_reads(name: str) -> None:
    named = set(OURS.findall(text(name)))
    assert named <= SETTINGS, named - SETTINGS


def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    loaded: dict[str, Any] = yaml.safe_load(text("compose.yaml"))
    return loaded


def test_compose_has_postgres_and_two_bots_on_it() -> None:
    services = compose()["services"]
    bots = [s for s in services.values() if s.get("command") == ["mentorbot", "run"]]
    assert len(bots) == 2
    database = services["postgres"]["environment"]
    url = (
        f"postgresql://{database['POSTGRES_USER']}:{database['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{database['POSTGRES_DB']}"
    )
    for service in [*bots, services["migrate"]]:
        assert service["environment"]["DATABASE_URL"] == url
        assert set(service["environment"]) <= SETTINGS
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    # Each bot serves /healthz on its own host port.
    assert len({bot["ports"][0] for bot in bots}) == 2
    assert all(bot["ports"][0].endswith(":3000") for bot in bots)


def readme_install() -> str:
    """The install step of the README's first command (``… && pip install … && …``)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"```sh\n(.+?)\n```", readme, re.S)
    assert first is not None
    steps = [step.strip() for step in first.group(1).split("&&")]
    return next(step for step in steps if step.startswith("pip install"))


def test_the_dockerfile_installs_as_the_readme_says_and_copies_every_package() -> None:
    lines = code_lines("Dockerfile")
    installs = [line.removeprefix("RUN ").strip() for line in lines if "pip install" in line]
    assert installs == [readme_install()]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.split(".")[0] for p in project["tool"]["setuptools"]["packages"]}
    copied = {
        word.strip("./") for line in lines if line.startswith("COPY") for word in line.split()[1:]
    }
    assert packages | {project["project"]["readme"], "pyproject.toml"} <= copied
    assert lines[-1] == 'CMD ["mentorbot", "run"]'
    assert "/healthz" in text("Dockerfile")


def test_the_systemd_unit_stops_the_bot_the_way_it_stops_cleanly() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(text("mentorbot.service"))
    service = unit["Service"]
    assert service["ExecStart"].endswith("/bin/mentorbot run")
    assert service["KillSignal"] == "SIGTERM"
    # `mentorbot run` exits within 10 s of SIGTERM; systemd must not kill it sooner.
    assert int(service["TimeoutStopSec"]) > 10
    assert unit["Install"]["WantedBy"] == "multi-user.target"


CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


def test_the_crontab_line_is_a_valid_schedule() -> None:
    entries = [line for line in code_lines("crontab") if not re.match(r"^[A-Z_]+=", line)]
    assert len(entries) == 1
    fields = entries[0].split(None, 5)
    assert all(CRON_FIELD.match(field) for field in fields[:5]), fields[:5]
    assert "mentorbot dispatch" in fields[5]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert entries[0] in readme  # the README shows the same line


def test_the_readme_shows_the_recipes_and_says_they_are_untested() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for name in FILES:
        assert f"deploy/{name}" in readme
    assert "untested on a real container engine" in readme
