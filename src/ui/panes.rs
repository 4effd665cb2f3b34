//! One function per pane: header, CPU meters, process table, task queue and results,
//! output (interleaved and per process), event log, key footer, and the overlays.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, Wrap};

use crate::app::{App, Focus, LogKind, OutputMode, Phase, ProcRow, ProcState, SIGNALS, Selection};
use crate::engine::protocol::{PoolStateName, Role};

use super::theme::Theme;

pub(super) fn block(title: String, theme: Theme, focused: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(format!(" {title} "), theme.title()))
}

fn clock(secs: f64) -> String {
    let total = secs.max(0.0);
    let m = (total / 60.0).floor() as u64;
    format!("{m:02}:{:04.1}", total - (m * 60) as f64)
}

pub fn header(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let sep = || Span::styled(" │ ", theme.dim());
    let (phase, phase_style) = match app.phase {
        Phase::Ready => ("ready", theme.warn()),
        Phase::Running => ("running", theme.good()),
        Phase::Paused => ("paused", theme.warn()),
        Phase::Finished => ("finished", theme.title()),
        Phase::DriverGone => ("driver gone", theme.error()),
    };
    let pool = match app.pool_index() {
        Some(i) => {
            let p = &app.pools[i];
            let live = app.live_workers().len();
            format!(
                "{}: {} · {live}/{} workers",
                p.name,
                p.state.as_str(),
                p.processes
            )
        }
        None => match app.program.settings.workers {
            Some(w) => format!("no pool yet · pools get {w} workers"),
            None => "no pool yet".into(),
        },
    };
    let line1 = Line::from(vec![
        Span::styled(" pooltop", theme.key()),
        sep(),
        Span::styled(app.scenario.clone(), theme.title()),
        sep(),
        Span::raw(app.start_method().name()),
        sep(),
        Span::raw(pool),
        sep(),
        Span::raw(clock(app.elapsed())),
        sep(),
        Span::styled(phase, phase_style),
    ]);
    let line2 = Line::from(vec![
        Span::styled(" main: ", theme.dim()),
        Span::raw(app.main_doing()),
        Span::styled(format!("   {}", app.title), theme.dim()),
    ]);
    f.render_widget(Paragraph::new(vec![line1, line2]), area);
}

fn bar(pct: f32, width: usize) -> String {
    let filled = ((pct.clamp(0.0, 100.0) / 100.0) * width as f32).round() as usize;
    format!(
        "{}{}",
        "█".repeat(filled),
        "░".repeat(width.saturating_sub(filled))
    )
}

pub fn cpu(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let b = block("CPU · 100% = one core".into(), theme, false);
    let inner = b.inner(area);
    f.render_widget(b, area);
    if app.cpu.cores.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("measuring...", theme.dim())),
            inner,
        );
        return;
    }
    let with_history = inner.height as usize > app.cpu.cores.len() * 2;
    let per_core = if with_history { 2 } else { 1 };
    let bar_width = (inner.width as usize).saturating_sub(12).max(4);
    for (i, pct) in app.cpu.cores.iter().enumerate() {
        let y = inner.y + (i * per_core) as u16;
        if y >= inner.y + inner.height.saturating_sub(1) {
            break;
        }
        let line = Line::from(vec![
            Span::raw(format!("cpu{i:<2} ")),
            Span::styled(bar(*pct, bar_width), theme.load(*pct)),
            Span::raw(format!(" {pct:>3.0}%")),
        ]);
        f.render_widget(Paragraph::new(line), Rect::new(inner.x, y, inner.width, 1));
        if with_history {
            let hist: Vec<u64> = app
                .cpu
                .history
                .get(i)
                .map(|h| h.iter().copied().collect())
                .unwrap_or_default();
            let skip = hist.len().saturating_sub(inner.width as usize - 6);
            let spark = Sparkline::default()
                .data(&hist[skip..])
                .max(100)
                .style(theme.load(*pct));
            f.render_widget(
                spark,
                Rect::new(inner.x + 6, y + 1, inner.width.saturating_sub(6), 1),
            );
        }
    }
    let ours = app
        .procs
        .iter()
        .filter_map(|p| p.cpu)
        .fold(0.0, |a, b| a + b);
    let total = app.cpu.cores.len() * 100;
    let text = if inner.width >= 34 {
        format!("pooltop's processes: {ours:.0}% of {total}%")
    } else {
        format!("ours {ours:.0}%/{total}%")
    };
    let summary = Line::from(Span::styled(text, theme.dim()));
    let y = inner.y + inner.height.saturating_sub(1);
    f.render_widget(
        Paragraph::new(summary),
        Rect::new(inner.x, y, inner.width, 1),
    );
}

