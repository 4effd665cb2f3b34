//! The footer: the keys that do something right now (from the key table), and what the
//! last key did.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::{App, keys};
use crate::ui::theme::Theme;

/// The longest status shown.
const STATUS_CHARS: usize = 48;

pub struct Footer<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

fn width(key: &str, word: &str) -> usize {
    key.chars().count() + word.chars().count() + 3
}

impl Widget for &Footer<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, theme) = (self.app, self.theme);
        let keys = keys::footer(app);
        let status = app.ui.status.as_ref();
        let status_room = status.map_or(0, |s| s.chars().count().min(STATUS_CHARS) + 2);
        // Choosing and zooming a pane, help and quit are always shown (a zoomed screen
        // must say how to get back); the others as long as there is room.
        let always = |k: &str| matches!(k, "tab" | "z" | "?" | "q");
        let tail: Vec<_> = keys.iter().filter(|(k, _)| always(k)).collect();
        let mut room = (area.width as usize).saturating_sub(1 + status_room);
        room = room.saturating_sub(tail.iter().map(|(k, w)| width(k, w)).sum());
        let mut shown = Vec::new();
        for item in keys.iter().filter(|(k, _)| !always(k)) {
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
        if let Some(status) = status {
            let short: String = status.chars().take(STATUS_CHARS).collect();
            spans.push(Span::styled(format!("│ {short}"), theme.warn()));
        }
        Paragraph::new(Line::from(spans)).render(area, buf);
    }
}
