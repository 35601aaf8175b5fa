"""The console adapter: the whole bot in a terminal, several local users, a movable clock."""
