//! Fetching one model file so that it survives real networks: resumed with a range
//! request after a dropped connection (within the same call, a few times) and after a
//! crash (a complete `.part` answered with 416 is verified, not asked for forever),
//! redirects followed, a silent server given up on after the stall timeout, the file
//! verified (SHA-256 where the catalogue states it, SHA-1 otherwise) before it is put in
//! place, and one download of a file at a time across processes (the window and the CLI
//! asking together: the second waits for the first and takes its file).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::catalogue::ModelError;
use crate::net::{Http, NetError};

/// What a file must hash to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Checksum {
    Sha256(String),
    Sha1(String),
}

impl Checksum {
    pub fn algorithm(&self) -> &'static str {
        match self {
            Checksum::Sha256(_) => "SHA-256",
            Checksum::Sha1(_) => "SHA-1",
        }
    }

    pub fn expected(&self) -> &str {
        match self {
            Checksum::Sha256(h) | Checksum::Sha1(h) => h,
        }
    }

    /// The hash of `path` by this checksum's algorithm, lowercase hex.
    pub fn of_file(&self, path: &Path) -> std::io::Result<String> {
        match self {
            Checksum::Sha256(_) => hash_file::<Sha256>(path),
            Checksum::Sha1(_) => hash_file::<Sha1>(path),
        }
    }
}

fn hash_file<D: Digest>(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = D::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>())
}

/// What a download is doing, for progress displays.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Another process (or window) is downloading this file; this one waits for it.
    WaitingForOther,
    /// Bytes in the file so far, and the whole size when the server said it.
    Progress { done: u64, total: Option<u64> },
    /// The connection failed; trying again (resuming) after a pause.
    Retrying { attempt: u32, reason: String },
    /// Checking the file's checksum.
    Verifying,
}

/// How persistent a download is.
#[derive(Debug, Clone)]
pub struct Persistence {
    /// Failures in a row (with no byte received in between) before giving up.
    pub attempts: u32,
    /// The pause before the first retry; doubled each time, at most 8 s.
    pub first_pause: Duration,
    /// A file growing past this is stopped (and past the size the server announced).
    pub most_bytes: Option<u64>,
}

impl Default for Persistence {
    fn default() -> Self {
        Persistence {
            attempts: 5,
            first_pause: Duration::from_millis(500),
            most_bytes: None,
        }
    }
}

/// Downloads `url` to `dest` (its folder is created), verified by `checksum`.
/// The bytes go to `dest` + `.part` first, which a later call resumes.
pub fn fetch(
    http: &Http,
    url: &str,
    dest: &Path,
    checksum: &Checksum,
    persistence: &Persistence,
    cancel: &AtomicBool,
    mut event: impl FnMut(Event),
) -> Result<PathBuf, ModelError> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _lock = lock(dir, &name, cancel, &mut event)?;
    if dest.is_file() {
        // Another process finished it while this one waited (it verified it first).
        return Ok(dest.to_path_buf());
    }
    let part = dir.join(format!("{name}.part"));
    refuse_link(&part)?;
    let mut failures = 0u32;
    let mut restarts = 0u32;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(ModelError::Cancelled);
        }
        match attempt(http, url, &part, persistence.most_bytes, cancel, &mut event) {
            Ok(()) => break,
            Err(Attempt::Stop(e)) => return Err(e),
            // Once is expected (a stale part); again means the server is inconsistent.
            Err(Attempt::Restart(error)) if restarts >= 2 => {
                return Err(ModelError::Download {
                    name,
                    resumable: false,
                    kept_bytes: 0,
                    source: error,
                })
            }
            Err(Attempt::Restart(error)) => {
                restarts += 1;
                tracing::warn!(%url, error = %error, "the partial download does not match the file served; starting again");
            }
            Err(Attempt::Failed { error, progressed }) => {
                if progressed {
                    failures = 0;
                }
                failures += 1;
                if !error.is_transient() || failures >= persistence.attempts {
                    let kept = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
                    return Err(ModelError::Download {
                        name,
                        resumable: error.is_transient(),
                        kept_bytes: kept,
                        source: error,
                    });
                }
                tracing::warn!(%url, error = %error, attempt = failures, "download interrupted; resuming");
                event(Event::Retrying {
                    attempt: failures,
                    reason: error.to_string(),
                });
                let pause = persistence
                    .first_pause
                    .saturating_mul(1 << (failures - 1).min(4))
                    .min(Duration::from_secs(8));
                sleep_unless_cancelled(pause, cancel)?;
            }
        }
    }
    event(Event::Verifying);
    let got = checksum.of_file(&part).map_err(write_err(&part))?;
    if !got.eq_ignore_ascii_case(checksum.expected()) {
        let _ = std::fs::remove_file(&part);
        return Err(ModelError::Checksum {
            name,
            algorithm: checksum.algorithm(),
            got,
            expected: checksum.expected().to_string(),
        });
    }
    std::fs::rename(&part, dest).map_err(write_err(dest))?;
    Ok(dest.to_path_buf())
}

