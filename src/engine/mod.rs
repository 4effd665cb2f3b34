//! The engine: real worker processes with Python's Process and Pool semantics. It owns
//! the driver process, the workers, the fork server, the wire between them and capture.

pub mod capture;
pub mod chunk;
pub mod client;
pub mod driver;
pub mod forkserver;
pub mod program;
pub mod protocol;
pub mod sys;
pub mod value;
pub mod watch;
pub mod wire;
pub mod worker;

/// Python's `os.cpu_count()`: the default pool size.
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}
