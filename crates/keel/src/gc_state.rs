//! A store's GC roots held by the host ([`GcRootSet`]): the LIFO roots of
//! [`Rooted`](crate::Rooted) handles and the owned roots of
//! [`OwnedRooted`](crate::OwnedRooted) handles. The API is in
//! `rooting.rs`; the heap itself is keel-vm's `GcHeap`.

use crate::prelude::*;
use alloc::sync::Arc;

/// The references the host holds into a store's GC heap: roots of every
/// collection.
///
/// LIFO roots are pushed as the host receives references (results of
/// calls, reads of globals, tables and fields, new objects) and popped
/// together when a [`RootScope`](crate::RootScope) or a host function
/// call ends. Each carries a generation, so that a handle whose root was
/// popped (and whose slot may hold another reference since) is detected.
/// Owned roots live as long as an [`OwnedRooted`](crate::OwnedRooted)
/// shares their `Arc`.
#[derive(Default)]
pub(crate) struct GcRootSet {
    lifo: Vec<(u64, usize)>,
    next_generation: u64,
    owned: Vec<Option<(usize, Arc<()>)>>,
    free_owned: Vec<u32>,
}

impl GcRootSet {
    /// Root `raw` until the enclosing scope ends; its index and
    /// generation. Past `u32::MAX` roots the index is one that
    /// [`GcRootSet::get`] never finds.
    pub(crate) fn push(&mut self, raw: usize) -> (u32, u64) {
        self.next_generation += 1;
        let index = u32::try_from(self.lifo.len()).unwrap_or(u32::MAX);
        self.lifo.push((self.next_generation, raw));
        (index, self.next_generation)
    }

    /// The reference of LIFO root `index`, if it is still the root of
    /// generation `generation`.
    pub(crate) fn get(&self, index: u32, generation: u64) -> Option<usize> {
        match self.lifo.get(index as usize) {
            Some(&(g, raw)) if g == generation => Some(raw),
            _ => None,
        }
    }

    /// How many LIFO roots there are: where a scope starting now begins.
    pub(crate) fn depth(&self) -> usize {
        self.lifo.len()
    }

    /// Pop the LIFO roots pushed since the scope that began at `depth`.
    pub(crate) fn truncate(&mut self, depth: usize) {
        self.lifo.truncate(depth);
    }

    /// Root `raw` for as long as the returned `Arc` (or a clone) lives;
    /// its slot.
    pub(crate) fn add_owned(&mut self, raw: usize) -> (u32, Arc<()>) {
        let hold = Arc::new(());
        let entry = Some((raw, hold.clone()));
        match self.free_owned.pop() {
            Some(i) => {
                self.owned[i as usize] = entry;
                (i, hold)
            }
            None => {
                self.owned.push(entry);
                (
                    u32::try_from(self.owned.len() - 1).unwrap_or(u32::MAX),
                    hold,
                )
            }
        }
    }

    /// The reference of owned root `index`.
    pub(crate) fn owned(&self, index: u32) -> Option<usize> {
        self.owned
            .get(index as usize)?
            .as_ref()
            .map(|(raw, _)| *raw)
    }

    /// Visit every root; owned roots whose handles are all gone are
    /// released first.
    pub(crate) fn trace(&mut self, visit: &mut dyn FnMut(usize)) {
        for (i, slot) in self.owned.iter_mut().enumerate() {
            if slot
                .as_ref()
                .is_some_and(|(_, hold)| Arc::strong_count(hold) == 1)
            {
                *slot = None;
                self.free_owned.push(i as u32);
            }
        }
        for &(_, raw) in &self.lifo {
            visit(raw);
        }
        for (raw, _) in self.owned.iter().flatten() {
            visit(*raw);
        }
    }
}
