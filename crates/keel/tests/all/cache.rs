//! The compilation cache: hits and misses, damaged, untrusted and
//! unwritable entries, the size limit, and threads sharing one cache.
//! (Processes racing on one entry: `tests/cli.rs` at the workspace root.)

use keel::{Cache, CacheConfig, Config, Engine, Instance, Module, Store};
use std::path::{Path, PathBuf};

const FIB: &str = r#"(module
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib
      i32.add
    end))"#;

/// Another module with the same `fib` (and an unused global).
const FIB_3: &str = r#"(module
  (global i32 (i32.const 3))
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib
      i32.add
    end))"#;

/// An engine with a cache in `dir` limited to `limit` bytes.
fn cached_engine(dir: &Path, limit: u64, fuel: bool) -> (Engine, Cache) {
    let mut cache_config = CacheConfig::new();
    cache_config
        .with_directory(dir)
        .with_files_total_size_soft_limit(limit);
    let cache = Cache::new(cache_config).unwrap();
    let mut config = Config::new();
    config.cache(Some(cache.clone())).consume_fuel(fuel);
    (Engine::new(&config).unwrap(), cache)
}

fn fib(engine: &Engine, module: &Module, n: i32) -> i32 {
    fib_with(engine, module, n, false)
}

fn fib_with(engine: &Engine, module: &Module, n: i32, fuel: bool) -> i32 {
    let mut store = Store::new(engine, ());
    if fuel {
        store.set_fuel(u64::MAX).unwrap();
    }
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "fib")
        .unwrap();
    f.call(&mut store, n).unwrap()
}

/// The entries in `cache`'s directory, sorted.
fn entries(cache: &Cache) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(cache.directory()) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    out.sort();
    out
}

#[test]
fn a_second_compilation_loads_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, cache) = cached_engine(dir.path(), 1 << 30, false);
    let first = Module::new(&engine, FIB).unwrap();
    assert_eq!((cache.hits(), cache.misses()), (0, 1));
    assert_eq!(entries(&cache).len(), 1);
    let second = Module::new(&engine, FIB).unwrap();
    assert_eq!((cache.hits(), cache.misses()), (1, 1));
    assert_eq!(fib(&engine, &first, 20), 6765);
    assert_eq!(fib(&engine, &second, 20), 6765);

    // A new engine with the same settings (another process, in effect)
    // shares the entry; the binary and text forms of a module are one
    // entry, since the key is the binary's.
    let (engine2, cache2) = cached_engine(dir.path(), 1 << 30, false);
    let binary = wat::parse_str(FIB).unwrap();
    let third = Module::new(&engine2, &binary).unwrap();
    assert_eq!((cache2.hits(), cache2.misses()), (1, 0));
    assert_eq!(fib(&engine2, &third, 10), 55);

    // Another module, or another setting that changes code, is a miss
    // and an entry of its own.
    let other = Module::new(&engine, FIB_3).unwrap();
    assert_eq!(cache.misses(), 2);
    assert_eq!(fib(&engine, &other, 10), 55);
    let (fuel_engine, fuel_cache) = cached_engine(dir.path(), 1 << 30, true);
    let fueled = Module::new(&fuel_engine, FIB).unwrap();
    assert_eq!((fuel_cache.hits(), fuel_cache.misses()), (0, 1));
    assert_eq!(fib_with(&fuel_engine, &fueled, 10, true), 55);
    assert_eq!(entries(&cache).len(), 3);

    // `precompile_module` shares the entries: its artifact is the one
    // `serialize` writes, and it loads.
    let artifact = engine.precompile_module(FIB.as_bytes()).unwrap();
    assert_eq!(cache.hits(), 2);
    assert_eq!(artifact, first.serialize().unwrap());
    // SAFETY: this keel's artifact, just written.
    let loaded = unsafe { Module::deserialize(&engine, &artifact) }.unwrap();
    assert_eq!(fib(&engine, &loaded, 15), 610);

    // Invalid modules are errors as without a cache, and leave no entry.
    assert!(Module::new(&engine, "(module (func (result i32)))").is_err());
    assert_eq!(entries(&cache).len(), 3);
}