/// Why one request did not complete the file.
enum Attempt {
    /// Worth trying again if transient; `progressed` when bytes arrived first.
    Failed { error: NetError, progressed: bool },
    /// Not a network problem: cancelled, or the disk refused.
    Stop(ModelError),
    /// The partial file does not belong to the file served (the server's file changed):
    /// it was emptied, and the download starts again from the beginning.
    Restart(NetError),
}

/// One request: resumes `part` from its length and writes to its end.
fn attempt(
    http: &Http,
    url: &str,
    part: &Path,
    most_bytes: Option<u64>,
    cancel: &AtomicBool,
    event: &mut impl FnMut(Event),
) -> Result<(), Attempt> {
    let stop = |e: ModelError| Attempt::Stop(e);
    let failed = |error: NetError, progressed: bool| Attempt::Failed { error, progressed };
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let headers: Vec<(&str, String)> = if have > 0 {
        vec![("Range", format!("bytes={have}-"))]
    } else {
        Vec::new()
    };
    let resp = http.get(url, &headers).map_err(|e| failed(e, false))?;
    let (start, total) = match resp.status() {
        206 => match content_range(resp.header("Content-Range")) {
            Some((from, total)) if from == have => (have, total),
            // A range other than the one asked: start again from the beginning.
            _ => {
                truncate(part, 0).map_err(stop)?;
                return Err(Attempt::Restart(resp.status_error()));
            }
        },
        200 => {
            let total = resp
                .header("Content-Length")
                .and_then(|l| l.parse::<u64>().ok());
            (0, total)
        }
        416 if have > 0 => {
            // The part may already be whole (a crash between the last byte and the
            // rename): the server says how long the file is.
            match content_range(resp.header("Content-Range")) {
                Some((_, Some(total))) if total == have => {
                    event(Event::Progress {
                        done: have,
                        total: Some(total),
                    });
                    return Ok(());
                }
                _ => {
                    truncate(part, 0).map_err(stop)?;
                    return Err(Attempt::Restart(resp.status_error()));
                }
            }
        }
        _ => return Err(failed(resp.status_error(), false)),
    };
    let mut file = open_part(part).map_err(stop)?;
    file.set_len(start).map_err(|e| stop(write_err(part)(e)))?;
    file.seek(SeekFrom::Start(start))
        .map_err(|e| stop(write_err(part)(e)))?;
    let total = total.or_else(|| {
        resp.header("Content-Length")
            .and_then(|l| l.parse::<u64>().ok())
            .map(|l| l + start)
    });
    let mut body = resp.into_body();
    let mut buf = vec![0u8; 256 * 1024];
    let mut done = start;
    event(Event::Progress { done, total });
    loop {
        if cancel.load(Ordering::Relaxed) {
            let _ = file.sync_all();
            return Err(stop(ModelError::Cancelled));
        }
        let n = match body.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = file.sync_all();
                return Err(failed(e, done > start));
            }
        };
        if n == 0 {
            break;
        }
        done += n as u64;
        // More than the server announced, or than the file can be: stop before the
        // disk fills (the part is emptied: it cannot be a prefix of the right file).
        let limit = match (total, most_bytes) {
            (Some(t), Some(m)) => Some(t.min(m)),
            (t, m) => t.or(m),
        };
        if let Some(limit) = limit.filter(|l| done > *l) {
            drop(file);
            let _ = truncate(part, 0);
            return Err(stop(ModelError::TooLarge {
                name: part
                    .file_name()
                    .map(|n| n.to_string_lossy().trim_end_matches(".part").to_string())
                    .unwrap_or_default(),
                got: done,
                limit,
            }));
        }
        file.write_all(&buf[..n])
            .map_err(|e| stop(write_err(part)(e)))?;
        event(Event::Progress { done, total });
    }
    file.sync_all().map_err(|e| stop(write_err(part)(e)))?;
    if let Some(t) = total {
        if done < t {
            return Err(failed(
                NetError::Truncated {
                    host: crate::net::host_of(url),
                    done,
                    total: t,
                },
                done > start,
            ));
        }
    }
    Ok(())
}

