//! The process table: the pool's "all workers" row, then one row per process (the main
//! process first) with PID, state, CPU, memory, core, tasks, exit code and start latency.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, Widget};

use crate::app::{App, Focus, ProcRow, ProcState, Selection};
use crate::engine::protocol::{PoolStateName, Role};
use crate::ui::text::{block, fit_name};
use crate::ui::theme::Theme;

pub struct Processes<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

/// Which columns fit: everything from 88 columns, no PPID/START below, and only the
/// essentials below 70.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Width {
    Narrow,
    Mid,
    Wide,
}

impl Width {
    /// Cells for NAME: a longer name is shortened to fit (`PoolWorker-10`, `W10`).
    fn name_width(self, longest: usize) -> u16 {
        if self == Width::Wide {
            longest.clamp(18, 24) as u16
        } else {
            16
        }
    }

    fn of(area: Rect) -> Width {
        match area.width {
            88.. => Width::Wide,
            70.. => Width::Mid,
            _ => Width::Narrow,
        }
    }

    /// The columns at this width; a wide table lets NAME grow to its longest name
    /// (`ForkServerPoolWorker-10`), up to 24 cells.
    fn columns(self, longest: usize) -> Vec<(&'static str, Constraint)> {
        let name = self.name_width(longest);
        [
            Some(("NAME", Constraint::Length(name))),
            Some(("PID", Constraint::Length(7))),
            (self == Width::Wide).then_some(("PPID", Constraint::Length(7))),
            Some(("STATE", Constraint::Length(9))),
            Some(("CPU%", Constraint::Length(4))),
            (self >= Width::Mid).then_some(("RSS", Constraint::Length(5))),
            (self >= Width::Mid).then_some(("CORE", Constraint::Length(4))),
            Some(("TASKS", Constraint::Length(5))),
            (self >= Width::Mid).then_some(("CURRENT", Constraint::Fill(1))),
            Some(("EXIT", Constraint::Length(4))),
            (self == Width::Wide).then_some(("START", Constraint::Length(6))),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Cells by column name, kept only for the columns shown.
struct Cells<'c> {
    shown: &'c [&'static str],
    cells: Vec<Cell<'static>>,
}

impl Cells<'_> {
    fn put(&mut self, column: &str, cell: impl Into<Cell<'static>>) -> &mut Self {
        if self.shown.contains(&column) {
            self.cells.push(cell.into());
        }
        self
    }
}

fn state_style(p: &ProcRow, theme: Theme) -> Style {
    match p.state {
        ProcState::Exited | ProcState::Killed => theme.dim(),
        ProcState::Stopped | ProcState::Zombie => theme.warn(),
        ProcState::Running => theme.good(),
        _ => Style::default(),
    }
}

/// `#4 cube(4)`: a task and its call.
pub fn task_label(app: &App, task: Option<u64>) -> String {
    match task {
        Some(t) => match app.world.tasks.all.get(&t) {
            Some(info) => format!("#{t} {}", info.label),
            None => format!("#{t}"),
        },
        None => String::new(),
    }
}

/// What a worker runs, function first (`slow_cube(4) #9`): a narrow column keeps the call.
fn running_label(app: &App, task: Option<u64>) -> String {
    match task {
        Some(t) => match app.world.tasks.all.get(&t) {
            Some(info) => format!("{} #{t}", info.label),
            None => format!("#{t}"),
        },
        None => String::new(),
    }
}

/// A count in the 5 cells of the TASKS column: `99999`, then `120k`, then `12M`.
fn count_in_5(n: u64) -> String {
    match n {
        0..100_000 => n.to_string(),
        100_000..10_000_000 => format!("{}k", n / 1000),
        _ => format!("{}M", n / 1_000_000),
    }
}

fn or_blank<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map(show).unwrap_or_default()
}

