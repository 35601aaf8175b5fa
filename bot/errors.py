"""Errors a person can act on. Raising one rolls back the whole event's transaction, so
bad input never leaves a half-written record, and the message is the reply."""


class UserError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
