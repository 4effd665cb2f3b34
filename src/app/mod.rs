//! The dashboard's core, Elm style: `App` is plain data, `update` is the only place it
//! changes (returning effects for the runtime to carry out), and `ui::view` draws it.

pub mod model;
pub mod update;

pub use model::*;
pub use update::{Effect, Msg, update};
