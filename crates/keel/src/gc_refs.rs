//! The host's view of GC objects, as Wasmtime's API has it: [`AnyRef`],
//! [`EqRef`], [`I31`], [`StructRef`], [`ArrayRef`], their types
//! ([`StructType`], [`ArrayType`], [`FieldType`], [`StorageType`]) and
//! allocation from the host ([`StructRefPre`], [`ArrayRefPre`],
//! [`GcHeapOutOfMemory`]). Spec:
//! [Aggregate Types](https://webassembly.github.io/spec/core/syntax/types.html#aggregate-types).

use crate::prelude::*;
use crate::rooting::{GcRootIndex, Rooted};
use crate::store::StoreOpaque;
use crate::{AsContext, AsContextMut, Engine, HeapType, Mutability, Result, Val, ValType};
use core::fmt;
use keel_translate::gc_layout::{GcStructLayout, GcTypeLayout, vmgc_array, vmgc_header};
use keel_translate::{
    SharedTypeIndex, TypeRef, WasmCompositeType, WasmFieldType, WasmStorageType, WasmSubType,
};
use keel_vm::{GcAllocError, ValRaw};

/// A reference into the `any` hierarchy: a struct, an array, an `i31`,
/// or a host value made internal (`any.convert_extern`). Held as a
/// [`Rooted<AnyRef>`].
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct AnyRef {
    pub(crate) inner: GcRootIndex,
}

/// A reference `ref.eq` can compare: a struct, an array or an `i31`.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct EqRef {
    pub(crate) inner: GcRootIndex,
}

/// A reference to a struct.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct StructRef {
    pub(crate) inner: GcRootIndex,
}

/// A reference to an array.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct ArrayRef {
    pub(crate) inner: GcRootIndex,
}

/// An unboxed 31-bit integer, the value of an `i31ref` (spec:
/// [`ref.i31`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-ref-i31)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct I31(u32);

impl I31 {
    /// The low 31 bits of `value`.
    pub fn wrapping_u32(value: u32) -> I31 {
        I31(value & 0x7fff_ffff)
    }

    /// The low 31 bits of `value` (two's complement).
    pub fn wrapping_i32(value: i32) -> I31 {
        I31::wrapping_u32(value as u32)
    }

    /// `value` if it fits in 31 unsigned bits.
    pub fn new_u32(value: u32) -> Option<I31> {
        (value <= 0x7fff_ffff).then_some(I31(value))
    }

    /// `value` if it fits in 31 signed bits.
    pub fn new_i32(value: i32) -> Option<I31> {
        ((-(1 << 30)..(1 << 30)).contains(&value)).then(|| I31::wrapping_i32(value))
    }

    /// The value zero-extended (`i31.get_u`).
    pub fn get_u32(&self) -> u32 {
        self.0
    }

    /// The value sign-extended (`i31.get_s`).
    pub fn get_i32(&self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }

    /// The raw reference: `(value << 1) | 1`.
    pub(crate) fn raw(self) -> usize {
        ((self.0 << 1) | 1) as usize
    }
}

/// The error of a host allocation the store's GC heap cannot hold: the
/// allocation's value, returned to the caller (as Wasmtime's
/// `GcHeapOutOfMemory`). Downcast it from the error.
pub struct GcHeapOutOfMemory<T> {
    inner: T,
}

impl<T> GcHeapOutOfMemory<T> {
    /// The error carrying `inner`.
    pub fn new(inner: T) -> Self {
        GcHeapOutOfMemory { inner }
    }

    /// The value the allocation was for.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> fmt::Debug for GcHeapOutOfMemory<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GcHeapOutOfMemory")
    }
}

impl<T> fmt::Display for GcHeapOutOfMemory<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GC heap out of memory")
    }
}

impl<T> core::error::Error for GcHeapOutOfMemory<T> {}

/// What a struct field or array element holds (spec:
/// [Storage Types](https://webassembly.github.io/spec/core/syntax/types.html#aggregate-types)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// A packed 8-bit integer.
    I8,
    /// A packed 16-bit integer.
    I16,
    /// A value of a value type.
    ValType(ValType),
}

