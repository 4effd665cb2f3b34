//! The dashboard's panes, one file each; every pane is a widget borrowing the `App`.

mod code;
mod cpu;
mod events;
mod footer;
mod header;
mod output;
mod processes;
mod tasks;

pub use code::Code;
pub use cpu::CpuMeters;
pub use events::Events;
pub use footer::Footer;
pub use header::Header;
pub use output::OutputPane;
pub use processes::Processes;
pub use tasks::Tasks;
