"""Storage: SQLAlchemy 2.x async ORM on SQLite (aiosqlite) or PostgreSQL (asyncpg)."""
