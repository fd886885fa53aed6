//! Webhooks layer (no poem types), along an event's path:
//! - [`intake`]: a delivery resolved to its tenant (from memory), checked, verified against the
//!   tenant's current secrets, charged to its rate limit, parsed and handed to the writer; the
//!   Connect endpoint's routing by account; refusals counted per tenant, hour and reason.
//! - [`rules`]: pure (no I/O) — tolerant event structs, `observe` (an event → what it says),
//!   `merge` (what it says → a payment's or dispute's facts), `derive` (facts → an order's status
//!   and money), `facts` (a batch's facts, its events applied to them in arrival order, and the
//!   order changes that come out), `plan` (what each event of a batch will do).
//! - [`write`]: the queue (`writer`, batched, one transaction per batch, sharded by tenant) and the
//!   one pipeline every arrival goes through (`batch`).
//! - [`incoming`]: an event on its way from any of them to the write path, and what became of it.
pub mod incoming;
pub mod intake;
pub mod rules;
pub mod write;
