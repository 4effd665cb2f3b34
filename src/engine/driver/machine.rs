//! The pool logic's [`Workers`] over the real child table and outbox, and the chains that
//! need them all. It owns children, outbox, pools and Process objects; routes frames and exits.

use std::io;

use crate::engine::program::StartMethod;
use crate::engine::protocol::{EventKind, FromWorker, Job, Role, ToWorker};
use crate::engine::sys;
use crate::engine::wire::Fill;
use crate::workload::Call;

use super::children::{Check, ChildId, Children, Owner, ServerNews, Start};
use super::outbox::{Emit, Outbox};
use super::pool::{Pools, WorkerId, Workers};

/// A `multiprocessing.Process` object of the scenario.
pub struct ProcessObj {
    pub name: String,
    pub target: Call,
    pub child: Option<ChildId>,
    pub exitcode: Option<i32>,
    pub method: Option<StartMethod>,
    pub daemon: bool,
}

impl ProcessObj {
    /// `Process`, or the context's class (`SpawnProcess`) when one was asked for.
    pub fn class(&self) -> &'static str {
        self.method.map_or("Process", StartMethod::process_class)
    }
}

/// What the pool logic holds while it works: the child table and the outbox.
pub struct Hands<'a> {
    children: &'a mut Children,
    outbox: &'a mut Outbox,
}

impl Emit for Hands<'_> {
    fn emit(&mut self, kind: EventKind) {
        self.outbox.emit(kind);
    }
}

impl Workers for Hands<'_> {
    fn start_worker(&mut self, pool: usize, method: StartMethod, job: Job) -> io::Result<WorkerId> {
        let n = self.children.next_identity();
        let start = Start {
            name: format!("{}-{n}", method.pool_worker_prefix()),
            role: Role::PoolWorker,
            owner: Owner::Pool(pool),
            method,
            job,
        };
        self.children.start(self.outbox, start)
    }

    fn send(&mut self, worker: WorkerId, msg: &ToWorker) {
        self.children.send(worker, msg);
    }

    fn signal(&mut self, worker: WorkerId, signal: i32) -> io::Result<()> {
        self.children.signal(worker, signal)
    }

    fn pid(&self, worker: WorkerId) -> i32 {
        self.children.get(worker).pid()
    }

    fn name(&self, worker: WorkerId) -> &str {
        self.children.get(worker).name()
    }

    fn shutting_down(&self) -> bool {
        // A failed write means shutdown has begun, though the driver has not yet acted.
        self.children.shutting_down() || self.outbox.failed()
    }
}

pub struct Machine {
    pub children: Children,
    pub outbox: Outbox,
    pub pools: Pools,
    pub processes: Vec<ProcessObj>,
    /// The front end wants the values steps produce (`result` events).
    pub report_values: bool,
}

impl Machine {
    pub fn new(children: Children, outbox: Outbox) -> Machine {
        Machine {
            children,
            outbox,
            pools: Pools::default(),
            processes: Vec::new(),
            report_values: true,
        }
    }

    /// The pools, and the hands they work with.
    pub fn split(&mut self) -> (&mut Pools, Hands<'_>) {
        let hands = Hands {
            children: &mut self.children,
            outbox: &mut self.outbox,
        };
        (&mut self.pools, hands)
    }

    pub fn emit(&mut self, kind: EventKind) {
        self.outbox.emit(kind);
    }

    pub fn drain_output(&mut self) {
        self.children.drain_output(&mut self.outbox);
    }

    pub fn dispatch_all(&mut self) {
        let (pools, mut hands) = self.split();
        pools.dispatch_all(&mut hands);
        pools.report_progress(&mut hands, std::time::Instant::now());
    }

    /// `process.start()`: the child of Process object `p`.
    pub fn start_process(&mut self, p: usize, method: StartMethod) -> io::Result<ChildId> {
        let proc = &self.processes[p];
        let start = Start {
            name: proc.name.clone(),
            role: Role::Process,
            owner: Owner::Process(p),
            method,
            job: Job::Target(proc.target.clone()),
        };
        let id = self.children.start(&mut self.outbox, start)?;
        self.processes[p].child = Some(id);
        Ok(id)
    }

