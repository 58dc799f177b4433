"""an index on mark_history (device, server_time) for the shared-phone check at every QR check-in

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00

Without it every QR check-in scanned the whole mark history for the phone's recent check-ins,
so a check-in grew slower with every one before it.
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mark_history', schema=None) as batch_op:
        batch_op.create_index('ix_mark_history_device_time', ['device', 'server_time'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mark_history', schema=None) as batch_op:
        batch_op.drop_index('ix_mark_history_device_time')
