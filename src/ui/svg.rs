//! Exports a drawn frame, read cell by cell from ratatui's buffer, as an SVG image with
//! its colours, so screenshots come from the real renderer.

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const CELL_W: f32 = 8.4;
const CELL_H: f32 = 17.0;
const BG: &str = "#1b1d21";
const FG: &str = "#d6d6d6";

/// xterm's 256-colour palette.
fn indexed(n: u8) -> String {
    const BASE: [&str; 16] = [
        "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
        "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
    ];
    match n {
        0..=15 => BASE[n as usize].to_string(),
        16..=231 => {
            let i = n - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            format!(
                "#{:02x}{:02x}{:02x}",
                level(i / 36),
                level((i / 6) % 6),
                level(i % 6)
            )
        }
        _ => {
            let v = 8 + (n - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    }
}

fn color(c: Color, default: &str) -> String {
    match c {
        Color::Reset => default.to_string(),
        Color::Black => indexed(0),
        Color::Red => indexed(1),
        Color::Green => indexed(2),
        Color::Yellow => indexed(3),
        Color::Blue => indexed(4),
        Color::Magenta => indexed(5),
        Color::Cyan => indexed(6),
        Color::Gray => indexed(7),
        Color::DarkGray => indexed(8),
        Color::LightRed => indexed(9),
        Color::LightGreen => indexed(10),
        Color::LightYellow => indexed(11),
        Color::LightBlue => indexed(12),
        Color::LightMagenta => indexed(13),
        Color::LightCyan => indexed(14),
        Color::White => indexed(15),
        Color::Indexed(n) => indexed(n),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A run of cells on one row that share a style.
struct Run {
    x: u16,
    text: String,
    fg: String,
    bg: String,
    bold: bool,
    dim: bool,
    italic: bool,
}

fn runs(buf: &Buffer, y: u16) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for x in 0..buf.area.width {
        let cell = &buf[(buf.area.x + x, buf.area.y + y)];
        if cell.diff_option == ratatui::buffer::CellDiffOption::Skip {
            continue;
        }
        let reversed = cell.modifier.contains(Modifier::REVERSED);
        let (mut fg, mut bg) = (color(cell.fg, FG), color(cell.bg, BG));
        if reversed {
            std::mem::swap(&mut fg, &mut bg);
        }
        let bold = cell.modifier.contains(Modifier::BOLD);
        let dim = cell.modifier.contains(Modifier::DIM);
        let italic = cell.modifier.contains(Modifier::ITALIC);
        match out.last_mut() {
            Some(r)
                if r.fg == fg
                    && r.bg == bg
                    && r.bold == bold
                    && r.dim == dim
                    && r.italic == italic =>
            {
                r.text.push_str(cell.symbol());
            }
            _ => out.push(Run {
                x,
                text: cell.symbol().to_string(),
                fg,
                bg,
                bold,
                dim,
                italic,
            }),
        }
    }
    out
}

pub fn to_svg(buf: &Buffer) -> String {
    let w = f32::from(buf.area.width) * CELL_W;
    let h = f32::from(buf.area.height) * CELL_H;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.1} {h:.1}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="{BG}"/>"#);
    for y in 0..buf.area.height {
        let top = f32::from(y) * CELL_H;
        for r in runs(buf, y) {
            let width = r.text.chars().count() as f32 * CELL_W;
            if r.bg != BG {
                let _ = writeln!(
                    s,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{width:.1}" height="{CELL_H}" fill="{}"/>"#,
                    f32::from(r.x) * CELL_W,
                    r.bg
                );
            }
            if r.text.trim().is_empty() {
                continue;
            }
            let mut attrs = format!(r#"fill="{}""#, r.fg);
            if r.bold {
                attrs.push_str(r#" font-weight="bold""#);
            }
            if r.dim {
                attrs.push_str(r#" opacity="0.6""#);
            }
            if r.italic {
                attrs.push_str(r#" font-style="italic""#);
            }
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" textLength="{width:.1}" lengthAdjust="spacingAndGlyphs" xml:space="preserve" {attrs}>{}</text>"#,
                f32::from(r.x) * CELL_W,
                top + CELL_H * 0.78,
                escape(&r.text)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn cells_become_coloured_text() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 2));
        buf.set_string(0, 0, "a<b", Style::default().fg(Color::Indexed(33)));
        buf.set_string(
            0,
            1,
            "ok",
            Style::default().add_modifier(Modifier::REVERSED),
        );
        let svg = to_svg(&buf);
        assert!(svg.contains(">a&lt;b</text>"), "{svg}");
        assert!(svg.contains(&format!(r#"fill="{}""#, indexed(33))));
        assert!(
            svg.contains(&format!(r#"fill="{FG}""#)),
            "reversed text gets a background"
        );
        assert_eq!(indexed(196), "#ff0000");
        assert_eq!(indexed(244), "#808080");
    }
}
