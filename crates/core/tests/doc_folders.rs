//! Document folders as people's folders are: same names from different folders, the
//! user's own folder of that name, links planted where documents go, folders of other
//! users. Nothing the user owns is overwritten or written through a link.

use std::os::unix::fs::symlink;
use std::path::Path;

use video2doc_core::document::export::{DocFolder, FolderError, OUTPUT_MARKER};

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn same_names_from_different_folders_get_their_own_folders() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mon = DocFolder::claim(&out, "talk", Path::new("/rec/mon/talk.mp4")).unwrap();
    mon.write("talk.md", b"monday").unwrap();
    let tue = DocFolder::claim(&out, "talk", Path::new("/rec/tue/talk.mp4")).unwrap();
    tue.write("talk.md", b"tuesday").unwrap();
    assert_eq!(mon.path(), out.join("talk"));
    assert_eq!(tue.path(), out.join("talk (2)"));
    assert_eq!(read(&out.join("talk/talk.md")), "monday");
    assert_eq!(read(&out.join("talk (2)/talk.md")), "tuesday");
    // The same input again: its own folder, replaced there.
    let again = DocFolder::claim(&out, "talk", Path::new("/rec/tue/talk.mp4")).unwrap();
    assert_eq!(again.path(), out.join("talk (2)"));
    again.write("talk.md", b"tuesday, again").unwrap();
    assert_eq!(read(&out.join("talk/talk.md")), "monday");
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(out.join("talk (2)"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&OUTPUT_MARKER.to_string()));
}

#[test]
fn a_folder_of_the_users_own_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("talk")).unwrap();
    std::fs::write(out.join("talk/talk.md"), "my own notes").unwrap();
    std::fs::write(out.join("notes"), "a file of that name").unwrap();
    let f = DocFolder::claim(&out, "talk", Path::new("/rec/talk.mp4")).unwrap();
    f.write("talk.md", b"documents").unwrap();
    assert_eq!(f.path(), out.join("talk (2)"));
    assert_eq!(read(&out.join("talk/talk.md")), "my own notes");
    let g = DocFolder::claim(&out, "notes", Path::new("/rec/notes.mp4")).unwrap();
    assert_eq!(g.path(), out.join("notes (2)"));
    assert_eq!(read(&out.join("notes")), "a file of that name");
}

#[test]
fn a_document_folder_that_is_a_link_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (out, victim) = (dir.path().join("out"), dir.path().join("victim"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&victim).unwrap();
    symlink(&victim, out.join("talk")).unwrap();
    let e = DocFolder::claim(&out, "talk", Path::new("/rec/talk.mp4"))
        .err()
        .expect("refused");
    assert!(matches!(e, FolderError::Link { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&out.join("talk").display().to_string()),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);

    // A slides folder that is a link: refused too.
    let f = DocFolder::claim(&out, "lecture", Path::new("/rec/lecture.mp4")).unwrap();
    symlink(&victim, f.path().join("slides")).unwrap();
    let e = f.subfolder("slides").err().expect("refused");
    assert!(matches!(e, FolderError::Link { .. }), "{e}");
}

#[test]
fn links_planted_under_document_names_are_replaced_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let precious = dir.path().join("bashrc");
    std::fs::write(&precious, "precious").unwrap();
    let f = DocFolder::claim(&out, "talk", Path::new("/rec/talk.mp4")).unwrap();
    // Where earlier versions wrote: the document, its `.part`, the marker.
    for name in ["talk.md", "talk.part", ".talk.md.part"] {
        symlink(&precious, f.path().join(name)).unwrap();
    }
    f.write("talk.md", b"# talk").unwrap();
    assert_eq!(read(&precious), "precious");
    let meta = std::fs::symlink_metadata(f.path().join("talk.md")).unwrap();
    assert!(meta.is_file(), "the link was replaced by the document");
    assert_eq!(read(&f.path().join("talk.md")), "# talk");

    // A planted marker link is not followed either: a new claim of a folder whose
    // marker is a link to someone's file does not take it as ours, nor write there.
    let other = out.join("seminar");
    std::fs::create_dir_all(&other).unwrap();
    symlink(&precious, other.join(OUTPUT_MARKER)).unwrap();
    let g = DocFolder::claim(&out, "seminar", Path::new("/rec/seminar.mp4")).unwrap();
    assert_eq!(g.path(), out.join("seminar (2)"));
    assert_eq!(read(&precious), "precious");
}

#[test]
fn a_folder_of_another_user_is_refused() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: making a folder of another user needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("talk")).unwrap();
    std::os::unix::fs::chown(out.join("talk"), Some(65534), Some(65534)).unwrap();
    let e = DocFolder::claim(&out, "talk", Path::new("/rec/talk.mp4"))
        .err()
        .expect("refused");
    assert!(matches!(e, FolderError::NotOwned { .. }), "{e}");
}

#[test]
fn stale_slides_of_a_longer_run_are_removed_and_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    let f = DocFolder::claim(dir.path(), "talk", Path::new("/rec/talk.mp4")).unwrap();
    let s = f.subfolder("slides").unwrap();
    for n in [
        "slide-001.jpg",
        "slide-002.jpg",
        "slide-003.jpg",
        "mine.jpg",
    ] {
        s.write(n, b"x").unwrap();
    }
    s.remove_stale(&["slide-001.jpg".into()], |n| {
        n.starts_with("slide-") && n.ends_with(".jpg")
    })
    .unwrap();
    let mut left: Vec<String> = std::fs::read_dir(s.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["mine.jpg", "slide-001.jpg"]);
}
