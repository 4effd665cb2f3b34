//! The event log: each Python call and what it returned, exits, pool states, lost tasks.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::{App, LogKind};
use crate::ui::text::block;
use crate::ui::theme::Theme;

pub struct Events<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

impl Widget for &Events<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme;
        let b = block("Events · Python calls and what they returned", theme, false);
        let inner = b.inner(area);
        b.render(area, buf);
        let log = &self.app.world.log;
        let skip = log.len().saturating_sub(inner.height as usize);
        let lines: Vec<Line> = log
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
        Paragraph::new(lines).render(inner, buf);
    }
}
