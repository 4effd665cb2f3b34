//! The lesson picker (`L`): every built-in lesson with its question and title.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::ui::theme::Theme;

use super::menu::Menu;

pub struct LessonPicker {
    pub cursor: usize,
    pub theme: Theme,
}

impl Widget for &LessonPicker {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let rows = crate::scenario::lessons()
            .into_iter()
            .map(|(name, question, title)| {
                vec![
                    (format!(" {question:<3} "), true),
                    (format!("{name:<24} "), false),
                    (format!("{title} "), false),
                ]
            })
            .collect();
        Menu {
            title: "Lessons".into(),
            rows,
            cursor: self.cursor,
            hint: "↑↓ + Enter opens a lesson · Esc cancels",
            width: 100,
            theme: self.theme,
        }
        .render(area, buf);
    }
}
