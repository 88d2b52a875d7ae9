//! Long audio transcribed in chunks (about 10 minutes each, with a small overlap) so
//! that memory stays bounded, with each finished chunk checkpointed to disk: a crash or
//! a retry resumes at the first missing chunk. Seams fall between whisper's own
//! segments: a chunk keeps only the segments it finished before its overlap, and the
//! next chunk starts where the last of them ended, so no word is lost or doubled.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::media::device::GpuRun;
use crate::media::transcribe::{
    self, Segment, TranscribeError, TranscribeOptions, Transcript, WorkerRequest, SAMPLE_RATE,
};

/// How audio is cut.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChunkPlan {
    pub chunk_s: u64,
    pub overlap_s: u64,
}

impl Default for ChunkPlan {
    fn default() -> Self {
        ChunkPlan {
            chunk_s: 600,
            overlap_s: 5,
        }
    }
}

/// Whether `t` ends a sentence (in English or Chinese punctuation).
pub fn ends_sentence(t: &str) -> bool {
    let t = t.trim_end_matches(['\'', '"', '”', '」', ')']);
    t.ends_with(['.', '?', '!', '。', '？', '！'])
}

/// The part of a segment that ends by `limit`, cut after a sentence end if there is
/// one, else at a word boundary (by word times).
fn cut(seg: &Segment, limit: u64) -> Option<Segment> {
    let w = &seg.words;
    let fits = |i: usize| w[i].end_ms <= limit && w[i].end_ms > w[i].start_ms;
    let boundary = |i: usize| i + 1 == w.len() || w[i + 1].text.starts_with(' ');
    let at = (0..w.len())
        .rev()
        .find(|&i| fits(i) && ends_sentence(&w[i].text))
        .or_else(|| (0..w.len()).rev().find(|&i| fits(i) && boundary(i)))?;
    let words = w[..=at].to_vec();
    let text = words.iter().map(|w| w.text.as_str()).collect::<String>();
    Some(Segment {
        start_ms: seg.start_ms,
        end_ms: words[at].end_ms,
        text: text.trim().to_string(),
        words,
        language: seg.language.clone(),
        speaker: None,
    })
}

/// Keeps what a chunk that began at `from_ms` heard completely: the segments ending by
/// `from_ms + chunk` (the rest of the chunk is overlap, where the audio is cut mid-word
/// and whisper may run on past it), and of a segment crossing that point the part up
/// to its last sentence end (by word times). Returns them with the time the next chunk
/// starts: where the kept text ends, so nothing is lost or repeated. The last chunk
/// keeps all.
pub fn take_complete(
    segments: Vec<Segment>,
    from_ms: u64,
    chunk_ms: u64,
    last: bool,
) -> (Vec<Segment>, u64) {
    if last {
        let end = segments.last().map(|s| s.end_ms).unwrap_or(from_ms);
        return (segments, end);
    }
    let limit = from_ms + chunk_ms;
    let mut kept = Vec::new();
    for seg in segments {
        if seg.end_ms <= limit {
            kept.push(seg);
            continue;
        }
        if seg.start_ms < limit {
            kept.extend(cut(&seg, limit));
        }
        break;
    }
    // Nothing heard completely (silence, or one endless segment): move on by a chunk.
    let next = kept
        .last()
        .map(|s| s.end_ms)
        .filter(|e| *e > from_ms)
        .unwrap_or(limit);
    (kept, next)
}

/// Where the chunk checkpoints go, and how the worker is started.
pub struct ChunkedRun<'a> {
    pub pcm: &'a Path,
    pub checkpoints: &'a Path,
    pub plan: ChunkPlan,
    pub options: &'a TranscribeOptions,
    pub worker: &'a Path,
    pub worker_args: &'a [&'a str],
    /// A GPU worker to run the chunks on instead ([`crate::media::device`]): when it
    /// fails, that chunk and the rest run on `worker`, and the failure is kept in it.
    pub gpu: Option<&'a GpuRun>,
    /// The feed of the slides' words, when there are slides to read
    /// ([`crate::media::vocabulary`]).
    pub slide_words: Option<&'a Path>,
    /// How long the transcription may wait for them (see [`WorkerRequest`]).
    pub slide_patience: Option<f32>,
}

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    plan: ChunkPlan,
    from_ms: u64,
    next_ms: u64,
    last: bool,
    language: Option<String>,
    segments: Vec<Segment>,
}

fn checkpoint_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("chunk-{index:04}.json"))
}

