"""Persistence: schema, migrations, the unit of work and its repositories on SQLAlchemy Core."""
