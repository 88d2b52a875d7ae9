//! Every external process Video2Doc starts: ffprobe, ffmpeg (through ffmpeg-sidecar,
//! never its downloader), the transcription worker and the local language model's
//! worker ([`Session`]), and the GPU workers asked for their devices
//! ([`worker_output`]). No other module spawns one.
//!
//! Tools are found next to the running program first (a bundled sidecar), then on PATH.
//!
//! A worker can be started ahead of its work ([`start_worker`]): it is sent its first
//! line (what to get ready, such as the model to load) and kept until a
//! [`run_worker`] with the same program, arguments and first line takes it, so that
//! the worker's start overlaps what comes before (the audio being decoded).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ffmpeg_sidecar::command::FfmpegCommand;
use ffmpeg_sidecar::event::{FfmpegEvent, LogLevel};

/// A tool could not be run, or failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{tool} was not found: install ffmpeg (it provides ffmpeg and ffprobe) or put it next to Video2Doc")]
    NotFound { tool: String },
    #[error("{tool} could not be started: {source}")]
    Spawn {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    #[error("ffmpeg failed on {input}: {message}")]
    Ffmpeg { input: PathBuf, message: String },
    #[error("the transcription worker failed: {message}")]
    Worker { message: String },
    #[error("{program} stopped: {message}")]
    Ended { program: String, message: String },
    #[error("cancelled")]
    Cancelled,
}

/// The path of a tool: beside the current executable if present, else its bare name
/// (looked up on PATH).
pub fn tool_path(name: &str) -> PathBuf {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let beside = dir.join(&file);
        if beside.is_file() {
            return beside;
        }
    }
    PathBuf::from(file)
}

/// Where a tool is found: the bundled one beside the executable, else the first on PATH.
pub fn tool_location(name: &str) -> Option<PathBuf> {
    let p = tool_path(name);
    if p.is_absolute() {
        return Some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(&p))
        .find(|c| c.is_file())
}

fn spawn_error(tool: &str, source: std::io::Error) -> ProcessError {
    if source.kind() == std::io::ErrorKind::NotFound {
        ProcessError::NotFound { tool: tool.into() }
    } else {
        ProcessError::Spawn {
            tool: tool.into(),
            source,
        }
    }
}

/// The first line of `<tool> -version` (where the tool was found), or `None` when it
/// cannot be run.
pub fn tool_version(name: &str) -> Option<String> {
    let path = tool_path(name);
    let out = Command::new(&path)
        .arg("-version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()?
        .to_string();
    Some(format!("{first} ({})", path.display()))
}

/// Runs `program args` to a short answer (a GPU worker listing its devices) and returns
/// what it printed; a program that does not end within `wait` (a driver that hangs) is
/// killed, and one that fails is reported with its last words.
pub fn worker_output(
    program: &Path,
    args: &[&str],
    wait: Duration,
) -> Result<Vec<u8>, ProcessError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(&program.display().to_string(), e))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < wait => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProcessError::Worker {
                    message: format!(
                        "{} gave no answer in {} s",
                        program.display(),
                        wait.as_secs()
                    ),
                });
            }
            Err(e) => return Err(spawn_error(&program.display().to_string(), e)),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(ProcessError::Worker {
            message: format!("it exited with {status}; last output: {}", tail.join(" | ")),
        });
    }
    Ok(stdout)
}

/// ffprobe's output for one file.
pub struct ProbeOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Before every input: ffmpeg may open local files and pipes only. A "video" that is
/// really a playlist must not make it fetch URLs (revealing that the file was opened)
/// whatever the ffmpeg build's defaults.
const LOCAL_ONLY: [&str; 2] = ["-protocol_whitelist", "file,pipe"];

