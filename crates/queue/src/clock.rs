//! The clocks of the runtime: the wall clock it stamps records with ([`Clock`], the
//! system clock unless a test moves it), and the clock that lease deadlines and worker
//! expiry are measured with (the lease clock).
//!
//! On a store several machines share, a deadline one worker sets is checked by all the
//! others, so it must come from one clock: the store's own (Redis `TIME`), not each
//! machine's. The lease clock reads the store's clock once per `resync` and follows it on
//! this process's monotonic clock in between, so a step of the local wall clock moves no
//! deadline either. It also measures how far this worker's wall clock is from the
//! store's, and warns when that is more than [`SKEW_WARNING_MS`]. On an exclusive store
//! (sled, memory) only this process reads its deadlines, and the lease clock is the wall
//! clock.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::job::{now_ms, Millis};
use crate::store::{SharedStore, StoreError};

/// A difference between this worker's clock and the store's above this is warned about.
pub const SKEW_WARNING_MS: u64 = 5_000;

/// The wall clock the runtime reads. The system clock unless made otherwise, so that a
/// test can run a worker whose clock is wrong.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Millis + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(Arc::new(now_ms))
    }

    /// The system clock moved by `ms` (ahead when positive): a machine whose clock is wrong.
    pub fn offset(ms: i64) -> Clock {
        Clock(Arc::new(move || now_ms().saturating_add_signed(ms)))
    }

    /// Any clock.
    pub fn new(f: impl Fn() -> Millis + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(f))
    }

    /// Milliseconds since the Unix epoch, as this clock reads.
    pub fn now(&self) -> Millis {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock(reads {})", self.now())
    }
}

/// The clock of lease deadlines and worker expiry (see the module docs).
pub(crate) struct LeaseClock {
    wall: Clock,
    resync: Duration,
    /// The store's time at the last reading (corrected by half the round trip), and when
    /// that was on the monotonic clock.
    base: Mutex<Option<(Millis, Instant)>>,
    /// When the store's clock was last asked (read or not): a store that does not answer
    /// is asked again after a second, not on every reading.
    asked: Mutex<Option<Instant>>,
    /// This worker's wall clock minus the store's at the last reading (ms).
    skew: Mutex<Option<i64>>,
    warned: AtomicBool,
}

impl LeaseClock {
    pub(crate) fn new(wall: Clock, resync: Duration) -> LeaseClock {
        LeaseClock {
            wall,
            resync,
            base: Mutex::new(None),
            asked: Mutex::new(None),
            skew: Mutex::new(None),
            warned: AtomicBool::new(false),
        }
    }

    /// Now, as deadlines are measured: the store's clock if it is shared, else the wall
    /// clock. If the store's clock cannot be read, its last reading is followed on.
    pub(crate) fn now(&self, shared: Option<&dyn SharedStore>) -> Millis {
        let Some(shared) = shared else {
            return self.wall.now();
        };
        let base = *self.base.lock().unwrap_or_else(|p| p.into_inner());
        let asked = *self.asked.lock().unwrap_or_else(|p| p.into_inner());
        let stale = base.is_none_or(|(_, at)| at.elapsed() >= self.resync);
        if stale && asked.is_none_or(|a| a.elapsed() >= Duration::from_secs(1).min(self.resync)) {
            if let Err(e) = self.sync(shared) {
                tracing::debug!(error = %e, "the shared store's clock was not read; following its last reading");
            }
        }
        match *self.base.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((time, at)) => time + at.elapsed().as_millis() as u64,
            None => self.wall.now(),
        }
    }

    /// Reads the store's clock now.
    pub(crate) fn sync(&self, shared: &dyn SharedStore) -> Result<(), StoreError> {
        let asked = Instant::now();
        *self.asked.lock().unwrap_or_else(|p| p.into_inner()) = Some(asked);
        let server = shared.server_time()?;
        let round_trip = asked.elapsed();
        let server = server + round_trip.as_millis() as u64 / 2;
        let at = Instant::now();
        let skew = self.wall.now() as i64 - server as i64;
        *self.base.lock().unwrap_or_else(|p| p.into_inner()) = Some((server, at));
        *self.skew.lock().unwrap_or_else(|p| p.into_inner()) = Some(skew);
        let off = skew.unsigned_abs() > SKEW_WARNING_MS;
        if off && !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                skew_ms = skew,
                "this machine's clock is {} s {} the shared job store's; leases follow the store's clock, but the times this worker records follow its own: set its clock (NTP)",
                skew.unsigned_abs() / 1000,
                if skew > 0 { "ahead of" } else { "behind" }
            );
        } else if !off && self.warned.swap(false, Ordering::Relaxed) {
            tracing::info!(
                skew_ms = skew,
                "this machine's clock agrees with the shared job store's again"
            );
        }
        Ok(())
    }

    /// This worker's wall clock minus the shared store's (ms), once read.
    pub(crate) fn skew(&self) -> Option<i64> {
        *self.skew.lock().unwrap_or_else(|p| p.into_inner())
    }
}
