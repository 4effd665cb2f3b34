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

/// A filled rectangle in one row, in eighths of a cell from the row's left edge and
/// the cell's top, so pieces from neighbouring cells can be joined exactly.
struct Piece {
    x0: u32,
    x1: u32,
    y0: u8,
    y1: u8,
    /// Opacity in quarters: 4 is solid, less is one of the shades.
    quarters: u8,
}

/// Quadrants of a cell, as bits, for the quadrant block characters.
const UL: u8 = 1;
const UR: u8 = 2;
const LL: u8 = 4;
const LR: u8 = 8;

/// The rectangles, in eighths of the cell as `[x0, y0, x1, y1]`, that draw a block
/// element, and their opacity in quarters; `None` for any other character. Fonts draw
/// these glyphs at their own size, so as text they leave gaps or overflow the cell.
fn block(c: char) -> Option<(Vec<[u8; 4]>, u8)> {
    let solid = |rects: Vec<[u8; 4]>| Some((rects, 4));
    // Offset inside the block range; each arm below only sees its own codepoints.
    let n = u8::try_from(u32::from(c).checked_sub(0x2580)?).ok()?;
    match c {
        '\u{2580}' => solid(vec![[0, 0, 8, 4]]),
        // Lower one to eight eighths, then left seven eighths down to one.
        '\u{2581}'..='\u{2588}' => solid(vec![[0, 8 - n, 8, 8]]),
        '\u{2589}'..='\u{258f}' => solid(vec![[0, 0, 0x10 - n, 8]]),
        '\u{2590}' => solid(vec![[4, 0, 8, 8]]),
        // Light, medium and dark shade: one, two and three quarters.
        '\u{2591}'..='\u{2593}' => Some((vec![[0, 0, 8, 8]], n - 0x10)),
        '\u{2594}' => solid(vec![[0, 0, 8, 1]]),
        '\u{2595}' => solid(vec![[7, 0, 8, 8]]),
        '\u{2596}'..='\u{259f}' => {
            const MASKS: [u8; 10] = [
                LL,
                LR,
                UL,
                UL | LL | LR,
                UL | LR,
                UL | UR | LL,
                UL | UR | LR,
                UR,
                UR | LL,
                UR | LL | LR,
            ];
            let mask = MASKS[usize::from(n - 0x16)];
            let quads = [
                (UL, [0, 0, 4, 4]),
                (UR, [4, 0, 8, 4]),
                (LL, [0, 4, 4, 8]),
                (LR, [4, 4, 8, 8]),
            ];
            solid(
                quads
                    .iter()
                    .filter(|(bit, _)| mask & bit != 0)
                    .map(|(_, rect)| *rect)
                    .collect(),
            )
        }
        _ => None,
    }
}

/// The dot bits of a braille character, `None` for any other character.
fn braille(c: char) -> Option<u8> {
    u8::try_from(u32::from(c).checked_sub(0x2800)?).ok()
}

/// Where each braille bit's dot sits, as (column, row) of the 2x4 grid: dots 1, 2, 3
/// and 7 go down the left column, 4, 5, 6 and 8 down the right one.
const BRAILLE_DOTS: [(u8, u8); 8] = [
    (0, 0),
    (0, 1),
    (0, 2),
    (1, 0),
    (1, 1),
    (1, 2),
    (0, 3),
    (1, 3),
];

/// How a run of cells is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Text,
    /// Block elements and braille, drawn as rectangles and dots.
    Shapes,
}

/// Whether a cell is drawn as shapes rather than text.
fn is_shape(symbol: &str) -> bool {
    let mut chars = symbol.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => block(c).is_some() || braille(c).is_some(),
        _ => false,
    }
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
    /// Shapes are never mixed with text in one run.
    kind: Kind,
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
        let kind = if is_shape(cell.symbol()) {
            Kind::Shapes
        } else {
            Kind::Text
        };
        // Shapes are placed by their index in the run, so a shape run may not skip a cell.
        let follows = |r: &Run| {
            kind == Kind::Text || usize::from(r.x) + r.text.chars().count() == usize::from(x)
        };
        match out.last_mut() {
            Some(r)
                if r.fg == fg
                    && r.bg == bg
                    && r.bold == bold
                    && r.dim == dim
                    && r.italic == italic
                    && r.kind == kind
                    && follows(r) =>
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
                kind,
            }),
        }
    }
    out
}

