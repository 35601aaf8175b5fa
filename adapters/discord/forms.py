"""Forms the adapter holds while a person fills them in.

A modal can only be opened as the first answer to a click, holds five inputs, and a
modal submit cannot open another modal. So the adapter keeps each form it opened for a
while: to open it again from an "Open the form" button (when the first answer had to be
something else), to ask a long form in parts (the answers so far wait here), and to
hand over notes that could not be shown while the modal was open. Only what is typed
waits here; nothing is saved until the whole form reaches the core. After a restart the
person opens the form again from its message.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.content import Content, Form

FORM_TTL_SECONDS = 30 * 60
FORMS_KEPT = 10_000


@dataclass
class PendingForm:
    form: Form
    opened_at: float
    values: dict[str, str] = field(default_factory=dict)
    notes: list[Content] = field(default_factory=list)


class PendingForms:
    def __init__(
        self,
        *,
        ttl: float = FORM_TTL_SECONDS,
        capacity: int = FORMS_KEPT,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._now = now
        self._forms: OrderedDict[tuple[str, str], PendingForm] = OrderedDict()

    def keep(self, user_id: str, form: Form) -> PendingForm:
        """A form opened for ``user_id`` (again: what was typed into it so far stays)."""
        key = (user_id, form.form_id)
        pending = self.get(user_id, form.form_id)
        if pending is None:
            pending = PendingForm(form, self._now())
        pending.form, pending.opened_at = form, self._now()
        self._forms[key] = pending
        self._forms.move_to_end(key)
        while len(self._forms) > self._capacity:
            self._forms.popitem(last=False)
        return pending

    def get(self, user_id: str, form_id: str) -> PendingForm | None:
        pending = self._forms.get((user_id, form_id))
        if pending is not None and self._now() - pending.opened_at > self._ttl:
            del self._forms[(user_id, form_id)]
            return None
        return pending

    def add_values(self, user_id: str, form_id: str, values: Mapping[str, str]) -> PendingForm:
        pending = self.get(user_id, form_id)
        if pending is None:
            raise KeyError(form_id)
        pending.values.update(values)
        return pending

    def pop(self, user_id: str, form_id: str) -> PendingForm | None:
        pending = self.get(user_id, form_id)
        self._forms.pop((user_id, form_id), None)
        return pending