/// `bytes A-B/T` or `bytes */T`: (A, T), A being 0 for the second form.
fn content_range(v: Option<&str>) -> Option<(u64, Option<u64>)> {
    let rest = v?.trim().strip_prefix("bytes")?.trim();
    let (range, total) = rest.split_once('/')?;
    let total = total.trim().parse::<u64>().ok();
    if range.trim() == "*" {
        return Some((0, total));
    }
    let from = range.split_once('-')?.0.trim().parse().ok()?;
    Some((from, total))
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// A `.part` that is a link is not ours to write through.
fn refuse_link(part: &Path) -> Result<(), ModelError> {
    match std::fs::symlink_metadata(part) {
        Ok(m) if !m.is_file() => Err(ModelError::Write {
            path: part.to_path_buf(),
            source: std::io::Error::other("it is a link or a folder, not a file this app made"),
        }),
        _ => Ok(()),
    }
}

fn open_part(part: &Path) -> Result<File, ModelError> {
    refuse_link(part)?;
    let mut o = OpenOptions::new();
    o.create(true).write(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    }
    o.open(part).map_err(write_err(part))
}

fn truncate(part: &Path, len: u64) -> Result<(), ModelError> {
    open_part(part)?.set_len(len).map_err(write_err(part))
}

fn sleep_unless_cancelled(pause: Duration, cancel: &AtomicBool) -> Result<(), ModelError> {
    let until = std::time::Instant::now() + pause;
    while std::time::Instant::now() < until {
        if cancel.load(Ordering::Relaxed) {
            return Err(ModelError::Cancelled);
        }
        std::thread::sleep(Duration::from_millis(50).min(pause));
    }
    Ok(())
}

/// Holds the file's download lock (`.NAME.lock` beside it) until dropped, waiting while
/// another process holds it.
fn lock(
    dir: &Path,
    name: &str,
    cancel: &AtomicBool,
    event: &mut impl FnMut(Event),
) -> Result<File, ModelError> {
    let path = dir.join(format!(".{name}.lock"));
    let waiting = || event(Event::WaitingForOther);
    crate::file_lock::lock_exclusive(&path, Duration::from_millis(250), Some(cancel), waiting)
        .map_err(|e| match e {
            crate::file_lock::LockError::Cancelled => ModelError::Cancelled,
            crate::file_lock::LockError::Io(e) => write_err(&path)(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_are_read() {
        assert_eq!(
            content_range(Some("bytes 100-199/1000")),
            Some((100, Some(1000)))
        );
        assert_eq!(content_range(Some("bytes */1000")), Some((0, Some(1000))));
        assert_eq!(content_range(Some("bytes 5-9/*")), Some((5, None)));
        assert_eq!(content_range(Some("items 1-2/3")), None);
        assert_eq!(content_range(None), None);
    }

    #[test]
    fn both_checksums_hash_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x");
        std::fs::write(&f, b"abc").unwrap();
        let s256 = Checksum::Sha256(String::new()).of_file(&f).unwrap();
        assert_eq!(
            s256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let s1 = Checksum::Sha1(String::new()).of_file(&f).unwrap();
        assert_eq!(s1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
