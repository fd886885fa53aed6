//! Webhooks: the rules of an event, as pure functions (no I/O). An event becomes an
//! [`Observation`] (`observe`); observations merge into the stored facts (`merge`) by rules that
//! make every delivery order of the same events converge; an order's status and money are
//! derived from its facts (`derive`); a batch's facts take its events in arrival order
//! (`facts`), and `plan` says what each event of a batch will do.
pub mod derive;
pub mod event;
pub mod facts;
pub mod merge;
pub mod observe;
pub(crate) mod plan;

pub use derive::{Derived, derive_order};
pub use merge::{EventCtx, merge_dispute, merge_payment};
pub use observe::{
    DisputeObs, DisputeStatus, HANDLED_TYPES, Observation, PaymentObs, PaymentStatus,
    is_legacy_charge_key, observe,
};

#[cfg(test)]
mod history;

#[cfg(test)]
mod books;

#[cfg(test)]
mod props;