/// Damage of every kind to an entry is detected: the module compiles
/// again (a miss), runs correctly, and its entry is rewritten.
#[test]
fn damaged_entries_are_ignored_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, cache) = cached_engine(dir.path(), 1 << 30, false);
    Module::new(&engine, FIB).unwrap();
    let [entry] = &entries(&cache)[..] else {
        panic!("one entry expected");
    };
    let good = std::fs::read(entry).unwrap();
    let len = good.len();
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let damages: Vec<(&str, Damage)> = vec![
        ("empty", Box::new(|b| b.clear())),
        ("header only", Box::new(|b| b.truncate(52))),
        ("truncated", Box::new(move |b| b.truncate(len / 2))),
        (
            "one byte short",
            Box::new(|b| {
                b.pop();
            }),
        ),
        ("one byte longer", Box::new(|b| b.push(0))),
        ("bad magic", Box::new(|b| b[0] ^= 1)),
        ("flipped length", Box::new(|b| b[14] ^= 1)),
        ("flipped checksum", Box::new(|b| b[30] ^= 0x80)),
        ("flipped ELF header", Box::new(|b| b[52 + 5] ^= 1)),
        (
            "flipped byte mid-file",
            Box::new(move |b| b[len / 2] ^= 0x40),
        ),
        ("flipped last byte", Box::new(move |b| b[len - 1] ^= 1)),
        (
            "another module's bytes",
            Box::new(|b| *b = b"\0asm\x01\0\0\0".to_vec()),
        ),
    ];
    for (what, damage) in damages {
        let mut bytes = good.clone();
        damage(&mut bytes);
        std::fs::write(entry, &bytes).unwrap();
        let misses = cache.misses();
        let module = Module::new(&engine, FIB).unwrap();
        assert_eq!(cache.misses(), misses + 1, "{what}: not a miss");
        assert_eq!(fib(&engine, &module, 12), 144, "{what}");
        assert_eq!(std::fs::read(entry).unwrap(), good, "{what}: not rewritten");
    }
    // And the rewritten entry is a hit again.
    let hits = cache.hits();
    Module::new(&engine, FIB).unwrap();
    assert_eq!(cache.hits(), hits + 1);
}

/// The directory is trimmed to its limit after each write, least
/// recently used first; an entry larger than the limit is not written.
#[test]
fn the_size_limit_evicts_the_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    // Learn an entry's size with an unlimited cache first.
    let (engine, cache) = cached_engine(dir.path(), 1 << 30, false);
    Module::new(&engine, FIB).unwrap();
    let size = std::fs::metadata(&entries(&cache)[0]).unwrap().len();
    std::fs::remove_dir_all(cache.directory()).unwrap();

    // Room for two entries of this size (the three modules differ by a
    // constant, so their entries are within a few bytes of each other).
    let limit = 2 * size + size / 2;
    let (engine, cache) = cached_engine(dir.path(), limit, false);
    let compile = |text: &str| {
        Module::new(&engine, text).unwrap();
    };
    compile(FIB);
    let fib_entry = entries(&cache).remove(0);
    compile(FIB_3);
    assert_eq!(entries(&cache).len(), 2);
    // Use FIB again (a hit refreshes its entry): FIB_3's is now the least
    // recently used.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let hits = cache.hits();
    compile(FIB);
    assert_eq!(cache.hits(), hits + 1);
    std::thread::sleep(std::time::Duration::from_millis(20));
    // A third module of about the same size exceeds the limit.
    let third = FIB.replace("i32.const 2 i32.lt_u", "i32.const 4 i32.lt_u");
    compile(&third);
    let left = entries(&cache);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left.contains(&fib_entry),
        "the recently used entry was trimmed"
    );
    let total: u64 = left
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(total <= limit);
    // FIB_3 compiles again: it was the one trimmed.
    let misses = cache.misses();
    compile(FIB_3);
    assert_eq!(cache.misses(), misses + 1);

    // A module whose entry alone exceeds the limit compiles and runs,
    // and is not written.
    let funcs: String = (0..2000)
        .map(|i| format!("(func (result i32) i32.const {i})"))
        .collect();
    let big = format!("(module {funcs} (func (export \"f\") (result i32) i32.const 7))");
    let before = entries(&cache);
    Module::new(&engine, &big).unwrap();
    assert_eq!(entries(&cache), before);
}

