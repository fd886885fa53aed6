//! Jobs layer: work over many tenants that runs beside requests (key rewrap, start-up checks).
pub mod keys;
