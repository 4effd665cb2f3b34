//! Terminal input bytes to keys and mouse reports: escape sequences are bounded, restarted
//! by ESC and given back as keys when they turn out malformed or stall, so none wedges input.

// Why our own parser and not crossterm's `event::read`: crossterm's unix parser
// (`src/event/sys/unix/parse.rs`, 0.29 and its master) answers "incomplete, wait for more"
// for `ESC [ <` until a byte `m` or `M` arrives (`parse_csi_sgr_mouse`) and for `ESC [ ?`
// until a `u` or `c` arrives (the `b'?'` arm of `parse_csi`); its reader
// (`src/event/source/unix/mio.rs`, `Parser::advance`) then appends every later byte, ESC
// and Ctrl-C included, to that buffer, with no bound and no timeout, and the parser is
// private. Alt+`[` sends exactly ESC `[`, so Alt+`[` then `<` or `?` deafened the dashboard
// (crossterm issue #1104, open). Here, as ECMA-48 says and tcell and Textual do, ESC
// restarts a sequence; a control byte, or a length no real sequence reaches, ends it; and
// the reader gives a stalled one back as keys.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

const ESC: u8 = 0x1b;

/// A sequence that has not ended after this many bytes is not one the terminal sent: the
/// longest we decode, an SGR mouse report at 65535x65535, is 19 bytes.
const LONGEST: usize = 32;

/// Decodes what the terminal sends: one byte at a time, keeping at most one unfinished
/// sequence (or UTF-8 character).
#[derive(Default)]
pub struct Parser {
    pending: Vec<u8>,
}

/// What one more byte made of the sequence so far.
enum Step {
    /// It may still become a sequence we know.
    More,
    /// A whole sequence: its event, or `None` for one that means nothing here.
    Done(Option<Event>),
    /// No sequence goes on like this: the bytes before it were keys.
    Invalid,
}

impl Parser {
    pub fn advance(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        for &b in bytes {
            self.byte(b, out);
        }
    }

    /// Whether an unfinished sequence waits for its next byte; if none comes soon, the
    /// reader calls [`Parser::flush`].
    pub fn is_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Gives what is pending back as the keys that were typed: a lone ESC is the Esc key,
    /// ESC and a byte is Alt and that key, the bytes after them plain keys. An unfinished
    /// UTF-8 character is dropped.
    pub fn flush(&mut self, out: &mut Vec<Event>) {
        let pending = std::mem::take(&mut self.pending);
        match pending.as_slice() {
            [ESC] => out.push(Event::Key(KeyCode::Esc.into())),
            [ESC, first, rest @ ..] => {
                out.extend(key(*first).map(|k| Event::Key(with_alt(k))));
                out.extend(rest.iter().filter_map(|b| key(*b)).map(Event::Key));
            }
            _ => {}
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Event>) {
        match self.pending.first() {
            None => self.ground(b, out),
            Some(&ESC) if b == ESC => {
                // ECMA-48 (5.3.1): ESC starts a new sequence whatever came before it.
                self.flush(out);
                self.pending.push(ESC);
            }
            Some(&ESC) => {
                self.pending.push(b);
                match escape(&self.pending) {
                    Step::More if self.pending.len() < LONGEST => {}
                    Step::More | Step::Invalid => {
                        // The bytes before `b` were keys; `b` starts afresh (a Ctrl-C
                        // inside a sequence is a Ctrl-C).
                        self.pending.pop();
                        self.flush(out);
                        self.ground(b, out);
                    }
                    Step::Done(event) => {
                        self.pending.clear();
                        out.extend(event);
                    }
                }
            }
            Some(_) => self.utf8(b, out),
        }
    }

    /// A byte with nothing pending.
    fn ground(&mut self, b: u8, out: &mut Vec<Event>) {
        match b {
            ESC => self.pending.push(ESC),
            0x80.. if utf8_len(b) > 1 => self.pending.push(b),
            // A stray continuation byte or one no UTF-8 text contains.
            0x80.. => {}
            _ => out.extend(key(b).map(Event::Key)),
        }
    }

    fn utf8(&mut self, b: u8, out: &mut Vec<Event>) {
        if !(0x80..=0xbf).contains(&b) {
            // The character was cut short: drop it, and `b` starts afresh.
            self.pending.clear();
            self.byte(b, out);
            return;
        }
        self.pending.push(b);
        if self.pending.len() < utf8_len(self.pending[0]) {
            return;
        }
        if let Ok(text) = std::str::from_utf8(&self.pending)
            && let Some(c) = text.chars().next()
        {
            out.push(Event::Key(char_key(c)));
        }
        self.pending.clear();
    }
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
    }
}

