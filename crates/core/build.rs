//! Links OpenBLAS statically on Linux (see the Linux dependency in Cargo.toml).
//!
//! whisper-rs-sys asks the linker for `openblas`; a folder holding only the static
//! library of OpenBLAS's OpenMP build is put first on the search path, so that the
//! binary carries it. A shared libopenblas would be whichever variant the system's
//! alternatives select (Debian prefers the pthreads one, whose threads then fight
//! OpenMP's for the cores: ~1.5x slower than the OpenMP build).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OPENBLAS_STATIC_LIB");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let multiarch = match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        other => panic!("no OpenBLAS location known for {other}: set OPENBLAS_STATIC_LIB"),
    };
    let lib = std::env::var_os("OPENBLAS_STATIC_LIB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| format!("/usr/lib/{multiarch}/openblas-openmp/libopenblas.a").into());
    if !lib.is_file() {
        panic!(
            "OpenBLAS (OpenMP build) is missing: {} not found. Install it with \
             `apt-get install libopenblas-openmp-dev` (scripts/setup.sh does), or point \
             OPENBLAS_STATIC_LIB at a static libopenblas built with OpenMP",
            lib.display()
        );
    }
    let dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("openblas-static");
    std::fs::create_dir_all(&dir).expect("OUT_DIR is writable");
    let link = dir.join("libopenblas.a");
    let _ = std::fs::remove_file(&link);
    std::fs::copy(&lib, &link).expect("the static OpenBLAS can be copied");
    println!("cargo:rerun-if-changed={}", lib.display());
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=dylib=gomp");
}
