// Builds the third-party "real programs" for benches/benches/programs.rs:
// our drivers sqlite_bench.c and zlib_bench.c linked with SQLite and zlib,
// compiled to wasm32-wasi by programs/build.sh into OUT_DIR
// (OUT_DIR/sqlite_bench.wasm, OUT_DIR/zlib_bench.wasm). Neither library's
// source is in this repository: both come from crates.io crates that
// benches/Cargo.toml lists as dependencies for that reason.
//
// Meant to be `include!`d by benches/build.rs, whose `main` calls it:
//
//     include!("programs/build_programs.rs");
//
//     fn main() {
//         // ... the native workloads, as now ...
//         build_programs();
//     }
//
// (build.rs already has no `use` lines; everything here is spelled out in
// full, so the include adds no imports that could clash.)
//
// Where the sources are found, first match wins:
//
// * SQLite (a directory holding sqlite3.c and sqlite3.h):
//   1. $SQLITE_SRC;
//   2. $DEP_SQLITE3_INCLUDE: libsqlite3-sys (`links = "sqlite3"`) built
//      with `bundled` prints `cargo:include=<its crate directory>/sqlite3`,
//      which is exactly the amalgamation's directory. Cargo passes it only
//      to build scripts of packages with libsqlite3-sys as a normal
//      dependency.
// * zlib (a directory holding deflate.c, zlib.h, ...):
//   1. $ZLIB_SRC;
//   2. libz-sys (`links = "z"`) exports DEP_Z_ROOT and DEP_Z_INCLUDE, but
//      both point into its OUT_DIR (a copy of zlib.h and zconf.h, and the
//      native libz.a), never at the C sources, so: the libz-sys package
//      directory at the version benches/Cargo.lock pins, looked up beside
//      libsqlite3-sys's (its parent is the registry's `src/<index>`
//      directory, or a `cargo vendor` directory, where crates sit as
//      `name-version` or plain `name`), then in
//      $CARGO_HOME/registry/src/*/. Its sources are in `src/zlib`.
//      (`cargo metadata` run from the build script would also give the
//      package path, including for path and git sources, but cargo holds
//      locks during a build that such a nested call may wait on.)
//
// When a source or the wasm32-wasi toolchain (clang, wasm-ld, wasi-libc,
// compiler-rt's wasm32 builtins) is missing, this prints a cargo warning
// and builds nothing: the bench then leaves those two programs out with a
// note instead of failing every benchmark's build. build.sh is run with
// KEEL_NO_INSTALL=1, so a build script never calls apt-get; run
// `benches/programs/build.sh --own` once by hand (or .ci/run's WASI step)
// to install the toolchain.

fn build_programs() {
    let manifest_dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"),
    );
    let out_dir = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    for file in [
        "programs/build.sh",
        "programs/build_programs.rs",
        "programs/sqlite_bench.c",
        "programs/zlib_bench.c",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={file}");
    }
    for var in [
        "SQLITE_SRC",
        "ZLIB_SRC",
        "WASM_CC",
        "WASI_SYSROOT",
        "CARGO_HOME",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    // Stale outputs of an earlier build must not be benchmarked as if new.
    for wasm in ["sqlite_bench.wasm", "zlib_bench.wasm"] {
        let _ = std::fs::remove_file(out_dir.join(wasm));
    }

    let sqlite = programs_find_sqlite();
    let zlib = programs_find_zlib(&manifest_dir, sqlite.as_deref());
    let (Some(sqlite), Some(zlib)) = (sqlite, zlib) else {
        println!(
            "cargo:warning=programs: SQLite or zlib sources not found (set SQLITE_SRC and \
             ZLIB_SRC); the sqlite and zlib programs benchmarks will be skipped"
        );
        return;
    };

    // build.sh's CC is the wasm compiler; a CC set for the host (gcc, say)
    // must not leak into it, so it is taken from WASM_CC, default clang.
    let cc = std::env::var("WASM_CC").unwrap_or_else(|_| "clang".to_string());
    let status = std::process::Command::new("bash")
        .arg(manifest_dir.join("programs/build.sh"))
        .arg("--third-party")
        .arg(&out_dir)
        .env("SQLITE_SRC", &sqlite)
        .env("ZLIB_SRC", &zlib)
        .env("CC", cc)
        .env("KEEL_NO_INSTALL", "1")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => println!(
            "cargo:warning=programs: benches/programs/build.sh --third-party failed ({s}); \
             the sqlite and zlib programs benchmarks will be skipped"
        ),
        Err(e) => println!(
            "cargo:warning=programs: could not run benches/programs/build.sh ({e}); \
             the sqlite and zlib programs benchmarks will be skipped"
        ),
    }
}

/// The directory holding sqlite3.c.
fn programs_find_sqlite() -> Option<std::path::PathBuf> {
    ["SQLITE_SRC", "DEP_SQLITE3_INCLUDE"]
        .into_iter()
        .filter_map(std::env::var_os)
        .map(std::path::PathBuf::from)
        .find(|dir| dir.join("sqlite3.c").is_file())
}

/// The directory holding zlib's C sources.
fn programs_find_zlib(
    manifest_dir: &std::path::Path,
    sqlite: Option<&std::path::Path>,
) -> Option<std::path::PathBuf> {
    let is_zlib =
        |dir: &std::path::Path| dir.join("deflate.c").is_file() && dir.join("zlib.h").is_file();
    if let Some(dir) = std::env::var_os("ZLIB_SRC").map(std::path::PathBuf::from) {
        return is_zlib(&dir).then_some(dir);
    }
    let version = programs_locked_version(&manifest_dir.join("Cargo.lock"), "libz-sys")?;
    let crate_names = [format!("libz-sys-{version}"), "libz-sys".to_string()];
    let mut parents = Vec::new();
    // <crates>/libsqlite3-sys-<v>/sqlite3 -> <crates>
    if let Some(crates) = sqlite.and_then(|s| s.parent()).and_then(|c| c.parent()) {
        parents.push(crates.to_path_buf());
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    if let Some(home) = cargo_home
        && let Ok(indexes) = std::fs::read_dir(home.join("registry/src"))
    {
        let mut indexes: Vec<_> = indexes.flatten().map(|e| e.path()).collect();
        indexes.sort();
        parents.extend(indexes);
    }
    parents
        .iter()
        .flat_map(|parent| {
            crate_names
                .iter()
                .map(move |name| parent.join(name).join("src/zlib"))
        })
        .find(|dir| is_zlib(dir))
}

/// The version of `name` in a Cargo.lock (the first, if several).
fn programs_locked_version(lock: &std::path::Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(lock).ok()?;
    let wanted = format!("name = \"{name}\"");
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return version.strip_suffix('"').map(str::to_string);
        }
    }
    None
}
