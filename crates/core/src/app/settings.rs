//! The user's settings, persisted as JSON in the OS config folder (or one given):
//! output formats and folder, model, language, summary backend, per-queue concurrency,
//! retention. A missing file gives the defaults; a damaged one is reported, not
//! silently replaced.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::app::watch::WatchedFolder;
use crate::document::export::Format;
use crate::document::summary::{Endpoint, LocalModel, Method, SummaryOptions, Template};
use crate::workflow::paths::PathMapping;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    pub formats: Vec<Format>,
    /// Where documents go when no folder is given.
    pub output_dir: Option<PathBuf>,
    /// A model name of the catalogue (`base`, `small.en`...) or a ggml file.
    pub model: String,
    /// Spoken language; `None` detects it.
    pub language: Option<String>,
    pub summary_endpoint: Option<Endpoint>,
    /// How summaries are written: method, template, the person's own instructions,
    /// language, and the local model.
    pub summary: SummarySettings,
    /// Slots per queue (`video`, `audio`, `image`, `summary`, `export`).
    pub concurrency: BTreeMap<String, usize>,
    /// Finished jobs and their work files are kept this many days; 0 keeps them until
    /// they are cleared. Documents stay in the library whatever this says.
    pub retention_days: u32,
    /// Threads whisper uses (0: all cores).
    pub threads: usize,
    /// Folders whose new videos are processed on their own (the window runs them).
    pub watch: Vec<WatchedFolder>,
    /// The local HTTP API (the old server's endpoints) while the window runs.
    pub http_api: HttpApi,
    /// `en` or `zh-CN`; `None` follows the OS.
    pub ui_language: Option<String>,
    pub theme: Theme,
    /// A desktop notification when an item or a batch finishes.
    pub notify: bool,
    /// A shared queue on Redis (`redis://[:password@]host:port/db`, `rediss://` for
    /// TLS) instead of the embedded one; `--queue` overrides it.
    pub queue_url: Option<String>,
    /// For a `rediss://` queue: the PEM file of the CA that signed the server's
    /// certificate, when it is not one the system trusts.
    pub queue_ca_file: Option<PathBuf>,
    /// Where shared storage is mounted on this machine, for jobs submitted elsewhere:
    /// `[{"from": "/mnt/share", "to": "Z:\\"}]`.
    pub path_map: PathMapping,
    /// On a shared queue, the folders whose files this machine processes and writes
    /// documents into for jobs (besides path_map's targets, the output folder and the
    /// watched folders): a job naming anything else fails, so that whoever can write to
    /// the queue cannot make this machine read or write other files.
    pub shared_roots: Vec<PathBuf>,
    /// Where Whisper models are downloaded from: Hugging Face (`None`) or a mirror of it
    /// that serves the same paths (e.g. `https://hf-mirror.com` where Hugging Face
    /// cannot be reached).
    pub model_source: Option<String>,
    /// An organisation's own models: a JSON file of catalogue entries (name, size, URL,
    /// checksum), offered beside the standard ones.
    pub model_catalogue: Option<PathBuf>,
    /// Chinese in simplified (default) or traditional characters, or as whisper writes it.
    pub chinese_script: crate::media::transcribe::ChineseScript,
    /// How subtitles are cut: line width, lines, shortest and longest cue.
    pub subtitles: crate::document::export::SubtitleStyle,
    /// What kind of video, for slide detection: slides, slides with camera shots, or
    /// screen recordings.
    pub slide_sensitivity: crate::media::slides::Sensitivity,
    /// Read what is written on the slides (titles, text) when a text model is installed.
    pub slide_text: bool,
    /// Tell speakers apart when speaker models are installed: `auto` (labels when more
    /// than one voice is heard), `off`, or a number of speakers.
    pub speakers: crate::media::speakers::SpeakerCount,
    /// Where speech is recognised: `auto` (a GPU with room for the model when a GPU
    /// build is installed, else the CPU), `cpu`, or `gpu` (a software one too).
    pub device: crate::media::device::DeviceSetting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpApi {
    pub enabled: bool,
    pub port: u16,
}

