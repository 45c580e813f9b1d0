//! WebAssembly types as keel records them (spec:
//! [Types](https://webassembly.github.io/spec/core/syntax/types.html)).

use crate::prelude::*;
use crate::{SharedTypeIndex, TypeIndex};

use core::fmt;

/// A [value type](https://webassembly.github.io/spec/core/syntax/types.html#value-types):
/// number, vector or reference type.
///
/// The two nullable abstract reference types have variants of their own
/// (`funcref`, `externref`); every other reference type is
/// [`WasmValType::Ref`]. Build reference types with
/// [`WasmValType::reference`], which keeps that form canonical, so that
/// equal types compare equal.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE 754 float.
    F32,
    /// 64-bit IEEE 754 float.
    F64,
    /// 128-bit vector.
    V128,
    /// Nullable reference to any function: `(ref null func)`.
    FuncRef,
    /// Nullable reference to a host value: `(ref null extern)`.
    ExternRef,
    /// Any other reference type (typed function references and GC):
    /// non-null abstract references, references to a defined type, the
    /// `any` hierarchy and the bottom types.
    Ref(WasmRefType),
}

/// A [reference type](https://webassembly.github.io/spec/core/syntax/types.html#reference-types):
/// a heap type and whether null is a value of it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmRefType {
    /// Whether the type includes null (`ref null`).
    pub nullable: bool,
    /// What the reference points to.
    pub heap: WasmHeapType,
}

/// A [heap type](https://webassembly.github.io/spec/core/syntax/types.html#heap-types):
/// one of the four hierarchies (spec:
/// [Heap Types](https://webassembly.github.io/spec/core/valid/matching.html#heap-types)),
/// each with its top, its bottom and, for `func` and `any`, the
/// concrete types defined below it:
/// * `func` ⊇ concrete function types ⊇ `nofunc`;
/// * `extern` ⊇ `noextern`;
/// * `any` ⊇ `eq` ⊇ `i31`, `struct` ⊇ concrete struct types, `array` ⊇
///   concrete array types, all ⊇ `none`;
/// * `exn` ⊇ `noexn`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmHeapType {
    /// Any function.
    Func,
    /// Any host value.
    Extern,
    /// The bottom of the function hierarchy: only null.
    NoFunc,
    /// The bottom of the extern hierarchy: only null.
    NoExtern,
    /// Functions of one function type.
    ConcreteFunc(TypeRef),
    /// Exception references (`exnref` is `(ref null exn)`; spec:
    /// [Heap Types](https://webassembly.github.io/spec/core/syntax/types.html#heap-types)).
    Exn,
    /// The bottom of the exception hierarchy: only null.
    NoExn,
    /// The top of the GC hierarchy: structs, arrays, `i31` and
    /// internalized host references (`any.convert_extern`).
    Any,
    /// Values `ref.eq` compares: structs, arrays and `i31`.
    Eq,
    /// Unboxed 31-bit integers.
    I31,
    /// Any struct.
    Struct,
    /// Any array.
    Array,
    /// The bottom of the GC hierarchy: only null.
    None,
    /// Structs of one struct type or its subtypes.
    ConcreteStruct(TypeRef),
    /// Arrays of one array type or its subtypes.
    ConcreteArray(TypeRef),
}

/// What kind of [composite type](https://webassembly.github.io/spec/core/syntax/types.html#composite-types)
/// a defined type is; it decides which concrete heap type refers to it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CompositeKind {
    /// A function type.
    Func,
    /// A struct type.
    Struct,
    /// An array type.
    Array,
}

impl WasmHeapType {
    /// The defined type this heap type names, if it is concrete.
    pub fn concrete(self) -> Option<TypeRef> {
        match self {
            Self::ConcreteFunc(t) | Self::ConcreteStruct(t) | Self::ConcreteArray(t) => Some(t),
            _ => None,
        }
    }

    /// The concrete heap type of a defined type of kind `kind`.
    pub fn of_kind(kind: CompositeKind, t: TypeRef) -> Self {
        match kind {
            CompositeKind::Func => Self::ConcreteFunc(t),
            CompositeKind::Struct => Self::ConcreteStruct(t),
            CompositeKind::Array => Self::ConcreteArray(t),
        }
    }