/// Runs `ffprobe -show_format -show_streams -of json` on `path`.
pub fn ffprobe_json(path: &Path) -> Result<ProbeOutput, ProcessError> {
    let out = Command::new(tool_path("ffprobe"))
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .args(LOCAL_ONLY)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error("ffprobe", e))?;
    Ok(ProbeOutput {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Parses ffmpeg's `HH:MM:SS.xx` progress time.
fn seconds(t: &str) -> Option<f64> {
    let mut total = 0.0;
    for part in t.split(':') {
        total = total * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(total)
}

/// Decodes the first audio stream of `input` to 16 kHz mono f32 little-endian PCM in
/// `out` (streamed to disk: memory stays flat whatever the length). `on_progress` gets
/// the seconds decoded so far. `cancel` stops ffmpeg at once.
pub fn extract_audio(
    input: &Path,
    out: &Path,
    cancel: &AtomicBool,
    mut on_progress: impl FnMut(f64),
) -> Result<(), ProcessError> {
    let mut child = FfmpegCommand::new_with_path(tool_path("ffmpeg"))
        .hide_banner()
        .args(LOCAL_ONLY)
        .input(input)
        .args([
            "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000", "-f", "f32le",
        ])
        .overwrite()
        .output(out)
        .spawn()
        .map_err(|e| spawn_error("ffmpeg", e))?;
    let mut errors = Vec::new();
    let iter = child.iter().map_err(|e| ProcessError::Ffmpeg {
        input: input.to_path_buf(),
        message: e.to_string(),
    })?;
    for event in iter {
        if cancel.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProcessError::Cancelled);
        }
        match event {
            FfmpegEvent::Progress(p) => {
                if let Some(s) = seconds(&p.time) {
                    on_progress(s);
                }
            }
            FfmpegEvent::Log(LogLevel::Error | LogLevel::Fatal, msg) => errors.push(msg),
            FfmpegEvent::Error(msg) => errors.push(msg),
            _ => {}
        }
    }
    let status = child.wait().map_err(|e| spawn_error("ffmpeg", e))?;
    if !status.success() {
        return Err(ProcessError::Ffmpeg {
            input: input.to_path_buf(),
            message: errors
                .last()
                .cloned()
                .unwrap_or_else(|| format!("ffmpeg exited with {status}")),
        });
    }
    Ok(())
}

/// Samples `fps` frames per second of `input`, scaled to `width` x `height`, as
/// grayscale frames handed to `on_frame` in time order (in memory; nothing on disk).
pub fn sample_frames(
    input: &Path,
    fps: f32,
    width: usize,
    height: usize,
    cancel: &AtomicBool,
    mut on_frame: impl FnMut(crate::media::slides::Frame),
) -> Result<(), ProcessError> {
    let ferr = |message: String| ProcessError::Ffmpeg {
        input: input.to_path_buf(),
        message,
    };
    let mut child = FfmpegCommand::new_with_path(tool_path("ffmpeg"))
        .hide_banner()
        .args(LOCAL_ONLY)
        .input(input)
        .filter(format!("fps={fps},scale={width}:{height}"))
        .rawvideo()
        .spawn()
        .map_err(|e| spawn_error("ffmpeg", e))?;
    let mut errors = Vec::new();
    for event in child.iter().map_err(|e| ferr(e.to_string()))? {
        if cancel.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProcessError::Cancelled);
        }
        match event {
            FfmpegEvent::OutputFrame(f) => {
                let gray = f
                    .data
                    .chunks_exact(3)
                    .map(|p| {
                        ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000) as u8
                    })
                    .collect();
                on_frame(crate::media::slides::Frame {
                    t_ms: (f.frame_num as f64 * 1000.0 / fps as f64) as u64,
                    width: f.width as usize,
                    height: f.height as usize,
                    gray,
                });
            }
            FfmpegEvent::Log(LogLevel::Error | LogLevel::Fatal, msg) => errors.push(msg),
            FfmpegEvent::Error(msg) => errors.push(msg),
            _ => {}
        }
    }
    let status = child.wait().map_err(|e| spawn_error("ffmpeg", e))?;
    if !status.success() {
        return Err(ferr(
            errors
                .last()
                .cloned()
                .unwrap_or_else(|| format!("ffmpeg exited with {status}")),
        ));
    }
    Ok(())
}

/// Writes the frame at `t_ms` of `input`, at full resolution, as a high-quality JPEG.
pub fn extract_frame(input: &Path, t_ms: u64, out: &Path) -> Result<(), ProcessError> {
    let o = Command::new(tool_path("ffmpeg"))
        .args(["-hide_banner", "-loglevel", "error", "-y", "-ss"])
        .arg(format!("{:.3}", t_ms as f64 / 1000.0))
        .args(LOCAL_ONLY)
        .arg("-i")
        .arg(input)
        .args(["-frames:v", "1", "-q:v", "2", "-update", "1"])
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error("ffmpeg", e))?;
    if !o.status.success() || !out.is_file() {
        return Err(ProcessError::Ffmpeg {
            input: input.to_path_buf(),
            message: format!(
                "no frame at {:.1} s: {}",
                t_ms as f64 / 1000.0,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
        });
    }
    Ok(())
}

