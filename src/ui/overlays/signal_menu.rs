//! The signal menu (`x`): every signal worth sending to the selection, with what it does.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::app::{App, SIGNALS};
use crate::ui::theme::Theme;

use super::menu::Menu;

pub struct SignalMenu<'a> {
    pub app: &'a App,
    pub cursor: usize,
    pub theme: Theme,
}

impl Widget for &SignalMenu<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let target = match self.app.selected_proc() {
            Some(p) => match p.pid {
                Some(pid) => format!("{} (pid {pid})", p.name),
                None => p.name.clone(),
            },
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
        Menu {
            title: format!("Send a signal to {target}"),
            rows,
            cursor: self.cursor,
            hint: "↑↓ + Enter, or a number · Esc cancels",
            width: 56,
            theme: self.theme,
        }
        .render(area, buf);
    }
}