    /// The top of this type's hierarchy: `func`, `extern`, `any` or `exn`.
    pub fn top(self) -> Self {
        match self {
            Self::Func | Self::NoFunc | Self::ConcreteFunc(_) => Self::Func,
            Self::Extern | Self::NoExtern => Self::Extern,
            Self::Exn | Self::NoExn => Self::Exn,
            Self::Any
            | Self::Eq
            | Self::I31
            | Self::Struct
            | Self::Array
            | Self::None
            | Self::ConcreteStruct(_)
            | Self::ConcreteArray(_) => Self::Any,
        }
    }

    /// The bottom of this type's hierarchy: `nofunc`, `noextern`, `none`
    /// or `noexn`.
    pub fn bottom(self) -> Self {
        match self.top() {
            Self::Func => Self::NoFunc,
            Self::Extern => Self::NoExtern,
            Self::Exn => Self::NoExn,
            _ => Self::None,
        }
    }

    /// Whether this is a bottom type (its only value is null).
    pub fn is_bottom(self) -> bool {
        matches!(
            self,
            Self::NoFunc | Self::NoExtern | Self::NoExn | Self::None
        )
    }

    /// This heap type with its concrete type reference rewritten by `f`.
    pub fn map_type_ref(self, f: &mut impl FnMut(TypeRef) -> TypeRef) -> Self {
        match self {
            Self::ConcreteFunc(t) => Self::ConcreteFunc(f(t)),
            Self::ConcreteStruct(t) => Self::ConcreteStruct(f(t)),
            Self::ConcreteArray(t) => Self::ConcreteArray(f(t)),
            other => other,
        }
    }

    /// Whether every value of `self` is a value of `other` (spec:
    /// [Heap Types](https://webassembly.github.io/spec/core/valid/matching.html#heap-types)).
    /// Concrete types are compared with `sub`, which says whether the
    /// first defined type is (declared) a subtype of the second, both in
    /// the same index space.
    pub fn matches(self, other: Self, sub: &mut impl FnMut(TypeRef, TypeRef) -> bool) -> bool {
        use WasmHeapType as H;
        if self == other {
            return true;
        }
        match (self, other) {
            (a, b) if a.top() != b.top() => false,
            (a, _) if a.is_bottom() => true,
            (_, b) if b.is_bottom() => false,
            (_, b) if b == b.top() => true,
            (H::I31 | H::Struct | H::Array | H::ConcreteStruct(_) | H::ConcreteArray(_), H::Eq) => {
                true
            }
            (H::ConcreteStruct(_), H::Struct) | (H::ConcreteArray(_), H::Array) => true,
            (H::ConcreteFunc(a), H::ConcreteFunc(b))
            | (H::ConcreteStruct(a), H::ConcreteStruct(b))
            | (H::ConcreteArray(a), H::ConcreteArray(b)) => sub(a, b),
            _ => false,
        }
    }
}

/// Which function type a concrete heap type names: a type of the module
/// being compiled, a type registered with the engine, or (only inside
/// the engine's type registry) a type of the recursion group being
/// canonicalized.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TypeRef {
    /// The module's type `index`.
    Module(TypeIndex),
    /// The engine-wide type `index`.
    Engine(SharedTypeIndex),
    /// Type `n` of the enclosing recursion group.
    RecGroup(u32),
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Module(i) => write!(f, "{}", i.as_u32()),
            TypeRef::Engine(i) => write!(f, "$type{}", i.as_u32()),
            TypeRef::RecGroup(i) => write!(f, "$rec{i}"),
        }
    }
}

impl WasmValType {
    /// `exnref`: `(ref null exn)`, a nullable exception reference.
    pub const EXNREF: Self = Self::Ref(WasmRefType {
        nullable: true,
        heap: WasmHeapType::Exn,
    });

