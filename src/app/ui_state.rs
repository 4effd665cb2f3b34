//! What the user is doing with the dashboard, apart from what the engine reports: the
//! selected row, the focused pane, the open overlay, the view, scrolling, size and status.

use super::world::{RowId, World};

/// The pane beside the code (lessons) or below the process table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Output,
    Tasks,
    Timeline,
    Measurements,
    StartMethods,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Output,
        View::Tasks,
        View::Timeline,
        View::Measurements,
        View::StartMethods,
    ];

    pub fn label(self) -> &'static str {
        match self {
            View::Output => "output",
            View::Tasks => "tasks",
            View::Timeline => "timeline",
            View::Measurements => "measurements",
            View::StartMethods => "start methods",
        }
    }
}

/// What the process table selection points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every worker of the newest pool.
    AllWorkers,
    Row(RowId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    Interleaved,
    PerProcess,
    Both,
}

impl OutputMode {
    #[must_use]
    pub fn next(self) -> OutputMode {
        match self {
            OutputMode::Both => OutputMode::Interleaved,
            OutputMode::Interleaved => OutputMode::PerProcess,
            OutputMode::PerProcess => OutputMode::Both,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// Signal menu with the highlighted entry.
    Signals(usize),
    /// Lesson picker with the highlighted lesson.
    Lessons(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Processes,
    Output,
}

/// Signals offered in the menu, most useful first.
pub const SIGNALS: &[(i32, &str, &str)] = &[
    (
        libc::SIGTERM,
        "SIGTERM",
        "terminate (what terminate() sends)",
    ),
    (libc::SIGKILL, "SIGKILL", "kill, cannot be caught (kill())"),
    (libc::SIGINT, "SIGINT", "interrupt, as Ctrl-C"),
    (libc::SIGHUP, "SIGHUP", "hang up"),
    (libc::SIGQUIT, "SIGQUIT", "quit"),
    (libc::SIGSTOP, "SIGSTOP", "pause, cannot be caught"),
    (libc::SIGCONT, "SIGCONT", "resume a paused process"),
    (libc::SIGUSR1, "SIGUSR1", "user signal 1 (ends a worker)"),
    (libc::SIGUSR2, "SIGUSR2", "user signal 2 (ends a worker)"),
    (libc::SIGABRT, "SIGABRT", "abort"),
];

#[derive(Clone, Debug)]
pub struct UiState {
    pub selection: Selection,
    pub focus: Focus,
    pub overlay: Overlay,
    pub view: View,
    pub output_mode: OutputMode,
    /// Lines scrolled up from the bottom of the output.
    pub output_scroll: usize,
    /// A short note for the footer (what a key did, or why it did nothing).
    pub status: Option<String>,
    pub size: (u16, u16),
    pub color: bool,
    /// The front end is restarting or leaving: a vanished driver is expected.
    pub leaving: bool,
}

impl UiState {
    pub fn new(color: bool) -> UiState {
        UiState {
            selection: Selection::AllWorkers,
            focus: Focus::Processes,
            overlay: Overlay::None,
            view: View::Output,
            output_mode: OutputMode::Both,
            output_scroll: 0,
            status: None,
            size: (120, 40),
            color,
            leaving: false,
        }
    }

    /// A new run of the same scenario keeps how the user arranged the screen.
    pub fn restarted(&mut self) {
        *self = UiState {
            output_mode: self.output_mode,
            view: self.view,
            ..UiState::new(self.color).sized(self.size)
        };
    }

    /// Another scenario starts from the default arrangement.
    pub fn loaded(&mut self) {
        *self = UiState::new(self.color).sized(self.size);
    }

    #[must_use]
    pub fn sized(mut self, size: (u16, u16)) -> UiState {
        self.size = size;
        self
    }

    /// A removed row cannot stay selected.
    pub fn forget_missing_rows(&mut self, world: &World) {
        if let Selection::Row(id) = self.selection
            && world.row(id).is_none()
        {
            self.selection = Selection::AllWorkers;
        }
    }
}
