//! A store's exception state ([`ExceptionState`]): the heap of exception
//! objects, the tags handed out as [`Tag`]s, and the host's holds on
//! uncaught exceptions (the collector's roots). The exception API is in
//! `exception.rs`.

use crate::TagType;
use crate::prelude::*;
use alloc::sync::Arc;
use hashbrown::HashMap;
use keel_vm::VMTagDefinition;

/// A store's exception state: the heap of exception objects, the tags
/// handed out as [`Tag`]s, and the uncaught exceptions the host holds.
#[derive(Default)]
pub(crate) struct ExceptionState {
    /// Exception objects.
    heap: keel_vm::GcHeap,
    /// Tags handed out as [`Tag`]s, and their indices by the address of
    /// their definition.
    tags: Vec<TagData>,
    tag_by_def: HashMap<usize, usize>,
    /// The uncaught exceptions handed to the host as
    /// [`ThrownException`]s, by hold id: roots of the exception collector
    /// while an error shares the `Arc`.
    holds: HashMap<u64, (usize, Arc<()>)>,
    /// The last hold id given out (ids start at 1; 0 means pinned).
    next_hold: u64,
}

impl ExceptionState {
    /// The heap, for the runtime's builtins.
    pub(crate) fn heap_mut(&mut self) -> &mut keel_vm::GcHeap {
        &mut self.heap
    }

    /// The heap, for the store's statistics.
    pub(crate) fn heap(&self) -> &keel_vm::GcHeap {
        &self.heap
    }

    /// The type of tag `index` of this store.
    pub(crate) fn tag_type(&self, index: usize) -> TagType {
        self.tags[index].ty.clone()
    }

    /// The payload types of tag `index`.
    pub(crate) fn tag_params(&self, index: usize) -> &[keel_translate::WasmValType] {
        &self.tags[index].ty.0.0.params
    }

    /// The definition of tag `index`: its identity.
    pub(crate) fn tag_def(&self, index: usize) -> *const VMTagDefinition {
        self.tags[index].def
    }

    /// The index of the tag defined at `def`, if it was handed out.
    pub(crate) fn tag_by_def(&self, def: *const VMTagDefinition) -> Option<usize> {
        self.tag_by_def.get(&(def as usize)).copied()
    }

    /// Record a tag defined at `def` (`owned` holds a host tag's
    /// definition) of type `ty`; returns its index.
    pub(crate) fn add_tag(
        &mut self,
        def: *const VMTagDefinition,
        ty: TagType,
        owned: Option<Box<VMTagDefinition>>,
    ) -> usize {
        let index = self.tags.len();
        self.tags.push(TagData {
            def,
            ty,
            _owned: owned,
        });
        self.tag_by_def.insert(def as usize, index);
        index
    }

    /// Hold uncaught exception `raw` for the host: it stays alive while
    /// the returned `Arc` (or a clone) does. Returns the hold's id.
    pub(crate) fn hold(&mut self, raw: usize) -> (u64, Arc<()>) {
        self.next_hold += 1;
        let id = self.next_hold;
        let hold = Arc::new(());
        self.holds.insert(id, (raw, hold.clone()));
        (id, hold)
    }

    /// Whether hold `id` is still in place.
    pub(crate) fn is_held(&self, id: u64) -> bool {
        self.holds.contains_key(&id)
    }

    /// Visit the raw references of the uncaught exceptions the host still
    /// holds, dropping the holds whose errors are gone.
    pub(crate) fn trace_holds(&mut self, visit: &mut dyn FnMut(usize)) {
        // An uncaught exception lives while its `ThrownException` does:
        // the store's hold is the last one once the error was dropped.
        self.holds.retain(|_, (raw, hold)| {
            let alive = Arc::get_mut(hold).is_none();
            if alive {
                visit(*raw);
            }
            alive
        });
    }
}

/// What a store keeps of a tag.
struct TagData {
    /// The definition, whose address is the tag's identity: in an
    /// instance's VMContext, or in `owned` for a host tag.
    def: *const VMTagDefinition,
    ty: TagType,
    /// A host tag's definition (boxed: its address must not change).
    _owned: Option<Box<VMTagDefinition>>,
}
