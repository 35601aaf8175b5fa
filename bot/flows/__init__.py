"""Conversation flows, kept in the database so a restart or another instance continues them.

Each flow module holds its ``StrEnum`` states, its step function and a diagram. A step is
``step(turn, session, choice) -> effects``: it moves ``session.state`` (or ends the
session) and the change commits with the rest of the event's transaction. Buttons carry
the session id in their action id, ``flow:<session id>:<choice>``, so a click after a
restart still lands.
"""
