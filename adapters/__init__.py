"""Adapters: console/, slack/, discord/ translate platform payloads <-> core types."""