/// A cache that cannot be written costs only the caching: modules still
/// compile and run.
#[test]
fn an_unwritable_directory_still_compiles() {
    let dir = tempfile::tempdir().unwrap();
    // A path through a regular file can never be created, whoever runs
    // the test.
    let file = dir.path().join("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let (engine, cache) = cached_engine(&file.join("cache"), 1 << 30, false);
    for _ in 0..2 {
        let module = Module::new(&engine, FIB).unwrap();
        assert_eq!(fib(&engine, &module, 10), 55);
    }
    assert_eq!((cache.hits(), cache.misses()), (0, 2));

    // A read-only directory (not read-only for root, who may write
    // anywhere: then the entry is written, which is right too).
    use std::os::unix::fs::PermissionsExt as _;
    let (engine, cache) = cached_engine(dir.path(), 1 << 30, false);
    std::fs::create_dir(cache.directory()).unwrap();
    std::fs::set_permissions(cache.directory(), std::fs::Permissions::from_mode(0o500)).unwrap();
    let module = Module::new(&engine, FIB).unwrap();
    assert_eq!(fib(&engine, &module, 10), 55);
    let root = euid() == 0;
    assert_eq!(entries(&cache).len(), usize::from(root));
    std::fs::set_permissions(cache.directory(), std::fs::Permissions::from_mode(0o700)).unwrap();
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Entries in a directory others may write, or files another user owns,
/// are never read (they would be code anyone could have put there).
#[test]
fn untrusted_entries_are_never_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (engine, cache) = cached_engine(dir.path(), 1 << 30, false);
    Module::new(&engine, FIB).unwrap();
    std::fs::set_permissions(cache.directory(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let module = Module::new(&engine, FIB).unwrap();
    assert_eq!((cache.hits(), cache.misses()), (0, 2));
    assert_eq!(fib(&engine, &module, 10), 55);
    std::fs::set_permissions(cache.directory(), std::fs::Permissions::from_mode(0o700)).unwrap();
    Module::new(&engine, FIB).unwrap();
    assert_eq!(cache.hits(), 1);

    // A symbolic link in place of an entry is not followed.
    let entry = entries(&cache).remove(0);
    let elsewhere = dir.path().join("elsewhere.cwasm");
    std::fs::rename(&entry, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
    Module::new(&engine, FIB).unwrap();
    assert_eq!((cache.hits(), cache.misses()), (1, 3));

    // An entry another user owns (only root can make one).
    if euid() == 0 {
        let entry = entries(&cache).remove(0);
        let path = std::ffi::CString::new(entry.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::chown(path.as_ptr(), 1, 1) }, 0);
        Module::new(&engine, FIB).unwrap();
        assert_eq!((cache.hits(), cache.misses()), (1, 4));
    }
}

/// Threads compiling the same modules through one cache all get working
/// modules, whichever wrote the entry.
#[test]
fn threads_share_one_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, cache) = cached_engine(dir.path(), 1 << 30, false);
    std::thread::scope(|s| {
        for t in 0..8 {
            let engine = &engine;
            s.spawn(move || {
                for round in 0..4 {
                    let text = if (t + round) % 2 == 0 { FIB } else { FIB_3 };
                    let module = Module::new(engine, text).unwrap();
                    assert_eq!(fib(engine, &module, 15), 610);
                }
            });
        }
    });
    assert_eq!(cache.hits() + cache.misses(), 32);
    assert!(cache.hits() >= 16, "{} hits", cache.hits());
    assert_eq!(entries(&cache).len(), 2);
}

/// A configuration file in Wasmtime's format.
#[test]
fn configuration_files_name_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.toml");
    let cache_dir = dir.path().join("from-file");
    std::fs::write(
        &file,
        format!(
            "[cache]\ndirectory = {:?}\nfiles-total-size-soft-limit = \"64Mi\"\n",
            cache_dir.to_str().unwrap()
        ),
    )
    .unwrap();
    let cache = Cache::from_file(Some(&file)).unwrap();
    assert_eq!(cache.directory(), cache_dir.join("modules"));
    let mut config = Config::new();
    config.cache(Some(cache.clone()));
    let engine = Engine::new(&config).unwrap();
    Module::new(&engine, FIB).unwrap();
    assert_eq!(entries(&cache).len(), 1);

    std::fs::write(&file, "[cache]\nno-such-key = 1\n").unwrap();
    let err = Cache::from_file(Some(&file)).unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("cache.toml") && message.contains("no-such-key"),
        "{message}"
    );
    assert!(Cache::from_file(Some(&dir.path().join("missing.toml"))).is_err());
}
