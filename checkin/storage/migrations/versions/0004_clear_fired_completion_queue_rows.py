"""clear fired COMPLETION rows: queued completion re-evaluations are now deleted once evaluated

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 18:15:00

Earlier versions kept every evaluated COMPLETION row (its key renamed), one per changed mark,
so the deadlines table grew with every check-in; and one that failed five times kept its
pending key, so that person's later marks never queued another evaluation. Now they are
queue entries, deleted once evaluated, and this clears those left behind. Downgrading cannot
bring them back, and needs not: nothing reads them.
"""

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM deadlines WHERE rule_id = 'COMPLETION' AND fired_at IS NOT NULL")


def downgrade() -> None:
    pass
