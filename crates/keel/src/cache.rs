//! The compilation cache (feature `cache`): compiled modules kept on disk
//! as artifacts, so that compiling a module a second time loads it
//! instead, as Wasmtime's `cache` feature does.
//!
//! # Entries
//!
//! An entry is one file, `DIR/modules/KEY.cwasm`, where `KEY` is the
//! SHA-256, in hex, of the module's binary encoding and of everything
//! that changes its code: the engine's [compatibility
//! settings](keel_translate::artifact::Compatibility) (target, Cranelift
//! and ISA settings, memory layout, fuel, epochs, NaN canonicalization,
//! Spectre guards, WebAssembly features) and keel's build identity (its
//! version and a hash of its sources). The file is a header (magic,
//! version, payload length, the payload's CRC-32) and the artifact that
//! [`Module::serialize`](crate::Module::serialize) writes.
//!
//! # Trust
//!
//! An entry is machine code that will run, so it is read only from a
//! directory this user's keel made: `modules` must be owned by the
//! effective user and writable by no one else (it is created `0700`),
//! and the entry must be a regular file owned by that user. The checksum
//! then rejects a truncated or corrupted entry, and every check of
//! [`Module::deserialize`](crate::Module::deserialize) still runs. An
//! entry that fails any of them is ignored (reported at `tracing`'s debug
//! level) and replaced by a fresh compilation.
//!
//! # Writes and trimming
//!
//! An entry is written to a temporary file in the same directory and
//! renamed into place, so that processes racing on one module each
//! succeed and readers never see half an entry. After a write, the
//! directory is trimmed to its size limit, the least recently used
//! entries first (a hit refreshes the entry's modification time).
//! Failing to write (a read-only or full directory) only costs the next
//! run its compilation: the module is compiled and runs as without a
//! cache.

use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use sha2::{Digest as _, Sha256};

use crate::Result;
use crate::prelude::*;

/// The default [`CacheConfig::files_total_size_soft_limit`]: 1 GiB, as
/// Wasmtime's.
pub const DEFAULT_FILES_TOTAL_SIZE_SOFT_LIMIT: u64 = 1 << 30;

/// The first bytes of an entry.
const MAGIC: &[u8; 8] = b"keelcach";

/// The entry format's version, after the magic.
const ENTRY_VERSION: u32 = 2;

/// Magic, version (u32), payload length (u64), payload CRC-32 (u32): a
/// checksum against truncation and corruption (it detects every change
/// confined to 32 consecutive bits, so every flipped byte), not against
/// tampering, which the directory's permissions rule out. It runs at
/// memory speed, where a SHA-256 of a large artifact took a fifth of a
/// cached start.
const HEADER_LEN: usize = 8 + 4 + 8 + 4;

/// The subdirectory of the cache directory that holds the entries.
const MODULES: &str = "modules";

/// An entry's file name extension.
const EXTENSION: &str = "cwasm";

/// Temporary files of writes that did not finish (a killed process) are
/// removed by the next trim once they are this old.
const STALE_TEMPORARY: Duration = Duration::from_secs(600);

