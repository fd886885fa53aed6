//! Test fixtures of the domain's rules: a payment as the books hold it, to adjust per case.
use chrono::Utc;
use entity::payments;
use entity::status::PaymentStatus;
use uuid::Uuid;

/// A payment of `amount` in `currency` with `status`, nothing refunded, held or tipped.
pub fn payment(status: PaymentStatus, amount: i64, currency: &str) -> payments::Model {
    payments::Model {
        id: Uuid::now_v7(),
        tenant_id: Uuid::nil(),
        order_id: None,
        stripe_payment_intent_id: format!("pi_{amount}"),
        stripe_charge_id: None,
        amount,
        amount_refunded: 0,
        amount_conflict: false,
        currency: currency.into(),
        status,
        customer_id: None,
        customer_email: None,
        customer_name: None,
        livemode: false,
        failure_reason: None,
        last_event_created: 0,
        tip_amount: 0,
        tip_declared: 0,
        amount_authorized: 0,
        amount_capturable: 0,
        capture_method: None,
        capture_before: None,
        capture_before_exact: false,
        overcapture_max: None,
        increment_supported: false,
        expiry_warned_at: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}
