//! The dashboard's core, Elm style: `World` (what the engine reported) and `UiState` (what
//! the user is doing) are plain data, `update` is the only place either changes.

pub mod keys;
mod msg;
mod ui_state;
mod update;
mod world;

pub use msg::{Effect, Msg, Pointer};
pub use ui_state::{Focus, OutputMode, Overlay, SIGNALS, Selection, UiState, View};
pub use update::update;
pub use world::*;

use crate::engine::protocol::Role;
use crate::scenario::Scenario;

/// Everything the dashboard shows: the world, and the user's view of it.
#[derive(Clone, Debug)]
pub struct App {
    pub world: World,
    pub ui: UiState,
}

impl App {
    pub fn new(scenario: &Scenario, color: bool) -> App {
        App {
            world: World::new(scenario.clone()),
            ui: UiState::new(color),
        }
    }

    /// The same app drawn for a terminal of this size.
    #[must_use]
    pub fn sized(mut self, size: (u16, u16)) -> App {
        self.ui.size = size;
        self
    }

    pub fn selected_proc(&self) -> Option<&ProcRow> {
        match self.ui.selection {
            Selection::Row(id) => self.world.row(id),
            Selection::AllWorkers => None,
        }
    }

    /// Selectable entries: "all workers" (when a pool exists), then every row.
    pub fn selectables(&self) -> Vec<Selection> {
        let all = (!self.world.pools.is_empty()).then_some(Selection::AllWorkers);
        all.into_iter()
            .chain(self.world.rows().map(|p| Selection::Row(p.id)))
            .collect()
    }

    /// The live processes a key acts on: the selected one, or every pool worker.
    pub fn targets(&self) -> Vec<(i32, String)> {
        let with_pid = |p: &ProcRow| p.pid.map(|pid| (pid, p.name.clone()));
        match self.ui.selection {
            // A watched program's main process is the user's own: it can be signalled.
            Selection::Row(_) => self
                .selected_proc()
                .filter(|p| {
                    p.signallable()
                        || (self.world.scenario.watch.is_some()
                            && p.pid.is_some()
                            && !p.state.ended())
                })
                .and_then(with_pid)
                .into_iter()
                .collect(),
            Selection::AllWorkers => self.world.live_workers().filter_map(with_pid).collect(),
        }
    }

    /// Whether the code pane takes the task queue's place: a lesson's program, or the
    /// script of a watched command.
    pub fn shows_code(&self) -> bool {
        let scenario = &self.world.scenario;
        scenario.lesson.is_some()
            || (scenario.watch.is_some() && !scenario.program.steps.is_empty())
    }

    /// Whether the selection is a row of this kind of process.
    pub fn selected_role(&self) -> Option<Role> {
        self.selected_proc().map(|p| p.role)
    }
}
