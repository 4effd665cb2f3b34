//! The watched tree as pooltop knows it: every descendant seen, its pidfd, how it ended,
//! and ending the tree (SIGTERM, then SIGKILL) when the command exits or pooltop quits.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::engine::driver::outbox::Emit;
use crate::engine::protocol::{EventKind, Role};
use crate::engine::sys::{self, PidFd};

use super::tree;

/// How long a process whose parent is not pooltop may wait, once it has exited, for its
/// Python parent to report the exit code (the hook's `reaped` record).
pub const EXIT_CODE_WAIT: Duration = Duration::from_millis(300);

/// One process of the watched tree.
pub struct Proc {
    pub name: String,
    pub role: Role,
    /// Opened when the process was first seen; `None` if it had gone already.
    pub pidfd: Option<PidFd>,
    /// It has exited (its pidfd said so) and its exit is waiting for an exit code.
    pub exited_at: Option<Instant>,
    /// Its exit was reported.
    pub reported: bool,
    /// Python's exit code as its parent's hook reported it.
    pub hook_code: Option<i32>,
    /// The kernel's exit code, read while it was a zombie or when pooltop reaped it.
    pub kernel_code: Option<i32>,
    /// The signal pooltop ended it with, if it did.
    pub ended_by: Option<i32>,
}

impl Proc {
    pub fn alive(&self) -> bool {
        self.exited_at.is_none() && !self.reported
    }

    fn exitcode(&self) -> Option<i32> {
        self.kernel_code.or(self.hook_code)
    }
}

/// Every process of the tree by PID, and the root (the command itself).
pub struct Procs {
    pub root: i32,
    me: i32,
    /// pooltop's own guard process: a child of the watcher, not of the command.
    guard: i32,
    pub table: BTreeMap<i32, Proc>,
    /// The root's exit code once it has exited.
    pub root_code: Option<i32>,
}

/// An exit that is ready to be reported.
pub struct Exit {
    pub pid: i32,
    pub name: String,
    pub role: Role,
    pub exitcode: Option<i32>,
}

impl Procs {
    pub fn new(root: i32, guard: i32) -> Procs {
        Procs {
            root,
            me: std::process::id() as i32,
            guard,
            table: BTreeMap::new(),
            root_code: None,
        }
    }

    pub fn name_of(&self, pid: i32) -> String {
        self.table
            .get(&pid)
            .map_or_else(|| format!("pid {pid}"), |p| p.name.clone())
    }

    /// Adds `pid` (first seen now) and reports it as `spawned`; false if it is not part
    /// of the tree or is known already.
    pub fn add(
        &mut self,
        out: &mut impl Emit,
        pid: i32,
        name: Option<String>,
        role: Option<Role>,
    ) -> bool {
        if self.table.contains_key(&pid) || pid == self.guard {
            return false;
        }
        let ppid = tree::ppid_of(pid).unwrap_or(0);
        let line = tree::cmdline(pid);
        let guessed = line.as_deref().map_or(Role::Other, tree::python_role);
        let role = role.unwrap_or(if pid == self.root {
            Role::Main
        } else {
            guessed
        });
        let name = name
            .or_else(|| line.as_deref().map(tree::short))
            .unwrap_or_else(|| format!("pid {pid}"));
        // A pidfd taken now signals this process and no other, whatever its PID becomes.
        // None: it has exited and been reaped already (seen by its output, too late).
        let pidfd = PidFd::open(pid).ok();
        let gone = pidfd.is_none().then(Instant::now);
        out.emit(EventKind::Spawned {
            name: name.clone(),
            pid,
            ppid,
            role,
            start_method: None,
            start_ms: None,
            rss_kib: sys::rss_kib(pid),
        });
        self.table.insert(
            pid,
            Proc {
                name,
                role,
                pidfd,
                exited_at: gone,
                reported: false,
                hook_code: None,
                kernel_code: None,
                ended_by: None,
            },
        );
        true
    }

    /// Looks for processes not seen yet: children of pooltop and of every live process.
    pub fn scan(&mut self, out: &mut impl Emit) {
        let mut parents: Vec<i32> = vec![self.me];
        parents.extend(
            self.table
                .iter()
                .filter(|(_, p)| p.alive())
                .map(|(pid, _)| *pid),
        );
        let mut at = 0;
        while at < parents.len() {
            for child in tree::children_of(parents[at]) {
                if self.add(out, child, None, None) {
                    parents.push(child);
                }
            }
            at += 1;
        }
    }

