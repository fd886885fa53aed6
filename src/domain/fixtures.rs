//! Test fixtures of the domain's rules: a payment as the books hold it, to adjust per case.
use chrono::Utc;
use entity::payments;
use entity::status::PaymentStatus;
use uuid::Uuid;

/// A payment of `amount` in `currency` with `status`, nothing refunded, held or tipped.
pub fn payment(status: PaymentStatus, amount: i64, currency: &str) -> payments::Model {
    payments::Model {
        amount,
        currency: currency.into(),
        status,
        ..super::money::new_payment(Uuid::nil(), format!("pi_{amount}"), false, Utc::now())
    }
}