/// A worker started ahead of its work, sent its first line.
struct Ahead {
    program: PathBuf,
    args: Vec<String>,
    first: String,
    child: Child,
    stdin: ChildStdin,
    at: Instant,
}

/// At most this many workers wait ahead; a worker unused this long is stopped.
const AHEAD_MAX: usize = 2;
const AHEAD_FRESH: Duration = Duration::from_secs(60);

fn ahead() -> &'static Mutex<Vec<Ahead>> {
    static AHEAD: OnceLock<Mutex<Vec<Ahead>>> = OnceLock::new();
    AHEAD.get_or_init(Default::default)
}

fn stop(mut a: Ahead) {
    let _ = a.child.kill();
    let _ = a.child.wait();
}

/// Starts `cmd` from a thread that lives as long as the program. A worker asks to be
/// killed when the thread that started it ends (Linux's parent-death signal follows
/// the thread, not the process), and the thread of the step that starts a worker ahead
/// may end long before the worker is done.
fn spawn_from_keeper(cmd: Command) -> std::io::Result<Child> {
    type Ask = (Command, std::sync::mpsc::Sender<std::io::Result<Child>>);
    static KEEPER: OnceLock<Mutex<std::sync::mpsc::Sender<Ask>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Ask>();
        std::thread::Builder::new()
            .name("worker-starter".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("the worker-starter thread starts");
        Mutex::new(tx)
    });
    let (tx, rx) = std::sync::mpsc::channel();
    keeper
        .lock()
        .expect("the worker starter is never poisoned")
        .send((cmd, tx))
        .expect("the worker-starter thread lives as long as the program");
    rx.recv()
        .expect("the worker-starter thread answers every request")
}

fn spawn_worker(
    program: &Path,
    args: &[&str],
    first: &str,
) -> Result<(Child, ChildStdin), ProcessError> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child =
        spawn_from_keeper(cmd).map_err(|e| spawn_error(&program.display().to_string(), e))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    if let Err(e) = stdin.write_all(format!("{first}\n").as_bytes()) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(ProcessError::Worker {
            message: format!("could not send the request: {e}"),
        });
    }
    Ok((child, stdin))
}

/// Starts `program args` now and sends it `first`, for a [`run_worker`] to take later.
/// Workers unused for a minute are stopped, and at most two wait.
pub fn start_worker(program: &Path, args: &[&str], first: &str) -> Result<(), ProcessError> {
    let (child, stdin) = spawn_worker(program, args, first)?;
    let mut waiting = ahead().lock().expect("the worker list is never poisoned");
    waiting.push(Ahead {
        program: program.to_path_buf(),
        args: args.iter().map(|a| a.to_string()).collect(),
        first: first.to_string(),
        child,
        stdin,
        at: Instant::now(),
    });
    while waiting.len() > AHEAD_MAX {
        stop(waiting.remove(0));
    }
    Ok(())
}

/// How many workers started ahead are running and waiting to be taken.
pub fn workers_waiting() -> usize {
    let mut waiting = ahead().lock().expect("the worker list is never poisoned");
    waiting.retain_mut(|a| matches!(a.child.try_wait(), Ok(None)));
    waiting.len()
}

/// A worker started ahead with this program, arguments and first line, still running.
fn take_ahead(program: &Path, args: &[&str], first: &str) -> Option<(Child, ChildStdin)> {
    let mut waiting = ahead().lock().expect("the worker list is never poisoned");
    let (mut keep, mut found) = (Vec::new(), None);
    for mut a in waiting.drain(..) {
        let alive = matches!(a.child.try_wait(), Ok(None));
        if !alive || a.at.elapsed() > AHEAD_FRESH {
            stop(a);
        } else if found.is_none() && a.program == program && a.args == args && a.first == first {
            found = Some((a.child, a.stdin));
        } else {
            keep.push(a);
        }
    }
    *waiting = keep;
    found
}

