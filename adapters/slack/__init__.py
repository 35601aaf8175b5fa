"""The Slack adapter (slack-bolt): HTTP on ``PORT`` at ``/slack/events``, or Socket Mode
when ``SLACK_APP_TOKEN`` is set.

For the composition root::

    from adapters.slack.app import SlackAdapter, SlackStartError

    adapter = SlackAdapter(settings, engine)   # SlackStartError: token/secret missing
    senders[Platform.SLACK] = adapter.sender   # the outbox's Slack end (bot.delivery.Sender)
    await adapter.start()   # auth.test first; SlackStartError with a clear message if refused
    ...
    await adapter.stop()    # stops taking requests, lets the work in flight finish

or ``await run_slack(settings, engine, on_started=...)`` to run until cancelled.
``adapters.slack.manifest.slack_manifest(socket_mode=..., base_url=...)`` returns the
app manifest as YAML (``mentorbot slack-manifest``).

Modules: ``translate`` (Slack payloads -> core events, pure), ``render`` (content ->
Block Kit and modals, pure), ``sender`` (``chat.postMessage`` and Slack's errors ->
delivery failures; file uploads into a DM with ``files_upload_v2``), ``profiles``
(``users.info``, cached), ``app`` (the Bolt app: I/O), ``manifest``.
"""