    /// Convert from wasmparser's value type; `kind` says what kind of
    /// type each module type index is (see [`WasmValType::from_ref_type`]).
    ///
    /// # Errors
    ///
    /// As [`WasmValType::from_ref_type`].
    pub fn from_wasmparser(
        ty: wasmparser::ValType,
        kind: &impl Fn(TypeIndex) -> Option<CompositeKind>,
    ) -> crate::TranslateResult<Self> {
        Ok(match ty {
            wasmparser::ValType::I32 => Self::I32,
            wasmparser::ValType::I64 => Self::I64,
            wasmparser::ValType::F32 => Self::F32,
            wasmparser::ValType::F64 => Self::F64,
            wasmparser::ValType::V128 => Self::V128,
            wasmparser::ValType::Ref(r) => Self::from_ref_type(r, kind)?,
        })
    }

    /// Convert from wasmparser's reference type; a concrete type index is
    /// the module's ([`TypeRef::Module`]), of the kind `kind` gives it.
    ///
    /// # Errors
    ///
    /// Shared references, exact types, continuation types and indices
    /// `kind` does not know are [`WasmError::Unsupported`](crate::WasmError).
    pub fn from_ref_type(
        r: wasmparser::RefType,
        kind: &impl Fn(TypeIndex) -> Option<CompositeKind>,
    ) -> crate::TranslateResult<Self> {
        use wasmparser::{AbstractHeapType as A, HeapType as H};
        let heap = match r.heap_type() {
            H::Abstract { shared: false, ty } => match ty {
                A::Func => WasmHeapType::Func,
                A::Extern => WasmHeapType::Extern,
                A::NoFunc => WasmHeapType::NoFunc,
                A::NoExtern => WasmHeapType::NoExtern,
                A::Exn => WasmHeapType::Exn,
                A::NoExn => WasmHeapType::NoExn,
                A::Any => WasmHeapType::Any,
                A::Eq => WasmHeapType::Eq,
                A::I31 => WasmHeapType::I31,
                A::Struct => WasmHeapType::Struct,
                A::Array => WasmHeapType::Array,
                A::None => WasmHeapType::None,
                _ => crate::unsupported!("reference type {r:?}"),
            },
            H::Concrete(wasmparser::UnpackedIndex::Module(index)) => {
                let index = TypeIndex::from_u32(index);
                match kind(index) {
                    Some(k) => WasmHeapType::of_kind(k, TypeRef::Module(index)),
                    None => crate::unsupported!("reference type {r:?} of an unknown type"),
                }
            }
            _ => crate::unsupported!("reference type {r:?}"),
        };
        Ok(Self::reference(r.is_nullable(), heap))
    }

    /// The reference type `(ref null? heap)`, in canonical form
    /// (`funcref` and `externref` for the nullable abstract ones).
    pub fn reference(nullable: bool, heap: WasmHeapType) -> Self {
        match (nullable, heap) {
            (true, WasmHeapType::Func) => Self::FuncRef,
            (true, WasmHeapType::Extern) => Self::ExternRef,
            _ => Self::Ref(WasmRefType { nullable, heap }),
        }
    }