impl StorageType {
    fn to_wasm(self) -> WasmStorageType {
        match self {
            StorageType::I8 => WasmStorageType::I8,
            StorageType::I16 => WasmStorageType::I16,
            StorageType::ValType(t) => WasmStorageType::Val(t),
        }
    }

    fn from_wasm(t: WasmStorageType) -> Self {
        match t {
            WasmStorageType::I8 => StorageType::I8,
            WasmStorageType::I16 => StorageType::I16,
            WasmStorageType::Val(t) => StorageType::ValType(t),
        }
    }
}

/// A field type: a storage type and whether it is mutable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldType(WasmFieldType);

impl FieldType {
    /// A field of `element` with `mutability`.
    pub fn new(mutability: Mutability, element: StorageType) -> FieldType {
        FieldType(WasmFieldType {
            element: element.to_wasm(),
            mutable: mutability == Mutability::Var,
        })
    }

    /// What the field holds.
    pub fn element_type(&self) -> StorageType {
        StorageType::from_wasm(self.0.element)
    }

    /// Whether the field may be written.
    pub fn mutability(&self) -> Mutability {
        if self.0.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        }
    }
}

/// A struct type registered with an engine.
#[derive(Clone, Debug)]
pub struct StructType {
    id: SharedTypeIndex,
    fields: Box<[WasmFieldType]>,
}

/// An array type registered with an engine.
#[derive(Clone, Debug)]
pub struct ArrayType {
    id: SharedTypeIndex,
    field: WasmFieldType,
}

/// Refuse fields whose reference types name types outside the engine.
fn check_field(f: &WasmFieldType) -> Result<()> {
    let mut bad = false;
    WasmSubType {
        is_final: true,
        supertype: None,
        composite: WasmCompositeType::Array(*f),
    }
    .map_type_refs(|r| {
        bad |= !matches!(r, TypeRef::Engine(_));
        r
    });
    anyhow::ensure!(!bad, "field type {} names a type outside the engine", f);
    Ok(())
}

impl StructType {
    /// Register the final struct type with `fields` (a recursion group of
    /// its own) with `engine`.
    ///
    /// # Errors
    ///
    /// If a field's reference type names a type that is not the engine's.
    pub fn new(engine: &Engine, fields: impl IntoIterator<Item = FieldType>) -> Result<StructType> {
        let fields: Box<[WasmFieldType]> = fields.into_iter().map(|f| f.0).collect();
        for f in fields.iter() {
            check_field(f)?;
        }
        let id = engine.register_sub_type(&WasmSubType {
            is_final: true,
            supertype: None,
            composite: WasmCompositeType::Struct(fields.clone()),
        });
        Ok(StructType { id, fields })
    }

    /// The type of engine id `id`, if it is a struct type.
    pub(crate) fn from_id(engine: &Engine, id: SharedTypeIndex) -> Option<StructType> {
        match engine.lookup_sub_type(id)?.composite {
            WasmCompositeType::Struct(fields) => Some(StructType { id, fields }),
            _ => None,
        }
    }

    /// The fields, in order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = FieldType> + '_ {
        self.fields.iter().map(|f| FieldType(*f))
    }

    /// Field `i`, if there is one.
    pub fn field(&self, i: usize) -> Option<FieldType> {
        self.fields.get(i).map(|f| FieldType(*f))
    }
}

impl ArrayType {
    /// Register the final array type of `field` elements with `engine`.
    ///
    /// # Errors
    ///
    /// If the element's reference type names a type that is not the
    /// engine's.
    pub fn new(engine: &Engine, field: FieldType) -> Result<ArrayType> {
        check_field(&field.0)?;
        let id = engine.register_sub_type(&WasmSubType {
            is_final: true,
            supertype: None,
            composite: WasmCompositeType::Array(field.0),
        });
        Ok(ArrayType { id, field: field.0 })
    }

    /// The type of engine id `id`, if it is an array type.
    pub(crate) fn from_id(engine: &Engine, id: SharedTypeIndex) -> Option<ArrayType> {
        match engine.lookup_sub_type(id)?.composite {
            WasmCompositeType::Array(field) => Some(ArrayType { id, field }),
            _ => None,
        }
    }

    /// The element type.
    pub fn field_type(&self) -> FieldType {
        FieldType(self.field)
    }
}

