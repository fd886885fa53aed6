//! The gateway's test suite: behaviour through the public HTTP surface (and the `gateway`
//! binary), against real databases — SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used)]
mod helpers;
mod stripe;
mod stripe_api;
mod stripe_intents;

mod api_keys;
mod attack;
mod auth_limit;
mod authorization_warnings;
mod authorizations;
mod bad_input;
mod checkout_shares;
mod connect;
mod connect_replicas;
mod crash;
mod edges;
mod first_hour;
mod gateway_process;
mod isolation;
mod keys;
mod nodelay;
mod notifications;
mod notify_process;
mod openapi;
pub mod operations;
mod order_status;
mod platform_config;
mod process;
mod races;
mod receiver;
pub mod recorded;
mod refunds;
mod replica_limits;
pub mod replicas;
mod restaurant;
mod secrets_at_rest;
mod ssrf;
mod startup;
mod store_conformance;
mod stripe_config;
mod tenant_scale;
mod tenants;
mod webhook_effects;
mod webhook_intake;
mod webhook_ordering;
