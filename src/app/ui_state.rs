//! What the user is doing with the dashboard, apart from what the engine reports: the
//! selected row, the focused pane, the open overlay, the view, scrolling, size and status.

use super::world::{RowId, World};
use crate::ui::theme::Palette;

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

/// The pane that has the focus: `tab` moves it, a click sets it, `z` zooms it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Cpu,
    Processes,
    /// The tasks, or a lesson's code.
    Queue,
    /// The output, or the view `v` picked.
    Output,
    Events,
}

impl Focus {
    /// In screen order: `tab` goes forward, shift-`tab` back.
    pub const ALL: [Focus; 5] = [
        Focus::Cpu,
        Focus::Processes,
        Focus::Queue,
        Focus::Output,
        Focus::Events,
    ];

    #[must_use]
    pub fn step(self, by: isize) -> Focus {
        let at = Focus::ALL.iter().position(|f| *f == self).unwrap_or(0) as isize;
        let n = Focus::ALL.len() as isize;
        Focus::ALL[(at + by).rem_euclid(n) as usize]
    }
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
    /// The colours, chosen by `--theme`.
    pub palette: Palette,
    /// The focused pane fills the screen (`z`).
    pub zoomed: bool,
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
            palette: Palette::default(),
            zoomed: false,
            leaving: false,
        }
    }

    /// A new run of the same scenario keeps how the user arranged the screen.
    pub fn restarted(&mut self) {
        *self = UiState {
            output_mode: self.output_mode,
            view: self.view,
            focus: self.focus,
            zoomed: self.zoomed,
            palette: self.palette,
            ..UiState::new(self.color).sized(self.size)
        };
    }

    /// Another scenario starts from the default arrangement, in the same colours.
    pub fn loaded(&mut self) {
        *self = UiState {
            palette: self.palette,
            ..UiState::new(self.color).sized(self.size)
        };
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