    /// This type as a reference type, if it is one.
    pub fn ref_type(self) -> Option<WasmRefType> {
        match self {
            Self::FuncRef => Some(WasmRefType {
                nullable: true,
                heap: WasmHeapType::Func,
            }),
            Self::ExternRef => Some(WasmRefType {
                nullable: true,
                heap: WasmHeapType::Extern,
            }),
            Self::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        self.ref_type().is_some()
    }

    /// Whether this is a reference into the exception hierarchy (its
    /// values are null or exception-object pointers).
    pub fn is_exn_ref(self) -> bool {
        self.ref_type()
            .is_some_and(|r| matches!(r.heap, WasmHeapType::Exn | WasmHeapType::NoExn))
    }

    /// Whether this is a reference into the `any` hierarchy (its values
    /// are null, `i31` or GC-heap objects).
    pub fn is_any_ref(self) -> bool {
        self.ref_type()
            .is_some_and(|r| r.heap.top() == WasmHeapType::Any)
    }

    /// Whether this is a reference into the extern hierarchy (its values
    /// are null, host values, or `any` values `extern.convert_any` made
    /// external).
    pub fn is_extern_ref(self) -> bool {
        self.ref_type()
            .is_some_and(|r| r.heap.top() == WasmHeapType::Extern)
    }

    /// Whether this is a reference into the function hierarchy (its
    /// values are null or `VMFuncRef` pointers).
    pub fn is_func_ref(self) -> bool {
        self.ref_type().is_some_and(|r| {
            matches!(
                r.heap,
                WasmHeapType::Func | WasmHeapType::NoFunc | WasmHeapType::ConcreteFunc(_)
            )
        })
    }

    /// This type with every concrete type reference rewritten by `f`.
    pub fn map_type_refs(self, f: &mut impl FnMut(TypeRef) -> TypeRef) -> Self {
        match self {
            Self::Ref(WasmRefType { nullable, heap }) => Self::Ref(WasmRefType {
                nullable,
                heap: heap.map_type_ref(f),
            }),
            other => other,
        }
    }

    /// Whether every value of `self` is a value of `other`, as the spec's
    /// [subtyping](https://webassembly.github.io/spec/core/valid/matching.html#value-types)
    /// rules say: numbers and vectors only match themselves;
    /// `(ref null? h1)` matches `(ref null? h2)` when null is allowed by
    /// the second wherever by the first and `h1` matches `h2`
    /// ([`WasmHeapType::matches`]). Concrete types are compared with
    /// `sub` (see there), so both must be in the same index space.
    pub fn matches(self, other: Self, sub: &mut impl FnMut(TypeRef, TypeRef) -> bool) -> bool {
        match (self.ref_type(), other.ref_type()) {
            (Some(a), Some(b)) => (!a.nullable || b.nullable) && a.heap.matches(b.heap, sub),
            (None, None) => self == other,
            _ => false,
        }
    }
}

impl fmt::Display for WasmValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = match self {
            Self::I32 => return f.write_str("i32"),
            Self::I64 => return f.write_str("i64"),
            Self::F32 => return f.write_str("f32"),
            Self::F64 => return f.write_str("f64"),
            Self::V128 => return f.write_str("v128"),
            Self::FuncRef => return f.write_str("funcref"),
            Self::ExternRef => return f.write_str("externref"),
            Self::Ref(r) => r,
        };
        f.write_str(if r.nullable { "(ref null " } else { "(ref " })?;
        match r.heap {
            WasmHeapType::Func => f.write_str("func")?,
            WasmHeapType::Extern => f.write_str("extern")?,
            WasmHeapType::NoFunc => f.write_str("nofunc")?,
            WasmHeapType::NoExtern => f.write_str("noextern")?,
            WasmHeapType::Exn => f.write_str("exn")?,
            WasmHeapType::NoExn => f.write_str("noexn")?,
            WasmHeapType::Any => f.write_str("any")?,
            WasmHeapType::Eq => f.write_str("eq")?,
            WasmHeapType::I31 => f.write_str("i31")?,
            WasmHeapType::Struct => f.write_str("struct")?,
            WasmHeapType::Array => f.write_str("array")?,
            WasmHeapType::None => f.write_str("none")?,
            WasmHeapType::ConcreteFunc(t)
            | WasmHeapType::ConcreteStruct(t)
            | WasmHeapType::ConcreteArray(t) => write!(f, "{t}")?,
        }
        f.write_str(")")
    }
}

/// A [function type](https://webassembly.github.io/spec/core/syntax/types.html#function-types):
/// parameter and result types.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct WasmFuncType {
    /// Parameter types, in order.
    pub params: Box<[WasmValType]>,
    /// Result types, in order.
    pub results: Box<[WasmValType]>,
}

impl WasmFuncType {
    /// This type with every concrete type reference in its parameters and
    /// results rewritten by `f`.
    pub fn map_type_refs(&self, mut f: impl FnMut(TypeRef) -> TypeRef) -> Self {
        Self {
            params: self
                .params
                .iter()
                .map(|t| t.map_type_refs(&mut f))
                .collect(),
            results: self
                .results
                .iter()
                .map(|t| t.map_type_refs(&mut f))
                .collect(),
        }
    }

    /// The machine-level signature: this type with every reference type
    /// as `funcref` (all are one pointer). Trampolines, whose code only
    /// depends on it, are shared by the types with the same signature.
    pub fn signature(&self) -> Self {
        let erase = |t: &WasmValType| if t.is_ref() { WasmValType::FuncRef } else { *t };
        Self {
            params: self.params.iter().map(erase).collect(),
            results: self.results.iter().map(erase).collect(),
        }
    }

