//! Where each pane goes for a terminal size; shared by drawing and by mouse hit-testing
//! so a click lands on what is drawn.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::{App, Focus};

/// Smallest terminal the dashboard draws in; below it a message says so.
pub const MIN_WIDTH: u16 = 64;
pub const MIN_HEIGHT: u16 = 18;

#[derive(Clone, Copy, Debug, Default)]
pub struct Areas {
    pub header: Rect,
    pub cpu: Rect,
    pub procs: Rect,
    /// The task queue, or a lesson's code.
    pub queue: Rect,
    /// The output, or the view `v` picked.
    pub output: Rect,
    pub log: Rect,
    pub footer: Rect,
}

pub fn too_small(app: &App) -> bool {
    app.ui.size.0 < MIN_WIDTH || app.ui.size.1 < MIN_HEIGHT
}

pub fn screen(app: &App) -> Rect {
    Rect::new(0, 0, app.ui.size.0, app.ui.size.1)
}

/// Where each pane goes; zoomed (`z`), the focused pane takes everything between the
/// header and the footer and the others get no room.
pub fn areas(app: &App) -> Areas {
    let panes = panes(app);
    if !app.ui.zoomed {
        return panes;
    }
    let full = screen(app);
    let whole = Rect::new(
        0,
        panes.header.height,
        full.width,
        full.height
            .saturating_sub(panes.header.height + panes.footer.height),
    );
    let mut zoomed = Areas {
        header: panes.header,
        footer: panes.footer,
        ..Areas::default()
    };
    *zoomed.pane_mut(app.ui.focus) = whole;
    zoomed
}

impl Areas {
    /// The area of a pane that can have the focus.
    pub fn pane(&self, focus: Focus) -> Rect {
        match focus {
            Focus::Cpu => self.cpu,
            Focus::Processes => self.procs,
            Focus::Queue => self.queue,
            Focus::Output => self.output,
            Focus::Events => self.log,
        }
    }

    fn pane_mut(&mut self, focus: Focus) -> &mut Rect {
        match focus {
            Focus::Cpu => &mut self.cpu,
            Focus::Processes => &mut self.procs,
            Focus::Queue => &mut self.queue,
            Focus::Output => &mut self.output,
            Focus::Events => &mut self.log,
        }
    }
}

/// Wide and tall terminals get a taller process table and event log.
fn panes(app: &App) -> Areas {
    let full = screen(app);
    let tall = full.height >= 34;
    let procs_rows = (app.selectables().len() as u16 + 3).clamp(5, if tall { 16 } else { 9 });
    let cores = app.world.cpu.cores.len().max(1) as u16;
    let cpu_rows = (cores * if tall { 2 } else { 1 } + 3).min(procs_rows.max(6));
    let top = procs_rows.max(cpu_rows).min(full.height / 2);
    let log_rows = if tall { 8 } else { 4 };
    let [header, top_row, middle, log, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(top),
        Constraint::Min(5),
        Constraint::Length(log_rows),
        Constraint::Length(1),
    ])
    .areas(full);
    let left = if full.width >= 110 { 26 } else { 28 };
    let split = |r: Rect, left: u16| {
        Layout::horizontal([Constraint::Length(left), Constraint::Min(20)]).areas::<2>(r)
    };
    let [cpu, procs] = split(top_row, left);
    // A lesson's code needs room: it takes almost half the width.
    let code = if app.shows_code() {
        (full.width * 9 / 20).max(left)
    } else {
        left
    };
    let [queue, output] = split(middle, code);
    Areas {
        header,
        cpu,
        procs,
        queue,
        output,
        log,
        footer,
    }
}