impl Default for HttpApi {
    fn default() -> Self {
        HttpApi {
            enabled: false,
            port: 8000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            formats: Format::ALL.to_vec(),
            output_dir: None,
            model: "base".into(),
            language: None,
            summary_endpoint: None,
            summary: SummarySettings::default(),
            concurrency: BTreeMap::new(),
            retention_days: 7,
            threads: 0,
            watch: Vec::new(),
            http_api: HttpApi::default(),
            ui_language: None,
            theme: Theme::System,
            notify: true,
            queue_url: None,
            queue_ca_file: None,
            path_map: PathMapping::default(),
            shared_roots: Vec::new(),
            model_source: None,
            model_catalogue: None,
            chinese_script: Default::default(),
            subtitles: Default::default(),
            slide_sensitivity: Default::default(),
            slide_text: true,
            speakers: Default::default(),
            device: Default::default(),
        }
    }
}

/// How summaries are written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SummarySettings {
    /// `auto`: the local model when one is installed, else the endpoint when one is set,
    /// else the built-in summary.
    pub method: Method,
    /// `auto`: meeting notes when several speakers were heard, else lecture notes.
    pub template: Template,
    /// The person's own instructions per template (absent: the template's default).
    pub prompts: BTreeMap<Template, String>,
    /// The language the notes are written in; `None`: the recording's.
    pub language: Option<String>,
    /// The local model: a catalogue name or a GGUF file name in the summary models
    /// folder; `None`: the first installed.
    pub model: Option<String>,
    /// Tokens per request for the local model (prompt and reply).
    pub context: u32,
}

impl Default for SummarySettings {
    fn default() -> Self {
        SummarySettings {
            method: Method::Auto,
            template: Template::Auto,
            prompts: BTreeMap::new(),
            language: None,
            model: None,
            context: crate::document::summary::local::default_context(),
        }
    }
}

impl SummarySettings {
    /// The local model these settings choose among those installed in `models`, run by
    /// the worker beside this program.
    pub fn local_model(&self, models: &Path) -> Option<LocalModel> {
        let dir = crate::media::models::llm::summary_dir(models);
        let file = crate::media::models::llm::chosen(&dir, self.model.as_deref())?;
        let mut m = LocalModel::new(file);
        m.context = self.context;
        Some(m)
    }

    /// The options a job carries (the local model is the machine's own, added where the
    /// job runs).
    pub fn options(&self) -> SummaryOptions {
        SummaryOptions {
            method: self.method,
            template: self.template,
            prompts: self.prompts.clone(),
            language: self.language.clone(),
            local: None,
        }
    }
}

