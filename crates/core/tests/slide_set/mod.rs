//! The generated slide videos that the slide tests and the pipeline bench share: parts
//! joined by the concat demuxer with the video starting 23 ms after the audio, long
//! GOPs, changes between sample points, a title card, a flick, cross-fade, wipe, push
//! and dissolve transitions, variable frame rate, a screen recording and a lecture with
//! camera shots. Each slide carries a coloured box at a place of its own, so an image
//! can be checked against the slide it must show: its own box in its colour, no other.
#![allow(dead_code)] // each includer uses its part

use std::path::{Path, PathBuf};

use video2doc_core::pipeline::SlideImage;

pub use video2doc_testkit::ffmpeg;

/// A slide: its colour (RGB) and where its box is (x, y of a 120x80 box in 640x360).
pub struct Look {
    pub rgb: [u8; 3],
    pub at: (u32, u32),
    pub title: &'static str,
}

pub const LOOKS: &[Look] = &[
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
pub fn slide_source(i: usize, d: f64) -> String {
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
pub fn joined(dir: &Path, parts: &[(usize, f64)]) -> PathBuf {
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
pub fn transitions(dir: &Path) -> PathBuf {
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
pub fn check(slides: &[SlideImage], expected: &[usize]) -> usize {
    check_looks(slides, LOOKS, expected)
}

/// As [`check`], for the slides of another set of looks.
pub fn check_looks(slides: &[SlideImage], looks: &[Look], expected: &[usize]) -> usize {
    let mut right = 0;
    for (s, &i) in slides.iter().zip(expected) {
        let img = image::open(&s.image).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (640, 360), "full resolution");
        let own = near(box_colour(&img, &looks[i]), looks[i].rgb);
        let others_blank = looks
            .iter()
            .enumerate()
            .filter(|(j, l)| *j != i && l.at != looks[i].at)
            .all(|(_, l)| near(box_colour(&img, l), [255, 255, 255]));
        if own && others_blank {
            right += 1;
        } else {
            eprintln!(
                "slide {} ({} ms, image at {} ms) does not show {} alone",
                i + 1,
                s.start_ms,
                s.frame_ms,
                looks[i].title
            );
        }
    }
    right
}

/// As [`joined`]'s parts, encoded as a variable-frame-rate file the way screen
/// recorders write one: a frame when the picture changes and about one in 25 of the
/// others, at irregular times.
pub fn variable_rate(dir: &Path, parts: &[(usize, f64)]) -> PathBuf {
    let out = dir.join("variable-rate.mp4");
    let mut args: Vec<String> = Vec::new();
    for (i, d) in parts {
        args.extend(["-f", "lavfi", "-i"].map(String::from));
        args.push(slide_source(*i, *d));
    }
    let inputs: String = (0..parts.len()).map(|n| format!("[{n}]")).collect();
    let graph = format!(
        "{inputs}concat=n={}:v=1:a=0,\
         select='eq(n,0)+gt(scene,0.01)+lt(random(0),0.04)'[v]",
        parts.len()
    );
    args.extend(
        [
            "-filter_complex",
            &graph,
            "-map",
            "[v]",
            "-fps_mode",
            "vfr",
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

/// The looks of a screen recording's states: a box in the editor pane, right of the
/// file tree.
pub const SCREEN: &[Look] = &[
    Look {
        rgb: [220, 30, 30],
        at: (200, 250),
        title: "main.rs",
    },
    Look {
        rgb: [30, 160, 40],
        at: (340, 250),
        title: "lib.rs",
    },
    Look {
        rgb: [30, 60, 220],
        at: (480, 250),
        title: "queue.rs",
    },
    Look {
        rgb: [230, 140, 0],
        at: (200, 150),
        title: "store.rs",
    },
];

/// A screen recording (25 fps, 17 s): a file tree on the left that never changes, and
/// an editor pane on the right showing four files in turn: `main.rs` typed line by
/// line (0-5.6 s), `lib.rs` glanced at for 1.5 s (seen by one sample a second),
/// `queue.rs` (7.1-11 s), `store.rs` (11-17 s); each file's text and box replace the one before.
pub fn screen_recording(dir: &Path) -> PathBuf {
    let out = dir.join("screen.mp4");
    let spans = [(0.0, 5.6), (5.6, 7.1), (7.1, 11.0), (11.0, 17.0)];
    let mut filters = vec!["drawbox=x=0:y=0:w=150:h=ih:color=0xDDDDDD:t=fill".to_string()];
    for (n, name) in [
        "crates/",
        "  core/src/",
        "    main.rs",
        "    lib.rs",
        "    queue.rs",
        "    store.rs",
        "  cli/src/main.rs",
        "tests/e2e.rs",
        "tests/media.rs",
        "scripts/setup.sh",
        "scripts/test.sh",
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
    ]
    .iter()
    .enumerate()
    {
        filters.push(format!(
            "drawtext=text='{name}':fontsize=15:fontcolor=black:x=6:y={}",
            8 + n * 25
        ));
    }
    for (look, (from, to)) in SCREEN.iter().zip(spans) {
        let when = format!("between(t,{from},{to}-0.001)");
        filters.push(format!(
            "drawtext=text='{}':fontsize=18:fontcolor=black:x=170:y=10:enable='{when}'",
            look.title
        ));
        for line in 0..4 {
            // main.rs is typed: a line every 0.5 s.
            let shown = if look.title == "main.rs" {
                format!("between(t,{},{to}-0.001)", from + 0.5 * line as f64)
            } else {
                when.clone()
            };
            filters.push(format!(
                "drawtext=text='fn {}_{line}(x\\: u32) -> u32 {{ x + {line} }}':fontsize=16:fontcolor=0x202020:x=170:y={}:enable='{shown}'",
                look.title.trim_end_matches(".rs"),
                40 + line * 22
            ));
        }
        filters.push(format!(
            "drawbox=x={}:y={}:w=120:h=80:color={}:t=fill:enable='{when}'",
            look.at.0,
            look.at.1,
            hex(look.rgb)
        ));
    }
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("color=c=white:s=640x360:d=17:r=25,{}", filters.join(",")),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        out.to_str().unwrap(),
    ]);
    out
}

/// A lecture with camera shots (25 fps): slide 1 for 6 s, 8 s of a moving picture
/// with sensor noise (a stand-in for the camera on the speaker or a demo clip), slide
/// 2 for 6 s, 6 s of the camera again, slide 3 for 6 s.
pub fn with_camera(dir: &Path) -> PathBuf {
    let out = dir.join("camera.mp4");
    let camera = "mandelbrot=s=640x360:r=25,noise=alls=12:allf=t,format=yuv420p";
    let mut args: Vec<String> = Vec::new();
    let parts: [(Option<usize>, f64); 5] = [
        (Some(0), 6.0),
        (None, 8.0),
        (Some(1), 6.0),
        (None, 6.0),
        (Some(2), 6.0),
    ];
    for (look, d) in parts {
        args.extend(["-f", "lavfi", "-i"].map(String::from));
        args.push(match look {
            Some(i) => format!("{},format=yuv420p", slide_source(i, d)),
            None => format!("{camera},trim=duration={d}"),
        });
    }
    let graph = "[0][1][2][3][4]concat=n=5:v=1:a=0[v]";
    args.extend(
        [
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ]
        .map(String::from),
    );
    args.push(out.to_str().unwrap().into());
    ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    out
}
