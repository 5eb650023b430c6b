"""instances: one heartbeat row per running gateway (takeover of the replies a dead one held)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("heartbeat_at", sa.String(length=27), nullable=False),
        sa.Column("started_at", sa.String(length=27), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instances")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_claimed_by_state"), ["claimed_by", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_claimed_by_state"))
    op.drop_table("instances")
