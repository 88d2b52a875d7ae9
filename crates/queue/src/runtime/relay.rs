//! Events between processes sharing a store. Outgoing: every event this process makes
//! is wrapped with its origin (instance id, host) and published on the store's channel
//! by a thread of its own, so no caller waits on the network. Incoming: events of other
//! processes reach local subscribers stamped with their host; state changes wake the
//! dispatcher (a job enqueued or released elsewhere), and a queue paused or resumed
//! elsewhere is paused or resumed here too (concurrency is each worker's own: another
//! worker's change is reported, not applied). Delivery is while connected only: nothing
//! depends on an event arriving (the dispatcher and `wait` also poll the store).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::registry::Identity;
use super::{lock_unpoisoned, Inner};
use crate::error::QueueError;
use crate::events::Event;
use crate::store::Store;

#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: u64,
    host: String,
    event: Event,
}

/// Starts relaying this process's events to the others (no-op unless the store is shared).
pub(crate) fn start_outgoing(
    store: &Arc<dyn Store>,
    identity: &Identity,
    bus: &crate::events::EventBus,
) {
    if store.shared().is_none() {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    bus.set_relay(tx);
    let store = store.clone();
    let origin = identity.id;
    let host = identity.host.clone();
    let spawned = std::thread::Builder::new()
        .name("video2doc-event-relay".into())
        .spawn(move || {
            let mut failing = false;
            while let Ok(event) = rx.recv() {
                let Some(shared) = store.shared() else { return };
                let env = Envelope {
                    origin,
                    host: host.clone(),
                    event,
                };
                let bytes = serde_json::to_vec(&env).expect("events serialize");
                match shared.publish(&bytes) {
                    Ok(()) if failing => {
                        tracing::info!("events reach the other workers again");
                        failing = false;
                    }
                    Ok(()) => {}
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "events could not be sent to the other workers");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the event relay thread did not start");
    }
}

impl Inner {
    /// Receives other processes' events until shutdown, on a task of the current tokio
    /// runtime; once per queue, and only on a shared store.
    pub(crate) fn ensure_incoming(self: &Arc<Self>) -> Result<(), QueueError> {
        let Some(shared) = self.store.shared() else {
            return Ok(());
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return Ok(());
        };
        if self.incoming.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let mut rx = match shared.listen() {
            Ok(rx) => rx,
            Err(e) => {
                self.incoming.store(false, Ordering::SeqCst);
                return Err(e.into());
            }
        };
        // Weak: the task must not keep a queue that was dropped without close() alive.
        let weak = Arc::downgrade(self);
        let shutdown = self.shutdown.clone();
        rt.spawn(async move {
            loop {
                tokio::select! {
                    m = rx.recv() => match (m, weak.upgrade()) {
                        (Some(bytes), Some(inner)) => inner.receive(&bytes),
                        _ => break,
                    },
                    _ = shutdown.cancelled() => break,
                }
            }
        });
        Ok(())
    }

    fn receive(&self, bytes: &[u8]) {
        // (Re)subscribed: events published meanwhile were missed; read the pauses again.
        if bytes.is_empty() {
            if let Err(e) = self.refresh_settings() {
                tracing::warn!(error = %e, "queue settings not read again after subscribing");
            }
            return;
        }
        let env: Envelope = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!(error = %e, "ignored an unreadable event from another worker");
                return;
            }
        };
        if env.origin == self.identity.id {
            return;
        }
        let event = match env.event {
            Event::State(mut c) => {
                c.host = Some(env.host);
                self.wake.notify_one();
                Event::State(c)
            }
            Event::Progress {
                id,
                kind,
                queue,
                progress,
                ..
            } => Event::Progress {
                id,
                kind,
                queue,
                progress,
                host: Some(env.host),
            },
            Event::Queue {
                queue,
                paused,
                concurrency,
            } => {
                match &queue {
                    None => self.all_paused.store(paused, Ordering::SeqCst),
                    Some(q) => {
                        let mut lanes = lock_unpoisoned(&self.lanes);
                        // Pause is shared; slots are each worker's own.
                        lanes.entry(q.clone()).or_default().settings.paused = paused;
                    }
                }
                self.wake.notify_one();
                Event::Queue {
                    queue,
                    paused,
                    concurrency,
                }
            }
        };
        self.bus.publish_remote(event);
    }
}
