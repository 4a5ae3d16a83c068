//! The engine against the simulator over real sockets.

mod cli;
mod common;
mod crash;
mod feed;
mod media;
mod network;
mod outbox;
mod pops;
mod privacy;
mod proxies;
mod recovery;
mod resolver;
mod segments;
mod signin;
