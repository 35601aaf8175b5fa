"""``mentorbot slack-manifest``: the app manifest, pasted once to create the app."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from adapters.slack.manifest import manifest, slack_manifest


def test_socket_mode_needs_no_request_urls() -> None:
    data = manifest(socket_mode=True)
    assert data["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in data["settings"]["event_subscriptions"]
    assert [c["command"] for c in data["features"]["slash_commands"]] == ["/win", "/mentor"]
    assert all(c["should_escape"] for c in data["features"]["slash_commands"])


def test_http_mode_points_everything_at_slack_events() -> None:
    data = manifest(socket_mode=False, base_url="https://bot.example.com/")
    url = "https://bot.example.com/slack/events"
    assert data["settings"]["event_subscriptions"]["request_url"] == url
    assert data["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    assert {c["url"] for c in data["features"]["slash_commands"]} == {url}


def test_the_scopes_are_the_minimal_ones() -> None:
    data = manifest(socket_mode=True)
    assert data["oauth_config"]["scopes"]["bot"] == [
        "commands",
        "chat:write",
        "users:read",
        "im:history",
        "im:write",
        "files:write",
    ]
    assert "message.im" in data["settings"]["event_subscriptions"]["bot_events"]
    assert data["features"]["app_home"]["home_tab_enabled"] is True


def test_http_mode_without_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="public URL"):
        manifest(socket_mode=False)
    with pytest.raises(ValueError, match="not a URL"):
        manifest(socket_mode=False, base_url="bot.example.com")


def test_the_yaml_reads_back_as_the_manifest() -> None:
    yaml = pytest.importorskip("yaml")
    for socket_mode, url in ((True, None), (False, "https://bot.example.com")):
        text = slack_manifest(socket_mode=socket_mode, base_url=url)
        assert yaml.safe_load(text) == manifest(socket_mode=socket_mode, base_url=url)
    assert '  scopes:\n    bot:\n      - commands\n      - "chat:write"' in slack_manifest(
        socket_mode=True
    )


@pytest.mark.parametrize("url", ["bot.example.com", "", "ftp://bot.example.com"])
def test_the_command_refuses_a_url_that_is_not_one_in_words(url: str) -> None:
    """`mentorbot slack-manifest --http bot.example.com` is a usage error (exit 2) that
    says what a URL looks like: no traceback, and nothing printed to paste."""
    result = CliRunner().invoke(app, ["slack-manifest", "--http", url], terminal_width=200)
    assert result.exit_code == 2, result.output
    assert "like https://bot.example.com" in result.output
    assert "Traceback" not in result.output and "display_information" not in result.output


@pytest.mark.parametrize("url", ["http://bot.example.com", "HTTP://bot.example.com/slack/events"])
def test_a_plain_http_url_is_refused_because_slack_calls_only_https(url: str) -> None:
    """Slack sends commands, events and clicks only to https URLs with a valid certificate:
    a manifest with http:// would be refused where it is pasted, or never called."""
    result = CliRunner().invoke(app, ["slack-manifest", "--http", url], terminal_width=200)
    assert result.exit_code == 2, result.output
    assert "error: Slack calls only https:// URLs" in result.output
    assert "display_information" not in result.output
