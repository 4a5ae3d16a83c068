//! Genesys Cloud: the REST calls the engine needs, the notification feed, and the conversation
//! tracker that turns repeated, reordered snapshots into transitions.

pub mod backoff;
pub mod feed;
pub mod history;
pub mod identification;
pub mod model;
pub mod rest;
pub mod segment;
pub mod tracker;