impl Processes<'_> {
    fn all_workers(&self, w: Width, shown: &[&'static str]) -> Option<Row<'static>> {
        let (app, theme) = (self.app, self.theme);
        let pool = app.world.newest_pool()?;
        let workers = app.world.live_workers();
        let cpu = workers.filter_map(|w| w.cpu).fold(0.0, |a, b| a + b);
        let done: u64 = app
            .world
            .procs
            .iter()
            .filter(|w| w.role == Role::PoolWorker)
            .map(|w| w.tasks_done)
            .sum();
        let state = match (w, pool.state) {
            (Width::Wide, s) => s.as_str(),
            (_, PoolStateName::Terminate) => "TERM",
            (_, s) => s.as_str(),
        };
        let busy = format!("{} busy", app.world.tasks.running.len());
        let mut c = Cells {
            shown,
            cells: Vec::new(),
        };
        c.put("NAME", "▸ all workers")
            .put("PID", "")
            .put("PPID", "")
            .put("STATE", state)
            .put("CPU%", format!("{cpu:.0}"))
            .put("RSS", "")
            .put("CORE", "")
            .put("TASKS", count_in_5(done))
            .put("CURRENT", busy)
            .put("EXIT", "")
            .put("START", "");
        let style = if app.ui.selection == Selection::AllWorkers {
            theme.selected()
        } else {
            theme.title()
        };
        Some(Row::new(c.cells).style(style))
    }

    fn process(&self, p: &ProcRow, shown: &[&'static str], name_w: u16) -> Row<'static> {
        let (app, theme) = (self.app, self.theme);
        let ended = p.state.ended();
        let name_style = if ended {
            theme.dim()
        } else {
            theme.process(p.id.0)
        };
        let tasks = if p.role == Role::PoolWorker {
            count_in_5(p.tasks_done)
        } else {
            String::new()
        };
        let mut c = Cells {
            shown,
            cells: Vec::new(),
        };
        let name = fit_name(&p.name, name_w as usize);
        c.put("NAME", Span::styled(name, name_style))
            .put(
                "PID",
                p.pid.map_or_else(|| "-".into(), |pid| pid.to_string()),
            )
            .put("PPID", p.ppid.to_string())
            .put(
                "STATE",
                Span::styled(p.state.label(), state_style(p, theme)),
            )
            .put("CPU%", or_blank(p.cpu, |c| format!("{c:.0}")))
            .put(
                "RSS",
                or_blank(p.rss_kib, |r| format!("{:.1}M", r as f64 / 1024.0)),
            )
            .put("CORE", or_blank(p.core, |c| c.to_string()))
            .put("TASKS", tasks)
            .put("CURRENT", running_label(app, p.current))
            .put("EXIT", or_blank(p.exitcode, |c| c.to_string()))
            .put("START", or_blank(p.start_ms, |ms| format!("{ms:.1}ms")));
        let mut row = Row::new(c.cells);
        if ended {
            row = row.style(theme.dim());
        }
        if app.ui.selection == Selection::Row(p.id) {
            row = row.style(theme.selected());
        }
        row
    }
}

impl Widget for &Processes<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, theme) = (self.app, self.theme);
        let w = Width::of(area);
        let longest = app
            .world
            .rows()
            .map(|p| p.name.chars().count())
            .max()
            .unwrap_or(0);
        let cols = w.columns(longest);
        let names: Vec<&'static str> = cols.iter().map(|c| c.0).collect();
        let mut rows: Vec<Row> = self.all_workers(w, &names).into_iter().collect();
        let name_w = w.name_width(longest);
        rows.extend(app.world.rows().map(|p| self.process(p, &names, name_w)));
        let count = match (app.world.rows().count(), app.world.rows_dropped) {
            (n, 0) => n.to_string(),
            (n, dropped) => format!("{n}, {dropped} older ended not shown"),
        };
        let title = if w == Width::Narrow {
            format!("Processes ({count})")
        } else {
            format!("Processes ({count}) · 100% CPU = one core")
        };
        let header = Row::new(names).style(theme.dim().add_modifier(Modifier::BOLD));
        let focused = app.ui.focus == Focus::Processes;
        Table::new(rows, cols.iter().map(|c| c.1))
            .header(header)
            .column_spacing(1)
            .block(block(&title, theme, focused))
            .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::count_in_5;

    #[test]
    fn counts_fit_the_tasks_column() {
        for (n, shown) in [
            (0, "0"),
            (99_999, "99999"),
            (120_000, "120k"),
            (9_999_999, "9999k"),
            (12_000_000, "12M"),
        ] {
            assert_eq!(count_in_5(n), shown);
            assert!(shown.len() <= 5);
        }
    }
}