    /// The live processes' pidfds, to poll for their exits.
    pub fn pidfds(&self) -> impl Iterator<Item = (i32, &PidFd)> {
        self.table
            .iter()
            .filter(|(_, p)| p.alive())
            .filter_map(|(pid, p)| p.pidfd.as_ref().map(|fd| (*pid, fd)))
    }

    /// `pid`'s pidfd became readable: it has exited. Reaps it if it is pooltop's child,
    /// else reads its exit code while it is a zombie.
    pub fn on_exit(&mut self, pid: i32) {
        let Some(p) = self.table.get_mut(&pid) else {
            return;
        };
        if p.exited_at.is_some() {
            return;
        }
        p.exited_at = Some(Instant::now());
        if let Some(fd) = &p.pidfd
            && let Ok(Some(code)) = fd.try_reap()
        {
            p.kernel_code = Some(code);
        } else {
            p.kernel_code = p.kernel_code.or_else(|| tree::zombie_exitcode(pid));
        }
        if pid == self.root {
            self.root_code = p.kernel_code;
        }
    }

    /// Exit codes of children pooltop reaped without their pidfd (orphans it adopted).
    pub fn reap_children(&mut self) {
        for reaped in tree::reap_ended() {
            if let Some(p) = self.table.get_mut(&reaped.pid) {
                p.kernel_code = Some(reaped.exitcode);
                p.exited_at.get_or_insert_with(Instant::now);
            }
            if reaped.pid == self.root {
                self.root_code = Some(reaped.exitcode);
            }
        }
    }

    /// The parent's hook says how `pid` exited.
    pub fn hook_reaped(&mut self, pid: i32, exitcode: i32) {
        if let Some(p) = self.table.get_mut(&pid) {
            p.hook_code = Some(exitcode);
        }
    }

    /// Exits ready to report: the exit code is known, or waiting longer cannot tell it.
    pub fn ready_exits(&mut self, now: Instant) -> Vec<Exit> {
        let mut ready = Vec::new();
        for (pid, p) in &mut self.table {
            let Some(at) = p.exited_at else { continue };
            if p.reported {
                continue;
            }
            let code = p.exitcode();
            if code.is_none() && now.saturating_duration_since(at) < EXIT_CODE_WAIT {
                continue;
            }
            p.reported = true;
            ready.push(Exit {
                pid: *pid,
                name: p.name.clone(),
                role: p.role,
                exitcode: code,
            });
        }
        ready
    }

    /// When the next exit waiting for its code gives up waiting.
    pub fn next_exit_deadline(&self) -> Option<Instant> {
        self.table
            .values()
            .filter(|p| !p.reported && p.exitcode().is_none())
            .filter_map(|p| p.exited_at)
            .map(|at| at + EXIT_CODE_WAIT)
            .min()
    }

    /// Sends `signal` to every live process (the root first), as pooltop's own act of
    /// ending the tree; returns whom it reached.
    pub fn signal_all(&mut self, signal: i32, record: bool) -> Vec<(i32, String)> {
        let mut order: Vec<i32> = self.live();
        order.sort_by_key(|pid| *pid != self.root);
        let mut reached = Vec::new();
        for pid in order {
            let Some(p) = self.table.get_mut(&pid) else {
                continue;
            };
            let Some(fd) = &p.pidfd else { continue };
            if fd.send_signal(signal).is_ok() {
                if record {
                    p.ended_by = Some(signal);
                }
                reached.push((pid, p.name.clone()));
            }
        }
        reached
    }

    /// Sends `signal` to one process of the tree through its pidfd.
    pub fn signal(&self, pid: i32, signal: i32) -> bool {
        self.table
            .get(&pid)
            .filter(|p| p.alive())
            .and_then(|p| p.pidfd.as_ref())
            .is_some_and(|fd| fd.send_signal(signal).is_ok())
    }

    pub fn live(&self) -> Vec<i32> {
        self.table
            .iter()
            .filter(|(_, p)| p.alive())
            .map(|(pid, _)| *pid)
            .collect()
    }

    /// Every process seen has exited and been reported.
    pub fn all_reported(&self) -> bool {
        self.table.values().all(|p| p.reported)
    }

    /// Kills and reaps whatever is still a child of pooltop but was never seen (a process
    /// that forked and was orphaned between two scans): nothing outlives the watch.
    pub fn kill_unseen_children(&mut self) {
        for pid in tree::children_of(self.me) {
            if !self.table.contains_key(&pid)
                && pid != self.guard
                && let Ok(fd) = PidFd::open(pid)
            {
                let _ = fd.send_signal(libc::SIGKILL);
            }
        }
        self.reap_children();
    }
}