/// A struct type made ready for allocation in one store (its layout known
/// to the store's heap).
#[derive(Clone, Debug)]
pub struct StructRefPre {
    ty: StructType,
}

impl StructRefPre {
    /// Prepare `ty` for allocation in `store`.
    pub fn new(mut store: impl AsContextMut, ty: StructType) -> StructRefPre {
        let heap = store.as_context_mut().0.opaque.exceptions.heap_mut();
        heap.register_type(
            ty.id,
            GcTypeLayout::of(&WasmCompositeType::Struct(ty.fields.clone()))
                .expect("a struct type has a layout"),
        );
        StructRefPre { ty }
    }
}

/// An array type made ready for allocation in one store.
#[derive(Clone, Debug)]
pub struct ArrayRefPre {
    ty: ArrayType,
}

impl ArrayRefPre {
    /// Prepare `ty` for allocation in `store`.
    pub fn new(mut store: impl AsContextMut, ty: ArrayType) -> ArrayRefPre {
        let heap = store.as_context_mut().0.opaque.exceptions.heap_mut();
        heap.register_type(
            ty.id,
            GcTypeLayout::of(&WasmCompositeType::Array(ty.field)).expect("an array has a layout"),
        );
        ArrayRefPre { ty }
    }
}

/// Whether `raw` (a non-null `any` value) is an object (not an `i31`);
/// its header's type id and flags.
fn header(raw: usize) -> Option<(u32, u32)> {
    if raw & 1 != 0 {
        return None;
    }
    // SAFETY: a rooted non-null, non-i31 reference is a live object of
    // its store's heap, which starts with a header.
    unsafe {
        let h = &*(raw as *const keel_vm::VMGcHeader);
        Some((h.ty, h.flags))
    }
}

/// Whether `raw`, a non-null value of the `any` hierarchy in `store`, is
/// a value of heap type `heap` (concrete types as engine ids).
pub(crate) fn any_matches(store: &StoreOpaque, raw: usize, heap: HeapType) -> bool {
    let Some((ty, flags)) = header(raw) else {
        return matches!(heap, HeapType::Any | HeapType::Eq | HeapType::I31);
    };
    let kind = |bit| flags & bit != 0;
    match heap {
        HeapType::Any => true,
        HeapType::Eq => kind(vmgc_header::STRUCT) || kind(vmgc_header::ARRAY),
        HeapType::Struct => kind(vmgc_header::STRUCT),
        HeapType::Array => kind(vmgc_header::ARRAY),
        HeapType::ConcreteStruct(TypeRef::Engine(id)) => {
            kind(vmgc_header::STRUCT) && store.engine.is_subtype(SharedTypeIndex::from_u32(ty), id)
        }
        HeapType::ConcreteArray(TypeRef::Engine(id)) => {
            kind(vmgc_header::ARRAY) && store.engine.is_subtype(SharedTypeIndex::from_u32(ty), id)
        }
        _ => false,
    }
}

/// The address of a new object, or [`GcHeapOutOfMemory`].
fn alloc(r: Result<core::ptr::NonNull<u8>, GcAllocError>) -> Result<usize> {
    r.map(|p| p.as_ptr() as usize)
        .map_err(|_| anyhow::Error::new(GcHeapOutOfMemory::new(())))
}

/// Write `value` (checked against `field`) into the field at `at`.
///
/// # Safety
///
/// `at` must be a field of type `field` of a live object.
unsafe fn write_field(
    store: &StoreOpaque,
    at: *mut u8,
    field: WasmFieldType,
    value: &Val,
) -> Result<()> {
    let raw = match (field.element, value) {
        (WasmStorageType::I8 | WasmStorageType::I16, Val::I32(v)) => ValRaw::i32(*v),
        (WasmStorageType::Val(t), v) if v.matches(store, t) => v.to_raw(store)?,
        (t, v) => anyhow::bail!("value {v:?} is not of field type {t}"),
    };
    let bytes = raw.get_v128().to_le_bytes();
    // SAFETY: per the contract; at most 16 bytes, the field's size.
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), at, field.element.byte_size() as usize)
    };
    Ok(())
}

