//! Slide images on videos made the way real ones are: parts joined by the concat
//! demuxer with the video starting 23 ms after the audio, long GOPs, slide changes
//! between sample points, a 2 s title card, a 0.5 s flick, and cross-fade, wipe, push
//! and dissolve transitions. Each slide carries a coloured box at a place of its own;
//! every image must show its own box in its colour, and no other slide's box (a frame
//! from the slide before, or a blend of two, fails).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use video2doc_core::media::slides::Sensitivity;
use video2doc_core::pipeline::{slides_stage, SlideImage, StageOptions};

mod slide_set;
use slide_set::{
    check, check_looks, joined, screen_recording, transitions, variable_rate, with_camera, SCREEN,
};

/// Each slide's start, end and image time, for failure messages.
fn timing(slides: &[SlideImage]) -> Vec<(u64, u64, u64)> {
    slides
        .iter()
        .map(|s| (s.start_ms, s.end_ms, s.frame_ms))
        .collect()
}

fn slides_of(video: &Path, work: &Path) -> Vec<SlideImage> {
    slides_as(video, work, Sensitivity::Slides)
}

fn slides_as(video: &Path, work: &Path, sensitivity: Sensitivity) -> Vec<SlideImage> {
    let info = video2doc_core::media::probe::probe(video).unwrap();
    let mut settings = StageOptions::new(PathBuf::from("unused.bin"));
    settings.slide_sensitivity = sensitivity;
    slides_stage(
        video,
        &info,
        work,
        &settings,
        &AtomicBool::new(false),
        &|_: &str, _: f32, _: &str| {},
    )
    .unwrap()
}

#[test]
fn joined_parts_with_offsets_a_title_card_and_a_flick() {
    let dir = tempfile::tempdir().unwrap();
    // 4.3 s, a 2 s title card, a 0.5 s flick (not a slide), 5.6 s, 4.2 s: changes fall
    // between the 1 s sample points.
    let video = joined(
        dir.path(),
        &[(0, 4.3), (1, 2.0), (5, 0.5), (2, 5.6), (3, 4.2)],
    );
    let slides = slides_of(&video, &dir.path().join("work"));
    let times = timing(&slides);
    assert_eq!(
        slides.len(),
        4,
        "title, card, two slides; no flick: {times:?}"
    );
    assert_eq!(check(&slides, &[0, 1, 2, 3]), 4, "{times:?}");
}

#[test]
fn transitions_are_one_change_and_images_show_the_settled_slide() {
    let dir = tempfile::tempdir().unwrap();
    let video = transitions(dir.path());
    let slides = slides_of(&video, &dir.path().join("work"));
    let times = timing(&slides);
    assert_eq!(slides.len(), 5, "{times:?}");
    assert_eq!(check(&slides, &[0, 1, 2, 3, 4]), 5, "{times:?}");
}

#[test]
fn a_variable_frame_rate_recording_gives_the_same_slides() {
    let dir = tempfile::tempdir().unwrap();
    let video = variable_rate(
        dir.path(),
        &[(0, 4.3), (1, 2.0), (5, 0.5), (2, 5.6), (3, 4.2)],
    );
    let slides = slides_of(&video, &dir.path().join("work"));
    let times = timing(&slides);
    assert_eq!(slides.len(), 4, "{times:?}");
    assert_eq!(check(&slides, &[0, 1, 2, 3]), 4, "{times:?}");
}

/// Slide 1, camera 6-14 s, slide 2, camera 20-26 s, slide 3: starts within 1 s.
fn starts_near(slides: &[SlideImage], expected_ms: &[u64]) -> bool {
    slides.len() == expected_ms.len()
        && slides
            .iter()
            .zip(expected_ms)
            .all(|(s, e)| s.start_ms.abs_diff(*e) <= 1_000)
}

#[test]
fn camera_shots_are_not_slides_in_a_lecture_and_one_picture_each_when_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let video = with_camera(dir.path());
    let lecture = slides_as(&video, &dir.path().join("slides"), Sensitivity::Slides);
    let times = timing(&lecture);
    assert!(starts_near(&lecture, &[0, 14_000, 26_000]), "{times:?}");
    assert_eq!(check(&lecture, &[0, 1, 2]), 3, "{times:?}");

    let mixed = slides_as(&video, &dir.path().join("mixed"), Sensitivity::Mixed);
    let times = timing(&mixed);
    assert!(
        starts_near(&mixed, &[0, 6_000, 14_000, 20_000, 26_000]),
        "{times:?}"
    );
    let slides_only: Vec<SlideImage> = mixed.iter().step_by(2).cloned().collect();
    assert_eq!(check(&slides_only, &[0, 1, 2]), 3, "{times:?}");
}

#[test]
fn a_screen_recording_keeps_each_state_shown_a_second_or_more() {
    let dir = tempfile::tempdir().unwrap();
    let video = screen_recording(dir.path());
    let screen = slides_as(&video, &dir.path().join("screen"), Sensitivity::Screen);
    let times = timing(&screen);
    assert_eq!(screen.len(), 4, "{times:?}");
    assert_eq!(check_looks(&screen, SCREEN, &[0, 1, 2, 3]), 4, "{times:?}");
    // As a lecture, the 1.5 s glance is a flick, not a slide.
    let lecture = slides_as(&video, &dir.path().join("slides"), Sensitivity::Slides);
    let times = timing(&lecture);
    assert_eq!(lecture.len(), 3, "{times:?}");
    assert_eq!(check_looks(&lecture, SCREEN, &[0, 2, 3]), 3, "{times:?}");
}
