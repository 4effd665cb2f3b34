//! The tasks pane: how many are queued, running, done and lost, the next few, what each
//! worker runs, and the newest call's results filling in by position or completion.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::{App, CallInfo, Phase};
use crate::ui::text::{block, fit_name, wrap_items, wrap_text};
use crate::ui::theme::Theme;

use super::processes::task_label;

pub struct Tasks<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

impl Tasks<'_> {
    /// The counts on one line, or on two when one would cut them.
    fn counts(&self, width: usize) -> Vec<Line<'static>> {
        let (t, theme) = (&self.app.world.tasks, self.theme);
        let (q, r) = if width < 36 {
            ("q", "run")
        } else {
            ("queued", "running")
        };
        let lost = if t.lost > 0 {
            format!(" · lost {}", t.lost)
        } else {
            String::new()
        };
        let queue = vec![
            Span::styled(format!("{q} {}", self.app.world.queued()), theme.warn()),
            Span::raw(" · "),
            Span::styled(format!("{r} {}", t.running.len()), theme.good()),
        ];
        let done = format!("done {}/{}", t.done, t.total);
        let one_line = queue.iter().map(Span::width).sum::<usize>() + 3 + done.len() + lost.len();
        if one_line <= width {
            let mut spans = queue;
            spans.push(Span::raw(format!(" · {done}")));
            spans.push(Span::styled(lost, theme.error()));
            return vec![Line::from(spans)];
        }
        let lost = lost.trim_start_matches(" · ").to_string();
        let mut second = vec![Span::raw(done)];
        if !lost.is_empty() {
            second.push(Span::raw(" · "));
            second.push(Span::styled(lost, theme.error()));
        }
        vec![Line::from(queue), Line::from(second)]
    }

    fn next(&self, width: usize, lines: &mut Vec<Line<'static>>) {
        let theme = self.theme;
        let next: Vec<Span<'static>> = self
            .app
            .world
            .next_labels(24)
            .into_iter()
            .map(|label| Span::styled(label, theme.dim()))
            .collect();
        if !next.is_empty() {
            lines.push(Line::from(Span::styled("next:", theme.title())));
            lines.extend(wrap_items(&next, width, 2));
        }
    }

    fn running(&self, width: usize, lines: &mut Vec<Line<'static>>) {
        let (app, theme) = (self.app, self.theme);
        let running = &app.world.tasks.running;
        if running.is_empty() {
            return;
        }
        lines.push(Line::from(Span::styled("running:", theme.title())));
        let rows: Vec<(String, String, usize)> = running
            .iter()
            .take(8)
            .map(|(pid, task)| {
                let (name, color) = app
                    .world
                    .proc(*pid)
                    .map_or((pid.to_string(), 0), |p| (p.name.clone(), p.id.0));
                (format!(" {} ", task_label(app, Some(*task))), name, color)
            })
            .collect();
        // One room for every row, so the names are shortened alike.
        let longest = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let room = width.saturating_sub(longest).max(3);
        for (label, name, color) in rows {
            lines.push(Line::from(vec![
                Span::raw(label),
                Span::styled(fit_name(&name, room), theme.process(color)),
            ]));
        }
    }

    fn results(&self, call: &CallInfo, width: usize, room: usize) -> Vec<Line<'static>> {
        let theme = self.theme;
        let order = if call.completion_order() {
            "as they finish"
        } else {
            "in order"
        };
        let heading = Line::from(vec![
            Span::styled(format!("{} results", call.method.method()), theme.title()),
            Span::styled(
                format!(
                    " {order} · chunksize {}{}",
                    call.chunksize,
                    shown_part(call)
                ),
                theme.dim(),
            ),
        ]);
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
        let mut lines = vec![heading];
        lines.extend(wrap_items(&items, width, room.saturating_sub(1).max(1)));
        lines
    }
}

/// A summarised call shows only its first results.
fn shown_part(call: &CallInfo) -> String {
    if call.summary.is_some() && call.len > call.results.len() {
        format!(" · first {} of {}", call.results.len(), call.len)
    } else {
        String::new()
    }
}

impl Widget for &Tasks<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (world, theme) = (&self.app.world, self.theme);
        let b = block("Tasks", theme, false);
        let inner = b.inner(area);
        b.render(area, buf);
        let width = inner.width as usize;
        let mut lines = self.counts(width);
        self.next(width, &mut lines);
        self.running(width, &mut lines);
        if world.pools.is_empty() {
            let hint = if world.run.phase == Phase::Ready {
                "tasks appear here once a Pool gets work"
            } else {
                "no pool: each Process runs its own target"
            };
            for line in wrap_text(hint, width) {
                lines.push(Line::from(Span::styled(line, theme.dim())));
            }
        }
        if let Some(call) = world.calls.last() {
            let room = (inner.height as usize).saturating_sub(lines.len());
            lines.extend(self.results(call, width, room));
        }
        Paragraph::new(lines).render(inner, buf);
    }
}
