//! Records a hash of the library's source files, so that a batch job can
//! tell two builds of the same version apart: shards and resumed runs must
//! come from the same code to merge bit for bit.

use std::hash::Hasher;
use std::path::Path;

/// 64-bit FNV-1a: identity, not security.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let mut paths = Vec::new();
    files(Path::new("src"), &mut paths);
    paths.push("Cargo.lock".into());
    paths.push("Cargo.toml".into());
    paths.sort();
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    for p in &paths {
        h.write(p.to_string_lossy().replace('\\', "/").as_bytes());
        h.write(&[0]);
        h.write(&std::fs::read(p).unwrap_or_default());
        h.write(&[0]);
    }
    println!("cargo:rustc-env=PBRSIM_SOURCE_HASH={:016x}", h.finish());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=Cargo.toml");
}