    /// Build a function type from its parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = WasmValType>,
        results: impl IntoIterator<Item = WasmValType>,
    ) -> Self {
        Self {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }
}

impl fmt::Display for WasmFuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        if !self.params.is_empty() {
            f.write_str(" (param")?;
            for p in self.params.iter() {
                write!(f, " {p}")?;
            }
            f.write_str(")")?;
        }
        if !self.results.is_empty() {
            f.write_str(" (result")?;
            for r in self.results.iter() {
                write!(f, " {r}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(")")
    }
}

/// A [storage type](https://webassembly.github.io/spec/core/syntax/types.html#aggregate-types):
/// what a struct field or an array element holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmStorageType {
    /// A packed 8-bit integer (read with sign or zero extension to `i32`).
    I8,
    /// A packed 16-bit integer.
    I16,
    /// A value of a value type.
    Val(WasmValType),
}

impl WasmStorageType {
    /// Bytes a field of this type takes in an object: 1, 2, 4, 8, 16,
    /// or pointer-sized (8) for references.
    pub fn byte_size(self) -> u32 {
        match self {
            Self::I8 => 1,
            Self::I16 => 2,
            Self::Val(WasmValType::I32 | WasmValType::F32) => 4,
            Self::Val(WasmValType::V128) => 16,
            Self::Val(_) => 8,
        }
    }

    /// The value type a field of this type reads as (`i32` for packed
    /// types; spec: [unpack](https://webassembly.github.io/spec/core/valid/conventions.html#aggregate-types)).
    pub fn unpacked(self) -> WasmValType {
        match self {
            Self::I8 | Self::I16 => WasmValType::I32,
            Self::Val(t) => t,
        }
    }

    /// Whether every value of `self` is a value of `other`: packed types
    /// only match themselves, value types as [`WasmValType::matches`].
    pub fn matches(self, other: Self, sub: &mut impl FnMut(TypeRef, TypeRef) -> bool) -> bool {
        match (self, other) {
            (Self::Val(a), Self::Val(b)) => a.matches(b, sub),
            (a, b) => a == b,
        }
    }

    fn map_type_refs(self, f: &mut impl FnMut(TypeRef) -> TypeRef) -> Self {
        match self {
            Self::Val(t) => Self::Val(t.map_type_refs(f)),
            other => other,
        }
    }
}

impl fmt::Display for WasmStorageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::I8 => f.write_str("i8"),
            Self::I16 => f.write_str("i16"),
            Self::Val(t) => write!(f, "{t}"),
        }
    }
}

/// A [field type](https://webassembly.github.io/spec/core/syntax/types.html#aggregate-types):
/// a storage type and whether it may be written after allocation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmFieldType {
    /// What the field holds.
    pub element: WasmStorageType,
    /// Whether `struct.set` / `array.set` (and the bulk array operators)
    /// may write it.
    pub mutable: bool,
}

impl WasmFieldType {
    /// Whether a field of type `self` may stand where one of `other` is
    /// expected (spec:
    /// [Field Types](https://webassembly.github.io/spec/core/valid/matching.html#field-types)):
    /// the same mutability; an immutable field may be of a subtype, a
    /// mutable one must be of the same type.
    pub fn matches(self, other: Self, sub: &mut impl FnMut(TypeRef, TypeRef) -> bool) -> bool {
        self.mutable == other.mutable
            && if self.mutable {
                self.element.matches(other.element, sub) && other.element.matches(self.element, sub)
            } else {
                self.element.matches(other.element, sub)
            }
    }
}

impl fmt::Display for WasmFieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mutable {
            write!(f, "(mut {})", self.element)
        } else {
            write!(f, "{}", self.element)
        }
    }
}

/// A [composite type](https://webassembly.github.io/spec/core/syntax/types.html#composite-types):
/// what a defined type describes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmCompositeType {
    /// A function type.
    Func(WasmFuncType),
    /// A struct type: its fields, in order.
    Struct(Box<[WasmFieldType]>),
    /// An array type: its element field.
    Array(WasmFieldType),
}

