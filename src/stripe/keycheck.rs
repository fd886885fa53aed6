//! Stripe: checking a secret key — one cheap authenticated call (`GET /v1/balance`), whose
//! `livemode` tells the key's real mode.
use super::http::{StripeCallError, TenantStripe};
use stripe_client_core::StripeRequest;
use stripe_core::balance::RetrieveForMyAccountBalance;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// The key works and is for the expected mode.
    Ok,
    /// Stripe refused the key (401/403); Stripe's reason, redacted.
    Invalid(String),
    /// The key works but is for the other mode.
    WrongMode { livemode: bool },
}

#[derive(serde::Deserialize)]
struct Balance {
    livemode: bool,
}

/// Calls Stripe with `stripe`'s key; `expect_live` is the mode its prefix claims.
pub async fn check(stripe: &TenantStripe, expect_live: bool) -> Result<KeyCheck, StripeCallError> {
    match stripe
        .call(RetrieveForMyAccountBalance::new().build(), None)
        .await
    {
        Ok(body) => {
            let balance: Balance =
                serde_json::from_slice(&body).map_err(|e| StripeCallError::Parse(e.to_string()))?;
            Ok(if balance.livemode == expect_live {
                KeyCheck::Ok
            } else {
                KeyCheck::WrongMode {
                    livemode: balance.livemode,
                }
            })
        }
        Err(e) if e.is_auth() => Ok(KeyCheck::Invalid(e.to_string())),
        Err(e) => Err(e),
    }
}
