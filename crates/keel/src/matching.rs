//! Import matching (spec:
//! [Import Matching](https://webassembly.github.io/spec/core/exec/modules.html#import-matching)):
//! whether an [`Extern`](crate::Extern) may satisfy an import, and
//! [`LinkError`], which says why not in Wasmtime's words.

use crate::ValType;
use crate::prelude::*;
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, TableType};
use core::fmt;
use keel_translate::DisplayName;

/// Why a module could not be linked: an import that is missing, of
/// another kind, or of an incompatible type, or the wrong number of
/// imports for [`Instance::new`](crate::Instance::new).
///
/// It is the root of the instantiation error:
/// `err.downcast_ref::<LinkError>()` finds it. A type mismatch carries
/// the context ``incompatible import type for `module::name` `` (the
/// error's `Display`; `{:#}` shows both), as in Wasmtime, and each
/// variant's own text is the one Wasmtime gives for the same mismatch.
/// Types are the import's (`expected`) and the definition's (`found`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// The [`Linker`](crate::Linker) has no definition named as the
    /// import.
    UnknownImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
    /// [`Instance::new`](crate::Instance::new) was given another number
    /// of imports than the module declares.
    ImportCount {
        /// The module's import count.
        expected: usize,
        /// The number given.
        given: usize,
    },
    /// The definition is another kind of entity (a global for a function
    /// import, ...).
    WrongKind {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type.
        expected: ExternType,
        /// The definition's type.
        found: ExternType,
    },
    /// A function whose type is not the import's (function types match
    /// when they are the same type: the same recursion group and
    /// position, spec:
    /// [Type Equivalence](https://webassembly.github.io/spec/core/valid/conventions.html#type-equivalence)).
    FuncType {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type.
        expected: FuncType,
        /// The definition's type.
        found: FuncType,
    },
    /// A tag whose type is not the import's.
    TagType {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type.
        expected: crate::TagType,
        /// The definition's type.
        found: crate::TagType,
    },
    /// A global whose value type does not match: equal for a mutable
    /// global, a subtype for an immutable one.
    GlobalType {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type.
        expected: GlobalType,
        /// The definition's type.
        found: GlobalType,
    },
    /// A mutable global for an immutable import or the reverse.
    GlobalMutability {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type.
        expected: GlobalType,
        /// The definition's type.
        found: GlobalType,
    },
    /// A table of another element type or index type (`i32`/`i64`).
    TableType {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type.
        expected: TableType,
        /// The definition's type.
        found: TableType,
    },
    /// A table whose size (its current size, and its maximum) is not
    /// within the import's limits.
    TableLimits {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type.
        expected: TableType,
        /// The definition's type, with its current size as minimum.
        found: TableType,
    },
    /// A memory that differs in sharing, index type or page size.
    MemoryType {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type.
        expected: MemoryType,
        /// The definition's type.
        found: MemoryType,
    },
    /// A memory whose size (its current size, and its maximum) is not
    /// within the import's limits.
    MemoryLimits {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// The import's type.
        expected: MemoryType,
        /// The definition's type, with its current size as minimum.
        found: MemoryType,
    },
}

impl LinkError {
    /// The import's `(module, name)`; `None` for
    /// [`ImportCount`](LinkError::ImportCount).
    pub fn import(&self) -> Option<(&str, &str)> {
        match self {
            LinkError::ImportCount { .. } => None,
            LinkError::UnknownImport { module, name }
            | LinkError::WrongKind { module, name, .. }
            | LinkError::FuncType { module, name, .. }
            | LinkError::TagType { module, name, .. }
            | LinkError::GlobalType { module, name, .. }
            | LinkError::GlobalMutability { module, name, .. }
            | LinkError::TableType { module, name, .. }
            | LinkError::TableLimits { module, name, .. }
            | LinkError::MemoryType { module, name, .. }
            | LinkError::MemoryLimits { module, name, .. } => Some((module, name)),
        }
    }

    /// Into an error, with the context Wasmtime gives a type mismatch.
    pub(crate) fn into_error(self) -> anyhow::Error {
        match &self {
            LinkError::UnknownImport { .. } | LinkError::ImportCount { .. } => {
                anyhow::Error::new(self)
            }
            _ => {
                let context = match self.import() {
                    Some((module, name)) => format!(
                        "incompatible import type for `{}::{}`",
                        DisplayName(module),
                        DisplayName(name)
                    ),
                    None => String::new(),
                };
                anyhow::Error::new(self).context(context)
            }
        }
    }
}