/// Where the cache lives and how large it may grow: what a cache
/// configuration file says (Wasmtime's format, a TOML `[cache]` table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    enabled: bool,
    directory: Option<PathBuf>,
    files_total_size_soft_limit: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheConfig {
    /// The default configuration: enabled, in the platform's user cache
    /// directory (`$XDG_CACHE_HOME/keel`, else `~/.cache/keel`, as the
    /// `dirs` crate finds it), trimmed to
    /// [`DEFAULT_FILES_TOTAL_SIZE_SOFT_LIMIT`] bytes.
    pub fn new() -> Self {
        Self {
            enabled: true,
            directory: None,
            files_total_size_soft_limit: DEFAULT_FILES_TOTAL_SIZE_SOFT_LIMIT,
        }
    }

    /// Read a cache configuration file: TOML with a `[cache]` table, as
    /// Wasmtime's:
    ///
    /// ```toml
    /// [cache]
    /// directory = "/var/cache/keel"          # default: the user cache directory
    /// files-total-size-soft-limit = "512Mi"  # bytes; K, M, G, T (1000s) or Ki, Mi, Gi, Ti (1024s)
    /// ```
    ///
    /// `enabled = false` turns the cache off. Wasmtime's tuning keys
    /// (`cleanup-interval`, `optimized-compression-level`, ...) are
    /// accepted and ignored, so a Wasmtime configuration file works.
    ///
    /// # Errors
    ///
    /// If the file cannot be read, is not TOML, has no `[cache]` table,
    /// has a key neither keel nor Wasmtime knows, or a size that does not
    /// parse (each error names the file).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read cache configuration `{}`", path.display()))?;
        Self::from_toml(&text)
            .with_context(|| format!("invalid cache configuration `{}`", path.display()))
    }

    /// [`from_file`](Self::from_file) of a configuration's text.
    fn from_toml(text: &str) -> Result<Self> {
        let file: CacheFile = toml::from_str(text)?;
        let section = file.cache;
        let mut config = Self::new();
        if let Some(enabled) = section.enabled {
            config.enabled = enabled;
        }
        if let Some(directory) = section.directory {
            config.directory = Some(directory);
        }
        if let Some(size) = section.files_total_size_soft_limit {
            config.files_total_size_soft_limit = parse_size(&size)
                .with_context(|| format!("`files-total-size-soft-limit = {size:?}`"))?;
        }
        Ok(config)
    }

    /// Keep the cache in `directory` (entries go in its `modules`
    /// subdirectory, created when first written).
    pub fn with_directory(&mut self, directory: impl Into<PathBuf>) -> &mut Self {
        self.directory = Some(directory.into());
        self
    }

    /// Trim the entries to at most `bytes` in total after each write,
    /// least recently used first. An entry larger than the limit is not
    /// written.
    pub fn with_files_total_size_soft_limit(&mut self, bytes: u64) -> &mut Self {
        self.files_total_size_soft_limit = bytes;
        self
    }

    /// Turn the cache on or off.
    pub fn with_enabled(&mut self, enabled: bool) -> &mut Self {
        self.enabled = enabled;
        self
    }

    /// The configured directory, or `None` for the default.
    pub fn directory(&self) -> Option<&Path> {
        self.directory.as_deref()
    }

    /// The size limit, in bytes.
    pub fn files_total_size_soft_limit(&self) -> u64 {
        self.files_total_size_soft_limit
    }

    /// Whether the cache is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
}

/// A configuration file: its `[cache]` table.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    cache: CacheSection,
}

/// The `[cache]` table: keel's keys, then Wasmtime's tuning keys, which
/// are accepted and ignored (its worker compresses and cleans up in the
/// background; keel trims after each write).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code, reason = "Wasmtime's keys are accepted, never read")]
struct CacheSection {
    enabled: Option<bool>,
    directory: Option<PathBuf>,
    files_total_size_soft_limit: Option<String>,
    worker_event_queue_size: Option<toml::Value>,
    baseline_compression_level: Option<toml::Value>,
    optimized_compression_level: Option<toml::Value>,
    optimized_compression_usage_counter_threshold: Option<toml::Value>,
    cleanup_interval: Option<toml::Value>,
    optimizing_compression_task_timeout: Option<toml::Value>,
    allowed_clock_drift_for_files_from_future: Option<toml::Value>,
    file_count_soft_limit: Option<toml::Value>,
    files_total_size_limit_percent_if_deleting: Option<toml::Value>,
    file_count_limit_percent_if_deleting: Option<toml::Value>,
}

/// A size in bytes: an integer with an optional suffix, `K`, `M`, `G`,
/// `T` (powers of 1000) or `Ki`, `Mi`, `Gi`, `Ti` (powers of 1024).
fn parse_size(text: &str) -> Result<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .with_context(|| format!("`{text}` does not start with a number"))?;
    let scale: u64 = match suffix.trim() {
        "" => 1,
        "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        other => bail!("unknown unit `{other}` (K, M, G, T, Ki, Mi, Gi or Ti)"),
    };
    number
        .checked_mul(scale)
        .with_context(|| format!("`{text}` is more than 2^64 bytes"))
}

/// A compilation cache for [`Config::cache`](crate::Config::cache): a
/// directory of compiled modules. Cheap to clone; clones share their
/// hit and miss counts.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    /// The directory of entries (`.../modules`).
    modules: PathBuf,
    limit: u64,
    enabled: bool,
    hits: AtomicUsize,
    misses: AtomicUsize,
    /// Threads compiling whole modules for entries (see
    /// [`Cache::wait_for_background_writes`]).
    background: Mutex<Vec<JoinHandle<()>>>,
}

