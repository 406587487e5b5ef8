//! Compiles the vendored PocketSphinx library sources (the list in its src/CMakeLists.txt; no
//! programs, tests or Python glue) into a static library. The two configuration headers CMake
//! would generate are written here from the target's properties.

use std::path::PathBuf;

/// The library's C sources, relative to pocketsphinx/src (PocketSphinx 5.1.1 src/CMakeLists.txt).
const SOURCES: &str = include_str!("pocketsphinx/sources.txt");

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let ptr_width: u32 =
        std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH").ok().and_then(|w| w.parse().ok()).unwrap_or(64);
    let big_endian = std::env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() == Ok("big");
    let windows = os == "windows";
    // LLP64 on Windows: long is 4 bytes even on 64-bit targets.
    let sizeof_long = if windows || ptr_width == 32 { 4 } else { 8 };

    let mut config = String::from("/* written by pitbox-sphinx-sys build.rs */\n");
    config.push_str("#define DEFAULT_RADIX 12\n#define PS_USE_THREAD_LOCAL_RNG 1\n#define HAVE_LONG_LONG 1\n");
    config.push_str("#define HAVE_SNPRINTF 1\n#define HAVE_SYS_STAT_H 1\n#define HAVE_SYS_TYPES_H 1\n");
    config.push_str("#define HAVE_STDINT_H 1\n#define HAVE_INTTYPES_H 1\n");
    if env != "msvc" {
        config.push_str("#define HAVE_UNISTD_H 1\n");
    }
    if !windows {
        config.push_str("#define HAVE_POPEN 1\n");
    }
    config.push_str(&format!("#define SIZEOF_LONG {sizeof_long}\n#define SIZEOF_LONG_LONG 8\n"));
    if big_endian {
        config.push_str("#define WORDS_BIGENDIAN 1\n");
    }
    config.push_str("#define PACKAGE_NAME \"PocketSphinx\"\n#define PACKAGE_VERSION \"5.1.1\"\n");
    config.push_str("#define PACKAGE_STRING \"PocketSphinx 5.1.1\"\n#define PACKAGE_TARNAME \"pocketsphinx-5.1.1\"\n");
    std::fs::write(out.join("config.h"), config).expect("write config.h");

    let inc = out.join("include").join("pocketsphinx");
    std::fs::create_dir_all(&inc).expect("create include dir");
    let sphinx_config = format!(
        "/* written by pitbox-sphinx-sys build.rs */\n#define DEFAULT_RADIX 12\n#ifndef HAVE_STDINT_H\n#define HAVE_STDINT_H 1\n#endif\n\
         #define SIZEOF_LONG {sizeof_long}\n#ifndef HAVE_LONG_LONG\n#define HAVE_LONG_LONG 1\n#endif\n#define SIZEOF_LONG_LONG 8\n"
    );
    std::fs::write(inc.join("sphinx_config.h"), sphinx_config).expect("write sphinx_config.h");

    let mut build = cc::Build::new();
    build
        .include(&out)
        .include(out.join("include"))
        .include("pocketsphinx/src")
        .include("pocketsphinx/include")
        .define("HAVE_CONFIG_H", None)
        // Release-level optimisation even in debug builds: decoding is the hot path.
        .opt_level(2)
        .debug(false)
        .warnings(false);
    for src in SOURCES.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        build.file(format!("pocketsphinx/src/{src}"));
    }
    build.compile("pocketsphinx");
    if !windows {
        println!("cargo:rustc-link-lib=m");
    }
    println!("cargo:rerun-if-changed=pocketsphinx");
    println!("cargo:rerun-if-changed=build.rs");
}