fn state_style(p: &ProcRow, theme: Theme) -> Style {
    match p.state {
        ProcState::Exited => theme.dim(),
        ProcState::Killed => theme.dim(),
        ProcState::Stopped | ProcState::Zombie => theme.warn(),
        ProcState::Running => theme.good(),
        _ => Style::default(),
    }
}

fn task_label(app: &App, task: Option<u64>) -> String {
    match task {
        Some(t) => match app.tasks.all.get(&t) {
            Some(info) => format!("#{t} {}", info.label),
            None => format!("#{t}"),
        },
        None => String::new(),
    }
}

/// Which columns fit: everything from 100 columns, no PPID/START below, and only the
/// essentials below 70.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Width {
    Narrow,
    Mid,
    Wide,
}

pub fn processes(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let focused = app.focus == Focus::Processes;
    let w = match area.width {
        88.. => Width::Wide,
        70.. => Width::Mid,
        _ => Width::Narrow,
    };
    let cols: Vec<(&str, Constraint)> = [
        Some((
            "NAME",
            Constraint::Length(if w == Width::Wide { 18 } else { 16 }),
        )),
        Some(("PID", Constraint::Length(7))),
        (w == Width::Wide).then_some(("PPID", Constraint::Length(7))),
        Some(("STATE", Constraint::Length(9))),
        Some(("CPU%", Constraint::Length(4))),
        (w >= Width::Mid).then_some(("RSS", Constraint::Length(5))),
        (w >= Width::Mid).then_some(("CORE", Constraint::Length(4))),
        Some(("TASKS", Constraint::Length(5))),
        (w >= Width::Mid).then_some(("CURRENT", Constraint::Fill(1))),
        Some(("EXIT", Constraint::Length(4))),
        (w == Width::Wide).then_some(("START", Constraint::Length(6))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let cell = |name: &str, value: Cell<'static>| names.contains(&name).then_some(value);
    let mut rows = Vec::new();
    if let Some(i) = app.pool_index() {
        let p = &app.pools[i];
        let cpu = app
            .live_workers()
            .iter()
            .filter_map(|w| w.cpu)
            .fold(0.0, |a, b| a + b);
        let done: u64 = app
            .procs
            .iter()
            .filter(|w| w.role == Role::PoolWorker)
            .map(|w| w.tasks_done)
            .sum();
        let state = match (w, p.state) {
            (Width::Wide, s) => s.as_str(),
            (_, PoolStateName::Terminate) => "TERM",
            (_, s) => s.as_str(),
        };
        let cells: Vec<Cell> = [
            cell("NAME", Cell::from("▸ all workers")),
            cell("PID", Cell::from("")),
            cell("PPID", Cell::from("")),
            cell("STATE", Cell::from(state)),
            cell("CPU%", Cell::from(format!("{cpu:.0}"))),
            cell("RSS", Cell::from("")),
            cell("CORE", Cell::from("")),
            cell("TASKS", Cell::from(done.to_string())),
            cell(
                "CURRENT",
                Cell::from(format!("{} busy", app.tasks.running.len())),
            ),
            cell("EXIT", Cell::from("")),
            cell("START", Cell::from("")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let style = if app.selection == Selection::AllWorkers {
            theme.selected()
        } else {
            theme.title()
        };
        rows.push(Row::new(cells).style(style));
    }
    for p in app.rows() {
        let ended = p.state.ended();
        let name_style = if ended {
            theme.dim()
        } else {
            theme.process(p.color)
        };
        let tasks = if p.role == Role::PoolWorker {
            p.tasks_done.to_string()
        } else {
            String::new()
        };
        let cells: Vec<Cell> = [
            cell("NAME", Cell::from(Span::styled(p.name.clone(), name_style))),
            cell(
                "PID",
                Cell::from(if p.pid > 0 {
                    p.pid.to_string()
                } else {
                    "-".into()
                }),
            ),
            cell("PPID", Cell::from(p.ppid.to_string())),
            cell(
                "STATE",
                Cell::from(Span::styled(p.state.label(), state_style(p, theme))),
            ),
            cell(
                "CPU%",
                Cell::from(p.cpu.map(|c| format!("{c:.0}")).unwrap_or_default()),
            ),
            cell(
                "RSS",
                Cell::from(
                    p.rss_kib
                        .map(|r| format!("{:.1}M", r as f64 / 1024.0))
                        .unwrap_or_default(),
                ),
            ),
            cell(
                "CORE",
                Cell::from(p.core.map(|c| c.to_string()).unwrap_or_default()),
            ),
            cell("TASKS", Cell::from(tasks)),
            cell("CURRENT", Cell::from(task_label(app, p.current))),
            cell(
                "EXIT",
                Cell::from(p.exitcode.map(|c| c.to_string()).unwrap_or_default()),
            ),
            cell(
                "START",
                Cell::from(
                    p.start_ms
                        .map(|ms| format!("{ms:.1}ms"))
                        .unwrap_or_default(),
                ),
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut row = Row::new(cells);
        if ended {
            row = row.style(theme.dim());
        }
        if app.selection == Selection::Proc(p.pid) {
            row = row.style(theme.selected());
        }
        rows.push(row);
    }
    let header_row = Row::new(names.clone()).style(theme.dim().add_modifier(Modifier::BOLD));
    let title = if w == Width::Narrow {
        format!("Processes ({})", app.rows().len())
    } else {
        format!("Processes ({}) · 100% CPU = one core", app.rows().len())
    };
    let widths: Vec<Constraint> = cols.iter().map(|c| c.1).collect();
    let table = Table::new(rows, widths)
        .header(header_row)
        .column_spacing(1)
        .block(block(title, theme, focused));
    f.render_widget(table, area);
}

fn wrap_items(items: &[Span<'static>], width: usize, max_lines: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut line: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for item in items {
        let w = item.content.chars().count() + 1;
        if used + w > width && !line.is_empty() {
            lines.push(Line::from(std::mem::take(&mut line)));
            used = 0;
            if lines.len() == max_lines {
                return lines;
            }
        }
        line.push(item.clone());
        line.push(Span::raw(" "));
        used += w;
    }
    if !line.is_empty() && lines.len() < max_lines {
        lines.push(Line::from(line));
    }
    lines
}

pub fn queue(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let b = block("Tasks".into(), theme, false);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let width = inner.width as usize;
    let t = &app.tasks;
    let (q, r) = if width < 36 {
        ("q", "run")
    } else {
        ("queued", "running")
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{q} {}", t.pending.len()), theme.warn()),
        Span::raw(" · "),
        Span::styled(format!("{r} {}", t.running.len()), theme.good()),
        Span::raw(format!(" · done {}/{}", t.done, t.total)),
        Span::styled(
            if t.lost > 0 {
                format!(" · lost {}", t.lost)
            } else {
                String::new()
            },
            theme.error(),
        ),
    ])];
    let next: Vec<Span<'static>> = t
        .pending
        .keys()
        .take(24)
        .filter_map(|k| {
            t.all
                .get(k)
                .map(|i| Span::styled(i.label.clone(), theme.dim()))
        })
        .collect();
    if !next.is_empty() {
        lines.push(Line::from(Span::styled("next:", theme.title())));
        lines.extend(wrap_items(&next, width, 2));
    }
    if !t.running.is_empty() {
        lines.push(Line::from(Span::styled("running:", theme.title())));
        for (pid, task) in t.running.iter().take(8) {
            let (name, color) = app
                .proc(*pid)
                .map_or((pid.to_string(), 0), |p| (p.name.clone(), p.color));
            lines.push(Line::from(vec![
                Span::raw(format!(" {} ", task_label(app, Some(*task)))),
                Span::styled(name, theme.process(color)),
            ]));
        }
    }
    if app.pools.is_empty() {
        let hint = if app.phase == Phase::Ready {
            "tasks appear here once a Pool gets work"
        } else {
            "no pool: each Process runs its own target"
        };
        lines.push(Line::from(Span::styled(hint, theme.dim())));
    }
    if let Some(call) = app.calls.last() {
        let order = if call.completion_order() {
            "as they finish"
        } else {
            "in order"
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} results", call.method.method()), theme.title()),
            Span::styled(
                format!(" {order} · chunksize {}", call.chunksize),
                theme.dim(),
            ),
        ]));
        let items: Vec<Span<'static>> = if call.completion_order() {
            call.order
                .iter()
                .filter_map(|i| call.results[*i].clone())
                .map(Span::raw)
                .collect()
        } else {
            call.results
                .iter()
                .map(|r| match r {
                    Some(v) => Span::raw(v.clone()),
                    None => Span::styled("·", theme.dim()),
                })
                .collect()
        };
        let room = (inner.height as usize).saturating_sub(lines.len()).max(1);
        lines.extend(wrap_items(&items, width, room));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The newest output as lines of coloured spans: each chunk keeps its writer's colour,
/// and a line written by two processes shows where the writer changed.
fn interleaved_lines(app: &App, theme: Theme, want: usize) -> Vec<Line<'static>> {
    let chunks = &app.output.chunks;
    let mut newlines = 0;
    let mut start = chunks.len();
    while start > 0 && newlines <= want {
        start -= 1;
        newlines += chunks[start].text.matches('\n').count();
    }
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut line_pid: Option<i32> = None;
    for chunk in chunks.iter().skip(start) {
        let style = theme.process(app.proc(chunk.pid).map_or(0, |p| p.color));
        let style = if chunk.stream == crate::engine::protocol::Stream::Stderr {
            style.add_modifier(Modifier::ITALIC)
        } else {
            style
        };
        for (i, piece) in chunk.text.split('\n').enumerate() {
            if i > 0 {
                lines.push(Line::from(std::mem::take(&mut current)));
                line_pid = None;
            }
            if piece.is_empty() {
                continue;
            }
            match line_pid {
                None => {
                    current.push(Span::styled(format!("{:>7} ", chunk.pid), style));
                    current.push(Span::styled("│", theme.dim()));
                }
                Some(pid) if pid != chunk.pid => current.push(Span::styled("¦", theme.dim())),
                _ => {}
            }
            line_pid = Some(chunk.pid);
            current.push(Span::styled(piece.to_string(), style));
        }
    }
    if !current.is_empty() {
        lines.push(Line::from(current));
    }
    lines
}

fn render_interleaved(app: &App, f: &mut Frame, area: Rect, theme: Theme, focused: bool) {
    let scroll = app.output_scroll;
    let title = if scroll > 0 {
        format!("Output · interleaved, as it arrived · {scroll} lines up (End: newest)")
    } else {
        "Output · interleaved, as it arrived".into()
    };
    let b = block(title, theme, focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = inner.height as usize;
    let lines = interleaved_lines(app, theme, height + scroll);
    let end = lines
        .len()
        .saturating_sub(scroll.min(lines.len().saturating_sub(height.min(lines.len()))));
    let begin = end.saturating_sub(height);
    f.render_widget(Paragraph::new(lines[begin..end].to_vec()), inner);
}

/// Which processes get their own pane: the selected one first, then the newest writers.
fn pane_pids(app: &App, max: usize) -> Vec<i32> {
    let mut pids: Vec<i32> = Vec::new();
    if let Selection::Proc(pid) = app.selection
        && app.output.per_proc.contains_key(&pid)
    {
        pids.push(pid);
    }
    for p in app.rows().iter().rev() {
        if pids.len() >= max {
            break;
        }
        if app.output.per_proc.contains_key(&p.pid) && !pids.contains(&p.pid) {
            pids.push(p.pid);
        }
    }
    let order: Vec<i32> = app.rows().iter().map(|p| p.pid).collect();
    pids.sort_by_key(|pid| order.iter().position(|o| o == pid));
    pids
}

fn render_per_process(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let cols = (area.width / 34).clamp(1, 4) as usize;
    let rows = (area.height / 5).clamp(1, 3) as usize;
    let pids = pane_pids(app, cols * rows);
    if pids.is_empty() {
        let b = block("Output · per process".into(), theme, false);
        let inner = b.inner(area);
        f.render_widget(b, area);
        f.render_widget(
            Paragraph::new(Span::styled("nothing printed yet", theme.dim())),
            inner,
        );
        return;
    }
    let cols = cols.min(pids.len());
    let rows = pids.len().div_ceil(cols);
    let row_areas = Layout::default()
        .direction(Direction::Vertical)
        .constraints(vec![Constraint::Ratio(1, rows as u32); rows])
        .split(area);
    for (r, row_area) in row_areas.iter().enumerate() {
        let in_row: Vec<i32> = pids.iter().copied().skip(r * cols).take(cols).collect();
        let col_areas = Layout::default()
            .direction(Direction::Horizontal)
            .constraints(vec![
                Constraint::Ratio(1, in_row.len().max(1) as u32);
                in_row.len()
            ])
            .split(*row_area);
        for (pid, pane) in in_row.iter().zip(col_areas.iter()) {
            let (name, color) = app
                .proc(*pid)
                .map_or(("?".to_string(), 0), |p| (p.name.clone(), p.color));
            let selected = app.selection == Selection::Proc(*pid);
            let b = Block::default()
                .borders(Borders::ALL)
                .border_style(if selected {
                    theme.border(true)
                } else {
                    theme.dim()
                })
                .title(Span::styled(
                    format!(" {name} {pid} "),
                    theme.process(color).add_modifier(Modifier::BOLD),
                ));
            let inner = b.inner(*pane);
            f.render_widget(b, *pane);
            let lines = app
                .output
                .per_proc
                .get(pid)
                .map(|l| l.iter().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            let lines: Vec<String> = match lines.last() {
                Some(last) if last.is_empty() => lines[..lines.len() - 1].to_vec(),
                _ => lines,
            };
            let skip = lines.len().saturating_sub(inner.height as usize);
            let text: Vec<Line> = lines[skip..]
                .iter()
                .map(|l| Line::styled(l.clone(), theme.process(color)))
                .collect();
            f.render_widget(Paragraph::new(text), inner);
        }
    }
}

/// Before the start, the output pane shows the program that is about to run.
fn render_program(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let b = block(
        format!(
            "The program · {} lines · s runs it, n steps",
            app.program.steps.len()
        ),
        theme,
        false,
    );
    let inner = b.inner(area);
    f.render_widget(b, area);
    let mut lines = Vec::new();
    for (i, step) in app.program.steps.iter().enumerate() {
        for (k, text) in step.python.lines().enumerate() {
            let number = if k == 0 {
                format!("{:>3} ", i + 1)
            } else {
                "    ".into()
            };
            lines.push(Line::from(vec![
                Span::styled(number, theme.dim()),
                Span::raw(text.to_string()),
            ]));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn output(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let focused = app.focus == Focus::Output;
    if app.phase == Phase::Ready && app.output.chunks.is_empty() {
        render_program(app, f, area, theme);
        return;
    }
    match app.output_mode {
        OutputMode::Interleaved => render_interleaved(app, f, area, theme, focused),
        OutputMode::PerProcess => render_per_process(app, f, area, theme),
        OutputMode::Both if area.height < 14 => render_interleaved(app, f, area, theme, focused),
        OutputMode::Both => {
            let parts = Layout::default()
                .direction(Direction::Vertical)
                .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
                .split(area);
            render_interleaved(app, f, parts[0], theme, focused);
            render_per_process(app, f, parts[1], theme);
        }
    }
}

pub fn events(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let b = block(
        "Events · Python calls and what they returned".into(),
        theme,
        false,
    );
    let inner = b.inner(area);
    f.render_widget(b, area);
    let h = inner.height as usize;
    let skip = app.log.len().saturating_sub(h);
    let lines: Vec<Line> = app
        .log
        .iter()
        .skip(skip)
        .map(|l| {
            let style = match l.kind {
                LogKind::Error => theme.error(),
                LogKind::Info => theme.dim(),
                LogKind::Call => Style::default(),
            };
            Line::from(vec![
                Span::styled(format!("{:>8.3} ", l.t), theme.dim()),
                Span::styled(l.text.clone(), style),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

/// The keys that do something right now.
pub fn footer_keys(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut keys = Vec::new();
    match app.phase {
        Phase::Ready => keys.extend([("s", "start"), ("n", "step"), ("+/-", "workers")]),
        Phase::Running => keys.extend([("space", "pause"), ("n", "step")]),
        Phase::Paused => keys.extend([("s", "continue"), ("n", "step")]),
        Phase::Finished | Phase::DriverGone => keys.push(("r", "run again")),
    }
    let live_target = match app.selection {
        Selection::AllWorkers => !app.live_workers().is_empty(),
        Selection::Proc(pid) => app
            .proc(pid)
            .is_some_and(|p| !p.state.ended() && p.role != Role::Main),
    };
    if live_target {
        keys.extend([
            ("t", "term"),
            ("k", "kill"),
            ("p", "pause/resume"),
            ("x", "signal…"),
        ]);
    }
    let pool_open = app.pool_index().map(|i| app.pools[i].state);
    if matches!(app.selected_proc().map(|p| p.role), Some(Role::Process)) || pool_open.is_some() {
        keys.push(("j", "join"));
    }
    if pool_open == Some(PoolStateName::Run) {
        keys.extend([("c", "close"), ("+/-", "workers")]);
    }
    if app.procs.iter().any(|p| p.state.ended()) {
        keys.push(("C", "clear exited"));
    }
    keys.extend([("v", "view"), ("L", "lessons")]);
    keys.extend([
        ("↑↓", "select"),
        ("tab", "pane"),
        ("o", "output"),
        ("?", "help"),
        ("q", "quit"),
    ]);
    keys
}

pub fn footer(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let keys = footer_keys(app);
    let width = |k: &str, w: &str| k.chars().count() + w.chars().count() + 3;
    let status_room = app
        .status
        .as_ref()
        .map_or(0, |s| s.chars().count().min(48) + 2);
    let tail: Vec<_> = keys
        .iter()
        .filter(|(k, _)| *k == "?" || *k == "q")
        .collect();
    let mut room = (area.width as usize).saturating_sub(1 + status_room);
    room = room.saturating_sub(tail.iter().map(|(k, w)| width(k, w)).sum());
    let mut shown = Vec::new();
    for item in keys.iter().filter(|(k, _)| *k != "?" && *k != "q") {
        let need = width(item.0, item.1);
        if need > room {
            break;
        }
        room -= need;
        shown.push(item);
    }
    shown.extend(tail);
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in shown {
        spans.push(Span::styled(*key, theme.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    if let Some(status) = &app.status {
        let short: String = status.chars().take(48).collect();
        spans.push(Span::styled(format!("│ {short}"), theme.warn()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub fn help(app: &App, f: &mut Frame, theme: Theme) {
    let full = Rect::new(0, 0, app.size.0, app.size.1);
    let rows: &[(&str, &str)] = &[
        ("s", "start the scenario (or continue it)"),
        ("n", "run the next line only (step)"),
        ("space", "pause / continue the scenario"),
        ("r", "run the scenario again from the start"),
        (
            "t",
            "terminate: SIGTERM the selected process; on 'all workers', pool.terminate()",
        ),
        ("k", "kill: SIGKILL the selected process (or every worker)"),
        (
            "p",
            "pause / resume the selected process (SIGSTOP / SIGCONT)",
        ),
        ("x", "pick any signal for the selection"),
        ("j", "join: process.join() on a Process, else pool.join()"),
        (
            "c",
            "pool.close(): no new tasks; workers exit when the queue is empty",
        ),
        (
            "+ / -",
            "one worker more / fewer (before start: the pool size to use)",
        ),
        (
            "↑ ↓",
            "select a process (the first row is every worker of the pool)",
        ),
        (
            "tab",
            "move focus between processes and output (↑↓ then scroll output)",
        ),
        (
            "PgUp PgDn End",
            "scroll the output; End jumps to the newest",
        ),
        (
            "o",
            "output: interleaved + per process / interleaved / per process",
        ),
        ("C", "clear the rows of processes that have exited"),
        (
            "v",
            "view: output / tasks / timeline / measured times / start methods",
        ),
        (
            "L",
            "pick a lesson: the assignment's questions step by step",
        ),
        ("e", "save this screen as an SVG file"),
        ("q", "quit: every worker is ended, the terminal restored"),
    ];
    let mut lines = vec![
        Line::from(Span::styled(app.title.clone(), theme.title())),
        Line::from(""),
    ];
    for l in app.about.lines().filter(|l| !l.trim().is_empty()) {
        lines.push(Line::from(Span::styled(l.to_string(), theme.dim())));
    }
    lines.push(Line::from(""));
    for (k, what) in rows {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:>14}  "), theme.key()),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "CPU: 100% means one core fully busy; a process can use at most 100%, the machine N x 100%.",
        theme.dim(),
    )));
    lines.push(Line::from(Span::styled(
        "any key closes this help",
        theme.dim(),
    )));
    let area = centered(full, 96, lines.len() as u16 + 2);
    f.render_widget(Clear, area);
    let b = block("Help".into(), theme, true);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(b),
        area,
    );
}

/// A centred menu: one row per entry (cells given as text and whether bold), the one
/// under the cursor in reverse video, and a hint line.
pub(super) struct Menu<'a> {
    pub title: String,
    pub rows: Vec<Vec<(String, bool)>>,
    pub cursor: usize,
    pub hint: &'a str,
    pub width: u16,
}

pub(super) fn menu(app: &App, f: &mut Frame, m: Menu, theme: Theme) {
    let full = Rect::new(0, 0, app.size.0, app.size.1);
    let mut lines: Vec<Line> = m
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, cells)| {
            let style = if i == m.cursor {
                theme.selected()
            } else {
                Style::default()
            };
            let spans = cells.into_iter().map(|(text, bold)| {
                Span::styled(
                    text,
                    if bold {
                        style.add_modifier(Modifier::BOLD)
                    } else {
                        style
                    },
                )
            });
            Line::from(spans.collect::<Vec<_>>())
        })
        .collect();
    lines.push(Line::from(Span::styled(
        format!(" {}", m.hint),
        theme.dim(),
    )));
    let area = centered(full, m.width, lines.len() as u16 + 2);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(block(m.title, theme, true)),
        area,
    );
}

pub fn signals(app: &App, f: &mut Frame, cursor: usize, theme: Theme) {
    let target = match app.selected_proc() {
        Some(p) => format!("{} (pid {})", p.name, p.pid),
        None => "every pool worker".into(),
    };
    let rows = SIGNALS
        .iter()
        .enumerate()
        .map(|(i, (_, name, what))| {
            vec![
                (format!(" {:>2} {name:<8} ", i + 1), true),
                (format!("{what} "), false),
            ]
        })
        .collect();
    let m = Menu {
        title: format!("Send a signal to {target}"),
        rows,
        cursor,
        hint: "↑↓ + Enter, or a number · Esc cancels",
        width: 56,
    };
    menu(app, f, m, theme);
}
