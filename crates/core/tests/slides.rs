//! The slide detector on generated lectures: frames sampled by real ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use video2doc_core::media::process::sample_frames;
use video2doc_core::media::slides::{DetectorConfig, SlideDetector};

/// Three slides of 6 s: a title with a moving pointer; a heading whose bullets appear
/// at 8 s and 10 s; a closing slide. A black second separates slides 2 and 3. With
/// `speaker`, a moving picture (a stand-in for a talking head) sits in a corner throughout.
fn lecture(dir: &Path, speaker: bool) -> PathBuf {
    let out = dir.join(if speaker {
        "speaker.mp4"
    } else {
        "lecture.mp4"
    });
    let text = |t: &str, y: u32, when: &str| {
        format!("drawtext=text='{t}':fontsize=22:fontcolor=black:x=20:y={y}:enable='{when}'")
    };
    let filters = [
        text("Photosynthesis", 20, "lt(t,6)"),
        text("An introduction for beginners", 60, "lt(t,6)"),
        // The pointer: a small red box moving right during slide 1.
        "drawbox=x='20+t*30':y=150:w=8:h=8:color=red:t=fill:enable='lt(t,6)'".into(),
        text("Light reactions", 20, "between(t,6,12)"),
        text("- water is split", 70, "between(t,8,12)"),
        text("- oxygen is released", 110, "between(t,10,12)"),
        "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,12,13)'".into(),
        text("Summary and questions", 90, "gte(t,13)"),
    ]
    .join(",");
    let st = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(if speaker {
            // Game-of-life cells that change every frame stand in for a talking head.
            format!(
                "color=c=white:s=640x360:d=19:r=10,{filters}[a];\
                 life=s=200x150:r=10:ratio=0.3:death_color=white:life_color=black,\
                 trim=duration=19[h];[a][h]overlay=x=430:y=200[out0]"
            )
        } else {
            format!("color=c=white:s=640x360:d=19:r=10,{filters}")
        })
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

fn detect(v: &Path) -> Vec<video2doc_core::media::slides::Slide> {
    let mut d = SlideDetector::new(DetectorConfig::default());
    sample_frames(v, 2.0, 320, 180, &AtomicBool::new(false), |f| d.push(f)).unwrap();
    d.finish(19_000)
}

#[test]
fn a_talking_head_in_a_corner_does_not_make_slides() {
    let dir = tempfile::tempdir().unwrap();
    let slides = detect(&lecture(dir.path(), true));
    assert_eq!(slides.len(), 3, "{slides:#?}");
    assert!(slides[1].frame_ms >= 10_000, "{:?}", slides[1]);
}

#[test]
fn finds_each_slide_of_a_generated_lecture() {
    let dir = tempfile::tempdir().unwrap();
    let v = lecture(dir.path(), false);
    let mut d = SlideDetector::new(DetectorConfig::default());
    let mut n = 0;
    sample_frames(&v, 2.0, 160, 90, &AtomicBool::new(false), |f| {
        n += 1;
        d.push(f)
    })
    .unwrap();
    assert!(n >= 36, "{n} frames");
    let slides = d.finish(19_000);
    assert_eq!(slides.len(), 3, "{slides:#?}");
    // The bullet slide is kept complete: its frame is from after the last bullet (10 s).
    assert!(slides[1].frame_ms >= 10_000, "{:?}", slides[1]);
    assert!(
        slides[1].start_ms >= 5_500 && slides[1].start_ms <= 6_500,
        "{:?}",
        slides[1]
    );
    assert!(slides[2].start_ms >= 12_500, "{:?}", slides[2]);
}
