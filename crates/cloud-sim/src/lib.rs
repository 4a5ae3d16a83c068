//! A local Genesys Cloud + Salesforce simulator.
//!
//! It is a real server on loopback: HTTP and WebSocket listeners that speak the wire formats of the two
//! clouds (see `shared/docs/genesys-api.md` and `shared/docs/salesforce-api.md`), a seeded data generator,
//! a scenario driver that places calls, fault injection, and a control API under `/_sim/`. A client written
//! against the real clouds works against it with only its base URLs changed.

// Handlers return `Result<_, Response>` so that an early exit is already the cloud's error response.
#![allow(clippy::result_large_err)]

pub mod clock;
pub mod config;
mod control;
pub mod data;
pub mod faults;
mod genesys;
mod http;
pub mod ids;
mod pkce;
mod salesforce;
pub mod scenario;
mod server;
mod state;
mod stats;
pub mod tls;
pub mod wait;

pub use config::{Ports, Settings, SimConfig};
pub use genesys::conversation::Channel;
pub use genesys::flow::Flow;
/// Escaping helpers a careful client uses, for tests that build SOSL and SOQL by hand.
pub use salesforce::{soql::escape_literal as soql_escape_literal, sosl::escape_term as sosl_escape_term};
pub use server::{SimHandle, SimUrls, StartError};