/// Runs the transcription worker `program` with `args`: sends it `first` (unless a
/// worker started ahead with the same first line is taken) and `request`, one JSON line
/// each, and hands every line it prints to `on_line` until it exits. Cancel kills it at
/// once. Returns the worker's stderr tail when it fails.
pub fn run_worker(
    program: &Path,
    args: &[&str],
    first: &str,
    request: &str,
    cancel: &Arc<AtomicBool>,
    mut on_line: impl FnMut(&str),
) -> Result<(), ProcessError> {
    let (mut child, mut stdin) = match take_ahead(program, args, first) {
        Some(started) => started,
        None => spawn_worker(program, args, first)?,
    };
    stdin
        .write_all(format!("{request}\n").as_bytes())
        .map_err(|e| ProcessError::Worker {
            message: format!("could not send the request: {e}"),
        })?;
    drop(stdin);
    let mut stderr = child.stderr.take().expect("piped stderr");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // A watchdog kills the worker as soon as cancel is set.
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let (c, d) = (cancel.clone(), done.clone());
    let watchdog = std::thread::spawn(move || {
        while !d.load(Ordering::Relaxed) {
            if c.load(Ordering::Relaxed) {
                kill(pid);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines() {
        match line {
            Ok(l) => on_line(&l),
            Err(_) => break,
        }
    }
    let status = child.wait().map_err(|e| spawn_error("worker", e))?;
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    let stderr = err_thread.join().unwrap_or_default();
    if cancel.load(Ordering::Relaxed) {
        return Err(ProcessError::Cancelled);
    }
    if !status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(ProcessError::Worker {
            message: format!("it exited with {status}; last output: {}", tail.join(" | ")),
        });
    }
    Ok(())
}

fn kill(pid: u32) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    #[cfg(windows)]
    {
        let _ = Command::new("taskkill")
            .args(["/PID", &pid.to_string(), "/T", "/F"])
            .status();
    }
}

/// A worker spoken to line by line for as long as it is needed (the local language
/// model's: it loads its model once and answers many requests). Cancel kills it at once;
/// dropping the session closes its input, which ends it, and kills it if it lingers.
pub struct Session {
    program: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    stderr: Option<std::thread::JoinHandle<String>>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
}

impl Session {
    /// Starts `program args` and sends it `first`.
    pub fn start(
        program: &Path,
        args: &[&str],
        first: &str,
        cancel: &Arc<AtomicBool>,
    ) -> Result<Session, ProcessError> {
        let (mut child, stdin) = spawn_worker(program, args, first)?;
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let pid = child.id();
        let done = Arc::new(AtomicBool::new(false));
        let (c, d) = (cancel.clone(), done.clone());
        std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                if c.load(Ordering::Relaxed) {
                    kill(pid);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let stdout = child.stdout.take().expect("piped stdout");
        Ok(Session {
            program: program.to_path_buf(),
            child,
            stdin: Some(stdin),
            lines: BufReader::new(stdout).lines(),
            stderr: Some(stderr),
            cancel: cancel.clone(),
            done,
        })
    }

    /// Sends one line.
    pub fn send(&mut self, line: &str) -> Result<(), ProcessError> {
        let sent = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|_| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        match sent {
            Ok(()) => Ok(()),
            Err(_) => Err(self.ended()),
        }
    }

    /// The next line the worker prints.
    pub fn next_line(&mut self) -> Result<String, ProcessError> {
        match self.lines.next() {
            Some(Ok(l)) => Ok(l),
            _ => Err(self.ended()),
        }
    }

    /// Why the worker stopped talking: cancelled, or its exit and the tail of its
    /// stderr.
    fn ended(&mut self) -> ProcessError {
        self.stdin = None;
        let status = self.child.wait();
        self.done.store(true, Ordering::Relaxed);
        if self.cancel.load(Ordering::Relaxed) {
            return ProcessError::Cancelled;
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let status = match status {
            Ok(s) => s.to_string(),
            Err(e) => e.to_string(),
        };
        ProcessError::Ended {
            program: self.program.display().to_string(),
            message: match tail.is_empty() {
                true => format!("it exited with {status}"),
                false => format!("it exited with {status}; last output: {}", tail.join(" | ")),
            },
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.done.store(true, Ordering::Relaxed);
    }
}