/// Read the field of type `field` at `at`.
///
/// # Safety
///
/// `at` must be a field of type `field` of a live object.
unsafe fn read_field(store: &mut StoreOpaque, at: *const u8, field: WasmFieldType) -> Result<Val> {
    let mut bytes = [0u8; 16];
    // SAFETY: per the contract.
    unsafe {
        core::ptr::copy_nonoverlapping(at, bytes.as_mut_ptr(), field.element.byte_size() as usize)
    };
    let raw = ValRaw::v128(u128::from_le_bytes(bytes));
    match field.element {
        WasmStorageType::I8 => Ok(Val::I32(i32::from(raw.get_i32() as u8))),
        WasmStorageType::I16 => Ok(Val::I32(i32::from(raw.get_i32() as u16))),
        WasmStorageType::Val(t) => Val::from_raw(store, raw, t),
    }
}

impl AnyRef {
    /// The `i31` `value` as an `anyref`.
    pub fn from_i31(mut store: impl AsContextMut, value: I31) -> Rooted<AnyRef> {
        Rooted::new(&mut store.as_context_mut().0.opaque, value.raw())
    }

    /// The host value `externref` made internal (`any.convert_extern`).
    ///
    /// # Errors
    ///
    /// If `externref` is not rooted in `store`.
    pub fn convert_extern(
        mut store: impl AsContextMut,
        externref: Rooted<crate::ExternRef>,
    ) -> Result<Rooted<AnyRef>> {
        let store = &mut store.as_context_mut().0.opaque;
        externref.raw(store)?;
        Ok(externref.cast())
    }

    fn raw(&self, store: impl AsContext) -> Result<usize> {
        self.inner.raw(&store.as_context().0.opaque)
    }

    fn rooted<T: crate::GcRef>(&self) -> Rooted<T> {
        // The same root, seen as another type.
        let me: &Rooted<AnyRef> =
            // SAFETY: `Rooted<AnyRef>` is `repr(transparent)` over the
            // root index, as `AnyRef` is.
            unsafe { &*(self as *const AnyRef).cast::<Rooted<AnyRef>>() };
        me.cast()
    }

    /// Whether this is an `i31`.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn is_i31(&self, store: impl AsContext) -> Result<bool> {
        Ok(self.raw(store)? & 1 != 0)
    }

    /// The `i31`, if this is one.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn as_i31(&self, store: impl AsContext) -> Result<Option<I31>> {
        let raw = self.raw(store)?;
        Ok((raw & 1 != 0).then(|| I31::wrapping_u32((raw >> 1) as u32)))
    }

    /// The `i31`.
    ///
    /// # Errors
    ///
    /// If this is not an `i31`, or not rooted in `store`.
    pub fn unwrap_i31(&self, store: impl AsContext) -> Result<I31> {
        self.as_i31(store)?
            .ok_or_else(|| anyhow::anyhow!("anyref is not an i31"))
    }

    /// Whether this is a struct.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn is_struct(&self, store: impl AsContext) -> Result<bool> {
        Ok(header(self.raw(store)?).is_some_and(|(_, f)| f & vmgc_header::STRUCT != 0))
    }

    /// The struct, if this is one.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn as_struct(&self, store: impl AsContext) -> Result<Option<Rooted<StructRef>>> {
        Ok(self.is_struct(store)?.then(|| self.rooted()))
    }

    /// The struct.
    ///
    /// # Errors
    ///
    /// If this is not a struct, or not rooted in `store`.
    pub fn unwrap_struct(&self, store: impl AsContext) -> Result<Rooted<StructRef>> {
        self.as_struct(store)?
            .ok_or_else(|| anyhow::anyhow!("anyref is not a struct"))
    }

    /// Whether this is an array.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn is_array(&self, store: impl AsContext) -> Result<bool> {
        Ok(header(self.raw(store)?).is_some_and(|(_, f)| f & vmgc_header::ARRAY != 0))
    }

    /// The array, if this is one.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn as_array(&self, store: impl AsContext) -> Result<Option<Rooted<ArrayRef>>> {
        Ok(self.is_array(store)?.then(|| self.rooted()))
    }

    /// The array.
    ///
    /// # Errors
    ///
    /// If this is not an array, or not rooted in `store`.
    pub fn unwrap_array(&self, store: impl AsContext) -> Result<Rooted<ArrayRef>> {
        self.as_array(store)?
            .ok_or_else(|| anyhow::anyhow!("anyref is not an array"))
    }

    /// Whether this is an `eqref` (a struct, an array or an `i31`).
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn is_eqref(&self, store: impl AsContext) -> Result<bool> {
        let raw = self.raw(store)?;
        Ok(header(raw).is_none_or(|(_, f)| f & (vmgc_header::STRUCT | vmgc_header::ARRAY) != 0))
    }

    /// The `eqref`, if this is one.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn as_eqref(&self, store: impl AsContext) -> Result<Option<Rooted<EqRef>>> {
        Ok(self.is_eqref(store)?.then(|| self.rooted()))
    }

    /// Whether the value is of heap type `ty` (concrete types as the
    /// engine's, as keel hands them out).
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn matches_ty(&self, store: impl AsContext, ty: &HeapType) -> Result<bool> {
        let store = &store.as_context().0.opaque;
        Ok(any_matches(store, self.raw_opaque(store)?, *ty))
    }

    fn raw_opaque(&self, store: &StoreOpaque) -> Result<usize> {
        self.inner.raw(store)
    }

    /// The most precise heap type of the value: `i31`, the concrete
    /// struct or array type, or `any` for a host value made internal.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn ty(&self, store: impl AsContext) -> Result<HeapType> {
        let raw = self.raw(store)?;
        Ok(match header(raw) {
            None => HeapType::I31,
            Some((ty, f)) if f & vmgc_header::STRUCT != 0 => {
                HeapType::ConcreteStruct(TypeRef::Engine(SharedTypeIndex::from_u32(ty)))
            }
            Some((ty, f)) if f & vmgc_header::ARRAY != 0 => {
                HeapType::ConcreteArray(TypeRef::Engine(SharedTypeIndex::from_u32(ty)))
            }
            Some(_) => HeapType::Any,
        })
    }
}

