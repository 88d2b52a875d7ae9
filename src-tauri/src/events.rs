//! Forwards the queue's events to the window, throttled: every quarter second, the rows
//! of the items that changed (`items-changed`) and the workers when a queue changed
//! (`queues-changed`). It also says when a batch of items has finished (a desktop
//! notification, when the settings allow).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime};
use video2doc_core::Core;
use video2doc_core::{Event, JobId, State};
use video2doc_core::{ItemKey, ItemRow};

/// How often the window is told.
pub const EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Serialize)]
pub struct ItemsChanged {
    pub items: Vec<ItemRow>,
    pub removed: Vec<String>,
}

/// Shows a desktop notification (title, body).
pub type Notify = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Which items changed, from the events seen since the last flush.
#[derive(Default)]
struct Dirty {
    items: BTreeSet<ItemKey>,
    queues: bool,
    /// job -> item, so that progress events need no lookup.
    owners: HashMap<JobId, ItemKey>,
}

impl Dirty {
    fn note(&mut self, core: &Core, e: &Event) {
        match e {
            Event::State(c) => {
                let key = match c.group {
                    Some(g) => ItemKey::Group(g),
                    None => ItemKey::Job(c.id),
                };
                self.owners.insert(c.id, key);
                self.items.insert(key);
            }
            Event::Progress { id, .. } => {
                let key = match self.owners.get(id) {
                    Some(k) => Some(*k),
                    None => core.item_of(*id).ok(),
                };
                if let Some(k) = key {
                    self.owners.insert(*id, k);
                    self.items.insert(k);
                }
            }
            Event::Queue { .. } => self.queues = true,
        }
    }
}

/// Items running or waiting, and those of the current batch that finished.
#[derive(Default)]
pub struct Batch {
    active: BTreeSet<String>,
    done: Vec<ItemRow>,
}

impl Batch {
    /// Takes the new rows; returns the finished batch once nothing is left to do.
    pub fn update(&mut self, rows: &[ItemRow]) -> Option<Vec<ItemRow>> {
        for r in rows {
            if r.state.is_terminal() {
                if self.active.remove(&r.key) {
                    self.done.push(r.clone());
                }
            } else {
                self.active.insert(r.key.clone());
            }
        }
        (self.active.is_empty() && !self.done.is_empty()).then(|| std::mem::take(&mut self.done))
    }
}

/// The notification for a finished batch, in the window's language.
pub fn batch_message(rows: &[ItemRow], chinese: bool) -> (String, String) {
    let failed: Vec<&ItemRow> = rows
        .iter()
        .filter(|r| r.state != State::Succeeded)
        .collect();
    match (rows, chinese) {
        ([one], false) if failed.is_empty() => ("Document ready".into(), one.title.clone()),
        ([one], true) if failed.is_empty() => ("文档已生成".into(), one.title.clone()),
        ([one], false) => (
            format!("{} did not finish", one.title),
            one.error.clone().unwrap_or_else(|| "cancelled".into()),
        ),
        ([one], true) => (
            format!("{} 未完成", one.title),
            one.error.clone().unwrap_or_else(|| "已取消".into()),
        ),
        (_, false) => (
            "All videos processed".into(),
            format!(
                "{} ready, {} not finished",
                rows.len() - failed.len(),
                failed.len()
            ),
        ),
        (_, true) => (
            "全部视频已处理".into(),
            format!(
                "{} 个完成，{} 个未完成",
                rows.len() - failed.len(),
                failed.len()
            ),
        ),
    }
}

/// Runs until the queue's event stream ends.
pub async fn forward<R: Runtime>(app: AppHandle<R>, core: Arc<Core>, notify: Option<Notify>) {
    let mut rx = core.queue().subscribe();
    let mut dirty = Dirty::default();
    let mut batch = Batch::default();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            e = rx.recv() => match e {
                Some(e) => dirty.note(&core, &e),
                None => break,
            },
            _ = tick.tick() => {
                if dirty.queues {
                    dirty.queues = false;
                    let _ = app.emit("queues-changed", core.workers());
                }
                if dirty.items.is_empty() {
                    continue;
                }
                let keys = std::mem::take(&mut dirty.items);
                let c = core.clone();
                let Ok(changed) = tauri::async_runtime::spawn_blocking(move || rows_of(&c, keys)).await else {
                    continue;
                };
                if let Some(done) = batch.update(&changed.items) {
                    let s = core.settings();
                    if let (true, Some(n)) = (s.notify, &notify) {
                        let zh = s
                            .ui_language
                            .or_else(sys_locale::get_locale)
                            .is_some_and(|l| l.starts_with("zh"));
                        let (title, body) = batch_message(&done, zh);
                        n(&title, &body);
                    }
                }
                let _ = app.emit("items-changed", changed);
            }
        }
    }
}

fn rows_of(core: &Core, keys: BTreeSet<ItemKey>) -> ItemsChanged {
    let mut items = BTreeMap::new();
    let mut removed = Vec::new();
    for k in keys {
        match core.item(k) {
            Ok(row) => {
                items.insert(k, row);
            }
            Err(e) if e.class() == video2doc_core::ErrorClass::NotFound => {
                removed.push(k.to_string())
            }
            Err(e) => tracing::warn!(item = %k, error = %e, "item not read"),
        }
    }
    ItemsChanged {
        items: items.into_values().rev().collect(),
        removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, title: &str, state: State) -> ItemRow {
        ItemRow {
            key: key.into(),
            group: None,
            title: title.into(),
            input: None,
            state,
            priority: Default::default(),
            queue: "audio".into(),
            progress: 0.0,
            eta_ms: None,
            created_at: 0,
            started_at: None,
            finished_at: None,
            error: (state == State::Failed).then(|| "a.mp4 has no audio or video".into()),
            waiting_for: None,
            stages: Vec::new(),
        }
    }

    #[test]
    fn a_batch_is_told_once_when_its_last_item_ends() {
        let mut b = Batch::default();
        assert!(b
            .update(&[
                row("g1", "a.mp4", State::Running),
                row("g2", "b.mp4", State::Pending)
            ])
            .is_none());
        assert!(b.update(&[row("g1", "a.mp4", State::Succeeded)]).is_none());
        let done = b.update(&[row("g2", "b.mp4", State::Failed)]).unwrap();
        assert_eq!(done.len(), 2);
        let (title, body) = batch_message(&done, false);
        assert_eq!(title, "All videos processed");
        assert_eq!(body, "1 ready, 1 not finished");
        // Finished rows seen again (a refresh) do not notify again.
        assert!(b.update(&[row("g2", "b.mp4", State::Failed)]).is_none());
        // Items finished before the app saw them running are not a batch.
        assert!(b
            .update(&[row("g9", "old.mp4", State::Succeeded)])
            .is_none());
    }

    #[test]
    fn one_item_is_named_and_its_error_given_in_both_languages() {
        let ok = [row("g1", "lecture.mp4", State::Succeeded)];
        assert_eq!(
            batch_message(&ok, false),
            ("Document ready".into(), "lecture.mp4".into())
        );
        assert_eq!(batch_message(&ok, true).0, "文档已生成");
        let bad = [row("g1", "a.mp4", State::Failed)];
        let (t, b) = batch_message(&bad, true);
        assert_eq!(t, "a.mp4 未完成");
        assert!(b.contains("has no audio"));
    }
}
