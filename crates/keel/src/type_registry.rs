//! The engine-wide registry of function types: equal types get equal ids
//! ([`SharedTypeIndex`]), so `call_indirect`, `ref.cast` and import
//! matching compare one integer, across every module of an engine.

use crate::Result;
use crate::prelude::*;
use hashbrown::HashMap;
use keel_translate::{EntityRef, SharedTypeIndex, WasmFuncType};
use spin::Mutex;

/// The registry behind [`Engine`](crate::Engine)'s type ids; shared by all
/// threads of the engine (one lock, held only while a module's groups are
/// looked up or added).
///
/// Types are registered a recursion group at a time and are equal when
/// their groups are (spec:
/// [Type Equivalence](https://webassembly.github.io/spec/core/valid/conventions.html#type-equivalence)):
/// a group's key is its types with every reference to a type outside the
/// group replaced by that type's id ([`TypeRef::Engine`](keel_translate::TypeRef::Engine))
/// and every reference inside it by its position
/// ([`TypeRef::RecGroup`](keel_translate::TypeRef::RecGroup)). The members
/// of a group get consecutive ids. Ids are never freed: the registry grows
/// with the distinct types an engine has seen.
#[derive(Default)]
pub(crate) struct TypeRegistry(Mutex<Groups>);

#[derive(Default)]
struct Groups {
    /// Each group's first id, by its key.
    groups: HashMap<Box<[WasmFuncType]>, SharedTypeIndex>,
    /// Each id's type, its references as engine ids.
    types: Vec<WasmFuncType>,
}

impl TypeRegistry {
    /// The id of function type `ty`, a group of its own, whose references
    /// to other types are engine ids (as in the types the engine hands
    /// out).
    pub(crate) fn register(&self, ty: &WasmFuncType) -> SharedTypeIndex {
        let mut reg = self.0.lock();
        let key: Box<[WasmFuncType]> = Box::new([ty.clone()]);
        if let Some(id) = reg.groups.get(&key) {
            return *id;
        }
        let id = SharedTypeIndex::new(reg.types.len());
        reg.types.push(ty.clone());
        reg.groups.insert(key, id);
        id
    }

    /// The ids of `module`'s types, registering its recursion groups in
    /// order.
    ///
    /// # Errors
    ///
    /// If the groups do not cover the types or a type refers to a later
    /// group (only in metadata that bypassed validation).
    pub(crate) fn register_module(
        &self,
        module: &keel_translate::Module,
    ) -> Result<Vec<SharedTypeIndex>> {
        use keel_translate::{TypeIndex, TypeRef};
        let mut ids: Vec<SharedTypeIndex> = Vec::with_capacity(module.types.len());
        let mut reg = self.0.lock();
        for &(start, len) in &module.rec_groups {
            if start as usize != ids.len() {
                anyhow::bail!("type {start} is not where its recursion group starts");
            }
            let mut bad = false;
            let key: Box<[WasmFuncType]> = (start..start.saturating_add(len))
                .map(|i| {
                    let ty = module.types.get(TypeIndex::from_u32(i));
                    let Some(ty) = ty else {
                        bad = true;
                        return WasmFuncType::default();
                    };
                    ty.map_type_refs(|r| match r {
                        TypeRef::Module(t) if t.as_u32() < start => TypeRef::Engine(ids[t.index()]),
                        TypeRef::Module(t) if t.as_u32() - start < len => {
                            TypeRef::RecGroup(t.as_u32() - start)
                        }
                        other => {
                            bad = true;
                            other
                        }
                    })
                })
                .collect();
            if bad {
                anyhow::bail!("a type of recursion group {start} refers to a later type");
            }
            let base = match reg.groups.get(&key) {
                Some(base) => *base,
                None => {
                    let base = reg.types.len();
                    for ty in key.iter() {
                        let ty = ty.map_type_refs(|r| match r {
                            TypeRef::RecGroup(n) => {
                                TypeRef::Engine(SharedTypeIndex::new(base + n as usize))
                            }
                            other => other,
                        });
                        reg.types.push(ty);
                    }
                    let base = SharedTypeIndex::new(base);
                    reg.groups.insert(key, base);
                    base
                }
            };
            ids.extend((0..len as usize).map(|n| SharedTypeIndex::new(base.index() + n)));
        }
        if ids.len() != module.types.len() {
            anyhow::bail!("the recursion groups do not cover the module's types");
        }
        Ok(ids)
    }

    /// The function type with id `id`, if it was registered.
    pub(crate) fn lookup(&self, id: SharedTypeIndex) -> Option<WasmFuncType> {
        self.0.lock().types.get(id.index()).cloned()
    }
}
