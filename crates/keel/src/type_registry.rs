//! The engine-wide registry of defined types (function, struct and array
//! types): equal types get equal ids ([`SharedTypeIndex`]), so
//! `call_indirect`, casts and import matching compare integers, across
//! every module of an engine.

use crate::Result;
use crate::prelude::*;
use hashbrown::HashMap;
use keel_translate::{EntityRef, SharedTypeIndex, TypeRef, WasmFuncType, WasmSubType};
use spin::Mutex;

/// The registry behind [`Engine`](crate::Engine)'s type ids; shared by all
/// threads of the engine (one lock, held only while a module's groups are
/// looked up or added, or one type is read).
///
/// Types are registered a recursion group at a time and are equal when
/// their groups are (spec:
/// [Type Equivalence](https://webassembly.github.io/spec/core/valid/conventions.html#type-equivalence)):
/// a group's key is its types with every reference to a type outside the
/// group replaced by that type's id ([`TypeRef::Engine`]) and every
/// reference inside it by its position ([`TypeRef::RecGroup`]). The
/// members of a group get consecutive ids. Each id also records its chain
/// of declared supertypes, root first, so that "is `a` a subtype of `b`"
/// is one comparison: `b` at `b`'s depth in `a`'s chain. Ids are never
/// freed: the registry grows with the distinct types an engine has seen.
#[derive(Default)]
pub(crate) struct TypeRegistry(Mutex<Groups>);

#[derive(Default)]
struct Groups {
    /// Each group's first id, by its key.
    groups: HashMap<Box<[WasmSubType]>, SharedTypeIndex>,
    /// Each id's type (its references as engine ids) and supertype chain.
    types: Vec<Entry>,
}

struct Entry {
    ty: WasmSubType,
    /// The declared supertypes from the root down to this type itself.
    supertypes: Box<[SharedTypeIndex]>,
}

impl Groups {
    /// Register group `key` (whose references are engine ids or group
    /// positions) unless it is known; its first id.
    fn intern(&mut self, key: Box<[WasmSubType]>) -> SharedTypeIndex {
        if let Some(base) = self.groups.get(&key) {
            return *base;
        }
        let base = self.types.len();
        let engine = |r: TypeRef| match r {
            TypeRef::RecGroup(n) => TypeRef::Engine(SharedTypeIndex::new(base + n as usize)),
            other => other,
        };
        for ty in key.iter() {
            let ty = ty.map_type_refs(engine);
            let id = SharedTypeIndex::new(self.types.len());
            let mut supertypes = match ty.supertype {
                Some(TypeRef::Engine(s)) => self
                    .types
                    .get(s.index())
                    .map(|e| e.supertypes.to_vec())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            supertypes.push(id);
            self.types.push(Entry {
                ty,
                supertypes: supertypes.into(),
            });
        }
        let base = SharedTypeIndex::new(base);
        self.groups.insert(key, base);
        base
    }
}

impl TypeRegistry {
    /// The id of function type `ty`, final and a group of its own, whose
    /// references to other types are engine ids (as in the types the
    /// engine hands out).
    pub(crate) fn register(&self, ty: &WasmFuncType) -> SharedTypeIndex {
        self.register_sub(&WasmSubType::func(ty.clone()))
    }

    /// The id of `ty`, a group of its own, whose references to other types
    /// are engine ids.
    pub(crate) fn register_sub(&self, ty: &WasmSubType) -> SharedTypeIndex {
        self.0.lock().intern(Box::new([ty.clone()]))
    }

    /// The type with id `id`, if it was registered.
    pub(crate) fn lookup_sub(&self, id: SharedTypeIndex) -> Option<WasmSubType> {
        Some(self.0.lock().types.get(id.index())?.ty.clone())
    }

    /// The ids of `module`'s types, registering its recursion groups in
    /// order.
    ///
    /// # Errors
    ///
    /// If the groups do not cover the types, a type refers to a later
    /// group or declares a later supertype (only in metadata that
    /// bypassed validation).
    pub(crate) fn register_module(
        &self,
        module: &keel_translate::Module,
    ) -> Result<Vec<SharedTypeIndex>> {
        use keel_translate::TypeIndex;
        let mut ids: Vec<SharedTypeIndex> = Vec::with_capacity(module.types.len());
        let mut reg = self.0.lock();
        for &(start, len) in &module.rec_groups {
            if start as usize != ids.len() {
                anyhow::bail!("type {start} is not where its recursion group starts");
            }
            let mut bad = false;
            let key: Box<[WasmSubType]> = (start..start.saturating_add(len))
                .map(|i| {
                    let ty = module.types.get(TypeIndex::from_u32(i));
                    let Some(ty) = ty else {
                        bad = true;
                        return WasmSubType::func(WasmFuncType::default());
                    };
                    let mapped = ty.map_type_refs(|r| match r {
                        TypeRef::Module(t) if t.as_u32() < start => TypeRef::Engine(ids[t.index()]),
                        TypeRef::Module(t) if t.as_u32() - start < len => {
                            TypeRef::RecGroup(t.as_u32() - start)
                        }
                        other => {
                            bad = true;
                            other
                        }
                    });
                    // A supertype inside the group comes before the type.
                    if let Some(TypeRef::RecGroup(n)) = mapped.supertype
                        && n >= i - start
                    {
                        bad = true;
                    }
                    mapped
                })
                .collect();
            if bad {
                anyhow::bail!("a type of recursion group {start} refers to a later type");
            }
            let base = reg.intern(key);
            ids.extend((0..len as usize).map(|n| SharedTypeIndex::new(base.index() + n)));
        }
        if ids.len() != module.types.len() {
            anyhow::bail!("the recursion groups do not cover the module's types");
        }
        Ok(ids)
    }

    /// The function type with id `id`, if it was registered and is one.
    pub(crate) fn lookup(&self, id: SharedTypeIndex) -> Option<WasmFuncType> {
        self.0.lock().types.get(id.index())?.ty.as_func().cloned()
    }

    /// Whether type `a` is `b` or declares it as a (transitive)
    /// supertype (spec:
    /// [Defined Types](https://webassembly.github.io/spec/core/valid/matching.html#defined-types)).
    /// False for ids that were never registered.
    pub(crate) fn is_subtype(&self, a: SharedTypeIndex, b: SharedTypeIndex) -> bool {
        if a == b {
            return true;
        }
        let reg = self.0.lock();
        let (Some(ea), Some(eb)) = (reg.types.get(a.index()), reg.types.get(b.index())) else {
            return false;
        };
        let depth = eb.supertypes.len() - 1;
        ea.supertypes.get(depth) == Some(&b)
    }
}