impl WasmCompositeType {
    /// Which kind of composite type this is.
    pub fn kind(&self) -> CompositeKind {
        match self {
            Self::Func(_) => CompositeKind::Func,
            Self::Struct(_) => CompositeKind::Struct,
            Self::Array(_) => CompositeKind::Array,
        }
    }

    /// This type with every concrete type reference rewritten by `f`.
    pub fn map_type_refs(&self, mut f: impl FnMut(TypeRef) -> TypeRef) -> Self {
        match self {
            Self::Func(ty) => Self::Func(ty.map_type_refs(f)),
            Self::Struct(fields) => Self::Struct(
                fields
                    .iter()
                    .map(|field| WasmFieldType {
                        element: field.element.map_type_refs(&mut f),
                        mutable: field.mutable,
                    })
                    .collect(),
            ),
            Self::Array(field) => Self::Array(WasmFieldType {
                element: field.element.map_type_refs(&mut f),
                mutable: field.mutable,
            }),
        }
    }

    /// Whether `self` may be declared a subtype of `other` (spec:
    /// [Composite Types](https://webassembly.github.io/spec/core/valid/matching.html#composite-types)):
    /// functions contravariant in parameters and covariant in results,
    /// structs with a prefix of matching fields, arrays with matching
    /// elements.
    pub fn matches(&self, other: &Self, sub: &mut impl FnMut(TypeRef, TypeRef) -> bool) -> bool {
        match (self, other) {
            (Self::Func(a), Self::Func(b)) => {
                a.params.len() == b.params.len()
                    && a.results.len() == b.results.len()
                    && a.params
                        .iter()
                        .zip(b.params.iter())
                        .all(|(x, y)| y.matches(*x, sub))
                    && a.results
                        .iter()
                        .zip(b.results.iter())
                        .all(|(x, y)| x.matches(*y, sub))
            }
            (Self::Struct(a), Self::Struct(b)) => {
                a.len() >= b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.matches(*y, sub))
            }
            (Self::Array(a), Self::Array(b)) => a.matches(*b, sub),
            _ => false,
        }
    }
}

impl fmt::Display for WasmCompositeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Func(ty) => write!(f, "{ty}"),
            Self::Struct(fields) => {
                f.write_str("(struct")?;
                for field in fields.iter() {
                    write!(f, " (field {field})")?;
                }
                f.write_str(")")
            }
            Self::Array(field) => write!(f, "(array {field})"),
        }
    }
}

/// A [sub type](https://webassembly.github.io/spec/core/syntax/types.html#recursive-types):
/// a defined type with its declared supertype and whether further
/// subtypes may be declared.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmSubType {
    /// Whether no type may declare this one its supertype (`final`, the
    /// default for a type written without `sub`).
    pub is_final: bool,
    /// The declared supertype, if any (the spec allows at most one).
    pub supertype: Option<TypeRef>,
    /// The type's structure.
    pub composite: WasmCompositeType,
}

impl WasmSubType {
    /// A final function type without supertype, as every type was before
    /// the GC proposal.
    pub fn func(ty: WasmFuncType) -> Self {
        Self {
            is_final: true,
            supertype: None,
            composite: WasmCompositeType::Func(ty),
        }
    }

    /// The function type, if this is one.
    pub fn as_func(&self) -> Option<&WasmFuncType> {
        match &self.composite {
            WasmCompositeType::Func(ty) => Some(ty),
            _ => None,
        }
    }

    /// The function type, for indices that validation (or
    /// [`Module::check`](crate::Module::check), for metadata from an
    /// artifact) guarantees to name function types: those of functions,
    /// tags, blocks and calls.
    ///
    /// # Panics
    ///
    /// If this is a struct or array type.
    pub fn unwrap_func(&self) -> &WasmFuncType {
        self.as_func()
            .expect("validation: the index names a function type")
    }

    /// Which kind of composite type this is.
    pub fn kind(&self) -> CompositeKind {
        self.composite.kind()
    }

    /// This type with every concrete type reference (the supertype's too)
    /// rewritten by `f`.
    pub fn map_type_refs(&self, mut f: impl FnMut(TypeRef) -> TypeRef) -> Self {
        Self {
            is_final: self.is_final,
            supertype: self.supertype.map(&mut f),
            composite: self.composite.map_type_refs(f),
        }
    }
}

