//! File names that are safe on Windows, macOS and Linux, whatever the input's name.

/// A safe file stem: no reserved characters (`<>:"/\|?*#%` and controls), no trailing
/// dots or spaces, not a reserved Windows device name, at most 80 characters and 200
/// bytes of UTF-8 or 120 units of UTF-16 (so that `<stem> (999).docx` and its
/// temporary names fit every file system's 255); Chinese and other letters are kept.
pub fn safe_stem(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' | '#' | '%' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    s = s.trim().trim_end_matches(['.', ' ']).to_string();
    let (mut bytes, mut units) = (0, 0);
    s = s
        .chars()
        .take(80)
        .take_while(|c| {
            bytes += c.len_utf8();
            units += c.len_utf16();
            bytes <= 200 && units <= 120
        })
        .collect();
    s = s.trim_end_matches(['.', ' ']).to_string();
    if s.is_empty() || s.chars().all(|c| c == '_') {
        return "video".into();
    }
    let upper = s
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_uppercase();
    let device = |prefix: &str| {
        upper.strip_prefix(prefix).is_some_and(|n| {
            let mut c = n.chars();
            matches!(
                (c.next(), c.next()),
                (Some('0'..='9' | '¹' | '²' | '³'), None)
            )
        })
    };
    let reserved = matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || device("COM")
        || device("LPT");
    if reserved {
        s.insert(0, '_');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_everywhere() {
        assert_eq!(safe_stem("第一课 讲座 #1"), "第一课 讲座 _1");
        assert_eq!(safe_stem("a/b\\c:d*e?f\"g<h>i|j"), "a_b_c_d_e_f_g_h_i_j");
        assert_eq!(safe_stem("CON"), "_CON");
        assert_eq!(safe_stem("com1.backup"), "_com1.backup");
        assert_eq!(safe_stem("notes. . "), "notes");
        assert_eq!(safe_stem("???"), "video");
        assert_eq!(safe_stem(""), "video");
        assert_eq!(safe_stem("line\nbreak"), "line_break");
        // Bytes, not only characters: 80 emoji are 320 bytes.
        let emoji = safe_stem(&"🎓".repeat(80));
        assert!(
            emoji.len() <= 200 && emoji.encode_utf16().count() <= 120,
            "{emoji}"
        );
        assert_eq!(emoji, "🎓".repeat(50));
        assert!(safe_stem(&"长".repeat(200)).len() <= 200);
        for device in ["COM¹", "lpt³.mp4", "CONIN$", "conout$", "COM0", "nul .txt"] {
            assert!(safe_stem(device).starts_with('_'), "{device}");
        }
        assert_eq!(safe_stem("COM10"), "COM10");
        assert_eq!(safe_stem("Console"), "Console");
    }
}
