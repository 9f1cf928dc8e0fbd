//! Which CPUs the harness may use, and pinning a thread to one: each side
//! of a ping-pong gets a core of its own where the machine has them.

#[allow(unused_imports)]
use super::*;

/// The CPUs this process may run on.
pub(crate) fn allowed_cpus() -> Vec<usize> {
    let Ok(set) = sched_getaffinity(Pid::from_raw(0)) else {
        return Vec::new();
    };
    (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// Pin the calling thread to `cpu` (best effort: reported, not fatal).
/// The first two CPUs this process may run on (a writer's and a
/// reader's), or none when there are fewer.
pub(crate) fn two_cpus() -> (Option<usize>, Option<usize>) {
    match allowed_cpus().as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        _ => (None, None),
    }
}

pub(crate) fn pin(cpu: Option<usize>) {
    if let Some(cpu) = cpu {
        let mut set = CpuSet::new();
        if set.set(cpu).is_err() || sched_setaffinity(Pid::from_raw(0), &set).is_err() {
            eprintln!("ipcbench: cannot pin to CPU {cpu}; running unpinned");
        }
    }
}
