//! Speakers: who spoke when (diarization), offline on the CPU, and who said each word.
//! This module owns one run over a recording's decoded audio, read 10 s at a time so
//! that memory stays the same for a three-hour meeting:
//! - [`segment`]: in each 10 s window, when each of up to three voices speaks
//!   (pyannote's segmentation-3.0 network);
//! - [`voiceprint`]: a print of each window's voices (a d-vector speaker encoder over
//!   log-mel frames);
//! - [`cluster`]: the recording's speakers from the windows' voices;
//! - [`attribute`]: each word to the speaker whose turn covers it, segments split at a
//!   change.
//!
//! The networks are ONNX files run by rten, as the slide reader's are
//! ([`crate::media::ocr`]), on threads that yield to transcription
//! ([`crate::media::idle`]).

pub mod attribute;
pub mod book;
pub mod cluster;
pub mod segment;
pub mod voiceprint;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

pub use attribute::attribute;

use cluster::Item;
use segment::{Segmenter, LOCAL_VOICES, WINDOW};
use voiceprint::Printer;

/// Why speakers could not be told apart.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    #[error("the speaker model {path} could not be loaded: {source}")]
    Model {
        path: PathBuf,
        #[source]
        source: Box<rten::LoadError>,
    },
    #[error("the speaker model {path} failed: {source}")]
    Run {
        path: PathBuf,
        #[source]
        source: Box<rten::RunError>,
    },
    #[error("the speaker model {path} gave output of an unexpected shape {shape:?}")]
    Shape { path: PathBuf, shape: Vec<usize> },
    #[error("the decoded audio {path} could not be read: {source}")]
    Audio {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cancelled")]
    Cancelled,
}

/// How many speakers to find.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SpeakerCount {
    /// As many as are heard (a recording with one voice gets no labels).
    #[default]
    Auto,
    /// None: the transcript is not divided by speaker.
    Off,
    /// Exactly this many (at least 1).
    Exactly(u32),
}

impl std::fmt::Display for SpeakerCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpeakerCount::Auto => f.write_str("auto"),
            SpeakerCount::Off => f.write_str("off"),
            SpeakerCount::Exactly(n) => write!(f, "{n}"),
        }
    }
}

impl std::str::FromStr for SpeakerCount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "auto" => Ok(SpeakerCount::Auto),
            "off" => Ok(SpeakerCount::Off),
            n => match n.parse::<u32>() {
                Ok(n) if (1..=32).contains(&n) => Ok(SpeakerCount::Exactly(n)),
                _ => Err(format!(
                    "speakers must be auto, off or a number from 1 to 32, not {s:?}"
                )),
            },
        }
    }
}

impl TryFrom<String> for SpeakerCount {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<SpeakerCount> for String {
    fn from(c: SpeakerCount) -> String {
        c.to_string()
    }
}

/// The two networks of a diarizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerModels {
    /// Who speaks when in 10 s windows (pyannote segmentation-3.0, ONNX).
    pub segmentation: PathBuf,
    /// Voiceprints (a d-vector encoder over 80 x 40 log-mel frames, ONNX).
    pub voiceprint: PathBuf,
}

impl SpeakerModels {
    /// The models in a folder: its `*segment*.onnx` file and another `.onnx` file (the
    /// first by name).
    pub fn in_dir(dir: &Path) -> Option<SpeakerModels> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "onnx") && p.is_file())
            .collect();
        names.sort();
        let is_seg = |p: &PathBuf| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().to_lowercase().contains("segment"))
        };
        Some(SpeakerModels {
            segmentation: names.iter().find(|p| is_seg(p))?.clone(),
            voiceprint: names.iter().find(|p| !is_seg(p))?.clone(),
        })
    }

    /// What tells these models from others for cached results: names and sizes.
    pub fn identity(&self) -> Vec<(String, u64)> {
        [&self.segmentation, &self.voiceprint]
            .iter()
            .map(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                (name.unwrap_or_default(), len)
            })
            .collect()
    }
}

/// A stretch of one speaker's speech (speakers are numbered from 1 in the order they
/// first speak).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: u32,
}

/// A speaker as documents name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speaker {
    /// The number segments refer to it by (from 1, in the order they first speak).
    pub id: u32,
    /// "Speaker 1" until someone names them (or a remembered voice does).
    pub name: String,
    /// How long they spoke.
    #[serde(default)]
    pub speech_ms: u64,
}

impl Diarization {
    /// The speakers as documents name them at first.
    pub fn speakers(&self) -> Vec<Speaker> {
        self.voices
            .iter()
            .map(|v| Speaker {
                id: v.id,
                name: format!("Speaker {}", v.id),
                speech_ms: v.speech_ms,
            })
            .collect()
    }
}

/// A speaker found: how long they spoke and their voiceprint (kept in the work folder
/// to recognise a voice later, never written into documents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Voice {
    pub id: u32,
    pub speech_ms: u64,
    pub print: Vec<f32>,
}

/// Who spoke when in a recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diarization {
    pub turns: Vec<Turn>,
    pub voices: Vec<Voice>,
}

