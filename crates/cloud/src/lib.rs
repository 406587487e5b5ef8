//! # pitbox-cloud — the PitBox cloud backend
//!
//! This crate owns `pitbox cloud`: accounts, teams and roles ([`accounts`], [`rules`]: a
//! deployment owner over team admins; argon2id passwords, EdDSA access tokens revoked through a
//! deny-list every node reloads ([`revocation`]), rotating refresh tokens, login limits per node
//! or shared through Redis, [`limiter`]), the REST API (axum), telemetry storage (SQL index over
//! zstd-compressed columnar chunks in an object store), sessions and laps, team messages,
//! handoffs and driver profiles, secrets encrypted at rest per team with a deployment default, the `/ws` live fan-out with an
//! in-process or Redis bus, coaching (`POST /api/coaching/analyze` and live coaching after every
//! stored lap, [`coaching`]), stint planning ([`strategy`], on `pitbox-strategy`), speech synthesis ([`voice`]; clips cached in SQL and, with Redis, [`voice_cache`]), serving the embedded dashboard, the
//! OpenAPI document, and the `pitbox user`, `pitbox team` and `pitbox bench ingest` commands as
//! library code ([`cli`], [`bench`]).
//!
//! It runs with nothing installed (SQLite file, local directory, in-process fan-out) and, when
//! configured, on PostgreSQL, Redis and S3-compatible storage with several nodes.

pub mod accounts;
pub mod api;
pub mod bench;
pub mod bus;
pub mod chunk;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod coaching;
pub mod cue_reference;
pub mod download;
pub mod error;
pub mod events;
pub mod extract;
pub mod httpc;
pub mod import;
pub mod lap_compare;
pub mod limiter;
pub mod live_plan;
pub mod migrations;
pub mod objects;
pub mod openapi;
pub mod password;
pub mod redis_link;
pub mod relays;
pub mod revocation;
pub mod rules;
pub mod secrets;
pub mod server;
pub mod store;
pub mod strategy;
pub mod team;
pub mod telemetry;
pub mod token;
pub mod voice;
pub mod voice_cache;
pub mod ws;

pub use error::{ApiError, ApiResult};
pub use server::{AppState, Config};
pub use store::Store;