impl ChunkedRun<'_> {
    /// Transcribes every chunk not yet checkpointed, then returns the whole transcript.
    /// `on_segment` sees segments as they are produced; `on_progress` gets 0.0..=1.0.
    pub fn run(
        &self,
        cancel: &Arc<AtomicBool>,
        mut on_segment: impl FnMut(&Segment),
        mut on_progress: impl FnMut(f32),
    ) -> Result<Transcript, TranscribeError> {
        let samples = std::fs::metadata(self.pcm)
            .map(|m| m.len() / 4)
            .map_err(|e| TranscribeError::Failed {
                pcm: self.pcm.to_path_buf(),
                message: format!("the extracted audio could not be read: {e}"),
            })?;
        std::fs::create_dir_all(self.checkpoints).map_err(|e| TranscribeError::Failed {
            pcm: self.pcm.to_path_buf(),
            message: format!("{}: {e}", self.checkpoints.display()),
        })?;
        let total_ms = samples * 1000 / SAMPLE_RATE as u64;
        let chunk_ms = self.plan.chunk_s.max(1) * 1000;
        let overlap_ms = self.plan.overlap_s * 1000;
        let mut all = Vec::new();
        let mut first_language = None;
        let mut from_ms = 0u64;
        let mut index = 0usize;
        loop {
            let read_ms = (chunk_ms + overlap_ms).min(total_ms.saturating_sub(from_ms));
            let last = from_ms + read_ms >= total_ms;
            let path = checkpoint_path(self.checkpoints, index);
            let done: Option<Checkpoint> = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .filter(|c: &Checkpoint| c.plan == self.plan && c.from_ms == from_ms);
            let cp = match done {
                Some(cp) => {
                    tracing::debug!(chunk = index, "chunk already transcribed");
                    cp.segments.iter().for_each(&mut on_segment);
                    cp
                }
                None => {
                    let mut options = self.options.clone();
                    // Word times place the seams.
                    options.word_timestamps = true;
                    // With no language given, each chunk finds its own (a lecture that
                    // switches to Chinese is transcribed in Chinese there, not translated);
                    // chunks continue from the text before them, as whisper does between
                    // its windows.
                    let before: Vec<&str> = all.iter().map(|s: &Segment| s.text.as_str()).collect();
                    let before = before.join(" ");
                    let chars: Vec<char> = before.chars().collect();
                    let tail: String = chars[chars.len().saturating_sub(200)..].iter().collect();
                    if !tail.is_empty() {
                        options.context = Some(tail);
                        options.context_language =
                            all.last().and_then(|s: &Segment| s.language.clone());
                    }
                    let request = WorkerRequest {
                        options,
                        pcm: self.pcm.to_path_buf(),
                        offset_samples: from_ms * SAMPLE_RATE as u64 / 1000,
                        len_samples: Some(read_ms * SAMPLE_RATE as u64 / 1000),
                        slide_words: self.slide_words.map(Path::to_path_buf),
                        slide_patience: self.slide_patience,
                    };
                    let mut progress = |p: i32| {
                        let at = from_ms as f32 + read_ms as f32 * p as f32 / 100.0;
                        on_progress((at / total_ms.max(1) as f32).min(1.0))
                    };
                    let on_gpu = self.gpu.filter(|g| g.usable()).map(|g| {
                        let args = g.plan.args();
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        let t = transcribe::transcribe(
                            &g.plan.program,
                            &args,
                            &request,
                            cancel,
                            |_| {},
                            &mut progress,
                        );
                        (g, t)
                    });
                    let t = match on_gpu {
                        Some((_, Ok(t))) => t,
                        Some((_, Err(e))) if !gpu_fault(&e) => return Err(e),
                        failed => {
                            // The GPU failed (this chunk and the rest go to the CPU), or
                            // none was to be used.
                            if let Some((g, Err(e))) = failed {
                                g.fail(e.to_string());
                            }
                            transcribe::transcribe(
                                self.worker,
                                self.worker_args,
                                &request,
                                cancel,
                                |_| {},
                                &mut progress,
                            )?
                        }
                    };
                    let heard: Vec<Segment> = t
                        .segments
                        .into_iter()
                        .map(|mut s| {
                            s.language = s.language.or_else(|| t.language.clone());
                            s
                        })
                        .collect();
                    let (segments, next_ms) = take_complete(heard, from_ms, chunk_ms, last);
                    segments.iter().for_each(&mut on_segment);
                    let cp = Checkpoint {
                        plan: self.plan,
                        from_ms,
                        next_ms,
                        last,
                        language: t.language,
                        segments,
                    };
                    let tmp = path.with_extension("part");
                    let bytes = serde_json::to_vec(&cp).expect("checkpoints serialize");
                    std::fs::write(&tmp, bytes)
                        .and_then(|_| std::fs::rename(&tmp, &path))
                        .map_err(|e| TranscribeError::Failed {
                            pcm: self.pcm.to_path_buf(),
                            message: format!("checkpoint {}: {e}", path.display()),
                        })?;
                    cp
                }
            };
            if first_language.is_none() {
                first_language = cp.language.clone();
            }
            all.extend(cp.segments.into_iter().map(|mut s| {
                if !self.options.word_timestamps {
                    s.words.clear();
                }
                s
            }));
            on_progress((cp.next_ms as f32 / total_ms.max(1) as f32).min(1.0));
            if cp.last || cp.next_ms >= total_ms {
                break;
            }
            from_ms = cp.next_ms;
            index += 1;
        }
        Ok(Transcript {
            language: main_language(&all).or(first_language),
            segments: all,
            speakers: Vec::new(),
            device: Some(self.gpu.map_or_else(|| "cpu".into(), GpuRun::label)),
        })
    }
}

