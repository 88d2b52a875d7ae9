//! What a media file holds (duration, streams, codecs), read with ffprobe, and the
//! plain-words errors for files that are not usable media. A file is probed once per
//! process while it is unchanged (same length and modification time): enqueueing a
//! workflow and its first step both ask, and ffprobe takes ~0.1 s to start.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A usable media file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub path: PathBuf,
    pub duration_s: f64,
    pub format: String,
    pub video: Option<VideoStream>,
    pub audio: Option<AudioStream>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoStream {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioStream {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u32,
}

/// Why a file cannot be processed. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{path} does not exist")]
    Missing { path: PathBuf },
    #[error("{path} could not be read: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is empty (0 bytes)")]
    Empty { path: PathBuf },
    #[error("{path} is not a video or audio file that ffmpeg can read ({detail})")]
    NotMedia { path: PathBuf, detail: String },
    #[error("{path} has no audio or video stream")]
    NoStreams { path: PathBuf },
    #[error(transparent)]
    Tool(#[from] crate::media::process::ProcessError),
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    streams: Vec<RawStream>,
    format: Option<RawFormat>,
}

#[derive(Deserialize)]
struct RawStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    sample_rate: Option<String>,
    channels: Option<u32>,
    duration: Option<String>,
    disposition: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawFormat {
    format_name: Option<String>,
    duration: Option<String>,
}

/// A duration in seconds, if it is one.
fn seconds(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|d| d.is_finite() && *d >= 0.0)
}

fn rate(s: &str) -> f64 {
    match s.split_once('/') {
        Some((n, d)) => {
            let (n, d): (f64, f64) = (n.parse().unwrap_or(0.0), d.parse().unwrap_or(0.0));
            if d > 0.0 {
                n / d
            } else {
                0.0
            }
        }
        None => s.parse().unwrap_or(0.0),
    }
}

/// What was probed in this process, by path, with the length and modification time
/// the file had then. Bounded: the oldest half is dropped when it is full.
type Probed = Vec<(PathBuf, u64, Option<std::time::SystemTime>, MediaInfo)>;

fn probed() -> &'static std::sync::Mutex<Probed> {
    static PROBED: std::sync::OnceLock<std::sync::Mutex<Probed>> = std::sync::OnceLock::new();
    PROBED.get_or_init(Default::default)
}

const PROBED_MAX: usize = 256;

/// Probes `path`: a file that is missing, empty, not media or without streams fails
/// with an error that says so. An unchanged file already probed in this process is not
/// probed again.
pub fn probe(path: &Path) -> Result<MediaInfo, ProbeError> {
    let meta = std::fs::metadata(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ProbeError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            ProbeError::Unreadable {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    if meta.len() == 0 {
        return Err(ProbeError::Empty {
            path: path.to_path_buf(),
        });
    }
    let modified = meta.modified().ok();
    let known = probed()
        .lock()
        .expect("the probe cache is never poisoned")
        .iter()
        .find(|(p, len, m, _)| p == path && *len == meta.len() && *m == modified)
        .map(|(.., info)| info.clone());
    if let Some(info) = known {
        return Ok(info);
    }
    let info = run_ffprobe(path)?;
    let mut cache = probed().lock().expect("the probe cache is never poisoned");
    cache.retain(|(p, ..)| p != path);
    if cache.len() >= PROBED_MAX {
        cache.drain(..PROBED_MAX / 2);
    }
    cache.push((path.to_path_buf(), meta.len(), modified, info.clone()));
    Ok(info)
}

fn run_ffprobe(path: &Path) -> Result<MediaInfo, ProbeError> {
    let out = crate::media::process::ffprobe_json(path)?;
    if !out.success {
        let detail = out
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| {
                l.rsplit_once(": ")
                    .map(|(_, m)| m.trim().to_string())
                    .unwrap_or_else(|| l.trim().to_string())
            })
            .unwrap_or_else(|| "ffprobe failed".into());
        return Err(ProbeError::NotMedia {
            path: path.to_path_buf(),
            detail,
        });
    }
    parse(path, &out.stdout)
}

/// A media description from ffprobe's JSON. Durations that are not a time (negative,
/// NaN, infinite: damaged or crafted files) count as unknown (0).
fn parse(path: &Path, json: &str) -> Result<MediaInfo, ProbeError> {
    let raw: Raw = serde_json::from_str(json).map_err(|e| ProbeError::NotMedia {
        path: path.to_path_buf(),
        detail: format!("unreadable ffprobe output: {e}"),
    })?;
    let mut video = None;
    let mut audio = None;
    let mut stream_duration: f64 = 0.0;
    for s in &raw.streams {
        let d = s.duration.as_deref().and_then(seconds).unwrap_or(0.0);
        match s.codec_type.as_deref() {
            Some("video") if video.is_none() => {
                // Cover art in audio files is a still "video" stream: not a video.
                let attached = s
                    .disposition
                    .as_ref()
                    .and_then(|d| d.get("attached_pic"))
                    .and_then(|v| v.as_i64())
                    == Some(1);
                if !attached && s.width.unwrap_or(0) > 0 {
                    stream_duration = stream_duration.max(d);
                    video = Some(VideoStream {
                        codec: s.codec_name.clone().unwrap_or_default(),
                        width: s.width.unwrap_or(0),
                        height: s.height.unwrap_or(0),
                        fps: s.avg_frame_rate.as_deref().map(rate).unwrap_or(0.0),
                    });
                }
            }
            Some("audio") if audio.is_none() => {
                stream_duration = stream_duration.max(d);
                audio = Some(AudioStream {
                    codec: s.codec_name.clone().unwrap_or_default(),
                    sample_rate: s
                        .sample_rate
                        .as_deref()
                        .and_then(|r| r.parse().ok())
                        .unwrap_or(0),
                    channels: s.channels.unwrap_or(0),
                });
            }
            _ => {}
        }
    }
    if video.is_none() && audio.is_none() {
        return Err(ProbeError::NoStreams {
            path: path.to_path_buf(),
        });
    }
    let format = raw.format.as_ref();
    let duration_s = format
        .and_then(|f| f.duration.as_deref())
        .and_then(seconds)
        .unwrap_or(stream_duration);
    Ok(MediaInfo {
        path: path.to_path_buf(),
        duration_s,
        format: format
            .and_then(|f| f.format_name.clone())
            .unwrap_or_default(),
        video,
        audio,
    })
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    #[test]
    fn durations_that_are_not_times_count_as_unknown() {
        for bad in ["-3.5", "nan", "inf", "-inf", "1e400"] {
            let json = format!(
                r#"{{"streams":[{{"codec_type":"audio","codec_name":"aac","duration":"{bad}"}}],
                   "format":{{"format_name":"mov","duration":"{bad}"}}}}"#
            );
            let info = parse(Path::new("/x/bad.mp4"), &json).unwrap();
            assert_eq!(info.duration_s, 0.0, "{bad}");
        }
        let json =
            r#"{"streams":[{"codec_type":"audio","duration":"-1"}],"format":{"duration":"12.5"}}"#;
        assert_eq!(
            parse(Path::new("/x/ok.mp4"), json).unwrap().duration_s,
            12.5
        );
    }
}