/// Gaps shorter than this within one speaker's speech are closed.
const BRIDGE_MS: u64 = 300;
/// Stretches of a speaker shorter than this (after bridging) are dropped.
const SHORTEST_TURN_MS: u64 = 150;

/// The two networks, loaded.
pub struct Diarizer {
    segmenter: Segmenter,
    printer: Printer,
}

/// Frames in a piece of a voice's speech (about 2 s): each piece gets its own print,
/// so a voice the segmentation did not tell from another within a window (two voices
/// alike to it, one after the other) is still split where the prints differ.
const PIECE_FRAMES: usize = 118;

/// A piece of a window's voice speaking alone, and its print's item.
struct Piece {
    voice: usize,
    from: usize,
    to: usize,
    item: usize,
}

/// A window's voices as the segmentation heard them.
struct WindowVoices {
    /// The voices speaking in each frame (bit masks).
    frames: Vec<u8>,
    /// The pieces printed.
    pieces: Vec<Piece>,
}

impl Diarizer {
    /// Loads both networks; `threads` CPU threads, each yielding to transcription.
    pub fn load(models: &SpeakerModels, threads: usize) -> Result<Diarizer, SpeakerError> {
        let pool = crate::media::idle::yielding_pool(threads);
        Ok(Diarizer {
            segmenter: Segmenter::load(&models.segmentation, pool.clone())?,
            printer: Printer::load(&models.voiceprint, pool)?,
        })
    }

    /// Runs both networks once on made-up audio: a file that loads but is not such a
    /// network fails here.
    pub fn check(&self) -> Result<(), SpeakerError> {
        let window: Vec<f32> = (0..WINDOW).map(|i| (i as f32 * 0.05).sin() * 0.1).collect();
        self.segmenter.voices(&window)?;
        self.printer.prints(&[window[..16_000].to_vec()])?;
        Ok(())
    }

    /// Who spoke when in `pcm` (raw little-endian f32 samples, 16 kHz mono).
    /// `progress` sees 0..=1.
    pub fn run(
        &self,
        pcm: &Path,
        count: SpeakerCount,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(f32),
    ) -> Result<Diarization, SpeakerError> {
        let audio_err = |source| SpeakerError::Audio {
            path: pcm.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(pcm).map_err(audio_err)?;
        let total = file.metadata().map_err(audio_err)?.len() / 4;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        let mut bytes = vec![0u8; WINDOW * 4];
        let mut windows: Vec<WindowVoices> = Vec::new();
        let mut items: Vec<Item> = Vec::new();
        let mut samples_read = 0u64;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(SpeakerError::Cancelled);
            }
            let n = read_full(&mut reader, &mut bytes).map_err(audio_err)?;
            if n < 4 {
                break;
            }
            let got = n / 4;
            let mut window: Vec<f32> = bytes[..got * 4]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            window.resize(WINDOW, 0.0);
            let mut frames = self.segmenter.voices(&window)?;
            // Frames past the audio's end heard padding.
            let heard = frames
                .iter()
                .enumerate()
                .take_while(|(i, _)| segment::frame_start(*i) < got)
                .count();
            frames.truncate(heard);
            let spans: Vec<(usize, usize, usize)> = (0..LOCAL_VOICES)
                .flat_map(|v| pieces(&frames, v).into_iter().map(move |(a, b)| (v, a, b)))
                .collect();
            let stretches: Vec<Vec<f32>> = spans
                .iter()
                .map(|&(_, a, b)| {
                    let a = segment::frame_start(a).min(got);
                    let b = segment::frame_start(b).min(got);
                    window[a..b].to_vec()
                })
                .collect();
            let prints = self.printer.prints(&stretches)?;
            let w = windows.len();
            let mut printed = Vec::new();
            for ((&(v, from, to), print), s) in spans.iter().zip(prints).zip(&stretches) {
                if let Some(print) = print {
                    printed.push(Piece {
                        voice: v,
                        from,
                        to,
                        item: items.len(),
                    });
                    items.push(Item {
                        print,
                        weight: s.len() as f32,
                        window: w,
                        voice: v,
                    });
                }
            }
            windows.push(WindowVoices {
                frames,
                pieces: printed,
            });
            samples_read += got as u64;
            progress((samples_read as f32 / total.max(1) as f32).min(1.0));
            if got < WINDOW {
                break;
            }
        }
        let wanted = match count {
            SpeakerCount::Exactly(n) => Some(n as usize),
            _ => None,
        };
        let speaker = cluster::cluster(&items, wanted);
        let speakers = speaker.iter().max().map_or(0, |m| m + 1);
        let centroids = cluster::centroids(&items, &speaker, speakers);
        let turns = turns(&windows, &speaker, speakers);
        // Numbered in the order they first speak.
        let mut first: Vec<(u64, usize)> = (0..speakers)
            .map(|s| {
                let at = turns
                    .iter()
                    .filter(|t| t.speaker as usize == s)
                    .map(|t| t.start_ms)
                    .min()
                    .unwrap_or(u64::MAX);
                (at, s)
            })
            .collect();
        first.sort();
        let mut number = vec![0u32; speakers];
        let mut voices = Vec::new();
        for (rank, &(at, s)) in first.iter().enumerate() {
            if at == u64::MAX {
                continue;
            }
            number[s] = rank as u32 + 1;
            voices.push(Voice {
                id: rank as u32 + 1,
                speech_ms: turns
                    .iter()
                    .filter(|t| t.speaker as usize == s)
                    .map(|t| t.end_ms - t.start_ms)
                    .sum(),
                print: centroids[s].clone(),
            });
        }
        let mut turns: Vec<Turn> = turns
            .into_iter()
            .map(|t| Turn {
                speaker: number[t.speaker as usize],
                ..t
            })
            .collect();
        turns.sort_by_key(|t| (t.start_ms, t.speaker));
        progress(1.0);
        Ok(Diarization { turns, voices })
    }
}

