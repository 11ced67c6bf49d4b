//! Embeds the journey templates (`templates/<id>/v<N>.toml`) and the catalogue into the
//! library, so that adding a template version is adding a data file: no code changes.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    // Read at run time, not with `env!`: a build script compiled for one checkout is
    // reused by cargo for another that shares the target directory (CI's clean clone
    // and the working copy, say), and would embed the first checkout's templates.
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("templates");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    for dir in fs::read_dir(&root).expect("core/templates exists") {
        let dir = dir.expect("readable templates directory").path();
        if !dir.is_dir() {
            continue;
        }
        println!("cargo::rerun-if-changed={}", dir.display());
        for file in fs::read_dir(&dir).expect("readable template directory") {
            let path = file.expect("readable template file").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let rel = path.strip_prefix(&root).expect("under templates/");
                files.push((rel.to_string_lossy().replace('\\', "/"), path.clone()));
            }
        }
    }
    files.sort();
    let mut out = String::from("pub(crate) static TEMPLATE_FILES: &[(&str, &str)] = &[\n");
    for (rel, path) in &files {
        writeln!(
            out,
            "    ({rel:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to string");
    }
    out.push_str("];\n");
    let catalogue = root.join("catalogue.toml");
    writeln!(
        out,
        "pub(crate) static CATALOGUE_FILE: &str = include_str!({:?});",
        catalogue.display().to_string()
    )
    .expect("write to string");
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("templates.rs");
    fs::write(dest, out).expect("write templates.rs");
}
