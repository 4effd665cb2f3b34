//! System sampling for the dashboard: per-core CPU use from sysinfo, and per-process CPU,
//! memory, state and last core for pooltop's own processes only, on a thread of its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sysinfo::{CpuRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, RefreshKind, System};

/// One process at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcSample {
    pub pid: i32,
    /// Percent of one core.
    pub cpu: f32,
    pub rss_kib: u64,
    /// The core it last ran on (htop's PROCESSOR column).
    pub core: Option<u32>,
    pub state: KernelState,
}

/// A process's scheduling state as the kernel reports it in `/proc/PID/stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelState {
    /// `R`: on a core or ready to run.
    Running,
    /// `S`, `D`, `I`: waiting (for a read, a lock, a timer).
    Sleeping,
    /// `T`, `t`: stopped by a signal (SIGSTOP) or a debugger.
    Stopped,
    /// `Z`: exited, not yet reaped by its parent.
    Zombie,
    /// Any other letter (`X` dead, `W`, `P` ...): nothing to show.
    Other,
}

impl KernelState {
    pub fn from_letter(letter: char) -> KernelState {
        match letter {
            'R' => KernelState::Running,
            'S' | 'D' | 'I' => KernelState::Sleeping,
            'T' | 't' => KernelState::Stopped,
            'Z' => KernelState::Zombie,
            _ => KernelState::Other,
        }
    }
}

/// Everything measured in one round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Use of each core, 0-100.
    pub cores: Vec<f32>,
    pub procs: Vec<ProcSample>,
}

/// The PIDs the sampler should watch; the dashboard updates it as processes come and go.
pub type Watch = Arc<Mutex<Vec<i32>>>;

/// State letter and last core from `/proc/PID/stat` (sysinfo has neither the letter as
/// the kernel writes it nor the processor field).
fn stat_fields(pid: i32) -> Option<(KernelState, Option<u32>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = KernelState::from_letter(fields.first()?.chars().next()?);
    // Field 39 of stat is the processor; `rest` starts at field 3.
    let core = fields.get(36).and_then(|f| f.parse().ok());
    Some((state, core))
}

/// Samples every `interval` (never faster than sysinfo allows) and sends each round;
/// ends when the receiver is gone.
pub fn spawn<M: Send + 'static>(
    interval: Duration,
    watch: Watch,
    tx: flume::Sender<M>,
    wrap: fn(Sample) -> M,
) -> std::io::Result<()> {
    let interval = interval.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
    std::thread::Builder::new()
        .name("sampler".into())
        .spawn(move || {
            let kind = RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_usage());
            let Ok(mut sys) = System::new_with_specifics(kind) else {
                return;
            };
            loop {
                std::thread::sleep(interval);
                let sample = measure(&mut sys, &watch);
                if tx.send(wrap(sample)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

fn measure(sys: &mut System, watch: &Watch) -> Sample {
    sys.refresh_cpu_usage();
    let cores = sys.cpus().iter().map(sysinfo::Cpu::usage).collect();
    let pids: Vec<i32> = watch.lock().map(|w| w.clone()).unwrap_or_default();
    let sys_pids: Vec<Pid> = pids.iter().map(|p| Pid::from_u32(*p as u32)).collect();
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&sys_pids),
        true,
        ProcessRefreshKind::nothing().with_cpu().with_memory(),
    );
    let procs = pids
        .iter()
        .filter_map(|pid| {
            let p = sys.process(Pid::from_u32(*pid as u32))?;
            let (state, core) = stat_fields(*pid)?;
            Some(ProcSample {
                pid: *pid,
                cpu: p.cpu_usage(),
                rss_kib: p.memory() / 1024,
                core,
                state,
            })
        })
        .collect();
    Sample { cores, procs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_state_and_core() {
        let (state, core) = stat_fields(std::process::id() as i32).expect("stat");
        assert!(
            matches!(state, KernelState::Running | KernelState::Sleeping),
            "{state:?}"
        );
        assert!(core.is_some_and(|c| (c as usize) < 4096));
    }

    #[test]
    fn measures_cores_and_a_watched_process() {
        let mut sys = System::new().expect("system");
        let watch: Watch = Arc::new(Mutex::new(vec![std::process::id() as i32]));
        let sample = measure(&mut sys, &watch);
        assert_eq!(sample.cores.len(), crate::engine::cpu_count());
        assert_eq!(sample.procs.len(), 1);
        assert!(sample.procs[0].rss_kib > 0);
    }
}