/// Reads until `buf` is full or the file ends; how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Where local voice `v` speaks alone, cut into pieces of about [`PIECE_FRAMES`]
/// (frame ranges).
fn pieces(frames: &[u8], v: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut f = 0;
    while f < frames.len() {
        if frames[f] != 1 << v {
            f += 1;
            continue;
        }
        let from = f;
        while f < frames.len() && frames[f] == 1 << v {
            f += 1;
        }
        let len = f - from;
        let n = ((len + PIECE_FRAMES / 2) / PIECE_FRAMES).max(1);
        out.extend((0..n).map(|i| (from + len * i / n, from + len * (i + 1) / n)));
    }
    out
}

/// Each speaker's turns (speaker numbers still the clusters'), bridged and trimmed:
/// a frame where a window's voice speaks is its nearest printed piece's speaker's.
fn turns(windows: &[WindowVoices], speaker: &[usize], speakers: usize) -> Vec<Turn> {
    let ms = |w: usize, frame: usize| ((w * WINDOW + segment::frame_start(frame)) / 16) as u64;
    let mut runs: Vec<Vec<(u64, u64)>> = vec![Vec::new(); speakers];
    for (w, win) in windows.iter().enumerate() {
        for v in 0..LOCAL_VOICES {
            let mine: Vec<&Piece> = win.pieces.iter().filter(|p| p.voice == v).collect();
            if mine.is_empty() {
                continue;
            }
            let who = |f: usize| {
                let p = mine
                    .iter()
                    .min_by_key(|p| {
                        if f < p.from {
                            p.from - f
                        } else if f >= p.to {
                            f + 1 - p.to
                        } else {
                            0
                        }
                    })
                    .expect("pieces");
                speaker[p.item]
            };
            let mut f = 0;
            while f < win.frames.len() {
                if win.frames[f] & (1 << v) == 0 {
                    f += 1;
                    continue;
                }
                let s = who(f);
                let from = f;
                while f < win.frames.len() && win.frames[f] & (1 << v) != 0 && who(f) == s {
                    f += 1;
                }
                runs[s].push((ms(w, from), ms(w, f)));
            }
        }
    }
    let mut out = Vec::new();
    for (s, mut r) in runs.into_iter().enumerate() {
        r.sort();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (a, b) in r {
            match merged.last_mut() {
                Some(last) if a <= last.1 + BRIDGE_MS => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        out.extend(
            merged
                .into_iter()
                .filter(|(a, b)| b - a >= SHORTEST_TURN_MS)
                .map(|(a, b)| Turn {
                    start_ms: a,
                    end_ms: b,
                    speaker: s as u32,
                }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_reads_and_writes_as_people_type_it() {
        assert_eq!("auto".parse(), Ok(SpeakerCount::Auto));
        assert_eq!("off".parse(), Ok(SpeakerCount::Off));
        assert_eq!("3".parse(), Ok(SpeakerCount::Exactly(3)));
        assert!("0".parse::<SpeakerCount>().is_err());
        assert!("two"
            .parse::<SpeakerCount>()
            .unwrap_err()
            .contains("auto, off"));
        assert_eq!(
            serde_json::to_string(&SpeakerCount::Exactly(2)).unwrap(),
            "\"2\""
        );
        assert_eq!(
            serde_json::from_str::<SpeakerCount>("\"auto\"").unwrap(),
            SpeakerCount::Auto
        );
    }

    #[test]
    fn turns_bridge_short_gaps_and_drop_blips() {
        // Voice 0 of window 0 speaks frames 0..10 and 12..20 (a 34 ms gap), voice 1
        // only in frame 30 (17 ms: a blip).
        let mut frames = vec![0u8; 40];
        for f in (0..10).chain(12..20) {
            frames[f] = 1;
        }
        frames[30] = 2;
        let w = WindowVoices {
            frames,
            pieces: vec![
                Piece {
                    voice: 0,
                    from: 0,
                    to: 20,
                    item: 0,
                },
                Piece {
                    voice: 1,
                    from: 30,
                    to: 31,
                    item: 1,
                },
            ],
        };
        let t = turns(&[w], &[0, 1], 2);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].speaker, 0);
        assert_eq!(t[0].start_ms, 14);
        assert_eq!(t[0].end_ms, (20 * 270 + 225) as u64 / 16);
    }
}