/// The pieces of a run of block elements, with pieces that continue each other across
/// cells joined, so a bar is one rectangle and shows no seams between its cells.
fn pieces(r: &Run) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for (c, cell) in r.text.chars().zip(u32::from(r.x)..) {
        let Some((rects, quarters)) = block(c) else {
            continue;
        };
        for [x0, y0, x1, y1] in rects {
            let piece = Piece {
                x0: cell * 8 + u32::from(x0),
                x1: cell * 8 + u32::from(x1),
                y0,
                y1,
                quarters,
            };
            let joins = |p: &&mut Piece| {
                p.x1 == piece.x0 && p.y0 == y0 && p.y1 == y1 && p.quarters == quarters
            };
            match out.iter_mut().rev().find(joins) {
                Some(p) => p.x1 = piece.x1,
                None => out.push(piece),
            }
        }
    }
    out
}

/// Draws a run of block elements and braille as rectangles and dots in the run's
/// foreground colour, scaled to the cell, so every renderer shows the same picture.
fn write_shapes(s: &mut String, r: &Run, top: f32) {
    let mut rects = String::new();
    let (ew, eh) = (CELL_W / 8.0, CELL_H / 8.0);
    for p in pieces(r) {
        let _ = write!(
            rects,
            r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}""#,
            p.x0 as f32 * ew,
            top + f32::from(p.y0) * eh,
            (p.x1 - p.x0) as f32 * ew,
            f32::from(p.y1 - p.y0) * eh
        );
        if p.quarters < 4 {
            let _ = write!(rects, r#" fill-opacity="{}""#, f32::from(p.quarters) / 4.0);
        }
        rects.push_str("/>");
    }
    let mut body = String::new();
    if !rects.is_empty() {
        // Crisp edges keep neighbouring bars of different heights from showing a faint
        // anti-aliased seam where they meet.
        let _ = write!(body, r#"<g shape-rendering="crispEdges">{rects}</g>"#);
    }
    let radius = CELL_W / 6.0;
    for (c, cell) in r.text.chars().zip(r.x..) {
        let Some(bits) = braille(c) else { continue };
        for (bit, (col, row)) in BRAILLE_DOTS.iter().enumerate() {
            if bits & (1 << bit) != 0 {
                let _ = write!(
                    body,
                    r#"<circle cx="{:.2}" cy="{:.2}" r="{radius:.2}"/>"#,
                    (f32::from(cell) + (f32::from(*col) * 2.0 + 1.0) / 4.0) * CELL_W,
                    top + (f32::from(*row) * 2.0 + 1.0) / 8.0 * CELL_H
                );
            }
        }
    }
    if body.is_empty() {
        return;
    }
    let dim = if r.dim { r#" opacity="0.6""# } else { "" };
    let _ = writeln!(s, r#"<g fill="{}"{dim}>{body}</g>"#, r.fg);
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
            if r.kind == Kind::Shapes {
                write_shapes(&mut s, &r, top);
                continue;
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

    /// The SVG of one row holding `text` in xterm colour 33.
    fn row(text: &str) -> String {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 1));
        buf.set_string(0, 0, text, Style::default().fg(Color::Indexed(33)));
        to_svg(&buf)
    }

    /// The opening of a `<rect>` at these coordinates, as `write_shapes` writes it.
    fn rect(x: f32, y: f32, w: f32, h: f32) -> String {
        format!(r#"<rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}""#)
    }

    #[test]
    fn full_block_is_a_rect_covering_the_cell_in_its_colour() {
        let svg = row(" █");
        assert!(svg.contains(&rect(CELL_W, 0.0, CELL_W, CELL_H)), "{svg}");
        assert!(
            svg.contains(&format!(r#"<g fill="{}""#, indexed(33))),
            "{svg}"
        );
        assert!(!svg.contains('█'), "no block glyph as text: {svg}");
        assert!(
            !svg.contains("<text"),
            "a space and a block write no text: {svg}"
        );
    }

    #[test]
    fn lower_half_is_the_bottom_half_of_the_cell() {
        let svg = row("▄");
        let half = CELL_H / 2.0;
        assert!(svg.contains(&rect(0.0, half, CELL_W, half)), "{svg}");
    }

    #[test]
    fn eighths_and_quadrants_scale_to_the_cell() {
        let svg = row("▁▏▕▔▐▚");
        let (ew, eh) = (CELL_W / 8.0, CELL_H / 8.0);
        assert!(svg.contains(&rect(0.0, 7.0 * eh, CELL_W, eh)), "▁ {svg}");
        assert!(svg.contains(&rect(CELL_W, 0.0, ew, CELL_H)), "▏ {svg}");
        assert!(
            svg.contains(&rect(3.0 * CELL_W - ew, 0.0, ew, CELL_H)),
            "▕ {svg}"
        );
        assert!(
            svg.contains(&rect(3.0 * CELL_W, 0.0, CELL_W, eh)),
            "▔ {svg}"
        );
        assert!(
            svg.contains(&rect(4.5 * CELL_W, 0.0, CELL_W / 2.0, CELL_H)),
            "▐ {svg}"
        );
        let (qw, qh) = (CELL_W / 2.0, CELL_H / 2.0);
        assert!(
            svg.contains(&rect(5.0 * CELL_W, 0.0, qw, qh)),
            "▚ upper left {svg}"
        );
        assert!(
            svg.contains(&rect(5.5 * CELL_W, qh, qw, qh)),
            "▚ lower right {svg}"
        );
    }

    #[test]
    fn a_bar_of_blocks_is_one_rect_and_a_sparkline_one_per_height() {
        let svg = row("███▁▄█");
        assert!(svg.contains(&rect(0.0, 0.0, 3.0 * CELL_W, CELL_H)), "{svg}");
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 4,
            "background, bar, 3 sparks: {svg}"
        );
    }

    #[test]
    fn shades_are_the_cell_at_reduced_opacity() {
        let svg = row("░▒▓");
        for opacity in ["0.25", "0.5", "0.75"] {
            assert!(
                svg.contains(&format!(r#"fill-opacity="{opacity}""#)),
                "{svg}"
            );
        }
        assert!(svg.contains(&rect(0.0, 0.0, CELL_W, CELL_H)), "{svg}");
    }

    #[test]
    fn braille_dots_are_circles_in_a_two_by_four_grid() {
        assert_eq!(row("⣿").matches("<circle").count(), 8);
        let svg = row("⠁");
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        let top_left = format!(r#"cx="{:.2}" cy="{:.2}""#, CELL_W / 4.0, CELL_H / 8.0);
        assert!(svg.contains(&top_left), "dot 1 is top left: {svg}");
        // Dot 8, bit 0x80, is bottom right.
        let bottom_right = format!(
            r#"cx="{:.2}" cy="{:.2}""#,
            CELL_W * 0.75,
            CELL_H * 7.0 / 8.0
        );
        assert!(row("⢀").contains(&bottom_right));
        let blank = row("⠀");
        assert!(
            !blank.contains("<circle") && !blank.contains("<text"),
            "{blank}"
        );
    }

    #[test]
    fn text_around_shapes_stays_text() {
        let svg = row("ab█⠁cd");
        assert!(svg.contains(">ab</text>"), "{svg}");
        assert!(svg.contains(">cd</text>"), "{svg}");
        assert!(!svg.contains('█') && !svg.contains('⠁'), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 1);
    }

    #[test]
    fn every_block_element_draws_inside_its_cell() {
        for c in '\u{2580}'..='\u{259f}' {
            let Some((rects, quarters)) = block(c) else {
                panic!("{c} is not drawn");
            };
            assert!(!rects.is_empty() && (1..=4).contains(&quarters), "{c}");
            for [x0, y0, x1, y1] in rects {
                assert!(x0 < x1 && x1 <= 8 && y0 < y1 && y1 <= 8, "{c}");
            }
        }
        assert!(block('\u{257f}').is_none() && block('\u{25a0}').is_none());
        assert!(braille('\u{27ff}').is_none() && braille('\u{2900}').is_none());
        assert!(!is_shape("a") && !is_shape("█a"));
    }
}