/// The key an ASCII byte stands for on its own.
fn key(b: u8) -> Option<KeyEvent> {
    let ctrl = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    Some(match b {
        b'\r' | b'\n' => KeyCode::Enter.into(),
        b'\t' => KeyCode::Tab.into(),
        0x7f => KeyCode::Backspace.into(),
        ESC => KeyCode::Esc.into(),
        0 => ctrl(' '),
        0x01..=0x1a => ctrl(char::from(b'a' + b - 1)),
        0x1c => ctrl('\\'),
        0x1d => ctrl(']'),
        0x1e => ctrl('^'),
        0x1f => ctrl('_'),
        0x20..=0x7e => char_key(char::from(b)),
        0x80.. => return None,
    })
}

fn char_key(c: char) -> KeyEvent {
    let shift = if c.is_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(KeyCode::Char(c), shift)
}

fn with_alt(mut k: KeyEvent) -> KeyEvent {
    k.modifiers |= KeyModifiers::ALT;
    k
}

fn done(code: KeyCode) -> Step {
    Step::Done(Some(Event::Key(code.into())))
}

/// `seq` is ESC and at least one byte.
fn escape(seq: &[u8]) -> Step {
    match seq[1] {
        b'[' => csi(&seq[2..]),
        b'O' => ss3(&seq[2..]),
        0x20..=0x7f => Step::Done(key(seq[1]).map(|k| Event::Key(with_alt(k)))),
        // A control or non-ASCII byte: the ESC was the Esc key.
        _ => Step::Invalid,
    }
}

/// After ESC `O`: one byte names the key.
fn ss3(body: &[u8]) -> Step {
    let Some(&last) = body.first() else {
        return Step::More;
    };
    match last {
        b'A' => done(KeyCode::Up),
        b'B' => done(KeyCode::Down),
        b'C' => done(KeyCode::Right),
        b'D' => done(KeyCode::Left),
        b'H' => done(KeyCode::Home),
        b'F' => done(KeyCode::End),
        b'P'..=b'S' => done(KeyCode::F(1 + last - b'P')),
        _ => Step::Invalid,
    }
}

/// After ESC `[`.
fn csi(body: &[u8]) -> Step {
    match body {
        // The Linux console's F1 to F5 are ESC [ [ A to E.
        [] | [b'['] => Step::More,
        [b'[', f @ b'A'..=b'E'] => done(KeyCode::F(1 + f - b'A')),
        [b'[', _] => Step::Invalid,
        // An X10 mouse report: three bytes of 32 and up, whatever they are.
        [b'M', rest @ ..] if rest.iter().any(|b| *b < 0x20) => Step::Invalid,
        [b'M', rest @ ..] if rest.len() < 3 => Step::More,
        [b'M', cb, x, y] => Step::Done(mouse(
            u16::from(*cb).checked_sub(32),
            u16::from(*x).saturating_sub(32),
            u16::from(*y).saturating_sub(32),
            false,
        )),
        _ => control_sequence(body),
    }
}

/// ECMA-48's shape: an optional private marker (`<=>?`), parameter bytes (digits, `;`
/// and `:`), intermediate bytes (space to `/`), one final byte (`@` to `~`).
fn control_sequence(body: &[u8]) -> Step {
    let marker = matches!(body[0], b'<'..=b'?').then_some(body[0]);
    let start = usize::from(marker.is_some());
    let mut intermediates = None;
    for (i, &b) in body.iter().enumerate().skip(start) {
        match b {
            b'0'..=b';' if intermediates.is_none() => {}
            b' '..=b'/' => {
                intermediates.get_or_insert(i);
            }
            b'@'..=b'~' if i + 1 == body.len() => {
                let params = &body[start..intermediates.unwrap_or(i)];
                return finished(marker, params, intermediates.is_some(), b);
            }
            _ => return Step::Invalid,
        }
    }
    Step::More
}

