//! Notify: telling a restaurant's own systems that an order changed. The write path records each
//! order change in the outbox (`order_changes`) in the transaction that makes it; the worker
//! (`worker`) fans changes out into messages for the tenant's endpoints and delivers them,
//! signed (`message`), through the SSRF-guarded client (`outbound`), on the retry schedule
//! (`schedule`), one attempt at a time (`deliver`). Customers' browsers follow one order through
//! its status URL (`streams`).
mod deliver;
pub mod message;
pub mod outbound;
pub mod schedule;
pub mod streams;
pub mod worker;

pub use outbound::Outbound;
pub use streams::{StatusStreams, StatusView};
pub use worker::Notifier;
