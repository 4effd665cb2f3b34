//! The help (`?`): the scenario's title and story, then every key from the key table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use crate::app::{App, keys};
use crate::ui::text::{block, centered};
use crate::ui::theme::Theme;

pub struct Help<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

impl Widget for &Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (scenario, theme) = (&self.app.world.scenario, self.theme);
        let mut lines = vec![
            Line::from(Span::styled(scenario.title.clone(), theme.title())),
            Line::from(""),
        ];
        for l in scenario.about.lines().filter(|l| !l.trim().is_empty()) {
            lines.push(Line::from(Span::styled(l.to_string(), theme.dim())));
        }
        lines.push(Line::from(""));
        for b in keys::BINDINGS {
            lines.push(Line::from(vec![
                Span::styled(format!("{:>14}  ", b.label), theme.key()),
                Span::raw(b.help),
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
        let window = centered(area, 96, lines.len() as u16 + 2);
        Clear.render(window, buf);
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block("Help", theme, true))
            .render(window, buf);
    }
}