/// A whole control sequence.
fn finished(marker: Option<u8>, params: &[u8], intermediates: bool, last: u8) -> Step {
    if marker.is_some() && params.is_empty() {
        // Mouse reports and the terminal's private reports all carry numbers: this was
        // Alt+`[`, then keys (`ESC [ < q` is Alt+`[`, `<`, `q`).
        return Step::Invalid;
    }
    if params.is_empty() && !intermediates {
        return bare(last);
    }
    let numbers: Vec<Option<u16>> = params
        .split(|b| *b == b';')
        .map(|p| {
            // A sub-parameter after `:` (the key's event kind) is not used here.
            let digits = p.split(|b| *b == b':').next().unwrap_or_default();
            std::str::from_utf8(digits).ok()?.parse().ok()
        })
        .collect();
    let n = |i: usize| numbers.get(i).copied().flatten();
    let event = match (marker, last) {
        _ if intermediates => None,
        (Some(b'<'), b'M' | b'm') if numbers.len() == 3 => {
            mouse(n(0), n(1).unwrap_or(0), n(2).unwrap_or(0), last == b'm')
        }
        // urxvt's mouse report: ESC [ Cb ; Cx ; Cy M, Cb offset by 32.
        (None, b'M') if numbers.len() == 3 => mouse(
            n(0).and_then(|cb| cb.checked_sub(32)),
            n(1).unwrap_or(0),
            n(2).unwrap_or(0),
            false,
        ),
        (None, b'~') => tilde(n(0).unwrap_or(0))
            .map(|code| Event::Key(KeyEvent::new(code, modifiers(n(1).unwrap_or(1))))),
        // A modified key: ESC [ 1 ; mods A.
        (None, _) if n(0).unwrap_or(1) == 1 && numbers.len() == 2 => match bare(last) {
            Step::Done(Some(Event::Key(k))) => Some(Event::Key(KeyEvent::new(
                k.code,
                k.modifiers | modifiers(n(1).unwrap_or(1)),
            ))),
            _ => None,
        },
        // A report nobody asked for, or a key not used here.
        _ => None,
    };
    Step::Done(event)
}

/// ESC `[` and a final byte alone.
fn bare(last: u8) -> Step {
    match last {
        b'A' => done(KeyCode::Up),
        b'B' => done(KeyCode::Down),
        b'C' => done(KeyCode::Right),
        b'D' => done(KeyCode::Left),
        b'H' => done(KeyCode::Home),
        b'F' => done(KeyCode::End),
        b'E' => done(KeyCode::KeypadBegin),
        b'P'..=b'S' => done(KeyCode::F(1 + last - b'P')),
        b'Z' => Step::Done(Some(Event::Key(KeyEvent::new(
            KeyCode::BackTab,
            KeyModifiers::SHIFT,
        )))),
        // Focus in and out: not asked for, and nothing to do.
        b'I' | b'O' => Step::Done(None),
        // Not a key a terminal sends: Alt+`[`, then the key.
        _ => Step::Invalid,
    }
}

/// The keys sent as ESC [ n ~ (VT220 and xterm numbering).
fn tilde(n: u16) -> Option<KeyCode> {
    Some(match n {
        1 | 7 => KeyCode::Home,
        2 => KeyCode::Insert,
        3 => KeyCode::Delete,
        4 | 8 => KeyCode::End,
        5 => KeyCode::PageUp,
        6 => KeyCode::PageDown,
        11..=15 => KeyCode::F((n - 10) as u8),
        17..=21 => KeyCode::F((n - 11) as u8),
        23..=26 => KeyCode::F((n - 12) as u8),
        28 | 29 => KeyCode::F((n - 13) as u8),
        31..=34 => KeyCode::F((n - 14) as u8),
        _ => return None,
    })
}

/// xterm's modifier parameter: 1 plus a bit each for Shift, Alt, Ctrl and Meta.
fn modifiers(param: u16) -> KeyModifiers {
    let bits = param.saturating_sub(1);
    let mut m = KeyModifiers::NONE;
    for (bit, modifier) in [
        (1, KeyModifiers::SHIFT),
        (2, KeyModifiers::ALT),
        (4, KeyModifiers::CONTROL),
        (8, KeyModifiers::SUPER),
        (16, KeyModifiers::HYPER),
        (32, KeyModifiers::META),
    ] {
        if bits & bit != 0 {
            m |= modifier;
        }
    }
    m
}

