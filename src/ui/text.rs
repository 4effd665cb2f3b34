//! Small drawing helpers every pane uses: a titled block, a clock, word wrapping, and
//! centring an overlay.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::theme::Theme;

/// A bordered pane with its title in bold.
pub fn block(title: &str, theme: Theme, focused: bool) -> Block<'static> {
    let kind = if theme.heavy_borders() {
        BorderType::Thick
    } else {
        BorderType::Plain
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(kind)
        .border_style(theme.border(focused))
        .title(Span::styled(format!(" {title} "), theme.title()))
}

/// A process name in `room` cells: whole when it fits, else a pool worker without its
/// start method (`PoolWorker-3`), then as `W3` (`P2` for `Process-2`), else cut with `…`.
pub fn fit_name(name: &str, room: usize) -> String {
    if name.chars().count() <= room {
        return name.to_string();
    }
    let number = name
        .rsplit_once('-')
        .map(|(_, n)| n)
        .filter(|n| n.parse::<u32>().is_ok());
    let shorter = match number {
        Some(n) if name.contains("PoolWorker-") => [format!("PoolWorker-{n}"), format!("W{n}")],
        Some(n) if name.starts_with("Process-") => [format!("Proc-{n}"), format!("P{n}")],
        _ => [String::new(), String::new()],
    };
    if let Some(short) = shorter
        .into_iter()
        .find(|s| !s.is_empty() && s.chars().count() <= room)
    {
        return short;
    }
    let mut cut: String = name.chars().take(room.saturating_sub(1)).collect();
    cut.push('…');
    cut
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
    fn names_shorten_to_what_fits() {
        assert_eq!(fit_name("ForkPoolWorker-3", 16), "ForkPoolWorker-3");
        assert_eq!(fit_name("ForkServerPoolWorker-12", 16), "PoolWorker-12");
        assert_eq!(fit_name("ForkServerPoolWorker-12", 8), "W12");
        assert_eq!(fit_name("Process-2", 4), "P2");
        assert_eq!(fit_name("resource_tracker", 8), "resourc…");
    }

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