/// The kind of an extern type, as Wasmtime names it in errors.
fn kind(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "func",
        ExternType::Global(_) => "global",
        ExternType::Table(_) => "table",
        ExternType::Memory(_) => "memory",
        ExternType::Tag(_) => "tag",
    }
}

/// Limits as Wasmtime prints them: `(min: 1, max: none)`.
fn show_limits(l: &keel_translate::Limits) -> String {
    match l.max {
        Some(max) => format!("(min: {}, max: {max})", l.min),
        None => format!("(min: {}, max: none)", l.min),
    }
}

/// `64-bit` or `32-bit`, as Wasmtime names index types.
fn index_bits(is_64: bool) -> &'static str {
    if is_64 { "64-bit" } else { "32-bit" }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::UnknownImport { module, name } => write!(
                f,
                "unknown import: `{}::{}` has not been defined",
                DisplayName(module),
                DisplayName(name)
            ),
            LinkError::ImportCount { expected, given } => {
                write!(f, "module expects {expected} imports, {given} were given")
            }
            LinkError::WrongKind {
                expected, found, ..
            } => write!(f, "expected {}, but found {}", kind(expected), kind(found)),
            LinkError::FuncType {
                expected, found, ..
            } => write!(
                f,
                "types incompatible: expected type `{expected}`, found type `{found}`"
            ),
            LinkError::TagType {
                expected, found, ..
            } => write!(
                f,
                "incompatible tag types: expected tag of type `{}`, found tag of type `{}`",
                expected.ty(),
                found.ty()
            ),
            LinkError::GlobalType {
                expected, found, ..
            } => write!(
                f,
                "global types incompatible: expected global of type `{}`, found global of type `{}`",
                expected.0.content, found.0.content
            ),
            LinkError::GlobalMutability {
                expected, found, ..
            } => {
                let m = |g: &GlobalType| if g.0.mutable { "mutable" } else { "immutable" };
                write!(
                    f,
                    "global types incompatible: expected {} global, found {} global",
                    m(expected),
                    m(found)
                )
            }
            LinkError::TableType {
                expected, found, ..
            } => {
                if expected.0.element != found.0.element {
                    write!(
                        f,
                        "table types incompatible: expected table of type `{}`, found table of type `{}`",
                        expected.0.element, found.0.element
                    )
                } else {
                    write!(
                        f,
                        "table types incompatible: expected {} table, found {} table",
                        index_bits(expected.0.table64),
                        index_bits(found.0.table64)
                    )
                }
            }
            LinkError::TableLimits {
                expected, found, ..
            } => write!(
                f,
                "table types incompatible: expected table limits {} doesn't match provided table limits {}",
                show_limits(&expected.0.limits),
                show_limits(&found.0.limits)
            ),
            LinkError::MemoryType {
                expected, found, ..
            } => {
                let (e, a) = (&expected.0, &found.0);
                if e.shared != a.shared {
                    let s = |shared: bool| if shared { "shared" } else { "non-shared" };
                    write!(
                        f,
                        "memory types incompatible: expected {} memory, found {} memory",
                        s(e.shared),
                        s(a.shared)
                    )
                } else if e.memory64 != a.memory64 {
                    write!(
                        f,
                        "memory types incompatible: expected {} memory, found {} memory",
                        index_bits(e.memory64),
                        index_bits(a.memory64)
                    )
                } else {
                    write!(
                        f,
                        "memory types incompatible: expected a memory with a page size of {}, \
                         but received a memory with a page size of {}",
                        e.page_size(),
                        a.page_size()
                    )
                }
            }
            LinkError::MemoryLimits {
                expected, found, ..
            } => write!(
                f,
                "memory types incompatible: expected memory limits {} doesn't match provided memory limits {}",
                show_limits(&expected.0.limits),
                show_limits(&found.0.limits)
            ),
        }
    }
}

impl core::error::Error for LinkError {}

/// Whether `actual` is within `expected` (spec:
/// [Limits](https://webassembly.github.io/spec/core/valid/types.html#match-limits)).
fn limits_match(actual: &keel_translate::Limits, expected: &keel_translate::Limits) -> bool {
    actual.min >= expected.min
        && match expected.max {
            None => true,
            Some(em) => actual.max.is_some_and(|am| am <= em),
        }
}

