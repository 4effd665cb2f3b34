//! The real terminal: raw mode, alternate screen, mouse capture, hidden cursor, their undoing
//! on every way out and around a suspend, plus the threads that read keys and terminal signals.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Stdout};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyModifiers};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use signal_hook::consts::{SIGCONT, SIGTSTP, SIGWINCH};

use crate::app::App;

use super::input;

/// How long an unfinished escape sequence waits for its next byte before it is given back
/// as keys (a lone ESC becomes the Esc key). A terminal writes a sequence in one go, a
/// person types slower; FTXUI waits 50 ms too.
const SEQUENCE_WAIT: Duration = Duration::from_millis(50);

/// What the terminal side tells the loop.
pub enum Input {
    /// A key, a mouse report or a new size.
    Event(Event),
    /// Ctrl-Z or SIGTSTP: give the terminal back, then stop.
    Suspend,
    /// SIGCONT: pooltop was stopped, and the terminal may have been changed meanwhile.
    Continued,
    /// Ctrl-\ (SIGQUIT's key) or the terminal is gone: quit as on SIGTERM.
    Quit,
}

pub struct Term {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    size: (u16, u16),
}

/// Leaves raw mode and the alternate screen and shows the cursor; safe to call twice.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Raw mode, alternate screen, mouse capture, hidden cursor.
fn claim() -> io::Result<()> {
    enable_raw_mode()?;
    if let Err(e) = execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        crossterm::cursor::Hide
    ) {
        restore();
        return Err(e);
    }
    Ok(())
}

impl Term {
    pub fn enter() -> io::Result<Term> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        claim()?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        let size = terminal.size().map_or((80, 24), |s| (s.width, s.height));
        Ok(Term { terminal, size })
    }

    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// The new size if the terminal changed size since the last look.
    pub fn resized(&mut self) -> Option<(u16, u16)> {
        let now = self.terminal.size().ok().map(|s| (s.width, s.height))?;
        if now == self.size {
            return None;
        }
        self.size = now;
        Some(now)
    }

    pub fn draw(&mut self, app: &App) -> io::Result<()> {
        if self.resized().is_some() {
            self.terminal.autoresize()?;
        }
        self.terminal.draw(|f| crate::ui::view(app, f))?;
        Ok(())
    }

    /// Gives the terminal back as the shell left it, stops pooltop the way SIGTSTP's
    /// default action does, and once continued takes the terminal again; the size now.
    pub fn suspend(&mut self) -> io::Result<(u16, u16)> {
        restore();
        stop();
        // Take the terminal back at once rather than on the SIGCONT message, so the loop
        // never draws into a cooked terminal meanwhile; that message then redraws once more.
        self.resume()
    }

    /// Takes the terminal again after a stop and has the next draw repaint every cell: a
    /// shell puts the tty back in canonical mode while its job is stopped, and whatever ran
    /// meanwhile wrote over the screen. The size now.
    pub fn resume(&mut self) -> io::Result<(u16, u16)> {
        // crossterm's enable_raw_mode does nothing while it believes raw mode is on, which
        // it does after a stop it did not see (SIGSTOP): set raw mode anew.
        let _ = disable_raw_mode();
        claim()?;
        // A resize to the current size clears the screen and forgets the last frame.
        // Not `Terminal::clear`: it asks the terminal where the cursor is (ESC [ 6 n) and
        // waits for the answer on crossterm's own reader, which never sees it (ours reads
        // the tty), and fails after two seconds.
        let size = self.terminal.size()?;
        self.terminal
            .resize(Rect::new(0, 0, size.width, size.height))?;
        self.size = (size.width, size.height);
        Ok(self.size)
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        restore();
    }
}

/// Stops pooltop as SIGTSTP's default action would, and returns once it is continued.
/// SIGTSTP rather than SIGSTOP: the kernel discards SIGTSTP in an orphaned process group
/// (pooltop run directly by tmux, `ssh host pooltop`, a pseudo-terminal without a shell),
/// where nothing could continue a stopped pooltop and the terminal would hang.
fn stop() {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: only the disposition changes; signal-hook's handler is put back below. A
    // SIGTSTP from outside in between meets the default action, which is what it asks for.
    let Ok(caught) = (unsafe { sigaction(Signal::SIGTSTP, &default) }) else {
        return;
    };
    // Sent to this thread, so it is delivered (and everything stops) before raise returns.
    let _ = nix::sys::signal::raise(Signal::SIGTSTP);
    // SAFETY: restores the handler taken out above.
    let _ = unsafe { sigaction(Signal::SIGTSTP, &caught) };
}

/// Reads keys and mouse reports on one thread and terminal signals (resize, suspend,
/// continue) on another, onto one channel.
pub fn spawn_input() -> io::Result<flume::Receiver<Input>> {
    let (tx, rx) = flume::unbounded();
    let tty = open_tty()?;
    let signals = signal_hook::iterator::Signals::new([SIGWINCH, SIGTSTP, SIGCONT])?;
    let keys = tx.clone();
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || read_keys(&tty, &keys))?;
    std::thread::Builder::new()
        .name("terminal-signals".into())
        .spawn(move || {
            let mut signals = signals;
            for signal in signals.forever() {
                let input = match signal {
                    SIGWINCH => match crossterm::terminal::size() {
                        Ok((w, h)) => Input::Event(Event::Resize(w, h)),
                        Err(_) => continue,
                    },
                    SIGTSTP => Input::Suspend,
                    SIGCONT => Input::Continued,
                    // SIGQUIT is among the session's ending signals.
                    _ => continue,
                };
                if tx.send(input).is_err() {
                    return;
                }
            }
        })?;
    Ok(rx)
}

/// Where keys come from: standard input if it is the terminal, else the controlling
/// terminal (as crossterm's raw mode, which this reader's input depends on, picks it).
fn open_tty() -> io::Result<File> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Ok(File::from(stdin.as_fd().try_clone_to_owned()?));
    }
    File::options().read(true).write(true).open("/dev/tty")
}

fn read_keys(tty: &File, tx: &flume::Sender<Input>) {
    let mut parser = input::Parser::default();
    let mut buf = [0u8; 1024];
    let mut events = Vec::new();
    loop {
        if parser.is_pending() && !readable_within(tty, SEQUENCE_WAIT) {
            parser.flush(&mut events);
        } else {
            match (&*tty).read(&mut buf) {
                Ok(n) if n > 0 => parser.advance(&buf[..n], &mut events),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // End of file or EIO on a terminal in raw mode: it hung up.
                _ => {
                    let _ = tx.send(Input::Quit);
                    return;
                }
            }
        }
        for event in events.drain(..) {
            if tx.send(job_control(event)).is_err() {
                return;
            }
        }
    }
}

/// Raw mode turns off the terminal's own signal keys; these two keep their meaning.
/// Ctrl-C stays a key: the key table quits on it.
fn job_control(event: Event) -> Input {
    match event {
        Event::Key(k) if k.modifiers.contains(KeyModifiers::CONTROL) => match k.code {
            KeyCode::Char('z') => Input::Suspend,
            KeyCode::Char('\\') => Input::Quit,
            _ => Input::Event(event),
        },
        _ => Input::Event(event),
    }
}

/// Whether a byte arrives within `wait` (a signal does not cut the wait short).
fn readable_within(tty: &File, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::ZERO);
        let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(n) => return n > 0,
            // Once the time is up, the next poll does not wait.
            Err(nix::errno::Errno::EINTR) => {}
            // Let the read find out what is wrong.
            Err(_) => return true,
        }
    }
}