impl fmt::Display for WasmSubType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_final && self.supertype.is_none() {
            return write!(f, "{}", self.composite);
        }
        f.write_str("(sub")?;
        if self.is_final {
            f.write_str(" final")?;
        }
        if let Some(s) = self.supertype {
            write!(f, " {s}")?;
        }
        write!(f, " {})", self.composite)
    }
}

/// [Limits](https://webassembly.github.io/spec/core/syntax/types.html#limits) of a table or
/// memory, in elements or pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Initial size.
    pub min: u64,
    /// Maximum size, if any.
    pub max: Option<u64>,
}

/// A [table type](https://webassembly.github.io/spec/core/syntax/types.html#table-types):
/// element type and limits in elements.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TableType {
    /// The reference type of the elements.
    pub element: WasmValType,
    /// Limits in elements.
    pub limits: Limits,
    /// Whether the table is indexed by `i64` (memory64's table64).
    pub table64: bool,
}

impl TableType {
    /// The index type's Cranelift-independent width: 64 for table64
    /// tables, else 32.
    pub fn index_bits(&self) -> u32 {
        if self.table64 { 64 } else { 32 }
    }
}

/// A [memory type](https://webassembly.github.io/spec/core/syntax/types.html#memory-types):
/// limits in pages of [`MemoryType::page_size`] bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MemoryType {
    /// Limits in pages.
    pub limits: Limits,
    /// Whether the memory is indexed by 64-bit addresses
    /// ([memory64](https://github.com/WebAssembly/memory64)).
    pub memory64: bool,
    /// Whether the memory is shared (threads).
    pub shared: bool,
    /// The base-2 logarithm of the page size: 16 (64 KiB) unless the
    /// [custom page sizes](https://github.com/WebAssembly/custom-page-sizes)
    /// proposal sets 0 (1 byte).
    pub page_size_log2: u8,
}

impl MemoryType {
    /// A 32-bit, unshared memory of 64 KiB pages with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            memory64: false,
            shared: false,
            page_size_log2: 16,
        }
    }

    /// Bytes per page.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// The most pages the index type can address: 2^32 bytes for a 32-bit
    /// memory, 2^64 for a 64-bit one, in pages (saturating at `u64::MAX`).
    pub fn max_pages_of_index_type(&self) -> u64 {
        let bits = if self.memory64 { 64 } else { 32 };
        u64::try_from((1u128 << bits) >> self.page_size_log2).unwrap_or(u64::MAX)
    }

    /// The most pages the memory may ever have: its declared maximum, or
    /// what its index type can address.
    pub fn max_pages(&self) -> u64 {
        let absolute = self.max_pages_of_index_type();
        self.limits.max.map_or(absolute, |max| max.min(absolute))
    }

    /// `pages` in bytes, saturating at `u64::MAX`.
    pub fn pages_to_bytes(&self, pages: u64) -> u64 {
        pages
            .checked_shl(u32::from(self.page_size_log2))
            .filter(|b| b >> self.page_size_log2 == pages)
            .unwrap_or(u64::MAX)
    }

    /// Whether accesses to this memory can rely on guard pages: a 32-bit
    /// memory of 64 KiB pages. 64-bit memories and 1-byte pages (whose
    /// length is not a multiple of the host page) are always checked
    /// explicitly.
    pub fn guard_pages_apply(&self) -> bool {
        !self.memory64 && self.page_size_log2 == 16
    }
}

/// A [global type](https://webassembly.github.io/spec/core/syntax/types.html#global-types).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct GlobalType {
    /// The type of the value.
    pub content: WasmValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// The type of an import or export (spec:
/// [External Types](https://webassembly.github.io/spec/core/syntax/types.html#external-types)).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EntityType {
    /// A function of the given module type.
    Function(crate::TypeIndex),
    /// A table.
    Table(TableType),
    /// A linear memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag whose parameters are those of the given module function
    /// type (its results are empty; spec:
    /// [Tag Types](https://webassembly.github.io/spec/core/syntax/types.html#tag-types)).
    Tag(crate::TypeIndex),
}
