//! Path mapping for workers that share a queue: a job names its input and output
//! folder by path as the machine that submitted it sees them; on another machine the
//! same shared storage may be mounted elsewhere (`/mnt/share` here is `Z:\` there).
//! Each worker's settings list such prefixes; a path under one is rewritten to the
//! local mount before the job touches it. Plain string work, no I/O.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One mount: paths under `from` (as jobs name them) are under `to` on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathMap {
    pub from: String,
    pub to: String,
}

/// This machine's mounts, tried in order; the first prefix that matches wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PathMapping(pub Vec<PathMap>);

fn is_sep(c: char) -> bool {
    c == '/' || c == '\\'
}

/// Windows paths (`Z:\`, `\\server\share`) compare without case.
fn windows_style(p: &str) -> bool {
    p.contains('\\') || p.as_bytes().get(1) == Some(&b':')
}

impl PathMapping {
    /// `p` on this machine: rewritten under the first matching mount, else unchanged.
    pub fn map(&self, p: &Path) -> PathBuf {
        let s = p.to_string_lossy();
        for m in &self.0 {
            let from = m.from.trim_end_matches(is_sep);
            if from.is_empty() || s.len() < from.len() || !s.is_char_boundary(from.len()) {
                continue;
            }
            let (head, rest) = s.split_at(from.len());
            let same = if windows_style(from) {
                head.eq_ignore_ascii_case(from)
            } else {
                head == from
            };
            if !same || !(rest.is_empty() || rest.starts_with(is_sep)) {
                continue;
            }
            let sep = if windows_style(&m.to) { '\\' } else { '/' };
            let mut out = m.to.trim_end_matches(is_sep).to_string();
            for part in rest.split(is_sep).filter(|c| !c.is_empty()) {
                out.push(sep);
                out.push_str(part);
            }
            if out.is_empty() || (out.len() == 2 && out.ends_with(':')) {
                out.push(sep);
            }
            return PathBuf::from(out);
        }
        p.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(pairs: &[(&str, &str)]) -> PathMapping {
        PathMapping(
            pairs
                .iter()
                .map(|(f, t)| PathMap {
                    from: f.to_string(),
                    to: t.to_string(),
                })
                .collect(),
        )
    }

    #[test]
    fn a_unix_share_maps_to_a_windows_drive_and_back() {
        let m = mapping(&[("/mnt/share", "Z:\\")]);
        assert_eq!(
            m.map(Path::new("/mnt/share/lectures/week 1.mp4")),
            PathBuf::from("Z:\\lectures\\week 1.mp4")
        );
        assert_eq!(m.map(Path::new("/mnt/share")), PathBuf::from("Z:\\"));
        // Not a component boundary, or another folder: unchanged.
        assert_eq!(
            m.map(Path::new("/mnt/shared/a.mp4")),
            PathBuf::from("/mnt/shared/a.mp4")
        );
        assert_eq!(
            m.map(Path::new("/home/a.mp4")),
            PathBuf::from("/home/a.mp4")
        );
        let back = mapping(&[("z:\\", "/mnt/share/")]);
        assert_eq!(
            back.map(Path::new("Z:\\lectures\\a.mp4")),
            PathBuf::from("/mnt/share/lectures/a.mp4")
        );
    }

    #[test]
    fn the_first_matching_mount_wins() {
        let m = mapping(&[
            ("/mnt/share/raw", "/data/raw"),
            ("/mnt/share", "/srv/share"),
        ]);
        assert_eq!(
            m.map(Path::new("/mnt/share/raw/a.mp4")),
            PathBuf::from("/data/raw/a.mp4")
        );
        assert_eq!(
            m.map(Path::new("/mnt/share/out")),
            PathBuf::from("/srv/share/out")
        );
    }
}
