//! Waiting until a chunk's or a datagram's arrival time, the relay's only clock work, shared by
//! its TCP and UDP sides.

use std::time::Duration;

use tokio::time::Instant;

/// How late a timer may fire: tokio's ticks are milliseconds, rounded up; Windows' default
/// timer resolution is 15.6 ms.
const TIMER_SLACK: Duration =
    if cfg!(windows) { Duration::from_millis(17) } else { Duration::from_millis(2) };

/// Timers fire late (see [`TIMER_SLACK`]), which would add that much to every emulated delay:
/// sleep until shortly before `at`, then yield until it. The yielding costs at most the slack
/// in CPU per chunk on its way.
pub(super) async fn wait_until(at: Instant) {
    if let Some(early) = at.checked_sub(TIMER_SLACK)
        && early > Instant::now()
    {
        tokio::time::sleep_until(early).await;
    }
    // Real time bounds the yielding: under a paused clock (tests) time stands still meanwhile,
    // and the sleep below advances it.
    let spin_end = std::time::Instant::now() + TIMER_SLACK;
    while Instant::now() < at && std::time::Instant::now() < spin_end {
        tokio::task::yield_now().await;
    }
    if Instant::now() < at {
        tokio::time::sleep_until(at).await;
    }
}
