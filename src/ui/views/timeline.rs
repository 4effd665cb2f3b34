//! The timeline: one lane per pool worker, time flowing left to right, each task a span in
//! its call's colour (alternating shades mark where one task ends and the next begins).

use std::collections::HashMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::{App, ProcRow, TaskSpan};
use crate::engine::protocol::Role;
use crate::ui::text::block;
use crate::ui::theme::Theme;

/// Columns for a worker's name at the start of its lane.
const LABEL: usize = 18;

pub struct Timeline<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

/// The stretch of time the lanes show, cut into one slice per column.
struct Scale {
    t0: f64,
    t1: f64,
    cols: usize,
}

impl Scale {
    fn slice(&self, col: usize) -> (f64, f64) {
        let dt = (self.t1 - self.t0) / self.cols as f64;
        (self.t0 + col as f64 * dt, self.t0 + (col + 1) as f64 * dt)
    }
}

impl Timeline<'_> {
    fn scale(&self, width: u16) -> Scale {
        let (spans, now) = (&self.app.world.tasks.spans, self.app.world.run.now);
        let t0 = spans.iter().map(|s| s.start).fold(f64::INFINITY, f64::min);
        let ended = spans.iter().filter_map(|s| s.end).fold(t0, f64::max);
        Scale {
            t0,
            t1: now.max(ended).max(t0 + 1e-3),
            cols: (width as usize).saturating_sub(LABEL).max(4),
        }
    }

    fn lane(&self, worker: &ProcRow, mine: &[&TaskSpan], scale: &Scale) -> Line<'static> {
        let (theme, now) = (self.theme, self.app.world.run.now);
        let name: String = worker.name.chars().take(LABEL - 1).collect();
        let mut spans = vec![Span::styled(
            format!("{name:<LABEL$}"),
            theme.process(worker.id.0),
        )];
        for col in 0..scale.cols {
            let (a, z) = scale.slice(col);
            let hit = mine
                .iter()
                .find(|s| s.start < z && s.end.unwrap_or(now) >= a);
            spans.push(match hit {
                Some(s) if !s.ok => Span::styled("✗", theme.error()),
                Some(s) => Span::styled(
                    if s.task % 2 == 0 { "█" } else { "▓" },
                    theme.process(s.call as usize + 1),
                ),
                None => Span::styled("·", theme.dim()),
            });
        }
        Line::from(spans)
    }
}

impl Widget for &Timeline<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (world, theme) = (&self.app.world, self.theme);
        let b = block("Timeline · one lane per worker · v next view", theme, false);
        let inner = b.inner(area);
        b.render(area, buf);
        let workers: Vec<&ProcRow> = world
            .procs
            .iter()
            .filter(|p| p.role == Role::PoolWorker)
            .collect();
        if workers.is_empty() || world.tasks.spans.is_empty() {
            let hint = Span::styled("tasks of a pool appear here as they run", theme.dim());
            Paragraph::new(hint).render(inner, buf);
            return;
        }
        let scale = self.scale(inner.width);
        let mut by_pid: HashMap<i32, Vec<&TaskSpan>> = HashMap::new();
        for s in &world.tasks.spans {
            by_pid.entry(s.pid).or_default().push(s);
        }
        let room = (inner.height as usize).saturating_sub(1);
        let skip = workers.len().saturating_sub(room);
        let mut lines: Vec<Line> = workers
            .iter()
            .skip(skip)
            .map(|w| {
                let mine = w.pid.and_then(|pid| by_pid.get(&pid));
                self.lane(w, mine.map_or(&[], Vec::as_slice), &scale)
            })
            .collect();
        let axis = format!(
            "{:<LABEL$}0s{:>width$}",
            "",
            format!("{:.2}s", scale.t1 - scale.t0),
            width = scale.cols.saturating_sub(2)
        );
        lines.push(Line::from(Span::styled(axis, theme.dim())));
        Paragraph::new(lines).render(inner, buf);
    }
}