/// A mouse report: xterm's button code, and the cell counted from 1 (0 is not a cell).
fn mouse(cb: Option<u16>, x: u16, y: u16, released: bool) -> Option<Event> {
    let cb = cb?;
    let button = (cb & 0b11) | ((cb & 0b1100_0000) >> 4);
    let dragged = cb & 0b10_0000 != 0;
    let kind = match (button, dragged) {
        (0, false) => MouseEventKind::Down(MouseButton::Left),
        (1, false) => MouseEventKind::Down(MouseButton::Middle),
        (2, false) => MouseEventKind::Down(MouseButton::Right),
        (0, true) => MouseEventKind::Drag(MouseButton::Left),
        (1, true) => MouseEventKind::Drag(MouseButton::Middle),
        (2, true) => MouseEventKind::Drag(MouseButton::Right),
        // X10 and urxvt say "released" without saying which button.
        (3, false) => MouseEventKind::Up(MouseButton::Left),
        (3..=5, true) => MouseEventKind::Moved,
        (4, false) => MouseEventKind::ScrollUp,
        (5, false) => MouseEventKind::ScrollDown,
        (6, false) => MouseEventKind::ScrollLeft,
        (7, false) => MouseEventKind::ScrollRight,
        _ => return None,
    };
    let kind = match kind {
        MouseEventKind::Down(b) if released => MouseEventKind::Up(b),
        other => other,
    };
    let mut modifiers = KeyModifiers::NONE;
    for (bit, modifier) in [
        (4, KeyModifiers::SHIFT),
        (8, KeyModifiers::ALT),
        (16, KeyModifiers::CONTROL),
    ] {
        if cb & bit != 0 {
            modifiers |= modifier;
        }
    }
    Some(Event::Mouse(MouseEvent {
        kind,
        column: x.checked_sub(1)?,
        row: y.checked_sub(1)?,
        modifiers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events for `bytes` in one read, then what a stall gives back.
    fn parse(bytes: &[u8]) -> Vec<Event> {
        let mut parser = Parser::default();
        let mut out = Vec::new();
        parser.advance(bytes, &mut out);
        parser.flush(&mut out);
        out
    }

    fn k(code: KeyCode) -> Event {
        Event::Key(code.into())
    }

    fn c(ch: char) -> Event {
        Event::Key(char_key(ch))
    }

    fn with(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    fn ctrl(ch: char) -> Event {
        with(KeyCode::Char(ch), KeyModifiers::CONTROL)
    }

    fn alt(ch: char) -> Event {
        Event::Key(with_alt(char_key(ch)))
    }

    fn click(kind: MouseEventKind, column: u16, row: u16) -> Event {
        Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    }

    #[test]
    fn the_keys_the_dashboard_uses() {
        assert_eq!(parse(b"sq?C"), [c('s'), c('q'), c('?'), c('C')]);
        assert_eq!(
            parse(b"\r\t\x1b[Z\x03"),
            [
                k(KeyCode::Enter),
                k(KeyCode::Tab),
                with(KeyCode::BackTab, KeyModifiers::SHIFT),
                ctrl('c')
            ]
        );
        let arrows = [
            k(KeyCode::Up),
            k(KeyCode::Down),
            k(KeyCode::Right),
            k(KeyCode::Left),
        ];
        assert_eq!(parse(b"\x1b[A\x1b[B\x1b[C\x1b[D"), arrows);
        assert_eq!(parse(b"\x1bOA\x1bOB\x1bOC\x1bOD"), arrows);
        assert_eq!(
            parse(b"\x1b[5~\x1b[6~\x1b[F\x1b[4~\x1bOF\x1b[H"),
            [
                k(KeyCode::PageUp),
                k(KeyCode::PageDown),
                k(KeyCode::End),
                k(KeyCode::End),
                k(KeyCode::End),
                k(KeyCode::Home)
            ]
        );
        let f1 = k(KeyCode::F(1));
        assert_eq!(
            parse(b"\x1bOP\x1b[11~\x1b[[A"),
            [f1.clone(), f1.clone(), f1]
        );
        assert_eq!(parse(b"\x1b[20~"), [k(KeyCode::F(9))]);
        assert_eq!(parse(b"\x1b[24~"), [k(KeyCode::F(12))]);
        assert_eq!(
            parse(b"\x1b[1;5A\x1b[5;2~"),
            [
                with(KeyCode::Up, KeyModifiers::CONTROL),
                with(KeyCode::PageUp, KeyModifiers::SHIFT)
            ]
        );
    }

    #[test]
    fn a_lone_esc_is_the_esc_key_and_esc_with_a_key_is_alt() {
        assert_eq!(parse(b"\x1b"), [k(KeyCode::Esc)]);
        assert_eq!(parse(b"\x1bq"), [alt('q')]);
        assert_eq!(parse(b"\x1b\x1b"), [k(KeyCode::Esc), k(KeyCode::Esc)]);
        // ESC then Ctrl-C: Esc, then Ctrl-C.
        assert_eq!(parse(b"\x1b\x03"), [k(KeyCode::Esc), ctrl('c')]);
    }

    #[test]
    fn control_keys_and_text() {
        assert_eq!(parse(b"\x1a\x1c"), [ctrl('z'), ctrl('\\')]);
        assert_eq!(parse(b"\x7f"), [k(KeyCode::Backspace)]);
        assert_eq!(parse("é€".as_bytes()), [c('é'), c('€')]);
        // A cut-short character is dropped; what follows is read.
        assert_eq!(parse(b"\xe2\x82q\x80"), [c('q')]);
    }

    #[test]
    fn sgr_mouse_clicks_releases_wheel_and_motion() {
        assert_eq!(
            parse(b"\x1b[<0;10;5M\x1b[<0;10;5m"),
            [
                click(MouseEventKind::Down(MouseButton::Left), 9, 4),
                click(MouseEventKind::Up(MouseButton::Left), 9, 4)
            ]
        );
        assert_eq!(
            parse(b"\x1b[<64;3;4M\x1b[<65;3;4M\x1b[<35;1;1M"),
            [
                click(MouseEventKind::ScrollUp, 2, 3),
                click(MouseEventKind::ScrollDown, 2, 3),
                click(MouseEventKind::Moved, 0, 0)
            ]
        );
        let Event::Mouse(m) = &parse(b"\x1b[<16;300;200M")[0] else {
            panic!("a mouse event")
        };
        assert_eq!((m.column, m.row), (299, 199));
        assert_eq!(m.modifiers, KeyModifiers::CONTROL);
        // Cell 0 does not exist: dropped, not an underflow.
        assert_eq!(parse(b"\x1b[<0;0;5Mq"), [c('q')]);
    }

    #[test]
    fn x10_and_urxvt_mouse_reports() {
        assert_eq!(
            parse(b"\x1b[M *%"),
            [click(MouseEventKind::Down(MouseButton::Left), 9, 4)]
        );
        assert_eq!(
            parse(b"\x1b[32;10;5M"),
            [click(MouseEventKind::Down(MouseButton::Left), 9, 4)]
        );
    }

    /// The fault: Alt+`[` is ESC `[`, and `<` or `?` after it once made every later key
    /// part of a sequence that never ended.
    #[test]
    fn a_partial_sequence_never_swallows_what_follows() {
        let alt_bracket = alt('[');
        // In one read: `q` cannot go on a mouse report, so the bytes were keys.
        assert_eq!(parse(b"\x1b[<q"), [alt_bracket.clone(), c('<'), c('q')]);
        assert_eq!(parse(b"\x1b[?q"), [alt_bracket.clone(), c('?'), c('q')]);
        assert_eq!(parse(b"\x1b[q"), [alt_bracket.clone(), c('q')]);
        // A control byte ends any sequence and is a key itself.
        assert_eq!(
            parse(b"\x1b[<1;2\x03"),
            [
                alt_bracket.clone(),
                c('<'),
                c('1'),
                c(';'),
                c('2'),
                ctrl('c')
            ]
        );
        assert_eq!(
            parse(b"\x1b[?\x1a"),
            [alt_bracket.clone(), c('?'), ctrl('z')]
        );
        // ESC restarts: the arrow after the stray bytes is an arrow.
        assert_eq!(
            parse(b"\x1b[<\x1b[B"),
            [alt_bracket.clone(), c('<'), k(KeyCode::Down)]
        );
        // In separate reads with a stall between: the stall gives the bytes back.
        let mut parser = Parser::default();
        let mut out = Vec::new();
        parser.advance(b"\x1b[<", &mut out);
        assert!(out.is_empty() && parser.is_pending());
        parser.flush(&mut out);
        parser.advance(b"q", &mut out);
        assert_eq!(out, [alt_bracket, c('<'), c('q')]);
        assert!(!parser.is_pending());
    }

    #[test]
    fn a_sequence_longer_than_any_real_one_ends() {
        let mut bytes = b"\x1b[".to_vec();
        bytes.extend([b'1'; 40]);
        bytes.push(b'q');
        let out = parse(&bytes);
        assert_eq!(out.first(), Some(&alt('[')));
        assert_eq!(out.last(), Some(&c('q')));
        assert_eq!(out.len(), 1 + 40 + 1);
    }

    #[test]
    fn whole_sequences_nobody_uses_are_dropped_as_a_unit() {
        // A DEC private mode report and a focus report, then a key.
        assert_eq!(parse(b"\x1b[?2026;2$y\x1b[Iq"), [c('q')]);
        assert_eq!(parse(b"\x1b[200~q"), [c('q')]);
    }
}
