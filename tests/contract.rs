//! The window's contract with the shell, checked against the Rust side: the command
//! list is the same in the build script (permissions), the handler, the capability and
//! the UI's types; and the settings the UI edits have exactly the Rust settings' fields
//! (a field the UI did not know would be dropped when it saves).

use std::collections::BTreeSet;

fn read(rel: &str) -> String {
    std::fs::read_to_string(video2doc_testkit::package_dir().join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The text of `export interface <name> { ... }` in TypeScript source.
fn interface<'a>(ts: &'a str, name: &str) -> &'a str {
    let start = ts
        .find(&format!("export interface {name} {{"))
        .unwrap_or_else(|| panic!("no interface {name} in types.ts"));
    let body = &ts[start..];
    &body[..body.find("\n}").expect("the interface ends")]
}

/// The field names of a TypeScript interface (one `name:` or `name?:` per line).
fn fields(ts: &str, name: &str) -> BTreeSet<String> {
    interface(ts, name)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let l = l.trim_start();
            let end = l.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            let rest = &l[end..];
            (end > 0 && (rest.starts_with(':') || rest.starts_with("?:")))
                .then(|| l[..end].to_string())
        })
        .collect()
}

/// The quoted strings of a Rust or TOML list between `from` and the next `until`.
fn quoted(text: &str, from: &str, until: &str) -> Vec<String> {
    let start = text.find(from).unwrap_or_else(|| panic!("no {from}"));
    let list = &text[start..];
    let list = &list[..list.find(until).expect("the list ends")];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn every_command_is_declared_handled_allowed_and_typed_once() {
    let declared: Vec<String> = quoted(&read("src-tauri/build.rs"), "const COMMANDS", "];");
    let lib = read("src-tauri/src/lib.rs");
    let start = lib.find("generate_handler![").expect("the handler list");
    let handled: Vec<String> = lib[start..lib[start..].find("])").unwrap() + start]
        .split("commands::")
        .skip(1)
        .map(|s| {
            s.split(|c: char| c == ',' || c.is_whitespace())
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    let allowed: Vec<String> = quoted(
        &read("permissions/app-commands.toml"),
        "permissions = [",
        "]",
    )
    .into_iter()
    .map(|p| p.trim_start_matches("allow-").replace('-', "_"))
    .collect();
    let typed: Vec<String> = fields(&read("ui/src/lib/types.ts"), "Commands")
        .into_iter()
        .collect();
    let set = |v: &Vec<String>| v.iter().cloned().collect::<BTreeSet<_>>();
    assert_eq!(
        set(&declared).len(),
        declared.len(),
        "a command declared twice"
    );
    assert_eq!(
        set(&handled),
        set(&declared),
        "handled vs declared (build.rs)"
    );
    assert_eq!(
        set(&allowed),
        set(&declared),
        "allowed (app-commands.toml) vs declared"
    );
    assert_eq!(
        set(&typed),
        set(&declared),
        "typed (types.ts Commands) vs declared"
    );
}

#[test]
fn the_settings_the_window_edits_are_the_rust_settings() {
    let ts = read("ui/src/lib/types.ts");
    let rust = serde_json::to_value(video2doc_core::AppSettings::default()).unwrap();
    let rust: BTreeSet<String> = rust.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        fields(&ts, "AppSettings"),
        rust,
        "types.ts AppSettings vs AppSettings"
    );
    let sub = serde_json::to_value(video2doc_core::AppSettings::default().subtitles).unwrap();
    let sub: BTreeSet<String> = sub.as_object().unwrap().keys().cloned().collect();
    assert_eq!(fields(&ts, "SubtitleStyle"), sub, "types.ts SubtitleStyle");
}
