//! Pinning: client and server threads on one core. On a machine whose CPUs idle between calls,
//! a round trip between two threads wakes a sleeping core each way (tens of µs each on a VM), and
//! a run switches between a busy regime and an idle one part-way. On one core the two threads
//! hand over without a wake-up, and the figures repeat to a few percent: what a comparison of
//! clients or servers (the floor, the peers) needs.
//!
//! Linux and Android: a thread's affinity is inherited by the threads it starts, so pinning the
//! thread that starts a run's runtime and server pins all of them. Elsewhere unavailable, and
//! [`unavailable`] says why.

/// Why this platform cannot pin, or None where it can.
pub fn unavailable() -> Option<&'static str> {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        None
    } else if cfg!(target_os = "macos") {
        Some("macOS has no thread affinity (only affinity tags, which are hints)")
    } else if cfg!(windows) {
        Some(
            "on Windows a thread's affinity is not inherited by the threads it starts (use start /affinity on both processes)",
        )
    } else {
        Some("this platform has no thread affinity Duplex knows")
    }
}

/// The core the pinned mode uses unless told: the last this thread may use (the first often
/// takes the machine's interrupts).
pub fn default_core() -> usize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(last) = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().map(|c| c.id).max()) {
        return last;
    }
    std::thread::available_parallelism().map_or(0, |n| n.get() - 1)
}

/// Pins the calling thread, and the threads it starts from now on, to `core`.
pub fn pin_this_thread(core: usize) -> Result<(), String> {
    if let Some(why) = unavailable() {
        return Err(format!("cannot pin to a core: {why}"));
    }
    pin(core)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn pin(core: usize) -> Result<(), String> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let allowed = cores.iter().map(|c| c.id.to_string()).collect::<Vec<_>>().join(", ");
    let Some(id) = cores.into_iter().find(|c| c.id == core) else {
        return Err(format!("cannot pin to core {core}: this process may use cores {allowed}"));
    };
    if core_affinity::set_for_current(id) {
        Ok(())
    } else {
        Err(format!("cannot pin to core {core}: the system refused (sched_setaffinity)"))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn pin(_core: usize) -> Result<(), String> {
    Err("cannot pin to a core here".to_owned())
}

/// Runs `work` on a new thread pinned to `core` (with every thread it starts); its answer, or
/// why it could not be pinned.
pub fn on_core<T: Send + 'static>(
    core: usize,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    std::thread::Builder::new()
        .name(format!("duplex-pinned-{core}"))
        .spawn(move || pin_this_thread(core).map(|()| work()))
        .map_err(|e| format!("cannot start a thread: {e}"))?
        .join()
        .map_err(|_| "the pinned thread stopped unexpectedly".to_owned())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_thread_and_the_threads_it_starts_run_on_its_core() {
        if let Some(why) = unavailable() {
            assert!(pin_this_thread(0).expect_err(why).contains(why));
            return;
        }
        let core = default_core();
        let seen = on_core(core, move || {
            let here = current_cpu();
            let child = std::thread::spawn(current_cpu).join().expect("child");
            (here, child)
        })
        .expect("pinned");
        assert_eq!(seen, (Some(core), Some(core)));
        let far = on_core(usize::MAX, || ()).expect_err("no such core");
        assert!(far.contains("this process may use cores"), "{far}");
    }

    /// The core the calling thread runs on, from /proc (Linux).
    fn current_cpu() -> Option<usize> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        // Field 39 (processor), counted after the command's closing parenthesis.
        stat.rsplit_once(')')?.1.split_whitespace().nth(36)?.parse().ok()
    }
}