/// Whether a definition of type `found` may satisfy import `module::name`
/// of type `expected` (spec:
/// [Import Matching](https://webassembly.github.io/spec/core/exec/modules.html#import-matching)),
/// checked in the order Wasmtime checks, so the first mismatch reported
/// is the one it reports. `same_type` says whether a function's type is a
/// subtype of the import's, or a tag's type the import's (compared by
/// engine-wide id, by the caller: equal structure is not enough for types
/// of different recursion groups); `val_matches` whether a value type is a
/// subtype of another (for globals).
///
/// # Errors
///
/// The [`LinkError`] naming the mismatch, with the context Wasmtime gives
/// it ([`LinkError::into_error`]).
pub(crate) fn match_import(
    module: &str,
    name: &str,
    expected: &ExternType,
    found: &ExternType,
    same_type: bool,
    val_matches: &dyn Fn(ValType, ValType) -> bool,
) -> crate::Result<()> {
    mismatch(module, name, expected, found, same_type, val_matches).map_err(LinkError::into_error)
}

/// [`match_import`]'s check, before the error gets its context.
#[expect(
    clippy::result_large_err,
    reason = "a link error is reported once per instantiation, never on a fast path"
)]
fn mismatch(
    module: &str,
    name: &str,
    expected: &ExternType,
    found: &ExternType,
    same_type: bool,
    val_matches: &dyn Fn(ValType, ValType) -> bool,
) -> Result<(), LinkError> {
    // Nothing is allocated unless the import does not match.
    match (expected, found) {
        (ExternType::Func(e), ExternType::Func(a)) => {
            if same_type {
                return Ok(());
            }
            let (expected, found) = (e.clone(), a.clone());
            Err(LinkError::FuncType {
                module: module.into(),
                name: name.into(),
                expected,
                found,
            })
        }
        (ExternType::Tag(e), ExternType::Tag(a)) => {
            if same_type {
                return Ok(());
            }
            let (expected, found) = (e.clone(), a.clone());
            Err(LinkError::TagType {
                module: module.into(),
                name: name.into(),
                expected,
                found,
            })
        }
        (ExternType::Global(e), ExternType::Global(a)) => {
            let (e, a) = (*e, *a);
            // Subtyping is sound only for immutable globals.
            let content_matches = if e.0.mutable || a.0.mutable {
                a.0.content == e.0.content
            } else {
                val_matches(a.0.content, e.0.content)
            };
            if !content_matches {
                Err(LinkError::GlobalType {
                    module: module.into(),
                    name: name.into(),
                    expected: e,
                    found: a,
                })
            } else if e.0.mutable != a.0.mutable {
                Err(LinkError::GlobalMutability {
                    module: module.into(),
                    name: name.into(),
                    expected: e,
                    found: a,
                })
            } else {
                Ok(())
            }
        }
        (ExternType::Table(e), ExternType::Table(a)) => {
            let (e, a) = (*e, *a);
            if e.0.element != a.0.element || e.0.table64 != a.0.table64 {
                Err(LinkError::TableType {
                    module: module.into(),
                    name: name.into(),
                    expected: e,
                    found: a,
                })
            } else if !limits_match(&a.0.limits, &e.0.limits) {
                Err(LinkError::TableLimits {
                    module: module.into(),
                    name: name.into(),
                    expected: e,
                    found: a,
                })
            } else {
                Ok(())
            }
        }
        (ExternType::Memory(e), ExternType::Memory(a)) => {
            let (e, a) = (*e, *a);
            if e.0.shared != a.0.shared || e.0.memory64 != a.0.memory64 {
                Err(LinkError::MemoryType {
                    module: module.into(),
                    name: name.into(),
                    expected: e,
                    found: a,
                })
            } else if !limits_match(&a.0.limits, &e.0.limits) {
                Err(LinkError::MemoryLimits {
                    module: module.into(),
                    name: name.into(),
                    expected: e,
                    found: a,
                })
            } else if e.0.page_size_log2 != a.0.page_size_log2 {
                Err(LinkError::MemoryType {
                    module: module.into(),
                    name: name.into(),
                    expected: e,
                    found: a,
                })
            } else {
                Ok(())
            }
        }
        _ => Err(LinkError::WrongKind {
            module: module.into(),
            name: name.into(),
            expected: expected.clone(),
            found: found.clone(),
        }),
    }
}
