//! The sampler: a thread of its own reads every sensor each period, from before the idle
//! baseline until the run's last part has finished.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{PowerSample, PowerSettings, PowerTrace, Probe, Sensor, SensorStatus, TimeWindow};
use duplex_model::clock::now_unix_ns;

/// Reads the sensors on a timer until [`PowerMonitor::finish`].
pub struct PowerMonitor {
    settings: PowerSettings,
    unavailable: Vec<SensorStatus>,
    samples: Arc<Mutex<Vec<PowerSample>>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<Vec<SensorStatus>>>,
    baseline: Option<TimeWindow>,
}

struct Running {
    sensor: Box<dyn Sensor>,
    status: SensorStatus,
}

fn read_all(sensors: &mut [Running]) -> PowerSample {
    let mut sample = PowerSample { at_unix_ns: now_unix_ns(), ..PowerSample::default() };
    for s in sensors {
        if let Err(e) = s.sensor.read(&mut sample) {
            s.status.failed_reads += 1;
            s.status.last_error = Some(e);
        }
    }
    sample
}

impl PowerMonitor {
    /// Starts reading `sensors` every `settings.sample_ms` (not at all when that is 0).
    pub fn start(settings: &PowerSettings, sensors: Vec<Probe>) -> PowerMonitor {
        let mut monitor = PowerMonitor {
            settings: settings.clone(),
            unavailable: Vec::new(),
            samples: Arc::default(),
            stop: None,
            thread: None,
            baseline: None,
        };
        if !settings.enabled() {
            return monitor;
        }
        let mut running = Vec::new();
        for probe in sensors {
            match probe {
                Ok(sensor) => {
                    let status = SensorStatus {
                        sensor: sensor.name().to_owned(),
                        source: sensor.source(),
                        unavailable: None,
                        failed_reads: 0,
                        last_error: None,
                    };
                    running.push(Running { sensor, status });
                }
                Err(u) => monitor.unavailable.push(SensorStatus::unavailable(u.sensor, u.reason)),
            }
        }
        let period = Duration::from_millis(settings.sample_ms.max(PowerSettings::MIN_SAMPLE_MS));
        let (stop, stopped) = mpsc::channel::<()>();
        let samples = Arc::clone(&monitor.samples);
        let push = move |s: PowerSample| samples.lock().unwrap_or_else(PoisonError::into_inner).push(s);
        let thread = std::thread::Builder::new().name("duplex-power".into()).spawn(move || {
            let mut next = Instant::now();
            loop {
                push(read_all(&mut running));
                next += period;
                match stopped.recv_timeout(next.saturating_duration_since(Instant::now())) {
                    Err(RecvTimeoutError::Timeout) => {}
                    // Stopped: one last reading closes the final window.
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                        push(read_all(&mut running));
                        break;
                    }
                }
            }
            running.into_iter().map(|r| r.status).collect()
        });
        match thread {
            Ok(thread) => {
                monitor.stop = Some(stop);
                monitor.thread = Some(thread);
            }
            Err(e) => monitor
                .unavailable
                .push(SensorStatus::unavailable("monitor", format!("cannot start the sampling thread: {e}"))),
        }
        monitor
    }

    pub fn is_sampling(&self) -> bool {
        self.thread.is_some()
    }

    /// How long [`PowerMonitor::idle_baseline`] will wait: 0 when there is nothing to sample.
    pub fn baseline_ms(&self) -> u64 {
        if self.is_sampling() { self.settings.baseline_ms } else { 0 }
    }

    /// The plan's idle baseline: waits with no traffic and remembers the window. Returns
    /// false if cancelled first (the partial window is kept if it has two readings).
    pub async fn idle_baseline(&mut self, cancel: &CancellationToken) -> bool {
        let wait_ms = self.baseline_ms();
        if wait_ms == 0 {
            return true;
        }
        let start_unix_ns = now_unix_ns();
        let finished = tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(wait_ms)) => true,
            () = cancel.cancelled() => false,
        };
        self.baseline = Some(TimeWindow { start_unix_ns, end_unix_ns: now_unix_ns() });
        finished
    }

    /// The most recent reading, for live displays.
    pub fn latest(&self) -> Option<PowerSample> {
        self.samples.lock().unwrap_or_else(PoisonError::into_inner).last().cloned()
    }

    /// Stops sampling and returns everything recorded (None if power was not sampled).
    pub fn finish(mut self) -> Option<PowerTrace> {
        if !self.settings.enabled() {
            return None;
        }
        self.stop.take();
        let mut sensors = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(statuses)) => statuses,
            Some(Err(_)) => {
                vec![SensorStatus::unavailable("monitor", "the sampling thread stopped unexpectedly".into())]
            }
            None => Vec::new(),
        };
        sensors.append(&mut self.unavailable);
        sensors.sort_by_key(|s| ["cpu", "rapl", "battery"].iter().position(|n| *n == s.sensor).unwrap_or(9));
        let samples = std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner));
        Some(PowerTrace { sample_ms: self.settings.sample_ms, sensors, baseline: self.baseline, samples })
    }
}
