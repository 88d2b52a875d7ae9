//! What the app does with speakers once a document is made: naming one ("Speaker 2" is
//! "Li Wei"), which writes every format of the document again, and the remembered
//! voices (opt-in, per name): listed, kept when a speaker is named with `remember`,
//! forgotten on request.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Core, CoreError};
use crate::media::speakers::book::VoiceBook;

/// A remembered voice as the list shows it (never its print).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RememberedVoice {
    pub name: String,
    pub added: String,
    pub source: String,
}

impl Core {
    /// Names speaker `id` of the document whose JSON is `json` and writes every format
    /// of it again (the files written are returned). With `remember`, the speaker's
    /// voice is kept, so that later recordings name them too: its print is read from
    /// the recording's work folder, which must still be there.
    pub fn rename_speaker(
        &self,
        json: &Path,
        id: u32,
        name: &str,
        remember: bool,
    ) -> Result<Vec<PathBuf>, CoreError> {
        let subtitles = self.settings().subtitles;
        let (doc, files) =
            crate::document::export::rewrite(json, &subtitles, |d| d.rename_speaker(id, name))?;
        if remember {
            let work = crate::pipeline::work_dir(&self.dirs().work(), &doc.source)
                .map_err(|e| CoreError::NoVoice(format!("the voice cannot be remembered: {e}")))?;
            let voice = crate::pipeline::stored_voices(&work)
                .and_then(|d| d.voices.into_iter().find(|v| v.id == id))
                .ok_or_else(|| {
                    CoreError::NoVoice(format!(
                        "the voice of speaker {id} cannot be remembered: the work of {} is no longer kept; process it again first",
                        doc.source.display()
                    ))
                })?;
            let named = doc
                .speakers
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let path = self.dirs().voices();
            let mut book = VoiceBook::load(&path)?;
            book.remember(
                &named,
                &voice.print,
                &doc.title,
                &crate::pipeline::now_rfc3339(),
            );
            book.save(&path)?;
        }
        // The library lists and finds the new name.
        if let Err(e) = self.library().sync() {
            tracing::warn!(error = %e, "the library could not be brought up to date");
        }
        Ok(files.into_values().collect())
    }

    /// The remembered voices.
    pub fn remembered_voices(&self) -> Result<Vec<RememberedVoice>, CoreError> {
        Ok(VoiceBook::load(&self.dirs().voices())?
            .voices
            .into_iter()
            .map(|v| RememberedVoice {
                name: v.name,
                added: v.added,
                source: v.source,
            })
            .collect())
    }

    /// Forgets the voice remembered as `name`; false when there was none.
    pub fn forget_voice(&self, name: &str) -> Result<bool, CoreError> {
        let path = self.dirs().voices();
        let mut book = VoiceBook::load(&path)?;
        let forgot = book.forget(name);
        if forgot {
            book.save(&path)?;
        }
        Ok(forgot)
    }
}
