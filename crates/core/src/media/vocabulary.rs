//! The words on the slides as the transcriber's vocabulary: the slide stage writes each
//! slide's span and terms to a feed in the work folder (the slide on screen once it has
//! lasted, each slide again as it closes, and how far nothing else is shown); the
//! transcription worker, given the feed's path, reads it as it grows, waits at each 30 s
//! window until the slides of that window are known (or the feed has ended) and starts
//! the window's prompt with their terms. So transcription and slide reading still run
//! side by side: the transcriber only waits where it overtakes the reader, and, when
//! given a [patience](SlidesSoFar::with_patience), only for a share of its own time
//! (a slide read later reaches the speech from the next window on). A video without
//! slide text, or a feed whose writer stopped, leaves transcription as it is without
//! slides.
//!
//! The feed is a file of JSON lines, each a [`FeedLine`]. The writer touches the file
//! every second or so while it works; a reader that sees neither new lines nor a touch
//! for [`STALE`] takes the feed as ended.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// How long a feed may stay untouched before its reader stops waiting for it.
pub const STALE: Duration = Duration::from_secs(20);

/// How often the writer touches the feed.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// How often a reader looks for new lines (a stat and a read: while the transcription
/// waits, the sooner it sees a slide's words the better).
const POLL: Duration = Duration::from_millis(20);

/// The most terms given for one window (about 60 tokens): whisper keeps 224 tokens of
/// prompt, and the text before must fit too.
const MAX_TERMS_CHARS: usize = 240;

/// One slide's time span and terms, in the recording's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlideWords {
    pub start_ms: u64,
    pub end_ms: u64,
    pub words: Vec<String>,
}

/// One line of the feed. A slide may be told more than once (while it is on screen, as
/// its span grows, when it closes): the last line with its start holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedLine {
    /// A slide (slides come in time order).
    Slide(SlideWords),
    /// Every slide shown before this time (ms) has been told.
    Through(u64),
    /// No more slides.
    SlidesEnd(bool),
}

impl FeedLine {
    fn line(&self) -> String {
        serde_json::to_string(self).expect("feed lines serialize")
    }
}

