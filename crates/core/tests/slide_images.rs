//! Slide images on videos made the way real ones are: parts joined by the concat
//! demuxer with the video starting 23 ms after the audio, long GOPs, slide changes
//! between sample points, a 2 s title card, a 0.5 s flick, and cross-fade, wipe, push
//! and dissolve transitions. Each slide carries a coloured box at a place of its own;
//! every image must show its own box in its colour, and no other slide's box (a frame
//! from the slide before, or a blend of two, fails).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use video2doc_core::pipeline::{slides_stage, Settings, SlideImage};

mod common;
use common::ffmpeg;

/// A slide: its colour (RGB) and where its box is (x, y of a 120x80 box in 640x360).
struct Look {
    rgb: [u8; 3],
    at: (u32, u32),
    title: &'static str,
}

const LOOKS: &[Look] = &[
    Look {
        rgb: [220, 30, 30],
        at: (20, 250),
        title: "Photosynthesis",
    },
    Look {
        rgb: [30, 160, 40],
        at: (180, 250),
        title: "Light reactions",
    },
    Look {
        rgb: [30, 60, 220],
        at: (340, 250),
        title: "Calvin cycle",
    },
    Look {
        rgb: [230, 140, 0],
        at: (500, 250),
        title: "Questions",
    },
    Look {
        rgb: [150, 40, 170],
        at: (20, 150),
        title: "Thank you",
    },
    Look {
        rgb: [20, 170, 170],
        at: (500, 150),
        title: "Flick",
    },
];

fn hex(rgb: [u8; 3]) -> String {
    format!("0x{:02X}{:02X}{:02X}", rgb[0], rgb[1], rgb[2])
}

/// The lavfi source of slide `i` shown for `d` seconds at 25 fps.
fn slide_source(i: usize, d: f64) -> String {
    let l = &LOOKS[i];
    format!(
        "color=c=white:s=640x360:d={d}:r=25,\
         drawtext=text='{}':fontsize=40:fontcolor=black:x=30:y=40,\
         drawtext=text='part {}':fontsize=24:fontcolor=black:x=30:y=100,\
         drawbox=x={}:y={}:w=120:h=80:color={}:t=fill",
        l.title,
        i + 1,
        l.at.0,
        l.at.1,
        hex(l.rgb)
    )
}

/// Slides encoded one file each (GOP of 10 s), joined by the concat demuxer, with an
/// audio track from 0 s and the video from 0.023 s.
fn joined(dir: &Path, parts: &[(usize, f64)]) -> PathBuf {
    let mut list = String::new();
    for (n, (i, d)) in parts.iter().enumerate() {
        let part = dir.join(format!("part{n}.mp4"));
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &slide_source(*i, *d),
            "-c:v",
            "libx264",
            "-g",
            "250",
            "-pix_fmt",
            "yuv420p",
            part.to_str().unwrap(),
        ]);
        list.push_str(&format!("file '{}'\n", part.display()));
    }
    let list_path = dir.join("parts.txt");
    std::fs::write(&list_path, list).unwrap();
    let total: f64 = parts.iter().map(|p| p.1).sum();
    let out = dir.join("joined.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-t",
        &total.to_string(),
        "-i",
        "anullsrc=r=16000:cl=mono",
        "-itsoffset",
        "0.023",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        list_path.to_str().unwrap(),
        "-map",
        "1:v",
        "-map",
        "0:a",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        out.to_str().unwrap(),
    ]);
    out
}

/// Five slides of 5 s joined by 1 s transitions: fade, wipe, push, dissolve.
fn transitions(dir: &Path) -> PathBuf {
    let out = dir.join("transitions.mp4");
    let mut args: Vec<String> = Vec::new();
    for i in 0..5 {
        args.extend([
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            slide_source(i, 5.0),
        ]);
    }
    let graph = "[0][1]xfade=transition=fade:duration=1:offset=4[a];\
                 [a][2]xfade=transition=wipeleft:duration=1:offset=8[b];\
                 [b][3]xfade=transition=slideleft:duration=1:offset=12[c];\
                 [c][4]xfade=transition=dissolve:duration=1:offset=16[v]";
    args.extend(
        [
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-g",
            "250",
            "-pix_fmt",
            "yuv420p",
        ]
        .map(String::from),
    );
    args.push(out.to_str().unwrap().into());
    ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    out
}

fn slides_of(video: &Path, work: &Path) -> Vec<SlideImage> {
    let info = video2doc_core::probe::probe(video).unwrap();
    let settings = Settings::new(PathBuf::from("unused.bin"));
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

/// The mean colour of the box of `look` in `image` (640x360 frames).
fn box_colour(image: &image::RgbImage, look: &Look) -> [u8; 3] {
    let (x0, y0) = (look.at.0 + 30, look.at.1 + 20);
    let mut sum = [0u64; 3];
    let mut n = 0u64;
    for y in y0..y0 + 40 {
        for x in x0..x0 + 60 {
            let p = image.get_pixel(x, y);
            for c in 0..3 {
                sum[c] += u64::from(p[c]);
            }
            n += 1;
        }
    }
    sum.map(|s| (s / n) as u8)
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= 30)
}

/// Each image shows its own slide's box in its colour and every other slide's place
/// blank (white).
fn check(slides: &[SlideImage], expected: &[usize]) -> usize {
    let mut right = 0;
    for (s, &i) in slides.iter().zip(expected) {
        let img = image::open(&s.image).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (640, 360), "full resolution");
        let own = near(box_colour(&img, &LOOKS[i]), LOOKS[i].rgb);
        let others_blank = LOOKS
            .iter()
            .enumerate()
            .filter(|(j, l)| *j != i && l.at != LOOKS[i].at)
            .all(|(_, l)| near(box_colour(&img, l), [255, 255, 255]));
        if own && others_blank {
            right += 1;
        } else {
            eprintln!(
                "slide {} ({} ms, image at {} ms) does not show {} alone",
                i + 1,
                s.start_ms,
                s.frame_ms,
                LOOKS[i].title
            );
        }
    }
    right
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
    let times: Vec<(u64, u64)> = slides.iter().map(|s| (s.start_ms, s.end_ms)).collect();
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
    let times: Vec<(u64, u64, u64)> = slides
        .iter()
        .map(|s| (s.start_ms, s.end_ms, s.frame_ms))
        .collect();
    assert_eq!(slides.len(), 5, "{times:?}");
    assert_eq!(check(&slides, &[0, 1, 2, 3, 4]), 5, "{times:?}");
}
