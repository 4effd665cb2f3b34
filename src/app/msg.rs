//! Messages into `update` (input, engine events, samples, answers from effects) and the
//! effects `update` asks the runtime to carry out.

use crossterm::event::KeyEvent;

use crate::engine::protocol::{Command, Event};
use crate::monitor::Sample;
use crate::scenario::Scenario;

use super::ui_state::{Focus, Selection};

pub enum Msg {
    Key(KeyEvent),
    /// A mouse action, already resolved by `ui` to what it landed on.
    Pointer(Pointer),
    Resize(u16, u16),
    /// Seconds on the driver's clock.
    Tick(f64),
    /// An engine event; `None` once the driver has gone.
    Driver(Option<Event>),
    Sample(Sample),
    /// SIGINT, SIGTERM or SIGHUP reached pooltop.
    Quit,
    /// A fresh driver runs the same program (answer to `Effect::Restart`).
    Restarted,
    /// The dashboard is up: a watched command starts now (a scenario waits for `s`).
    Begin,
    /// The main process (the driver) runs, with this PID and parent, before its program
    /// is loaded: its row is on screen from the start.
    MainProcess {
        pid: i32,
        ppid: i32,
    },
    /// A lesson is open on a fresh driver, or why it could not be (`Effect::LoadLesson`).
    Loaded(Result<Box<Scenario>, String>),
    /// Where the frame was saved, or why it was not (`Effect::Screenshot`).
    Saved(Result<String, String>),
}

/// A mouse action on something drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pointer {
    /// A click in a pane, on a selectable row of it or not.
    Click {
        focus: Focus,
        select: Option<Selection>,
    },
    /// The wheel over the output: lines up (positive) or down.
    Scroll(i32),
}

#[derive(Debug)]
pub enum Effect {
    Send(Command),
    /// Start a fresh driver for the same program.
    Restart,
    /// Save the current frame as an SVG file.
    Screenshot,
    /// Open this built-in lesson on a fresh driver.
    LoadLesson(String),
    Quit,
}
