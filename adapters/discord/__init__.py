"""Discord: discord.py app commands, DMs, buttons, modals and channel shout-outs.

For the composition root::

    from adapters.discord.app import DiscordAdapter
    from adapters.discord.invite import fetch_application_id, invite_url

    worker = DeliveryWorker(database, {Platform.DISCORD: discord_adapter.sender}, clock,
                            limits=RateLimits({Platform.DISCORD: RateLimit(
                                settings.discord_messages_per_second)}))
    scheduler = BotScheduler(engine, worker, interval_seconds=...)
    discord_adapter = DiscordAdapter(settings, engine, database, on_setup=scheduler.start)
    await discord_adapter.start()     # runs until stop(); gather it with other platforms
    await discord_adapter.stop()

- ``DiscordAdapter(settings, engine, database, *, on_setup=None, sharded=False,
  shard_count=None, ...)``: needs ``DISCORD_BOT_TOKEN``; reads ``DISCORD_GUILD_ID``
  (sync the slash commands to that server at once, instead of globally),
  ``DISCORD_API_URL`` and ``DISCORD_GATEWAY_URL``. ``on_setup`` (plain or async, no
  arguments) is called once from discord.py's ``setup_hook``, inside the running loop,
  before the gateway connects: the place to start the scheduler (never ``on_ready``,
  which runs again on every reconnect). ``database`` is read to tell which server a DM
  reply belongs to. ``sharded=True`` uses ``AutoShardedClient`` (it asks
  ``/gateway/bot`` for the shard count and gateway URL).
- ``.sender``: the :class:`bot.delivery.Sender` for ``Platform.DISCORD`` (outbox DMs and
  shout-outs; the outbox id is the message nonce, with ``enforce_nonce``).
- ``.start()`` / ``.stop()``; ``.client`` is the discord.py client.
- ``mentorbot discord-invite``: ``invite_url(await fetch_application_id(settings))``.

Modules: ``translate`` (payload -> event) and ``render`` (content -> payloads) are pure;
``command_tree`` declares the slash commands; ``app`` (the adapter), ``responder`` (the
answers to one interaction), ``sender`` (REST delivery), ``forms``, ``dm_routes`` and
``client`` do the I/O.
"""
