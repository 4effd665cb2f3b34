//! pooltop's library: the process engine, scenarios, system monitor and the front ends
//! (dashboard, headless runner, benchmark). `main.rs` is only the command line.

pub mod app;
pub mod bench;
pub mod engine;
pub mod headless;
pub mod monitor;
pub mod scenario;
pub mod session;
pub mod tui;
pub mod ui;
pub mod workload;