/// Whether a failure on the GPU is the GPU's (its worker failed or could not start),
/// to be tried again on the CPU; not a cancel, a missing model or this processor.
fn gpu_fault(e: &TranscribeError) -> bool {
    match e {
        TranscribeError::Failed { .. } => true,
        TranscribeError::Process(p) => !matches!(p, crate::media::process::ProcessError::Cancelled),
        TranscribeError::ModelMissing { .. } | TranscribeError::Cpu(_) => false,
    }
}

/// The language most of the speech is in (by time).
fn main_language(segments: &[Segment]) -> Option<String> {
    let mut time: std::collections::BTreeMap<&str, u64> = Default::default();
    for s in segments {
        if let Some(l) = &s.language {
            *time.entry(l.as_str()).or_default() += s.end_ms.saturating_sub(s.start_ms).max(1);
        }
    }
    time.into_iter()
        .max_by_key(|(_, t)| *t)
        .map(|(l, _)| l.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::transcribe::Word;

    fn seg(a: u64, b: u64, t: &str) -> Segment {
        Segment {
            start_ms: a,
            end_ms: b,
            text: t.into(),
            words: Vec::new(),
            language: None,
            speaker: None,
        }
    }

    fn w(a: u64, b: u64, t: &str) -> Word {
        Word {
            start_ms: a,
            end_ms: b,
            text: t.into(),
            p: 1.0,
            at_ms: None,
        }
    }

    #[test]
    fn only_complete_segments_are_kept_and_the_next_chunk_starts_after_them() {
        let segs = vec![
            seg(10_000, 14_000, "a"),
            seg(14_000, 19_500, "b"),
            seg(19_500, 23_000, "cut"),
        ];
        let (kept, next) = take_complete(segs.clone(), 10_000, 10_000, false);
        let texts: Vec<&str> = kept.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["a", "b"]);
        assert_eq!(next, 19_500);
        let (kept, next) = take_complete(segs, 10_000, 10_000, true);
        assert_eq!(kept.len(), 3);
        assert_eq!(next, 23_000);
        // Nothing complete: advance by a whole chunk rather than loop.
        let (kept, next) = take_complete(vec![seg(10_000, 25_000, "long")], 10_000, 10_000, false);
        assert!(kept.is_empty());
        assert_eq!(next, 20_000);
    }

    #[test]
    fn a_segment_across_the_limit_is_cut_after_its_last_sentence() {
        let long = Segment {
            start_ms: 0,
            end_ms: 30_000,
            text: "One two. Three four. Five".into(),
            words: vec![
                w(0, 1_000, " One"),
                w(1_000, 2_000, " two."),
                w(2_000, 3_000, " Three"),
                w(3_000, 4_000, " four."),
                w(4_000, 30_000, " Five"),
            ],
            language: None,
            speaker: None,
        };
        let (kept, next) = take_complete(vec![long], 0, 4_500, false);
        assert_eq!(kept[0].text, "One two. Three four.");
        assert_eq!(next, 4_000);
        assert!(ends_sentence("'jiraffe'."));
        assert!(ends_sentence("你好。"));
    }
}
