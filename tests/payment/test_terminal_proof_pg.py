"""test_terminal_proof.py with the back-office on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.payment.test_terminal_proof import (  # noqa: F401 - collected again here
    test_kiosk_retry_after_a_lost_reply_reads_the_payment,
    test_made_up_paid_without_proof_is_refused,
    test_only_the_kiosk_that_started_it,
    test_paid_at_counter_is_staff_of_the_ward_and_audited,
    test_proof_with_wrong_key_amount_sale_or_terminal_is_refused,
    test_real_terminal_answer_pays_once_and_a_replay_is_refused,
    test_terminal_registration_is_an_admin_matter_of_the_ward,
    test_unsigned_failure_moves_no_money_but_a_bad_proof_on_it_is_refused,
    test_webhook_needs_the_providers_signature,
)

DATABASE = "postgres"  # read by the office fixture
pytestmark = pytest.mark.postgres
