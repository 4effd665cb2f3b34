//! A centred menu: one row per entry, the one under the cursor in reverse video, and a
//! hint line below.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use crate::ui::text::{block, centered};
use crate::ui::theme::Theme;

pub struct Menu<'a> {
    pub title: String,
    /// Each row's cells: text, and whether it is bold.
    pub rows: Vec<Vec<(String, bool)>>,
    pub cursor: usize,
    pub hint: &'a str,
    pub width: u16,
    pub theme: Theme,
}

impl Widget for Menu<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme;
        let mut lines: Vec<Line> = self
            .rows
            .into_iter()
            .enumerate()
            .map(|(i, cells)| {
                let style = if i == self.cursor {
                    theme.selected()
                } else {
                    Style::default()
                };
                let spans = cells.into_iter().map(|(text, bold)| {
                    let style = if bold {
                        style.add_modifier(Modifier::BOLD)
                    } else {
                        style
                    };
                    Span::styled(text, style)
                });
                Line::from(spans.collect::<Vec<_>>())
            })
            .collect();
        lines.push(Line::from(Span::styled(
            format!(" {}", self.hint),
            theme.dim(),
        )));
        let window = centered(area, self.width, lines.len() as u16 + 2);
        Clear.render(window, buf);
        Paragraph::new(lines)
            .block(block(&self.title, theme, true))
            .render(window, buf);
    }
}
