//! Events for subscribers: every state change (in commit order, after it is durable),
//! throttled progress, and queue setting changes. Each subscriber has its own unbounded
//! channel so a slow one never makes another miss a state change.
//!
//! On a shared store the bus also has a relay (the runtime's `relay`): events made here
//! are handed to it for the other processes, and events they made arrive through
//! [`EventBus::publish_remote`], stamped with their host, without going back out.

use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::job::{JobId, Progress};
use crate::transition::Change;

/// Something that happened in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A job changed state; sent once the change is on disk.
    State(Change),
    /// A running job reported progress (at most ~10 per second per job).
    Progress {
        id: JobId,
        kind: String,
        queue: String,
        progress: Progress,
        /// The host running the job, when that is another process sharing the store.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
    /// A queue was paused, resumed or resized (`queue` None: all queues).
    Queue {
        queue: Option<String>,
        paused: bool,
        concurrency: Option<usize>,
    },
}

/// Fans events out to subscribers.
#[derive(Default)]
pub struct EventBus {
    subscribers: Mutex<Vec<UnboundedSender<Event>>>,
    relay: OnceLock<std::sync::mpsc::Sender<Event>>,
}

impl EventBus {
    pub fn subscribe(&self) -> UnboundedReceiver<Event> {
        let (tx, rx) = unbounded_channel();
        self.lock().push(tx);
        rx
    }

    /// Publishes an event made in this process (and relays it, on a shared store).
    pub fn publish(&self, event: Event) {
        if let Some(r) = self.relay.get() {
            let _ = r.send(event.clone());
        }
        self.lock().retain(|s| s.send(event.clone()).is_ok());
    }

    /// Publishes events made in this process, in order.
    pub fn publish_all(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut subs = self.lock();
        for e in events {
            if let Some(r) = self.relay.get() {
                let _ = r.send(e.clone());
            }
            subs.retain(|s| s.send(e.clone()).is_ok());
        }
    }

    /// Publishes an event another process made, to local subscribers only.
    pub fn publish_remote(&self, event: Event) {
        self.lock().retain(|s| s.send(event.clone()).is_ok());
    }

    /// Sends every event made here to `relay` from now on (set once).
    pub(crate) fn set_relay(&self, relay: std::sync::mpsc::Sender<Event>) {
        let _ = self.relay.set(relay);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<UnboundedSender<Event>>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }
}
