//! Small drawing helpers every pane uses: a titled block, a clock, word wrapping, and
//! centring an overlay.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use super::theme::Theme;

/// A bordered pane with its title in bold.
pub fn block(title: &str, theme: Theme, focused: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(format!(" {title} "), theme.title()))
}

/// `mm:ss.s`, as a stopwatch shows elapsed time.
pub fn clock(secs: f64) -> String {
    let total = secs.max(0.0);
    let m = (total / 60.0).floor() as u64;
    format!("{m:02}:{:04.1}", total - (m * 60) as f64)
}

/// Paragraphs (split at blank lines) wrapped at word boundaries to `width` columns.
pub fn wrap_text(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split("\n\n") {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + word.chars().count() + 1 > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// Items laid out left to right, a space apart, over at most `max_lines` lines.
pub fn wrap_items(items: &[Span<'static>], width: usize, max_lines: usize) -> Vec<Line<'static>> {
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

/// A `width` x `height` rectangle in the middle of `area` (shrunk to fit).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_words() {
        assert_eq!(
            wrap_text("one two three four", 9),
            vec!["one two", "three", "four"]
        );
    }

    #[test]
    fn clock_reads_minutes_and_seconds() {
        assert_eq!(clock(61.25), "01:01.2");
        assert_eq!(clock(-1.0), "00:00.0");
    }
}
