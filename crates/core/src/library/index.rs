//! The library's full-text index (tantivy): what can be found in every document, each
//! passage with the time it was said or shown.
//!
//! A document is indexed as passages: its title and speakers' names (at 0), its summary
//! (at 0), each slide's title and text (at the slide's time, with its number) and each
//! segment of its transcript (at its time, with the slide on screen and the speaker's
//! name, which a query may name too). A query is parsed with every term required; a
//! term of several Chinese characters, or words in quotes, is a phrase. The index is a
//! cache: it records the stamp of the JSON each document was read from, so
//! [`super::Library::sync`] knows what to read again, and it is made again from the
//! documents when it is lost or from an older layout ([`LAYOUT`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{QueryParser, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::catalogue::Entry;
use super::tokens;
use super::LibraryError;
use crate::document::Document;

/// The index's layout: a new one is made (from the documents) when this changes.
pub const LAYOUT: u32 = 1;

/// What a passage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Passage {
    /// The document's title and speakers.
    Title,
    Summary,
    /// A slide's title and text.
    Slide,
    /// What was said.
    Speech,
}

impl Passage {
    fn name(self) -> &'static str {
        match self {
            Passage::Title => "title",
            Passage::Summary => "summary",
            Passage::Slide => "slide",
            Passage::Speech => "speech",
        }
    }
    fn named(s: &str) -> Passage {
        match s {
            "title" => Passage::Title,
            "summary" => Passage::Summary,
            "slide" => Passage::Slide,
            _ => Passage::Speech,
        }
    }
}

/// A passage found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The library entry's id.
    pub id: String,
    pub passage: Passage,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The slide shown (from 1), if any.
    pub slide: Option<usize>,
    pub speaker: Option<String>,
    /// The words around the match.
    pub snippet: String,
    /// Where the matched terms are in `snippet`, as character (not byte) ranges.
    pub marks: Vec<[usize; 2]>,
    pub score: f32,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    passage: Field,
    text: Field,
    who: Field,
    start: Field,
    end: Field,
    slide: Field,
    stamp: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokens::NAME)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored {
            o.set_stored()
        } else {
            o
        }
    };
    let f = Fields {
        id: b.add_text_field("id", STRING | STORED),
        passage: b.add_text_field("passage", STRING | STORED),
        text: b.add_text_field("text", words(true)),
        who: b.add_text_field("who", words(true)),
        start: b.add_u64_field("start_ms", STORED | FAST),
        end: b.add_u64_field("end_ms", STORED),
        slide: b.add_u64_field("slide", STORED | INDEXED),
        stamp: b.add_text_field("stamp", STORED),
    };
    (b.build(), f)
}

/// The open index.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    dir: PathBuf,
    /// This process's writer, taken at the first write and kept, so that merges run
    /// in the background rather than at each document (another process meanwhile
    /// leaves its writes to this one's syncs).
    writer: std::sync::Mutex<Option<IndexWriter>>,
}

fn err(dir: &Path) -> impl Fn(tantivy::TantivyError) -> LibraryError + '_ {
    move |source| LibraryError::Index {
        path: dir.to_path_buf(),
        source,
    }
}

