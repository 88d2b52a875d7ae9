//! Events for subscribers: every state change (in commit order, after it is durable),
//! throttled progress, and queue setting changes. Each subscriber has its own unbounded
//! channel so a slow one never makes another miss a state change.

use std::sync::Mutex;

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
}

impl EventBus {
    pub fn subscribe(&self) -> UnboundedReceiver<Event> {
        let (tx, rx) = unbounded_channel();
        self.lock().push(tx);
        rx
    }

    pub fn publish(&self, event: Event) {
        self.lock().retain(|s| s.send(event.clone()).is_ok());
    }

    pub fn publish_all(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut subs = self.lock();
        for e in events {
            subs.retain(|s| s.send(e.clone()).is_ok());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<UnboundedSender<Event>>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }
}
