//! Files only this user may read: the data folder (the queue, work folders with the
//! audio and transcripts of private meetings, logs), the config folder and the settings
//! in it (a summary API key, a Redis password), the API token. On Unix, folders are
//! made 0700 and files 0600, checked and repaired at every start, and secrets are
//! written atomically (a fresh temporary file, synced, renamed into place). Windows
//! profiles are private to their user already.

use std::io::Write;
use std::path::Path;

/// Makes `dir` (and its parents, as usual) and makes `dir` itself private: readable
/// by this user only, repaired if it was not.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir)?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::info!(folder = %dir.display(), "made private (it was readable by others)");
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Makes the file at `path`, if there is one, readable by this user only. A link is
/// left alone (its target is not ours to change) and reported as an error.
pub fn repair_private_file(path: &Path) -> std::io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if meta.file_type().is_symlink() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is a link, not a file", path.display()),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::info!(file = %path.display(), "made private (it was readable by others)");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// Whether the file at `path` is private (always on systems without Unix modes).
pub fn is_private(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o077 == 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Writes `bytes` to `path`, readable by this user only, whole or not at all: to a
/// fresh, exclusively created temporary file beside it (0600 from its creation),
/// synced, then renamed over `path`.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut last = None;
    for n in 0..16u32 {
        let tmp = dir.join(format!(".{name}.{}-{nanos:x}-{n}.part", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = match options.open(&tmp) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let written = file
            .write_all(bytes)
            .and_then(|_| file.sync_all())
            .and_then(|_| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        return written;
    }
    Err(last.expect("a failed attempt"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_made_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&data).unwrap();
        assert_eq!(mode(&data), 0o700);
        let fresh = dir.path().join("fresh/deeper");
        private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);

        let f = data.join("settings.json");
        std::fs::write(&f, "{}").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!is_private(&f));
        repair_private_file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        write_private(&f, b"{\"a\":1}").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "{\"a\":1}");
        assert_eq!(
            std::fs::read_dir(&data).unwrap().count(),
            1,
            "no temporary left"
        );

        // A link planted as the settings file: written over (replaced), not followed.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "mine").unwrap();
        std::fs::remove_file(&f).unwrap();
        std::os::unix::fs::symlink(&victim, &f).unwrap();
        assert!(repair_private_file(&f).is_err());
        write_private(&f, b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        assert!(is_private(&f));
    }
}
