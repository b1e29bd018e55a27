"""deploybot's own database: grants and the audit log (deployments and locks follow).

SQLite under var/ by default; DEPLOYBOT_DATABASE_URL chooses another (PostgreSQL for real
installs). The schema is managed by Alembic migrations, applied on start.
"""