    /// `multiprocessing.active_children()`: each live Process and pool worker as Python
    /// writes it, after reaping any that have ended (as Python's does).
    pub fn active_children(&mut self) -> Vec<String> {
        let ids: Vec<ChildId> = self.children.live().collect();
        for id in &ids {
            self.poll_exit(*id);
        }
        let me = self.children.me();
        ids.into_iter()
            .filter_map(|id| {
                let c = self.children.get(id);
                let (class, daemon) = match c.owner() {
                    Owner::Process(p) => (self.processes[p].class(), self.processes[p].daemon),
                    Owner::Pool(_) => (c.method().process_class(), true),
                    Owner::Forkserver => return None,
                };
                let daemon = if daemon { " daemon" } else { "" };
                (c.alive() && c.pid() != 0).then(|| {
                    format!(
                        "<{class} name='{}' pid={} parent={me} started{daemon}>",
                        c.name(),
                        c.pid()
                    )
                })
            })
            .collect()
    }

    /// `os.kill(pid, signal)` from the dashboard, on a live child only.
    pub fn signal_pid(&mut self, pid: i32, signal: i32) {
        let result = match self.children.live_by_pid(pid) {
            Some(id) => self.children.signal(id, signal).map_err(|e| e.to_string()),
            None => Err("[Errno 3] No such process".into()),
        };
        if let Err(e) = result {
            let message = format!("ProcessLookupError: {e}");
            let python = format!("os.kill({pid}, {})", sys::signal_name(signal));
            self.emit(EventKind::Error { message, python });
        }
    }

    /// Reads and handles every frame a child has sent.
    pub fn read_channel(&mut self, id: ChildId) {
        loop {
            let Some(fill) = self.children.fill(id) else {
                return;
            };
            // Output written before these frames is already queued: report it first.
            self.drain_output();
            loop {
                match self.children.next_frame(id) {
                    Ok(Some(msg)) => self.route(id, msg),
                    Ok(None) => break,
                    Err(_) => {
                        self.children.close_channel(id);
                        return;
                    }
                }
            }
            match fill {
                Ok(Fill::Data) => {}
                Ok(Fill::WouldBlock) => return,
                // The child is exiting; its pidfd will say how.
                Ok(Fill::Eof) | Err(_) => {
                    self.children.close_channel(id);
                    return;
                }
            }
        }
    }

    fn route(&mut self, id: ChildId, msg: FromWorker) {
        if matches!(msg, FromWorker::Ready) {
            self.children.on_ready(&mut self.outbox, id);
        }
        if let Owner::Pool(pool) = self.children.get(id).owner() {
            let (pools, mut hands) = self.split();
            pools.on_message(&mut hands, pool, id, msg);
        }
    }

    pub fn on_forkserver_readable(&mut self) {
        loop {
            match self.children.forkserver_news(&mut self.outbox) {
                ServerNews::More => {}
                ServerNews::Exit(id, exitcode) => self.finish_exit(id, exitcode),
                ServerNews::Done => return,
            }
        }
    }

    pub fn on_pidfd_readable(&mut self, id: ChildId) {
        if let Some(exitcode) = self.children.pidfd_exit(id) {
            self.finish_exit(id, exitcode);
        }
    }

    /// Checks a child right now (as Python's `is_alive()` polls `waitpid`).
    pub fn poll_exit(&mut self, id: ChildId) {
        match self.children.check_now(id) {
            Check::Running => {}
            Check::Exited(exitcode) => self.finish_exit(id, exitcode),
            Check::AskServer => self.on_forkserver_readable(),
        }
    }

    /// Bookkeeping shared by every way a child can end.
    fn finish_exit(&mut self, id: ChildId, exitcode: i32) {
        if !self.children.get(id).alive() {
            return;
        }
        // Whatever the child wrote before dying is already queued: take it first, so
        // its output and last results come before its exit.
        self.drain_output();
        self.read_channel(id);
        match self.children.mark_exited(&mut self.outbox, id, exitcode) {
            Some(Owner::Process(p)) => self.processes[p].exitcode = Some(exitcode),
            Some(Owner::Pool(pool)) => {
                let (pools, mut hands) = self.split();
                pools.on_worker_exit(&mut hands, pool, id, exitcode);
            }
            Some(Owner::Forkserver) | None => {}
        }
    }
}
