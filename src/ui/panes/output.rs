//! The output pane: the interleaved stream exactly as it arrived (each chunk in its
//! writer's colour, torn lines marked), one pane per process, or the program before it runs.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crate::app::{App, Focus, OutputMode, Phase, Selection};
use crate::engine::protocol::Stream;
use crate::ui::text::block;
use crate::ui::theme::Theme;

pub struct OutputPane<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

impl Widget for &OutputPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, theme) = (self.app, self.theme);
        if app.world.run.phase == Phase::Ready && app.world.output.chunks.is_empty() {
            Program { app, theme }.render(area, buf);
            return;
        }
        let focused = app.ui.focus == Focus::Output;
        let interleaved = Interleaved {
            app,
            theme,
            focused,
        };
        let per_process = PerProcess { app, theme };
        match app.ui.output_mode {
            OutputMode::Interleaved => interleaved.render(area, buf),
            OutputMode::PerProcess => per_process.render(area, buf),
            OutputMode::Both if area.height < 14 => interleaved.render(area, buf),
            OutputMode::Both => {
                let [top, bottom] =
                    Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)])
                        .areas(area);
                interleaved.render(top, buf);
                per_process.render(bottom, buf);
            }
        }
    }
}

/// Every chunk in arrival order.
struct Interleaved<'a> {
    app: &'a App,
    theme: Theme,
    focused: bool,
}

impl Interleaved<'_> {
    /// The newest output as lines of coloured spans: each chunk keeps its writer's colour,
    /// and a line written by two processes shows where the writer changed.
    fn lines(&self, want: usize) -> Vec<Line<'static>> {
        let (world, theme) = (&self.app.world, self.theme);
        let chunks = &world.output.chunks;
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
            let style = theme.process(world.proc(chunk.pid).map_or(0, |p| p.id.0));
            let style = if chunk.stream == Stream::Stderr {
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

    fn render(&self, area: Rect, buf: &mut Buffer) {
        let scroll = self.app.ui.output_scroll;
        let title = if scroll > 0 {
            format!("Output · interleaved, as it arrived · {scroll} lines up (End: newest)")
        } else {
            "Output · interleaved, as it arrived".into()
        };
        let b = block(&title, self.theme, self.focused);
        let inner = b.inner(area);
        b.render(area, buf);
        let height = inner.height as usize;
        let lines = self.lines(height + scroll);
        let end = lines
            .len()
            .saturating_sub(scroll.min(lines.len().saturating_sub(height.min(lines.len()))));
        let begin = end.saturating_sub(height);
        Paragraph::new(lines[begin..end].to_vec()).render(inner, buf);
    }
}

/// One small pane per process that printed.
struct PerProcess<'a> {
    app: &'a App,
    theme: Theme,
}

impl PerProcess<'_> {
    /// Which processes get their own pane: the selected one first, then the newest writers.
    fn pids(&self, max: usize) -> Vec<i32> {
        let world = &self.app.world;
        let printed = |pid: &i32| world.output.per_proc.contains_key(pid);
        let mut pids: Vec<i32> = Vec::new();
        if let Some(pid) = self.app.selected_proc().and_then(|p| p.pid)
            && printed(&pid)
        {
            pids.push(pid);
        }
        let rows: Vec<i32> = world.rows().filter_map(|p| p.pid).collect();
        for pid in rows.iter().rev() {
            if pids.len() >= max {
                break;
            }
            if printed(pid) && !pids.contains(pid) {
                pids.push(*pid);
            }
        }
        pids.sort_by_key(|pid| rows.iter().position(|o| o == pid));
        pids
    }

    fn pane(&self, pid: i32, area: Rect, buf: &mut Buffer) {
        let (app, theme) = (self.app, self.theme);
        let row = app.world.proc(pid);
        let (name, color) = row.map_or(("?".to_string(), 0), |p| (p.name.clone(), p.id.0));
        let selected = row.is_some_and(|p| app.ui.selection == Selection::Row(p.id));
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
        let inner = b.inner(area);
        b.render(area, buf);
        let lines: Vec<&String> = app
            .world
            .output
            .per_proc
            .get(&pid)
            .map(|l| l.iter().collect())
            .unwrap_or_default();
        // A final empty line is the newline just printed, not a line to show.
        let shown = match lines.last() {
            Some(last) if last.is_empty() => &lines[..lines.len() - 1],
            _ => &lines[..],
        };
        let skip = shown.len().saturating_sub(inner.height as usize);
        let text: Vec<Line> = shown[skip..]
            .iter()
            .map(|l| Line::styled((*l).clone(), theme.process(color)))
            .collect();
        Paragraph::new(text).render(inner, buf);
    }

    fn render(&self, area: Rect, buf: &mut Buffer) {
        let cols = (area.width / 34).clamp(1, 4) as usize;
        let rows = (area.height / 5).clamp(1, 3) as usize;
        let pids = self.pids(cols * rows);
        if pids.is_empty() {
            let b = block("Output · per process", self.theme, false);
            let inner = b.inner(area);
            b.render(area, buf);
            Paragraph::new(Span::styled("nothing printed yet", self.theme.dim()))
                .render(inner, buf);
            return;
        }
        let cols = cols.min(pids.len());
        let rows = pids.len().div_ceil(cols);
        let row_areas = Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows]).split(area);
        for (row_pids, row_area) in pids.chunks(cols).zip(row_areas.iter()) {
            let col_areas = Layout::horizontal(vec![
                Constraint::Ratio(1, row_pids.len() as u32);
                row_pids.len()
            ])
            .split(*row_area);
            for (pid, pane) in row_pids.iter().zip(col_areas.iter()) {
                self.pane(*pid, *pane, buf);
            }
        }
    }
}

/// Before the start, the output pane shows the program that is about to run.
struct Program<'a> {
    app: &'a App,
    theme: Theme,
}

impl Program<'_> {
    fn render(&self, area: Rect, buf: &mut Buffer) {
        let (steps, theme) = (&self.app.world.scenario.program.steps, self.theme);
        let title = format!("The program · {} lines · s runs it, n steps", steps.len());
        let b = block(&title, theme, false);
        let inner = b.inner(area);
        b.render(area, buf);
        let mut lines = Vec::new();
        for (i, step) in steps.iter().enumerate() {
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
        Paragraph::new(lines).render(inner, buf);
    }
}
