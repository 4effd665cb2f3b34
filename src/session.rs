//! One main process as every front end sees it (dashboard, `run`, `bench`, screenshots):
//! starts the driver, links its events and optional samples onto one channel, catches signals.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::client::DriverLink;
use crate::engine::protocol::{Command, Event, EventKind};
use crate::monitor::{self, Sample};

/// Signals that end a front end in order: workers first, then pooltop.
pub const ENDING_SIGNALS: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Events waiting for the front end, at most. A front end that falls behind (a pipe
/// nobody reads) stops the link's reader, then the driver, then the workers' prints, as a
/// full pipe would: memory stays bounded.
const FEED_BOUND: usize = 4096;

/// What arrives from the engine side.
pub enum Feed {
    /// An event of the driver; `None` once it has gone.
    Driver(Option<Event>),
    Sample(Sample),
}

pub struct Session {
    link: DriverLink,
    feed_tx: flume::Sender<Feed>,
    feed: flume::Receiver<Feed>,
    signals: flume::Receiver<i32>,
    /// When the current driver started: its clock's zero.
    born: Instant,
    watch: Option<monitor::Watch>,
    /// The front end has seen the current driver's goodbye (`Feed::Driver(None)`).
    gone: bool,
    /// What the driver ended while shutting down (a watched tree's processes), as
    /// `NAME (pid P)` by signal, for the front end to say once it has left the screen.
    pub ended: Vec<(i32, String)>,
}

fn wrap_event(event: Option<Event>) -> Feed {
    Feed::Driver(event)
}

fn wrap_sample(sample: Sample) -> Feed {
    Feed::Sample(sample)
}

impl Session {
    /// Starts a driver; with `sample_every`, also the sampler (CPU and the watched PIDs).
    pub fn start(sample_every: Option<Duration>) -> io::Result<Session> {
        let signals = spawn_signals()?;
        let (feed_tx, feed) = flume::bounded(FEED_BOUND);
        let watch = match sample_every {
            Some(every) => {
                let watch: monitor::Watch = Arc::new(Mutex::new(Vec::new()));
                monitor::spawn(every, watch.clone(), feed_tx.clone(), wrap_sample)?;
                Some(watch)
            }
            None => None,
        };
        let link = DriverLink::spawn(feed_tx.clone(), wrap_event)?;
        Ok(Session {
            link,
            feed_tx,
            feed,
            signals,
            born: Instant::now(),
            watch,
            gone: false,
            ended: Vec::new(),
        })
    }

    /// The main process's PID.
    pub fn driver_pid(&self) -> i32 {
        self.link.pid()
    }

    pub fn feed(&self) -> &flume::Receiver<Feed> {
        &self.feed
    }

    /// SIGINT, SIGTERM, SIGHUP and SIGQUIT that reached pooltop, by number.
    pub fn signals(&self) -> &flume::Receiver<i32> {
        &self.signals
    }

    pub fn send(&mut self, cmd: &Command) -> io::Result<()> {
        self.link.send(cmd)
    }

    /// Replaces the driver with a fresh one on the same channel. Events of the old one
    /// still queued are dropped: they belong to the old run.
    pub fn restart(&mut self) -> io::Result<()> {
        self.shutdown(Duration::from_secs(2));
        self.link = DriverLink::spawn(self.feed_tx.clone(), wrap_event)?;
        self.born = Instant::now();
        self.gone = false;
        Ok(())
    }

    /// Asks the driver to end every child and exit, waits (bounded), kills it if need be.
    /// Its events still coming are taken and dropped meanwhile: it may be waiting for
    /// room in the feed before it can read the request.
    pub fn shutdown(&mut self, grace: Duration) -> Option<i32> {
        let _ = self.link.send(&Command::Shutdown);
        if !self.gone {
            let deadline = Instant::now() + grace;
            while let Ok(feed) = self.feed.recv_deadline(deadline) {
                match feed {
                    Feed::Driver(None) => break,
                    Feed::Driver(Some(Event {
                        kind:
                            EventKind::Ended {
                                pid, name, signal, ..
                            },
                        ..
                    })) => self.ended.push((signal, format!("{name} (pid {pid})"))),
                    _ => {}
                }
            }
            self.gone = true;
        }
        self.link.wait_or_kill(Duration::from_millis(500))
    }

    /// The front end saw the driver's goodbye: reap it now (a killed driver would stay a
    /// zombie until the next restart otherwise).
    pub fn driver_gone(&mut self) {
        self.gone = true;
        self.link.wait_or_kill(Duration::from_millis(500));
    }

    /// Waits for a driver already told to shut down.
    pub fn wait(&mut self, grace: Duration) -> Option<i32> {
        self.link.wait_or_kill(grace)
    }

    /// Seconds on the driver's clock.
    pub fn now(&self) -> f64 {
        self.born.elapsed().as_secs_f64()
    }

    /// Tells the sampler which processes to watch.
    pub fn watch(&self, pids: Vec<i32>) {
        if let Some(watch) = &self.watch
            && let Ok(mut w) = watch.lock()
            && *w != pids
        {
            *w = pids;
        }
    }
}

fn spawn_signals() -> io::Result<flume::Receiver<i32>> {
    let (tx, rx) = flume::unbounded();
    let mut signals = signal_hook::iterator::Signals::new(ENDING_SIGNALS)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if tx.send(signal).is_err() {
                    return;
                }
            }
        })?;
    Ok(rx)
}
