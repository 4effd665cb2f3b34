//! Where each pane goes for a terminal size; shared by drawing and by mouse hit-testing
//! so a click lands on what is drawn.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

use crate::app::App;

/// Smallest terminal the dashboard draws in; below it a message says so.
pub const MIN_WIDTH: u16 = 64;
pub const MIN_HEIGHT: u16 = 18;

#[derive(Clone, Copy, Debug, Default)]
pub struct Areas {
    pub header: Rect,
    pub cpu: Rect,
    pub procs: Rect,
    pub queue: Rect,
    pub output: Rect,
    pub log: Rect,
    pub footer: Rect,
}

pub fn too_small(app: &App) -> bool {
    app.size.0 < MIN_WIDTH || app.size.1 < MIN_HEIGHT
}

/// Wide and tall terminals get a taller process table and event log.
pub fn areas(app: &App) -> Areas {
    let full = Rect::new(0, 0, app.size.0, app.size.1);
    let tall = full.height >= 34;
    let procs_rows = (app.selectables().len() as u16 + 3).clamp(5, if tall { 16 } else { 9 });
    let cores = app.cpu.cores.len().max(1) as u16;
    let cpu_rows = (cores * if tall { 2 } else { 1 } + 3).min(procs_rows.max(6));
    let top = procs_rows.max(cpu_rows).min(full.height / 2);
    let log_rows = if tall { 8 } else { 4 };
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2),
            Constraint::Length(top),
            Constraint::Min(5),
            Constraint::Length(log_rows),
            Constraint::Length(1),
        ])
        .split(full);
    let left = if full.width >= 110 { 26 } else { 28 };
    let split = |r: Rect, left: u16| {
        Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Length(left), Constraint::Min(20)])
            .split(r)
    };
    let top_cols = split(rows[1], left);
    // A lesson's code needs room: it takes almost half the width.
    let code = if app.lesson.is_some() {
        (full.width * 9 / 20).max(left)
    } else {
        left
    };
    let mid_cols = split(rows[2], code);
    Areas {
        header: rows[0],
        cpu: top_cols[0],
        procs: top_cols[1],
        queue: mid_cols[0],
        output: mid_cols[1],
        log: rows[3],
        footer: rows[4],
    }
}