impl SearchIndex {
    /// Opens the index in `dir` (`index-v<LAYOUT>`), made empty when missing; a damaged
    /// one is replaced by an empty one. The second value says it was made empty (and
    /// must be filled from the documents).
    pub fn open(library: &Path) -> Result<(SearchIndex, bool), LibraryError> {
        let dir = library.join(format!("index-v{LAYOUT}"));
        // Older layouts go.
        if let Ok(rd) = std::fs::read_dir(library) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("index-v") && e.path() != dir {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let existed = dir.join("meta.json").is_file();
        match SearchIndex::open_in(&dir) {
            Ok(i) => Ok((i, !existed)),
            Err(e) => {
                tracing::warn!(error = %e, "the library's index is damaged; making it again");
                let _ = std::fs::remove_dir_all(&dir);
                Ok((SearchIndex::open_in(&dir)?, true))
            }
        }
    }

    fn open_in(dir: &Path) -> Result<SearchIndex, LibraryError> {
        std::fs::create_dir_all(dir).map_err(|source| LibraryError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let (schema, fields) = schema();
        let directory =
            tantivy::directory::MmapDirectory::open(dir).map_err(|e| LibraryError::Index {
                path: dir.to_path_buf(),
                source: e.into(),
            })?;
        let index = Index::open_or_create(directory, schema).map_err(err(dir))?;
        index
            .tokenizers()
            .register(tokens::NAME, TextAnalyzer::from(tokens::Terms));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err(dir))?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            dir: dir.to_path_buf(),
            writer: std::sync::Mutex::new(None),
        })
    }

    /// Runs `f` with this process's writer and commits what it did; `false` (nothing
    /// done) when another process holds the index's writer: it will index what this
    /// one would have, as every process syncs against the catalogue.
    pub fn write(
        &self,
        f: impl FnOnce(&IndexWriter) -> Result<(), LibraryError>,
    ) -> Result<bool, LibraryError> {
        let mut slot = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            match self.index.writer_with_num_threads(1, 32_000_000) {
                Ok(w) => *slot = Some(w),
                Err(tantivy::TantivyError::LockFailure(..)) => return Ok(false),
                Err(e) => return Err(err(&self.dir)(e)),
            }
        }
        let w = slot.as_mut().expect("taken above");
        if let Err(e) = f(w) {
            let _ = w.rollback();
            return Err(e);
        }
        w.commit().map_err(err(&self.dir))?;
        self.reader.reload().map_err(err(&self.dir))?;
        Ok(true)
    }

    /// Removes every passage of document `id`.
    pub fn remove(&self, writer: &IndexWriter, id: &str) {
        writer.delete_term(Term::from_field_text(self.fields.id, id));
    }

    /// Indexes `doc` as entry `entry` (its earlier passages removed).
    pub fn put(
        &self,
        writer: &IndexWriter,
        entry: &Entry,
        doc: &Document,
    ) -> Result<(), LibraryError> {
        let f = self.fields;
        self.remove(writer, &entry.id);
        let add = |d: TantivyDocument| writer.add_document(d).map(|_| ()).map_err(err(&self.dir));
        let speakers: Vec<&str> = match doc.labelled() {
            true => doc.speakers.iter().map(|s| s.name.as_str()).collect(),
            false => Vec::new(),
        };
        add(doc!(
            f.id => entry.id.as_str(),
            f.passage => Passage::Title.name(),
            f.text => doc.title.as_str(),
            f.who => speakers.join(", "),
            f.start => 0u64,
            f.end => doc.duration_ms,
            f.stamp => entry.stamp.as_str(),
        ))?;
        if !doc.summary.points.is_empty() {
            add(doc!(
                f.id => entry.id.as_str(),
                f.passage => Passage::Summary.name(),
                f.text => doc.summary.points.join("\n"),
                f.start => 0u64,
                f.end => doc.duration_ms,
            ))?;
        }
        let pictured = doc.sections.iter().any(|s| s.image.is_some());
        for s in &doc.sections {
            let written: Vec<&str> = [s.title.as_deref(), s.slide_text.as_deref()]
                .into_iter()
                .flatten()
                .filter(|t| !t.trim().is_empty())
                .collect();
            if written.is_empty() {
                continue;
            }
            add(doc!(
                f.id => entry.id.as_str(),
                f.passage => Passage::Slide.name(),
                f.text => written.join("\n"),
                f.start => s.start_ms,
                f.end => s.end_ms,
                f.slide => s.index as u64,
            ))?;
        }
        for seg in &doc.segments {
            if seg.text.trim().is_empty() {
                continue;
            }
            let mut d = doc!(
                f.id => entry.id.as_str(),
                f.passage => Passage::Speech.name(),
                f.text => seg.text.trim(),
                f.start => seg.start_ms,
                f.end => seg.end_ms,
            );
            if let Some(name) = doc.speaker_name(seg.speaker) {
                d.add_text(f.who, name);
            }
            if pictured {
                let mid = (seg.start_ms + seg.end_ms) / 2;
                if let Some(s) = doc.sections.iter().rev().find(|s| s.start_ms <= mid) {
                    d.add_u64(f.slide, s.index as u64);
                }
            }
            add(d)?;
        }
        Ok(())
    }

    /// The stamp each indexed document was read with, by id.
    pub fn indexed(&self) -> Result<HashMap<String, String>, LibraryError> {
        let f = self.fields;
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(f.passage, Passage::Title.name()),
            IndexRecordOption::Basic,
        );
        let found = searcher
            .search(&q, &DocSetCollector)
            .map_err(err(&self.dir))?;
        let mut out = HashMap::new();
        for at in found {
            let d: TantivyDocument = searcher.doc(at).map_err(err(&self.dir))?;
            let text = |field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            out.insert(text(f.id), text(f.stamp));
        }
        Ok(out)
    }

    /// The passages that match `query` best, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Found>, LibraryError> {
        let f = self.fields;
        let searcher = self.reader.searcher();
        let mut parser = QueryParser::for_index(&self.index, vec![f.text, f.who]);
        parser.set_conjunction_by_default();
        let (q, _) = parser.parse_query_lenient(query);
        let top = searcher
            .search(&q, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(err(&self.dir))?;
        let mut snippets =
            SnippetGenerator::create(&searcher, &*q, f.text).map_err(err(&self.dir))?;
        snippets.set_max_num_chars(160);
        let mut out = Vec::with_capacity(top.len());
        for (score, at) in top {
            let d: TantivyDocument = searcher.doc(at).map_err(err(&self.dir))?;
            let text = |field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let num = |field| d.get_first(field).and_then(|v| v.as_u64());
            let snippet = snippets.snippet_from_doc(&d);
            let (snippet, marks) = if snippet.fragment().is_empty() {
                let all = text(f.text).unwrap_or_default();
                (all.chars().take(160).collect(), Vec::new())
            } else {
                let frag = snippet.fragment();
                let at = |b: usize| frag[..b].chars().count();
                let marks = snippet
                    .highlighted()
                    .iter()
                    .map(|r| [at(r.start), at(r.end)])
                    .collect();
                (frag.to_string(), marks)
            };
            out.push(Found {
                id: text(f.id).unwrap_or_default(),
                passage: Passage::named(&text(f.passage).unwrap_or_default()),
                start_ms: num(f.start).unwrap_or(0),
                end_ms: num(f.end).unwrap_or(0),
                slide: num(f.slide).map(|n| n as usize),
                speaker: text(f.who)
                    .filter(|w| !w.is_empty() && text(f.passage).as_deref() == Some("speech")),
                snippet,
                marks,
                score,
            });
        }
        Ok(out)
    }

    /// The size of the index on disk, in bytes.
    pub fn size(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}
