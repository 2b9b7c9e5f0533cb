//! Embeds the Python client (python/git_exp/) and the `wandb` shim
//! (python/wandb_shim/) into the binary, so `git exp run` can put the client
//! that matches this binary on a command's PYTHONPATH.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut files = Vec::new();
    for (dir, prefix) in [("python/git_exp", "lib/git_exp"), ("python/wandb_shim", "shim")] {
        println!("cargo:rerun-if-changed={dir}");
        collect(&root.join(dir), prefix, &mut files);
    }
    files.sort();
    // FNV-1a over names and contents: names the unpacked copy, so a changed
    // client never reuses an older copy.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut table =
        String::from("/// Embedded client files: path in the unpacked tree, contents.\n");
    table.push_str("pub const FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        let bytes = std::fs::read(path).expect("readable client file");
        for b in name.bytes().chain([0]).chain(bytes.iter().copied()) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let _ =
            writeln!(table, "    ({name:?}, include_bytes!({:?})),", path.display().to_string());
    }
    table.push_str("];\n");
    let _ = writeln!(table, "/// Hash of [`FILES`].\npub const HASH: &str = \"{hash:016x}\";");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("python_files.rs");
    std::fs::write(out, table).expect("OUT_DIR is writable");
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name == "__pycache__" || name.ends_with(".pyc") || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, &format!("{prefix}/{name}"), out);
        } else {
            out.push((format!("{prefix}/{name}"), path));
        }
    }
}
