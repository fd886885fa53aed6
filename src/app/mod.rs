//! Application layer: the use cases the API handlers, the CLI and the jobs call, each once — a
//! handler extracts, calls one of these and answers. (Refunds first; the others move here as
//! the "one application layer" work goes on.)
pub mod refunds;