/// Why the feed could not be written.
#[derive(Debug, thiserror::Error)]
#[error("the slide words {path} could not be written: {source}")]
pub struct FeedError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Says that a feed will be written at `path` (so that transcription starting now waits
/// for it): an empty feed, unless one is there already.
pub fn expect(path: &Path) -> Result<(), FeedError> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // A complete feed stays; an unfinished one (a stage that stopped) is fresh
            // again, for the stage about to write it.
            if !is_complete(path) {
                touch(path);
            }
            Ok(())
        }
        Err(source) => Err(FeedError {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Whether the feed at `path` ends with its end line.
pub fn is_complete(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|s| {
        s.lines()
            .last()
            .and_then(|l| serde_json::from_str::<FeedLine>(l).ok())
            .is_some_and(|l| matches!(l, FeedLine::SlidesEnd(_)))
    })
}

fn touch(path: &Path) {
    if let Ok(f) = std::fs::OpenOptions::new().append(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Writes a feed from its start, touching it while it lives; the end line is written by
/// [`FeedWriter::finish`] (a writer dropped without it leaves the feed unfinished, and
/// its readers stop waiting once it is stale).
pub struct FeedWriter {
    path: PathBuf,
    file: File,
    alive: Arc<AtomicBool>,
}

impl FeedWriter {
    pub fn create(path: &Path) -> Result<FeedWriter, FeedError> {
        let err = |source| FeedError {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(err)?;
        let alive = Arc::new(AtomicBool::new(true));
        // A thread of its own keeps the feed fresh: the slide reader runs at the lowest
        // priority and may not get a processor for a while.
        let (a, p) = (alive.clone(), path.to_path_buf());
        std::thread::Builder::new()
            .name("slide-words".into())
            .spawn(move || {
                while a.load(Ordering::Relaxed) {
                    touch(&p);
                    std::thread::sleep(HEARTBEAT);
                }
            })
            .map_err(err)?;
        Ok(FeedWriter {
            path: path.to_path_buf(),
            file,
            alive,
        })
    }

    fn write(&mut self, line: &FeedLine) -> Result<(), FeedError> {
        writeln!(self.file, "{}", line.line())
            .and_then(|_| self.file.flush())
            .map_err(|source| FeedError {
                path: self.path.clone(),
                source,
            })
    }

    pub fn slide(&mut self, slide: SlideWords) -> Result<(), FeedError> {
        self.write(&FeedLine::Slide(slide))
    }

    pub fn through(&mut self, ms: u64) -> Result<(), FeedError> {
        self.write(&FeedLine::Through(ms))
    }

    pub fn finish(mut self) -> Result<(), FeedError> {
        self.write(&FeedLine::SlidesEnd(true))
    }
}

impl Drop for FeedWriter {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::Relaxed);
    }
}

/// Reads a feed as it grows.
struct FeedReader {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    pending: String,
    /// When the feed last grew or was touched.
    fresh: SystemTime,
    stale: Duration,
}

impl FeedReader {
    fn open(path: &Path, stale: Duration) -> FeedReader {
        FeedReader {
            path: path.to_path_buf(),
            reader: File::open(path).ok().map(BufReader::new),
            pending: String::new(),
            fresh: SystemTime::now(),
            stale,
        }
    }

    /// The lines written since the last call; `None` once the feed is missing or stale.
    fn lines(&mut self) -> Option<Vec<FeedLine>> {
        let reader = self.reader.as_mut()?;
        // A feed written again from its start (its stage run again): read from the start.
        let len = std::fs::metadata(&self.path).map(|m| m.len()).ok()?;
        if reader.stream_position().is_ok_and(|pos| len < pos) {
            reader.seek(SeekFrom::Start(0)).ok()?;
            self.pending.clear();
        }
        let mut out = Vec::new();
        loop {
            match reader.read_line(&mut self.pending) {
                Ok(0) | Err(_) => break,
                // Half a line: the rest comes with a later read.
                Ok(_) if !self.pending.ends_with('\n') => continue,
                Ok(_) => {
                    let line = std::mem::take(&mut self.pending);
                    match serde_json::from_str::<FeedLine>(line.trim()) {
                        Ok(l) => out.push(l),
                        Err(e) => tracing::debug!(error = %e, "a slide-words line skipped"),
                    }
                }
            }
        }
        let now = SystemTime::now();
        if !out.is_empty() {
            self.fresh = now;
        }
        let touched = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if let Some(t) = touched.filter(|t| *t > self.fresh) {
            self.fresh = t.min(now);
        }
        if out.is_empty() && now.duration_since(self.fresh).unwrap_or_default() > self.stale {
            tracing::debug!(feed = %self.path.display(), "the slide words stopped coming");
            return None;
        }
        Some(out)
    }
}

/// The slides as the transcriber learns them from their feed, waited for as needed.
pub struct SlidesSoFar {
    slides: Vec<SlideWords>,
    /// Until when (recording ms) every slide is known.
    known_ms: u64,
    ended: bool,
    feed: FeedReader,
    /// How long, in how many waits, the slides' words were waited for.
    waited: Duration,
    waits: u32,
    /// The share of the time since `began` that may be spent waiting (`None`: as long
    /// as the words take).
    patience: Option<f32>,
    began: Instant,
    /// Whether a window's slides were asked for yet (the first waits for a slide).
    asked: bool,
}

impl SlidesSoFar {
    /// The slides of the feed at `path`, which is taken as ended once it has been
    /// `stale` (see [`STALE`]) with neither a new line nor a touch.
    pub fn open(path: &Path, stale: Duration) -> SlidesSoFar {
        SlidesSoFar {
            slides: Vec::new(),
            known_ms: 0,
            ended: false,
            feed: FeedReader::open(path, stale),
            waited: Duration::ZERO,
            waits: 0,
            patience: None,
            began: Instant::now(),
            asked: false,
        }
    }

    /// Waits at most `share` of the time since it was opened, all waits together
    /// (`None`: until the words are there). The first window waits at least until a
    /// slide is read (or the feed says none is shown): the opening slide (a title,
    /// names) is where its terms are needed first.
    pub fn with_patience(mut self, share: Option<f32>) -> SlidesSoFar {
        self.patience = share.map(|s| s.clamp(0.0, 1.0));
        self
    }

    /// Whether a wait begun at `since` has used up the patience.
    fn out_of_patience(&self, since: Instant) -> bool {
        let Some(share) = self.patience else {
            return false;
        };
        (self.asked || !self.slides.is_empty())
            && self.waited + since.elapsed() >= self.began.elapsed().mul_f32(share)
    }

    /// How long the slides' words were waited for, and in how many waits.
    pub fn waited(&self) -> (Duration, u32) {
        (self.waited, self.waits)
    }

    /// Waits until the slides up to `ms` are known or no more will come.
    fn wait_through(&mut self, ms: u64) {
        let began = Instant::now();
        let mut slept = false;
        while !self.ended && self.known_ms < ms {
            let Some(lines) = self.feed.lines() else {
                self.ended = true;
                break;
            };
            let waiting = lines.is_empty();
            for l in lines {
                match l {
                    FeedLine::Slide(s) => {
                        self.known_ms = self.known_ms.max(s.end_ms);
                        // A slide told again (read while on screen, then as it closed,
                        // or grown): the later word holds.
                        match self.slides.iter_mut().find(|k| k.start_ms == s.start_ms) {
                            Some(known) => *known = s,
                            None => self.slides.push(s),
                        }
                    }
                    FeedLine::Through(ms) => self.known_ms = self.known_ms.max(ms),
                    FeedLine::SlidesEnd(_) => self.ended = true,
                }
            }
            if waiting {
                if self.out_of_patience(began) {
                    break;
                }
                slept = true;
                std::thread::sleep(POLL);
            }
        }
        if slept {
            self.waited += began.elapsed();
            self.waits += 1;
        }
    }

    /// The slides shown during `start_ms..end_ms` (recording ms), once known; when
    /// patience ran out first, the slide on screen where the feed stops is taken as
    /// shown on.
    pub fn during(&mut self, start_ms: u64, end_ms: u64) -> Vec<usize> {
        self.wait_through(end_ms);
        self.asked = true;
        let known = self.known_ms;
        let lasting = (!self.ended && known < end_ms)
            .then(|| {
                (0..self.slides.len())
                    .filter(|&i| self.slides[i].end_ms >= known)
                    .max_by_key(|&i| self.slides[i].start_ms)
            })
            .flatten();
        (0..self.slides.len())
            .filter(|&i| {
                let s = &self.slides[i];
                s.start_ms < end_ms && (s.end_ms > start_ms || Some(i) == lasting)
            })
            .collect()
    }

    /// The terms of `slides` for a prompt ("RuBisCO, Kubernetes, NADPH."), each once, as
    /// many as fit; `None` when they have none. Only words written with a capital or a
    /// digit, and Chinese, are given: with lowercase words too ("membranes",
    /// "negative"), the prompt read as a list to tiny.en, which then wrote a window as
    /// one segment with a wrong end time, and the speech after it was lost.
    pub fn terms(&self, slides: &[usize]) -> Option<String> {
        let mut seen = std::collections::HashSet::new();
        let mut out = String::new();
        let telling = |w: &&String| {
            w.chars().any(|c| {
                c.is_uppercase() || c.is_ascii_digit() || (c.is_alphabetic() && !c.is_ascii())
            })
        };
        for w in slides
            .iter()
            .flat_map(|&i| &self.slides[i].words)
            .filter(telling)
        {
            if !seen.insert(w.to_lowercase()) {
                continue;
            }
            if out.chars().count() + w.chars().count() + 2 > MAX_TERMS_CHARS {
                break;
            }
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(w);
        }
        (!out.is_empty()).then(|| format!("{out}."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slide(a: u64, b: u64, words: &[&str]) -> SlideWords {
        SlideWords {
            start_ms: a,
            end_ms: b,
            words: words.iter().map(|w| w.to_string()).collect(),
        }
    }

    #[test]
    fn lines_read_as_written() {
        let l = FeedLine::Slide(slide(0, 5_000, &["RuBisCO"]));
        assert_eq!(
            l.line(),
            r#"{"slide":{"start_ms":0,"end_ms":5000,"words":["RuBisCO"]}}"#
        );
        assert_eq!(FeedLine::SlidesEnd(true).line(), r#"{"slides_end":true}"#);
    }

    #[test]
    fn a_window_waits_for_its_slides_and_gets_their_terms_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("words.jsonl");
        expect(&path).unwrap();
        assert!(!is_complete(&path));
        let mut w = FeedWriter::create(&path).unwrap();
        w.slide(slide(0, 10_000, &["RuBisCO", "NADPH"])).unwrap();
        w.slide(slide(
            10_000,
            40_000,
            &["Thylakoid", "NADPH", "membranes", "北京"],
        ))
        .unwrap();
        let mut s = SlidesSoFar::open(&path, STALE);
        // The slides through 30 s are known: no wait.
        assert_eq!(s.during(0, 30_000), [0, 1]);
        assert_eq!(
            s.terms(&[0, 1]).as_deref(),
            Some("RuBisCO, NADPH, Thylakoid, 北京.")
        );
        // A window past what is known waits for the next slide.
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            w.slide(slide(40_000, 50_000, &[])).unwrap();
            w.finish().unwrap();
        });
        assert_eq!(s.during(35_000, 65_000), [1, 2]);
        t.join().unwrap();
        assert_eq!(s.terms(&[2]), None);
        // Past the end: what there is, at once.
        assert_eq!(s.during(60_000, 90_000), Vec::<usize>::new());
        assert!(is_complete(&path));
        // A complete feed stays as it is when expected again.
        expect(&path).unwrap();
        assert!(is_complete(&path));
    }

    #[test]
    fn a_missing_or_stale_feed_is_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SlidesSoFar::open(&dir.path().join("none.jsonl"), STALE);
        assert_eq!(s.during(0, 30_000), Vec::<usize>::new());
        // A writer that stopped: what it wrote, then no more waiting once stale.
        let path = dir.path().join("words.jsonl");
        let mut w = FeedWriter::create(&path).unwrap();
        w.slide(slide(0, 1_000, &["Paxos"])).unwrap();
        drop(w);
        let mut s = SlidesSoFar::open(&path, Duration::from_millis(300));
        assert_eq!(s.during(0, 30_000), [0]);
        assert!(s.ended);
    }

    #[test]
    fn a_patient_reader_waits_for_the_first_slide_then_within_its_share() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("words.jsonl");
        let mut w = FeedWriter::create(&path).unwrap();
        let mut s = SlidesSoFar::open(&path, STALE).with_patience(Some(0.0));
        // The first window waits for a slide, however long its reading takes.
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            w.slide(slide(0, 12_000, &["Kubernetes"])).unwrap();
            w
        });
        assert_eq!(s.during(0, 30_000), [0]);
        let (waited, waits) = s.waited();
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
        assert_eq!(waits, 1);
        let mut w = t.join().unwrap();
        // Then no patience left: the slide on screen where the feed stops is taken as
        // shown on, at once (nothing is known after 12 s).
        let before = s.waited().0;
        assert_eq!(s.during(30_000, 60_000), [0]);
        assert_eq!(s.waited().0 - before, Duration::ZERO);
        // A slide that closed before a run not read yet: not taken as shown on.
        w.slide(slide(0, 40_000, &["Kubernetes"])).unwrap();
        w.through(45_000).unwrap();
        assert_eq!(s.during(50_000, 80_000), Vec::<usize>::new());
        // A slide read later reaches the windows after it.
        w.slide(slide(45_000, 70_000, &["Raft"])).unwrap();
        assert_eq!(s.during(60_000, 90_000), [1]);
        assert_eq!(s.terms(&[1]).as_deref(), Some("Raft."));
        // Within its share: a reader open long enough may wait that long.
        let mut patient = SlidesSoFar::open(&path, STALE).with_patience(Some(0.5));
        assert_eq!(patient.during(0, 30_000), [0]);
        std::thread::sleep(Duration::from_millis(400));
        let t0 = Instant::now();
        patient.during(80_000, 110_000);
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(150) && took < Duration::from_secs(5),
            "{took:?}"
        );
        drop(w);
    }

    #[test]
    fn terms_stop_before_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SlidesSoFar::open(&dir.path().join("none.jsonl"), STALE);
        let words: Vec<String> = (0..100).map(|i| format!("Term{i:03}")).collect();
        s.slides.push(SlideWords {
            start_ms: 0,
            end_ms: 1,
            words,
        });
        let t = s.terms(&[0]).unwrap();
        assert!(t.chars().count() <= MAX_TERMS_CHARS + 1, "{t}");
        assert!(t.starts_with("Term000, Term001"));
        assert!(t.ends_with('.'));
    }
}