/// Why settings could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("the settings file {path} is damaged ({source}); fix or delete it")]
    Damaged {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("could not access the settings file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl AppSettings {
    /// How long finished jobs and work folders are kept; `None`: until cleared.
    pub fn retention(&self) -> Option<std::time::Duration> {
        (self.retention_days > 0)
            .then(|| std::time::Duration::from_secs(u64::from(self.retention_days) * 86_400))
    }

    pub fn path(config_dir: &Path) -> PathBuf {
        config_dir.join("settings.json")
    }

    /// Reads the settings in `config_dir` (defaults when there are none yet).
    pub fn load(config_dir: &Path) -> Result<AppSettings, SettingsError> {
        let path = AppSettings::path(config_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| SettingsError::Damaged { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AppSettings::default()),
            Err(source) => Err(SettingsError::Io { path, source }),
        }
    }

    /// Writes the settings (whole file or nothing).
    pub fn save(&self, config_dir: &Path) -> Result<(), SettingsError> {
        let path = AppSettings::path(config_dir);
        let io = |source| SettingsError::Io {
            path: path.clone(),
            source,
        };
        // Private: it may hold a summary API key and a Redis password.
        crate::private::private_dir(config_dir).map_err(io)?;
        let bytes = serde_json::to_vec_pretty(self).expect("settings serialize");
        crate::private::write_private(&path, &bytes).map_err(io)
    }

    /// What the workflow handlers need of these settings (see [`crate::workflow::Serving`]).
    pub fn serving(&self) -> crate::workflow::Serving {
        let watched = self.watch.iter().flat_map(|w| {
            let out = match &w.output {
                crate::app::watch::OutputPlace::Folder(p) => Some(p.clone()),
                crate::app::watch::OutputPlace::BesideSource => None,
            };
            std::iter::once(w.path.clone()).chain(out)
        });
        crate::workflow::Serving {
            summary_endpoint: self.summary_endpoint.clone(),
            summary_model: self.summary.model.clone(),
            summary_context: self.summary.context,
            roots: self
                .shared_roots
                .iter()
                .cloned()
                .chain(self.output_dir.clone())
                .chain(watched)
                .collect(),
        }
    }

    /// What is wrong with these settings, in plain words, one line each (empty: fine).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.formats.is_empty() {
            p.push("choose at least one output format".to_string());
        }
        if self.model.trim().is_empty() {
            p.push("choose a model".to_string());
        }
        if self.retention_days > 3650 {
            p.push(
                "keep finished items between 1 and 3650 days, or 0 to keep them until cleared"
                    .to_string(),
            );
        }
        for (q, n) in &self.concurrency {
            if q.parse::<crate::workflow::Kind>().is_err() {
                p.push(format!("there is no queue called {q:?}"));
            } else if !(1..=64).contains(n) {
                p.push(format!("the {q} queue needs 1 to 64 slots, not {n}"));
            }
        }
        if self.threads > 256 {
            p.push(format!(
                "{} threads is too many (0 uses every core)",
                self.threads
            ));
        }
        if self.http_api.port < 1024 {
            p.push(format!(
                "port {} is reserved; use 1024 to 65535",
                self.http_api.port
            ));
        }
        if let Some(why) = self
            .language
            .as_deref()
            .and_then(crate::media::transcribe::language_problem)
        {
            p.push(why);
        }
        if let Some(l) = &self.ui_language {
            if !["en", "zh-CN"].contains(&l.as_str()) {
                p.push(format!("the window speaks en or zh-CN, not {l:?}"));
            }
        }
        if let Some(e) = &self.summary_endpoint {
            if !(e.base_url.starts_with("http://") || e.base_url.starts_with("https://")) {
                p.push(format!(
                    "the summary endpoint {:?} must start with http:// or https://",
                    e.base_url
                ));
            }
            if !(512..=131_072).contains(&e.context) {
                p.push(format!(
                    "the summary endpoint's context must be 512 to 131072 tokens, not {}",
                    e.context
                ));
            }
        }
        if let Some(src) = &self.model_source {
            if !(src.starts_with("http://") || src.starts_with("https://")) {
                p.push(format!(
                    "the model source {src:?} must start with http:// or https://"
                ));
            }
        }
        if !(512..=131_072).contains(&self.summary.context) {
            p.push(format!(
                "the summary model's context must be 512 to 131072 tokens, not {}",
                self.summary.context
            ));
        }
        if let Some(l) = &self.summary.language {
            if l.trim().is_empty() || l.len() > 16 {
                p.push(format!("{l:?} is not a language code for the summary"));
            }
        }
        p.extend(self.subtitles.problems());
        if let Some(u) = self.queue_url.as_deref().filter(|u| !u.trim().is_empty()) {
            if !(u.starts_with("redis://") || u.starts_with("rediss://")) {
                p.push(format!(
                    "the shared queue {:?} must start with redis:// or rediss://",
                    // (Never the password.)
                    u.rsplit('@').next().unwrap_or(u)
                ));
            }
        }
        for r in self.shared_roots.iter().filter(|r| !r.is_absolute()) {
            p.push(format!(
                "the shared folder {} must be a full path",
                r.display()
            ));
        }
        if let Some(c) = &self.model_catalogue {
            if let Err(e) = crate::media::models::catalogue::read_catalogue(c) {
                p.push(e.to_string());
            }
        }
        for w in &self.watch {
            if !w.path.is_dir() {
                p.push(format!(
                    "the watched folder {} does not exist",
                    w.path.display()
                ));
            }
        }
        p
    }

    /// Where catalogue models are downloaded from.
    pub fn model_source_or_default(&self) -> &str {
        self.model_source
            .as_deref()
            .unwrap_or(crate::media::models::catalogue::DEFAULT_SOURCE)
    }

    /// Where documents go: the chosen folder, else `Video2Doc` in the user's Documents.
    pub fn output_dir_or_default(&self) -> PathBuf {
        self.output_dir.clone().unwrap_or_else(|| {
            let docs = directories::UserDirs::new().and_then(|u| {
                u.document_dir()
                    .map(Path::to_path_buf)
                    .or_else(|| Some(u.home_dir().join("Documents")))
            });
            docs.unwrap_or_else(|| PathBuf::from(".")).join("Video2Doc")
        })
    }

    /// The model file: a path as given, else `<models>/ggml-<name>.bin`.
    pub fn model_path(&self, models_dir: &Path) -> PathBuf {
        let p = PathBuf::from(&self.model);
        if p.is_file() || self.model.contains(['/', '\\']) || self.model.ends_with(".bin") {
            return p;
        }
        models_dir.join(format!("ggml-{}.bin", self.model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_default_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            AppSettings::load(dir.path()).unwrap(),
            AppSettings::default()
        );
        let mut s = AppSettings {
            language: Some("zh".into()),
            ..AppSettings::default()
        };
        s.concurrency.insert("audio".into(), 1);
        s.save(dir.path()).unwrap();
        assert_eq!(AppSettings::load(dir.path()).unwrap(), s);
        std::fs::write(AppSettings::path(dir.path()), "{ not json").unwrap();
        let e = AppSettings::load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("settings.json") && e.to_string().contains("damaged"));
        // Unknown or missing fields keep their defaults (settings from older versions load).
        std::fs::write(AppSettings::path(dir.path()), r#"{"model":"small"}"#).unwrap();
        let s = AppSettings::load(dir.path()).unwrap();
        assert_eq!(s.model, "small");
        assert_eq!(s.retention_days, 7);
        assert_eq!(
            s.model_path(Path::new("/m")),
            PathBuf::from("/m/ggml-small.bin")
        );
        assert!(s.notify && s.theme == Theme::System && !s.http_api.enabled);
    }

    #[test]
    fn problems_are_named_in_plain_words() {
        assert!(AppSettings::default().problems().is_empty());
        // 0 keeps finished items until they are cleared, as the window offers.
        let keep = AppSettings {
            retention_days: 0,
            ..AppSettings::default()
        };
        assert!(keep.problems().is_empty() && keep.retention().is_none());
        let mut s = AppSettings {
            formats: Vec::new(),
            retention_days: 3651,
            ui_language: Some("fr".into()),
            ..AppSettings::default()
        };
        s.concurrency.insert("audio".into(), 0);
        s.concurrency.insert("gpu".into(), 1);
        s.http_api.port = 80;
        s.queue_url = Some("http://:pw@queue.lab:6379".into());
        s.language = Some("english".into());
        s.shared_roots = vec!["share".into()];
        s.watch.push(WatchedFolder::new(
            "/no/such/folder".into(),
            crate::app::watch::OutputPlace::BesideSource,
        ));
        let p = s.problems().join("\n");
        for want in [
            "at least one output format",
            "between 1 and 3650 days",
            "not \"fr\"",
            "audio queue needs 1 to 64 slots",
            "no queue called \"gpu\"",
            "port 80 is reserved",
            "/no/such/folder does not exist",
            "\"queue.lab:6379\" must start with redis://",
            "\"english\" is not a language code",
            "shared folder share must be a full path",
        ] {
            assert!(p.contains(want), "{want} missing from:\n{p}");
        }
        assert!(!p.contains(":pw"), "no password in messages:\n{p}");
    }
}
