"""Matching: the opt-in pool, rounds and their proposals (DESIGN.md section 8)."""
