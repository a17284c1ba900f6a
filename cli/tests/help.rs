//! The binary documents itself, and README documents the binary: every
//! flag any `--help` lists is in README's option tables, and every flag
//! those tables list is in some `--help`.

use std::collections::BTreeSet;
use std::process::Command;

/// The `--flags` named in `text`.
fn flags(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("--") {
        let name: String = rest[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_lowercase()) {
            out.insert(format!("--{name}"));
        }
        rest = &rest[at + 2..];
    }
    out
}

fn help(command: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_volley"))
        .args(command)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "volley {command:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_flag_is_in_help_and_in_readme() {
    let commands: [&[&str]; 6] = [
        &[],
        &["serve"],
        &["demo"],
        &["merge"],
        &["find"],
        &["compare"],
    ];
    let mut in_help = BTreeSet::new();
    for command in commands {
        in_help.extend(flags(&help(command)));
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    // The first cell of every table row: where the option tables name flags.
    let in_tables: BTreeSet<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" | ").next())
        .flat_map(flags)
        .collect();
    let undocumented: Vec<_> = in_help.difference(&in_tables).collect();
    assert!(
        undocumented.is_empty(),
        "in --help but in no README option table: {undocumented:?}"
    );
    let unknown: Vec<_> = in_tables.difference(&in_help).collect();
    assert!(
        unknown.is_empty(),
        "in README's option tables but in no --help: {unknown:?}"
    );
    for f in [
        "--url",
        "--rps",
        "--insecure",
        "--cacert",
        "--html",
        "--log",
        "--listen",
        "--delay",
    ] {
        assert!(in_help.contains(f), "{f}");
    }
    let top = help(&[]);
    assert!(top.contains("serve") && top.contains("demo") && top.contains("merge"));
}
