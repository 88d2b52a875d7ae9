//! File names that are safe on Windows, macOS and Linux, whatever the input's name.

/// A safe file stem: no reserved characters (`<>:"/\|?*#%` and controls), no trailing
/// dots or spaces, not a reserved Windows device name, at most 80 characters; Chinese
/// and other letters are kept.
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
    s = s.chars().take(80).collect();
    s = s.trim_end_matches(['.', ' ']).to_string();
    if s.is_empty() || s.chars().all(|c| c == '_') {
        return "video".into();
    }
    let upper = s.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (upper.len() == 4
            && (upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.as_bytes()[3].is_ascii_digit());
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
        assert_eq!(safe_stem(&"长".repeat(200)).chars().count(), 80);
        assert_eq!(safe_stem("line\nbreak"), "line_break");
    }
}
