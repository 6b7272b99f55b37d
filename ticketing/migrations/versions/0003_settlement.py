"""settlement

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('card_gateway_refs',
    sa.Column('card_token', sa.String(length=80), nullable=False),
    sa.Column('gateway', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('card_token', 'gateway', name=op.f('pk_card_gateway_refs'))
    )
    op.create_table('charge_shares',
    sa.Column('charge_id', sa.Integer(), nullable=False),
    sa.Column('operator_id', sa.String(length=64), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('standalone_minor', sa.Integer(), nullable=False),
    sa.Column('legs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('charge_id', 'operator_id', name=op.f('pk_charge_shares'))
    )
    op.create_table('charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_token', sa.String(length=80), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('posted_day', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('processor_id', sa.String(length=200), nullable=True),
    sa.Column('decline_code', sa.String(length=64), nullable=True),
    sa.Column('fee_minor', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('charged_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charges')),
    sa.UniqueConstraint('card_token', 'service_day', 'kind', 'sequence', name=op.f('uq_charges_card_token_service_day_kind_sequence')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_charges_idempotency_key'))
    )
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.create_index('ix_charges_posted_day_status', ['posted_day', 'status'], unique=False)
        batch_op.create_index('ix_charges_service_day', ['service_day'], unique=False)

    op.create_table('debts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=False),
    sa.Column('card_token', sa.String(length=80), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recovered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debts')),
    sa.UniqueConstraint('charge_id', name=op.f('uq_debts_charge_id'))
    )
    with op.batch_alter_table('debts', schema=None) as batch_op:
        batch_op.create_index('ix_debts_status_card_token', ['status', 'card_token'], unique=False)

    op.create_table('finance_requests',
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('operation', sa.String(length=200), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_finance_requests'))
    )
    op.create_table('late_taps_settled',
    sa.Column('tap_pk', sa.Integer(), nullable=False),
    sa.Column('posted_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('tap_pk', name=op.f('pk_late_taps_settled'))
    )
    op.create_table('ledger_postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=128), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_postings'))
    )
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_postings_transaction_id', ['transaction_id'], unique=False)

    op.create_table('ledger_transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=True),
    sa.Column('memo', sa.String(length=500), nullable=False),
    sa.Column('corrects', sa.String(length=200), nullable=True),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transactions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_transactions_idempotency_key'))
    )
    op.create_table('operator_statements',
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('operator_id', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('revenue_minor', sa.Integer(), nullable=False),
    sa.Column('adjustments_minor', sa.Integer(), nullable=False),
    sa.Column('refunds_minor', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('boardings', sa.Integer(), nullable=False),
    sa.Column('legs', sa.Integer(), nullable=False),
    sa.Column('standalone_minor', sa.Integer(), nullable=False),
    sa.Column('fees_minor', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('allocation_rule', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('service_day', 'operator_id', name=op.f('pk_operator_statements'))
    )
    op.create_table('priced_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_token', sa.String(length=80), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('superseded', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.String(length=1000), nullable=False),
    sa.Column('leg_index', sa.Integer(), nullable=True),
    sa.Column('cap_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_priced_adjustments'))
    )
    with op.batch_alter_table('priced_adjustments', schema=None) as batch_op:
        batch_op.create_index('ix_priced_adjustments_card_token_service_day', ['card_token', 'service_day'], unique=False)

    op.create_table('priced_legs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_token', sa.String(length=80), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('superseded', sa.Boolean(), nullable=False),
    sa.Column('leg_index', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('operator_id', sa.String(length=64), nullable=False),
    sa.Column('network_id', sa.String(length=64), nullable=True),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('standalone_minor', sa.Integer(), nullable=False),
    sa.Column('fare_product_id', sa.String(length=64), nullable=False),
    sa.Column('explanation', sa.String(length=1000), nullable=False),
    sa.Column('route_id', sa.String(length=64), nullable=True),
    sa.Column('from_stop_id', sa.String(length=64), nullable=True),
    sa.Column('to_stop_id', sa.String(length=64), nullable=True),
    sa.Column('plan_id', sa.String(length=64), nullable=True),
    sa.Column('tariff_id', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('start_tap_id', sa.Integer(), nullable=True),
    sa.Column('end_tap_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_priced_legs'))
    )
    with op.batch_alter_table('priced_legs', schema=None) as batch_op:
        batch_op.create_index('ix_priced_legs_card_token_service_day', ['card_token', 'service_day'], unique=False)
        batch_op.create_index('ix_priced_legs_service_day', ['service_day'], unique=False)

    op.create_table('processor_records',
    sa.Column('processor_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('fee_minor', sa.Integer(), nullable=False),
    sa.Column('net_minor', sa.Integer(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('payout_id', sa.String(length=200), nullable=True),
    sa.Column('payout_date', sa.Date(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('source_id', sa.String(length=200), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('processor_id', name=op.f('pk_processor_records'))
    )
    with op.batch_alter_table('processor_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processor_records_created_on'), ['created_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_processor_records_idempotency_key'), ['idempotency_key'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('refund_key', sa.String(length=200), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('processor_refund_id', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('refund_key', name=op.f('uq_refunds_refund_key'))
    )
    op.create_table('settlement_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tariff_version_id', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('allocation_rule', sa.String(length=64), nullable=False),
    sa.Column('max_tap_id', sa.Integer(), nullable=False),
    sa.Column('taps', sa.Integer(), nullable=False),
    sa.Column('cards', sa.Integer(), nullable=False),
    sa.Column('legs', sa.Integer(), nullable=False),
    sa.Column('charged_minor', sa.Integer(), nullable=False),
    sa.Column('declined_minor', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=320), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_settlement_days'))
    )
    op.create_table('simulated_acquirer_attempts',
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_simulated_acquirer_attempts'))
    )
    op.create_table('simulated_acquirer_charges',
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('processor_id', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fee_minor', sa.Integer(), nullable=False),
    sa.Column('charged_on', sa.Date(), nullable=False),
    sa.Column('decline_code', sa.String(length=64), nullable=True),
    sa.Column('service_day', sa.String(length=10), nullable=True),
    sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_simulated_acquirer_charges'))
    )
    with op.batch_alter_table('simulated_acquirer_charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_simulated_acquirer_charges_charged_on'), ['charged_on'], unique=False)

    op.create_table('simulated_acquirer_refunds',
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('refund_id', sa.String(length=64), nullable=False),
    sa.Column('charge_id', sa.String(length=64), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('refunded_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_simulated_acquirer_refunds'))
    )
    with op.batch_alter_table('simulated_acquirer_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_simulated_acquirer_refunds_refunded_on'), ['refunded_on'], unique=False)

    op.create_table('webhook_events',
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_webhook_events'))
    )
    with op.batch_alter_table('taps', schema=None) as batch_op:
        batch_op.create_index('ix_taps_late_service_day', ['service_day'], unique=False, postgresql_where=sa.text('late'), sqlite_where=sa.text('late'))

    


def downgrade() -> None:
    with op.batch_alter_table('taps', schema=None) as batch_op:
        batch_op.drop_index('ix_taps_late_service_day', postgresql_where=sa.text('late'), sqlite_where=sa.text('late'))

    op.drop_table('webhook_events')
    with op.batch_alter_table('simulated_acquirer_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_simulated_acquirer_refunds_refunded_on'))

    op.drop_table('simulated_acquirer_refunds')
    with op.batch_alter_table('simulated_acquirer_charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_simulated_acquirer_charges_charged_on'))

    op.drop_table('simulated_acquirer_charges')
    op.drop_table('simulated_acquirer_attempts')
    op.drop_table('settlement_days')
    op.drop_table('refunds')
    with op.batch_alter_table('processor_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processor_records_idempotency_key'))
        batch_op.drop_index(batch_op.f('ix_processor_records_created_on'))

    op.drop_table('processor_records')
    with op.batch_alter_table('priced_legs', schema=None) as batch_op:
        batch_op.drop_index('ix_priced_legs_service_day')
        batch_op.drop_index('ix_priced_legs_card_token_service_day')

    op.drop_table('priced_legs')
    with op.batch_alter_table('priced_adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_priced_adjustments_card_token_service_day')

    op.drop_table('priced_adjustments')
    op.drop_table('operator_statements')
    op.drop_table('ledger_transactions')
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_postings_transaction_id')

    op.drop_table('ledger_postings')
    op.drop_table('late_taps_settled')
    op.drop_table('finance_requests')
    with op.batch_alter_table('debts', schema=None) as batch_op:
        batch_op.drop_index('ix_debts_status_card_token')

    op.drop_table('debts')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index('ix_charges_service_day')
        batch_op.drop_index('ix_charges_posted_day_status')

    op.drop_table('charges')
    op.drop_table('charge_shares')
    op.drop_table('card_gateway_refs')
    