impl EqRef {
    /// The `i31` `value` as an `eqref`.
    pub fn from_i31(store: impl AsContextMut, value: I31) -> Rooted<EqRef> {
        AnyRef::from_i31(store, value).cast()
    }

    fn any(&self) -> &AnyRef {
        // SAFETY: both are `repr(transparent)` over the root index.
        unsafe { &*(self as *const EqRef).cast::<AnyRef>() }
    }

    /// The same reference as an `anyref`.
    pub fn to_anyref(&self) -> Rooted<AnyRef> {
        self.any().rooted()
    }

    /// The `i31`, if this is one.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn as_i31(&self, store: impl AsContext) -> Result<Option<I31>> {
        self.any().as_i31(store)
    }

    /// The struct, if this is one.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn as_struct(&self, store: impl AsContext) -> Result<Option<Rooted<StructRef>>> {
        self.any().as_struct(store)
    }

    /// The array, if this is one.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn as_array(&self, store: impl AsContext) -> Result<Option<Rooted<ArrayRef>>> {
        self.any().as_array(store)
    }
}

impl StructRef {
    /// Allocate a struct of `pre`'s type with `fields`, one value per
    /// field of its type (an `i32` for a packed field, whose low bits are
    /// kept).
    ///
    /// # Errors
    ///
    /// If the number or types of `fields` do not match, a reference
    /// belongs to another store, or the heap cannot hold the struct
    /// ([`GcHeapOutOfMemory`]).
    pub fn new(
        mut store: impl AsContextMut,
        pre: &StructRefPre,
        fields: &[Val],
    ) -> Result<Rooted<StructRef>> {
        let inner = store.as_context_mut().0;
        let ty = &pre.ty;
        let size = inner.opaque.exceptions.heap().object_size(ty.id, 0);
        inner.gc_make_room(size.unwrap_or(usize::MAX))?;
        let store = &mut inner.opaque;
        anyhow::ensure!(
            fields.len() == ty.fields.len(),
            "{} field values for a struct of {} fields",
            fields.len(),
            ty.fields.len()
        );
        for (f, v) in ty.fields.iter().zip(fields) {
            let ok = match f.element {
                WasmStorageType::Val(t) => v.matches(store, t),
                _ => matches!(v, Val::I32(_)),
            };
            anyhow::ensure!(ok, "value {v:?} is not of field type {}", f.element);
        }
        let raw = alloc(store.exceptions.heap_mut().alloc_struct(ty.id))?;
        let layout = GcStructLayout::new(&ty.fields);
        for ((f, off), v) in ty.fields.iter().zip(layout.offsets.iter()).zip(fields) {
            // SAFETY: a fresh struct of this layout.
            unsafe { write_field(store, (raw as *mut u8).add(*off as usize), *f, v)? };
        }
        Ok(Rooted::new(store, raw))
    }

