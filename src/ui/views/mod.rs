//! The concept views `v` cycles through beside the code or below the processes: the task
//! timeline, measured times with the speedup, and the start methods side by side.

mod measurements;
mod start_methods;
mod timeline;

pub use measurements::Measurements;
pub use start_methods::StartMethods;
pub use timeline::Timeline;