impl core::fmt::Debug for Cache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cache")
            .field("directory", &self.inner.modules)
            .field("limit", &self.inner.limit)
            .field("enabled", &self.inner.enabled)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache as `config` says. Nothing is created on disk until the
    /// first entry is written.
    ///
    /// # Errors
    ///
    /// If no directory is configured and the platform has no user cache
    /// directory (`$XDG_CACHE_HOME` and `$HOME` unset), or the directory
    /// is a relative path that cannot be made absolute.
    pub fn new(config: CacheConfig) -> Result<Self> {
        let directory = match config.directory {
            Some(directory) => directory,
            None => dirs::cache_dir()
                .context(
                    "no user cache directory ($XDG_CACHE_HOME and $HOME are unset): configure one",
                )?
                .join("keel"),
        };
        let directory = std::path::absolute(&directory).with_context(|| {
            format!(
                "cache directory `{}` cannot be made absolute",
                directory.display()
            )
        })?;
        Ok(Self {
            inner: Arc::new(CacheInner {
                modules: directory.join(MODULES),
                limit: config.files_total_size_soft_limit,
                enabled: config.enabled,
                hits: AtomicUsize::new(0),
                misses: AtomicUsize::new(0),
                background: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The cache that configuration file `path` describes
    /// ([`CacheConfig::from_file`]), or the default one
    /// ([`CacheConfig::new`]) for `None`.
    ///
    /// # Errors
    ///
    /// Those of [`CacheConfig::from_file`] and [`Cache::new`].
    pub fn from_file(path: Option<&Path>) -> Result<Self> {
        let config = match path {
            Some(path) => CacheConfig::from_file(path)?,
            None => CacheConfig::new(),
        };
        Self::new(config)
    }

    /// The directory that holds the entries (the configured directory's
    /// `modules` subdirectory).
    pub fn directory(&self) -> &Path {
        &self.inner.modules
    }

    /// How many compilations this cache (and its clones) answered from
    /// disk.
    pub fn hits(&self) -> usize {
        self.inner.hits.load(Ordering::Relaxed)
    }

    /// How many compilations found no usable entry (absent, stale,
    /// corrupted or untrusted) and compiled.
    pub fn misses(&self) -> usize {
        self.inner.misses.load(Ordering::Relaxed)
    }

    /// Wait until the entries being written on background threads are
    /// written (or given up).
    ///
    /// A module compiled lazily ([`Config::lazy_compilation`](crate::Config::lazy_compilation))
    /// on a cache miss is compiled whole for the cache on a thread of its
    /// own while the guest runs; a process that exits before that thread
    /// is done leaves no entry, and its next run compiles again. `keel run`
    /// calls this after the guest has returned and its output is flushed.
    /// Returns at once when nothing is pending.
    pub fn wait_for_background_writes(&self) {
        let pending = core::mem::take(
            &mut *self
                .inner
                .background
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for thread in pending {
            if thread.join().is_err() {
                tracing::debug!("a thread writing a cache entry panicked");
            }
        }
    }

    /// Compile an entry for `key` on a thread of its own: `compile`
    /// returns the artifact to store, or an error that leaves the entry
    /// unwritten (reported at debug level).
    pub(crate) fn put_in_background(
        &self,
        key: String,
        compile: impl FnOnce() -> Result<Vec<u8>> + Send + 'static,
    ) {
        let cache = self.clone();
        let spawned = std::thread::Builder::new()
            .name("keel-cache-writer".into())
            .spawn(move || match compile() {
                Ok(artifact) => cache.put(&key, &artifact),
                Err(e) => tracing::debug!("not caching the compiled module: {e:#}"),
            });
        match spawned {
            Ok(thread) => {
                let mut pending = self
                    .inner
                    .background
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                pending.retain(|t| !t.is_finished());
                pending.push(thread);
            }
            Err(e) => tracing::debug!("not caching the compiled module: {e}"),
        }
    }

    /// Whether the cache is on ([`CacheConfig::with_enabled`]).
    pub(crate) fn enabled(&self) -> bool {
        self.inner.enabled
    }

    /// The entry's key for `wasm` compiled by an engine whose
    /// compatibility settings encode as `settings` (they include keel's
    /// build identity).
    pub(crate) fn key(settings: &[u8], wasm: &[u8]) -> String {
        let mut hash = Sha256::new();
        hash.update(b"keel compilation cache key 1\0");
        hash.update((settings.len() as u64).to_le_bytes());
        hash.update(settings);
        hash.update((wasm.len() as u64).to_le_bytes());
        hash.update(wasm);
        hex(&hash.finalize())
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.inner.modules.join(format!("{key}.{EXTENSION}"))
    }

    /// The artifact stored under `key`, if an entry is there, trusted
    /// and intact; counts a hit or a miss. A bad entry is reported at
    /// debug level and ignored.
    pub(crate) fn get(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.entry_path(key);
        match self.read_entry(&path) {
            Ok(Some(artifact)) => {
                // Refresh the entry for least-recently-used trimming.
                if let Err(e) = File::options()
                    .append(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(SystemTime::now()))
                {
                    tracing::debug!(path = %path.display(), "cannot refresh a cache entry: {e}");
                }
                Some(artifact)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(path = %path.display(), "ignoring a cache entry: {e:#}");
                None
            }
        }
    }

    /// Count a hit (`true`) or a miss.
    pub(crate) fn count(&self, hit: bool) {
        let counter = if hit {
            &self.inner.hits
        } else {
            &self.inner.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Read and check the entry at `path`: `None` if there is none.
    fn read_entry(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let metadata = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if !metadata.file_type().is_file() {
            bail!("not a regular file");
        }
        check_owner(&fs::symlink_metadata(&self.inner.modules)?, true)
            .context("the cache directory is not this user's alone")?;
        check_owner(&metadata, false)?;
        let mut bytes = Vec::new();
        File::open(path)?.read_to_end(&mut bytes)?;
        decode_entry(&bytes).map(|payload| Some(payload.to_vec()))
    }

    /// Store `artifact` under `key`, then trim the directory. Failures
    /// are reported at debug level: the cache is an optimization.
    pub(crate) fn put(&self, key: &str, artifact: &[u8]) {
        if let Err(e) = self.try_put(key, artifact) {
            tracing::debug!(
                directory = %self.inner.modules.display(),
                "not caching the compiled module: {e:#}"
            );
        }
    }

    fn try_put(&self, key: &str, artifact: &[u8]) -> Result<()> {
        let size = (HEADER_LEN + artifact.len()) as u64;
        if size > self.inner.limit {
            bail!(
                "its entry ({size} bytes) exceeds the cache's size limit ({} bytes)",
                self.inner.limit
            );
        }
        let dir = &self.inner.modules;
        create_private_dir(dir)?;
        check_owner(&fs::symlink_metadata(dir)?, true)
            .context("the cache directory is not this user's alone")?;
        let mut file = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .context("creating a temporary file")?;
        file.write_all(&encode_header(artifact))?;
        file.write_all(artifact)?;
        file.flush()?;
        file.persist(self.entry_path(key))
            .map_err(|e| e.error)
            .context("renaming the entry into place")?;
        self.trim();
        Ok(())
    }

    /// Remove the least recently used entries until the rest fit the
    /// size limit, and temporary files left by writes that did not
    /// finish. Entries another process removes meanwhile are skipped.
    fn trim(&self) {
        let Ok(read) = fs::read_dir(&self.inner.modules) else {
            return;
        };
        let now = SystemTime::now();
        let mut entries = Vec::new();
        let mut total = 0u64;
        for entry in read.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if name.starts_with(".tmp-") {
                if now
                    .duration_since(modified)
                    .is_ok_and(|age| age > STALE_TEMPORARY)
                {
                    let _ = fs::remove_file(entry.path());
                }
                continue;
            }
            if !metadata.is_file() || !is_entry_name(&name) {
                continue;
            }
            total += metadata.len();
            entries.push((modified, metadata.len(), entry.path()));
        }
        if total <= self.inner.limit {
            return;
        }
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.inner.limit {
                break;
            }
            match fs::remove_file(&path) {
                Ok(()) => {
                    tracing::debug!(path = %path.display(), "trimmed a cache entry");
                    total -= len;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => total -= len,
                Err(e) => tracing::debug!(path = %path.display(), "cannot trim a cache entry: {e}"),
            }
        }
    }
}

/// Whether `name` is an entry's: 64 hex digits and the extension.
fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(EXTENSION)
        .and_then(|n| n.strip_suffix('.'))
        .is_some_and(|key| key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `bytes` as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The header of an entry holding `payload`.
fn encode_header(payload: &[u8]) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&ENTRY_VERSION.to_le_bytes());
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    header.extend_from_slice(&crc32(payload).to_le_bytes());
    header
}

/// The CRC-32 of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut digest = keel_translate::artifact::Digest::new();
    digest.write(bytes);
    digest.finish() as u32
}

/// The payload of entry `bytes`, after checking its header and checksum.
///
/// # Errors
///
/// If the magic or version is wrong, the length is not the file's, or
/// the checksum does not match.
fn decode_entry(bytes: &[u8]) -> Result<&[u8]> {
    let Some((header, payload)) = bytes.split_at_checked(HEADER_LEN) else {
        bail!("truncated: {} bytes, shorter than the header", bytes.len());
    };
    if &header[..8] != MAGIC {
        bail!("not a keel cache entry (bad magic)");
    }
    let version = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    if version != ENTRY_VERSION {
        bail!("entry format {version}, but this keel writes {ENTRY_VERSION}");
    }
    let len = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
    if len != payload.len() as u64 {
        bail!(
            "truncated or extended: the header says {len} bytes of artifact, the file has {}",
            payload.len()
        );
    }
    if crc32(payload).to_le_bytes() != header[20..] {
        bail!("corrupted: the artifact does not match its checksum");
    }
    Ok(payload)
}

/// Create `dir` and its parents; `dir` itself only its owner may enter.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Check that `metadata` is of a file or directory that the effective
/// user owns and (for a directory, `dir`) no one else may write.
#[cfg(unix)]
fn check_owner(metadata: &fs::Metadata, dir: bool) -> Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me {
        bail!("owned by user {}, not by this user ({me})", metadata.uid());
    }
    if dir && metadata.mode() & 0o022 != 0 {
        bail!("writable by others (mode {:o})", metadata.mode() & 0o7777);
    }
    Ok(())
}

/// Without Unix ownership, every file counts as this user's.
#[cfg(not(unix))]
fn check_owner(_metadata: &fs::Metadata, _dir: bool) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0").unwrap(), 0);
        assert_eq!(parse_size("1234").unwrap(), 1234);
        assert_eq!(parse_size("1Gi").unwrap(), 1 << 30);
        assert_eq!(parse_size("512Mi").unwrap(), 512 << 20);
        assert_eq!(parse_size("3K").unwrap(), 3000);
        assert_eq!(parse_size("2 G").unwrap(), 2_000_000_000);
        assert!(parse_size("Gi").is_err());
        assert!(
            parse_size("1Qi")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
        assert!(parse_size("99999999999Ti").is_err());
    }

    #[test]
    fn configuration_files() {
        let config = CacheConfig::from_toml(
            "[cache]\ndirectory = \"/x/y\"\nfiles-total-size-soft-limit = \"1Mi\"\n",
        )
        .unwrap();
        assert_eq!(config.directory(), Some(Path::new("/x/y")));
        assert_eq!(config.files_total_size_soft_limit(), 1 << 20);
        assert!(config.enabled());
        // Wasmtime's own keys are accepted.
        let wasmtime = "[cache]\nenabled = true\ncleanup-interval = \"30m\"\n\
                        optimized-compression-level = 20\nfile-count-soft-limit = 1000\n";
        assert_eq!(
            CacheConfig::from_toml(wasmtime).unwrap(),
            CacheConfig::new()
        );
        let off = CacheConfig::from_toml("[cache]\nenabled = false\n").unwrap();
        assert!(!off.enabled());
        // Unknown keys, a missing table and bad sizes are errors.
        let err = CacheConfig::from_toml("[cache]\nsize = 3\n").unwrap_err();
        assert!(format!("{err:#}").contains("size"), "{err:#}");
        assert!(CacheConfig::from_toml("").is_err());
        let err =
            CacheConfig::from_toml("[cache]\nfiles-total-size-soft-limit = \"1Xi\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("unknown unit"), "{err:#}");
    }

    #[test]
    fn entries_round_trip_and_every_damage_is_detected() {
        let payload: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut entry = encode_header(&payload);
        entry.extend_from_slice(&payload);
        assert_eq!(decode_entry(&entry).unwrap(), &payload[..]);
        for len in [0, 10, HEADER_LEN, entry.len() - 1] {
            assert!(decode_entry(&entry[..len]).is_err(), "truncated to {len}");
        }
        for at in [0, 9, 13, 25, HEADER_LEN, entry.len() - 1] {
            let mut bad = entry.clone();
            bad[at] ^= 0x10;
            assert!(decode_entry(&bad).is_err(), "flipped byte {at}");
        }
        let mut longer = entry.clone();
        longer.push(0);
        assert!(decode_entry(&longer).is_err());
    }

    #[test]
    fn keys_depend_on_settings_and_bytes() {
        let a = Cache::key(b"settings", b"\0asm");
        assert_eq!(a.len(), 64);
        assert!(is_entry_name(&format!("{a}.cwasm")));
        assert_eq!(a, Cache::key(b"settings", b"\0asm"));
        assert_ne!(a, Cache::key(b"settings2", b"\0asm"));
        assert_ne!(a, Cache::key(b"settings", b"\0asm\0"));
        // The boundary between the two is part of the key.
        assert_ne!(Cache::key(b"ab", b"c"), Cache::key(b"a", b"bc"));
        assert!(!is_entry_name(".tmp-abc"));
        assert!(!is_entry_name(&format!("{a}.wasm")));
    }
}
