//! Entity: the statuses stored in text columns, as enums (sea-orm active enums over the existing
//! columns: no data migration). A stored value outside the enum is an error when read, never a
//! silent default. Each status serializes as its stored text, so a row read as JSON (PostgreSQL's
//! batch) reads the same as one read by sea-orm.
use sea_orm::entity::prelude::*;

/// An enum over a text column: each variant's stored text, `as_str`, `parse` and `Display`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum,
            serde::Serialize, serde::Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name {
            $($(#[$vmeta])* #[sea_orm(string_value = $text)] #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// The text stored (and answered by the API).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// The status this text names, if any.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// An order's status, derived from its payments and disputes.
    OrderStatus {
        PaymentPending = "PAYMENT_PENDING",
        Paid = "PAID",
        PaymentFailed = "PAYMENT_FAILED",
        Expired = "EXPIRED",
        NeedsReview = "NEEDS_REVIEW",
        PartiallyRefunded = "PARTIALLY_REFUNDED",
        Refunded = "REFUNDED",
        Disputed = "DISPUTED",
        DisputeLost = "DISPUTE_LOST",
        /// Authorizations cover what is due; nothing more to collect but the capture.
        Authorized = "AUTHORIZED",
        /// Something is paid or authorized, not all of it.
        PartiallyPaid = "PARTIALLY_PAID",
    }
}

text_enum! {
    /// A payment's status. Declared in rank order: a payment's status only rises, so a late,
    /// lower-ranked event never regresses it.
    PaymentStatus {
        Pending = "pending",
        Processing = "processing",
        Failed = "failed",
        /// Held, not captured (Stripe's `requires_capture`).
        Authorized = "authorized",
        Canceled = "canceled",
        Succeeded = "succeeded",
    }
}

text_enum! {
    /// Why an order needs a person's review.
    ReviewReason {
        /// Its payments, tips aside, come to more than its amount (a double charge, or a tip
        /// nobody declared).
        Overpaid = "overpaid",
        /// A payment is in another currency.
        CurrencyMismatch = "currency_mismatch",
        /// Its tips are more than the tenant's `max_tip_bps` of its amount.
        TipOverLimit = "tip_over_limit",
        /// Two successful observations of one payment disagree on its amount or currency.
        AmountConflict = "amount_conflict",
    }
}

text_enum! {
    /// A dispute's status, as Stripe names it.
    DisputeStatus {
        WarningNeedsResponse = "warning_needs_response",
        WarningUnderReview = "warning_under_review",
        WarningClosed = "warning_closed",
        NeedsResponse = "needs_response",
        UnderReview = "under_review",
        Won = "won",
        Lost = "lost",
        Prevented = "prevented",
    }
}

impl DisputeStatus {
    /// Decided: won, lost, or closed without a chargeback.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Self::Won | Self::Lost | Self::WarningClosed | Self::Prevented
        )
    }
}

text_enum! {
    /// Where a webhook event is in its processing.
    EventStatus {
        Processing = "processing",
        Completed = "completed",
        Ignored = "ignored",
        Failed = "failed",
    }
}

text_enum! {
    /// Whose Stripe account a tenant's payments are on: its own (its own keys and webhook
    /// endpoint), or a connected account of the Connect platform (the platform's key with the
    /// `Stripe-Account` header; events through the Connect endpoint).
    TenantKind {
        OwnAccount = "own_account",
        Connected = "connected",
    }
}

text_enum! {
    /// Whether a tenant is served.
    TenantStatus {
        Active = "active",
        Suspended = "suspended",
    }
}

text_enum! {
    /// A reconciliation run's status.
    RunStatus {
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

text_enum! {
    /// Where a notification message is in its delivery.
    MessageStatus {
        /// Waiting for its next attempt (`next_attempt_at`).
        Pending = "pending",
        /// Claimed by a worker until `next_attempt_at` (a lease: a crashed worker's claim lapses).
        Delivering = "delivering",
        Delivered = "delivered",
        /// Every scheduled attempt failed; a manual retry starts it again.
        Failed = "failed",
    }
}

impl OrderStatus {
    /// The notification type announcing a change to this status: `order.paid`, ….
    pub fn event_type(self) -> String {
        format!("order.{}", self.as_str().to_ascii_lowercase())
    }
}

text_enum! {
    /// Where a refund the gateway asked Stripe for stands.
    RefundState {
        /// Recorded and asked (or about to be); Stripe's answer not known yet. Counts against
        /// the payment.
        Pending = "pending",
        /// Stripe made it (`stripe_refund_id`). Counts against the payment.
        Made = "made",
        /// Stripe refused it; it no longer counts.
        Failed = "failed",
    }
}

text_enum! {
    /// Which of Stripe's modes a secret key (and so its config) is for, from the key's prefix.
    StripeMode {
        Test = "test",
        Live = "live",
    }
}

impl StripeMode {
    /// Stripe's `livemode` for objects of this mode.
    pub fn is_live(self) -> bool {
        self == Self::Live
    }

    /// The mode Stripe's `livemode` says.
    pub fn of_livemode(livemode: bool) -> Self {
        if livemode { Self::Live } else { Self::Test }
    }
}