    /// The struct's type and its layout.
    fn layout(&self, store: &StoreOpaque) -> Result<(usize, StructType, GcStructLayout)> {
        let raw = self.inner.raw(store)?;
        let (id, _) = header(raw).ok_or_else(|| anyhow::anyhow!("not a struct"))?;
        let ty = StructType::from_id(&store.engine, SharedTypeIndex::from_u32(id))
            .ok_or_else(|| anyhow::anyhow!("not a struct"))?;
        let layout = GcStructLayout::new(&ty.fields);
        Ok((raw, ty, layout))
    }

    /// The struct's type.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn ty(&self, store: impl AsContext) -> Result<StructType> {
        Ok(self.layout(&store.as_context().0.opaque)?.1)
    }

    /// The value of field `index`.
    ///
    /// # Errors
    ///
    /// If there is no such field, or the reference is not rooted in
    /// `store`.
    pub fn field(&self, mut store: impl AsContextMut, index: usize) -> Result<Val> {
        self.field_opaque(&mut store.as_context_mut().0.opaque, index)
    }

    fn field_opaque(&self, store: &mut StoreOpaque, index: usize) -> Result<Val> {
        let (raw, ty, layout) = self.layout(store)?;
        let (Some(f), Some(off)) = (ty.fields.get(index), layout.offsets.get(index)) else {
            anyhow::bail!("struct has no field {index}");
        };
        // SAFETY: field `index` of a live struct of this layout.
        unsafe { read_field(store, (raw as *const u8).add(*off as usize), *f) }
    }

    /// Every field's value, in order.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn fields(
        &self,
        mut store: impl AsContextMut,
    ) -> Result<impl ExactSizeIterator<Item = Val>> {
        let store = &mut store.as_context_mut().0.opaque;
        let n = self.layout(store)?.1.fields.len();
        let values = (0..n)
            .map(|i| self.field_opaque(store, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(values.into_iter())
    }

    /// Set field `index` to `value`.
    ///
    /// # Errors
    ///
    /// If there is no such field, it is immutable, `value` is not of its
    /// type, or the reference is not rooted in `store`.
    pub fn set_field(&self, mut store: impl AsContextMut, index: usize, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (raw, ty, layout) = self.layout(store)?;
        let (Some(f), Some(off)) = (ty.fields.get(index), layout.offsets.get(index)) else {
            anyhow::bail!("struct has no field {index}");
        };
        anyhow::ensure!(f.mutable, "field {index} is immutable");
        // SAFETY: field `index` of a live struct of this layout.
        unsafe { write_field(store, (raw as *mut u8).add(*off as usize), *f, &value) }
    }
}

impl ArrayRef {
    /// Allocate an array of `pre`'s type with `len` elements, each
    /// `elem`.
    ///
    /// # Errors
    ///
    /// If `elem` is not of the element type, or the heap cannot hold the
    /// array ([`GcHeapOutOfMemory`]).
    pub fn new(
        mut store: impl AsContextMut,
        pre: &ArrayRefPre,
        elem: &Val,
        len: u32,
    ) -> Result<Rooted<ArrayRef>> {
        let inner = store.as_context_mut().0;
        let (id, field) = (pre.ty.id, pre.ty.field);
        let size = inner.opaque.exceptions.heap().object_size(id, len);
        inner.gc_make_room(size.unwrap_or(usize::MAX))?;
        let store = &mut inner.opaque;
        let raw = alloc(store.exceptions.heap_mut().alloc_array(id, len))?;
        let size = field.element.byte_size() as usize;
        for i in 0..len as usize {
            // SAFETY: element `i < len` of a fresh array.
            unsafe {
                write_field(
                    store,
                    (raw as *mut u8).add(vmgc_array::ELEMS as usize + i * size),
                    field,
                    elem,
                )?
            };
        }
        Ok(Rooted::new(store, raw))
    }

    /// Allocate an array of `pre`'s type holding `elems`.
    ///
    /// # Errors
    ///
    /// As [`ArrayRef::new`].
    pub fn new_fixed(
        mut store: impl AsContextMut,
        pre: &ArrayRefPre,
        elems: &[Val],
    ) -> Result<Rooted<ArrayRef>> {
        let inner = store.as_context_mut().0;
        let (id, field) = (pre.ty.id, pre.ty.field);
        let len = u32::try_from(elems.len())?;
        let size = inner.opaque.exceptions.heap().object_size(id, len);
        inner.gc_make_room(size.unwrap_or(usize::MAX))?;
        let store = &mut inner.opaque;
        let raw = alloc(store.exceptions.heap_mut().alloc_array(id, len))?;
        let size = field.element.byte_size() as usize;
        for (i, v) in elems.iter().enumerate() {
            // SAFETY: element `i < len` of a fresh array.
            unsafe {
                write_field(
                    store,
                    (raw as *mut u8).add(vmgc_array::ELEMS as usize + i * size),
                    field,
                    v,
                )?
            };
        }
        Ok(Rooted::new(store, raw))
    }

    /// The array's raw reference, element type and length.
    fn parts(&self, store: &StoreOpaque) -> Result<(usize, ArrayType, u32)> {
        let raw = self.inner.raw(store)?;
        let (id, _) = header(raw).ok_or_else(|| anyhow::anyhow!("not an array"))?;
        let ty = ArrayType::from_id(&store.engine, SharedTypeIndex::from_u32(id))
            .ok_or_else(|| anyhow::anyhow!("not an array"))?;
        // SAFETY: a live array has its length in its header.
        let len = unsafe { *((raw + vmgc_array::LEN as usize) as *const u32) };
        Ok((raw, ty, len))
    }

    /// The array's type.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn ty(&self, store: impl AsContext) -> Result<ArrayType> {
        Ok(self.parts(&store.as_context().0.opaque)?.1)
    }

    /// The number of elements.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn len(&self, store: impl AsContext) -> Result<u32> {
        Ok(self.parts(&store.as_context().0.opaque)?.2)
    }

    /// Element `index`.
    ///
    /// # Errors
    ///
    /// If `index` is out of bounds, or the reference is not rooted in
    /// `store`.
    pub fn get(&self, mut store: impl AsContextMut, index: u32) -> Result<Val> {
        self.get_opaque(&mut store.as_context_mut().0.opaque, index)
    }

    fn get_opaque(&self, store: &mut StoreOpaque, index: u32) -> Result<Val> {
        let (raw, ty, len) = self.parts(store)?;
        anyhow::ensure!(
            index < len,
            "array index {index} out of bounds for length {len}"
        );
        let size = ty.field.element.byte_size() as usize;
        let at = raw + vmgc_array::ELEMS as usize + index as usize * size;
        // SAFETY: element `index < len` of a live array.
        unsafe { read_field(store, at as *const u8, ty.field) }
    }

    /// Every element, in order.
    ///
    /// # Errors
    ///
    /// If the reference is not rooted in `store`.
    pub fn elems(
        &self,
        mut store: impl AsContextMut,
    ) -> Result<impl ExactSizeIterator<Item = Val>> {
        let store = &mut store.as_context_mut().0.opaque;
        let len = self.parts(store)?.2;
        let values = (0..len)
            .map(|i| self.get_opaque(store, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(values.into_iter())
    }

    /// Set element `index` to `value`.
    ///
    /// # Errors
    ///
    /// If `index` is out of bounds, the elements are immutable, `value`
    /// is not of their type, or the reference is not rooted in `store`.
    pub fn set(&self, mut store: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (raw, ty, len) = self.parts(store)?;
        anyhow::ensure!(
            index < len,
            "array index {index} out of bounds for length {len}"
        );
        anyhow::ensure!(ty.field.mutable, "the array's elements are immutable");
        let size = ty.field.element.byte_size() as usize;
        let at = raw + vmgc_array::ELEMS as usize + index as usize * size;
        // SAFETY: element `index < len` of a live array.
        unsafe { write_field(store, at as *mut u8, ty.field, &value) }
    }
}
