//! Webhooks: the write path — the queue ([`writer`]) and the one pipeline every way an event
//! arrives goes through (`pipeline`: batched through `batch`, or event by event).
mod batch;
mod pipeline;
pub mod writer;
