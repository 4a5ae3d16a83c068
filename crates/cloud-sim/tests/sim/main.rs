//! The simulator's own tests: every endpoint over real HTTP and WebSocket, with plain clients.

mod common;
mod faults;
mod flows;
mod genesys_api;
mod genesys_oauth;
mod notifications;
mod salesforce_oauth;
mod salesforce_rest;
mod scenarios;
