//! Webhooks: the write path — the queue ([`writer`]) and the one pipeline every way an event
//! arrives goes through ([`batch`]).
mod batch;
pub mod writer;
