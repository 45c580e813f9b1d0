//! Compact sorted tables of `(u32 key, u32 value)` records: the trap
//! table and the address map of compiled code, in memory and in
//! artifacts alike, so that loading an artifact copies and checks them
//! without building anything.
//!
//! # Encoding
//!
//! | part | contents |
//! |---|---|
//! | header | `count: u32`, `blocks: u32` (LE); `blocks` is `count` / [`BLOCK`] rounded up |
//! | index | per block: `first key: u32`, `first value: u32`, `data offset: u32` (LE) |
//! | data | per block, its records after the first: the key's increase over the previous key (at least 1) shifted left by one, with the low bit set when the value changes, as an unsigned LEB128; then, only when that bit is set, the value's change (not zero) as a zigzag LEB128 |
//!
//! A lookup binary-searches the index and decodes at most one block
//! ([`BLOCK`] records). Keys strictly increase. A text offset and the
//! wasm offset of its code change little from one record to the next, so
//! an address-map record takes two or three bytes instead of eight; the
//! trap code of one trap site is mostly the one before's, so a trap-table
//! record mostly takes one byte.

use crate::Trap;
use crate::prelude::*;

/// Records per block: a lookup decodes at most this many (a few hundred
/// bytes), and each block costs an index entry of 12 bytes.
pub const BLOCK: usize = 64;

/// Bytes of the header.
const HEADER: usize = 8;

/// Bytes of one index entry.
const INDEX_ENTRY: usize = 12;

/// A sorted table of `(key, value)` records with strictly increasing keys,
/// in the block encoding described in the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactTable {
    bytes: Vec<u8>,
}

impl Default for CompactTable {
    fn default() -> Self {
        Self {
            bytes: Vec::from([0; HEADER]),
        }
    }
}

/// Append `value` as an unsigned LEB128.
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Read an unsigned LEB128 of at most 5 bytes (35 bits) at `*at`.
fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn zigzag(delta: i64) -> u64 {
    ((delta << 1) ^ (delta >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl CompactTable {
    /// Encode `records`, whose keys must strictly increase.
    ///
    /// # Errors
    ///
    /// If a key is not greater than the one before it (the message
    /// gives its position), or there are more than `u32::MAX` records.
    pub fn from_sorted(records: impl IntoIterator<Item = (u32, u32)>) -> Result<Self, String> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        let mut count = 0usize;
        let mut prev: Option<(u32, u32)> = None;
        for (key, value) in records {
            if let Some((prev_key, prev_value)) = prev {
                if key <= prev_key {
                    return Err(format!("record {count} is out of order"));
                }
                if count.is_multiple_of(BLOCK) {
                    push_index(&mut index, key, value, data.len())?;
                } else {
                    let change = i64::from(value) - i64::from(prev_value);
                    put_varint(
                        &mut data,
                        (u64::from(key - prev_key) << 1) | u64::from(change != 0),
                    );
                    if change != 0 {
                        put_varint(&mut data, zigzag(change));
                    }
                }
            } else {
                push_index(&mut index, key, value, 0)?;
            }
            prev = Some((key, value));
            count += 1;
        }
        let count = u32::try_from(count).map_err(|_| String::from("over 2^32 records"))?;
        let blocks = (index.len() / INDEX_ENTRY) as u32;
        let mut bytes = Vec::with_capacity(HEADER + index.len() + data.len());
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes.extend_from_slice(&blocks.to_le_bytes());
        bytes.extend_from_slice(&index);
        bytes.extend_from_slice(&data);
        Ok(Self { bytes })
    }

    /// Take an encoded table, checking all of it: the header against the
    /// length, the index's data offsets, every block decoding to exactly
    /// its records and bytes, keys strictly increasing throughout and
    /// values within `u32`. What [`as_bytes`](Self::as_bytes) gave.
    ///
    /// # Errors
    ///
    /// The first inconsistency, with the position of its record or block.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        let count = word(&bytes, 0).ok_or("the header is truncated")? as usize;
        let blocks = word(&bytes, 4).ok_or("the header is truncated")? as usize;
        if blocks != count.div_ceil(BLOCK) {
            return Err(format!("{blocks} blocks for {count} records"));
        }
        let data_start = blocks
            .checked_mul(INDEX_ENTRY)
            .and_then(|n| n.checked_add(HEADER))
            .filter(|&n| n <= bytes.len())
            .ok_or("the index is truncated")?;
        let table = Self { bytes };
        let data_len = table.bytes.len() - data_start;
        let mut prev_key: Option<u32> = None;
        for b in 0..blocks {
            let (first_key, _, start) = table.index(b).ok_or("the index is truncated")?;
            let end = match table.index(b + 1) {
                Some((_, _, next)) if b + 1 < blocks => next,
                _ => data_len,
            };
            if start > end || end > data_len || (b == 0 && start != 0) {
                return Err(format!("block {b}'s data offsets are out of range"));
            }
            if prev_key.is_some_and(|p| first_key <= p) {
                return Err(format!("record {} is out of order", b * BLOCK));
            }
            let records = (count - b * BLOCK).min(BLOCK);
            let mut decoded = 0;
            let mut last = first_key;
            let mut at = data_start + start;
            let mut bad = None;
            table.decode_block(
                b,
                |key, _| {
                    decoded += 1;
                    last = key;
                },
                &mut at,
                &mut bad,
            );
            if let Some(reason) = bad {
                return Err(format!("block {b}: {reason}"));
            }
            if decoded != records || at != data_start + end {
                return Err(format!(
                    "block {b} holds {} bytes that do not decode to its {records} records",
                    end - start
                ));
            }
            prev_key = Some(last);
        }
        Ok(table)
    }

    /// The encoded table.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        word(&self.bytes, 0).unwrap_or(0) as usize
    }

    /// Whether the table has no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn blocks(&self) -> usize {
        word(&self.bytes, 4).unwrap_or(0) as usize
    }

    fn data_start(&self) -> usize {
        HEADER + self.blocks() * INDEX_ENTRY
    }

    /// Block `b`'s first key, first value and data offset.
    fn index(&self, b: usize) -> Option<(u32, u32, usize)> {
        if b >= self.blocks() {
            return None;
        }
        let at = HEADER + b * INDEX_ENTRY;
        Some((
            word(&self.bytes, at)?,
            word(&self.bytes, at + 4)?,
            word(&self.bytes, at + 8)? as usize,
        ))
    }

    /// Call `f` with each record of block `b`, in order, reading its data
    /// from `*at` on; stop at the first record that does not decode and
    /// say why in `*bad`.
    fn decode_block(
        &self,
        b: usize,
        mut f: impl FnMut(u32, u32),
        at: &mut usize,
        bad: &mut Option<&'static str>,
    ) {
        let Some((mut key, mut value, _)) = self.index(b) else {
            return;
        };
        f(key, value);
        let records = (self.len() - b * BLOCK).min(BLOCK);
        for _ in 1..records {
            let Some(head) = get_varint(&self.bytes, at) else {
                *bad = Some("a record is truncated");
                return;
            };
            let dk = head >> 1;
            let dv = if head & 1 == 1 {
                match get_varint(&self.bytes, at) {
                    Some(0) => {
                        *bad = Some("a record flags a value change of zero");
                        return;
                    }
                    Some(dv) => dv,
                    None => {
                        *bad = Some("a record is truncated");
                        return;
                    }
                }
            } else {
                0
            };
            let next_key = u64::from(key) + dk;
            let next_value = i64::from(value) + unzigzag(dv);
            if dk == 0 || next_key > u64::from(u32::MAX) {
                *bad = Some("a key does not increase within 32 bits");
                return;
            }
            let Ok(next_value) = u32::try_from(next_value) else {
                *bad = Some("a value is outside 32 bits");
                return;
            };
            key = next_key as u32;
            value = next_value;
            f(key, value);
        }
    }

    /// The block that holds the last record with a key at most `key`.
    fn block_of(&self, key: u32) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.blocks());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.index(mid)?.0 <= key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1)
    }

    /// The last record whose key is at most `key`.
    pub fn floor(&self, key: u32) -> Option<(u32, u32)> {
        let b = self.block_of(key)?;
        let (_, _, start) = self.index(b)?;
        let mut at = self.data_start() + start;
        let mut found = None;
        let mut bad = None;
        self.decode_block(
            b,
            |k, v| {
                if k <= key {
                    found = Some((k, v));
                }
            },
            &mut at,
            &mut bad,
        );
        found
    }

    /// The value of the record whose key is `key`.
    pub fn get(&self, key: u32) -> Option<u32> {
        self.floor(key).filter(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The records, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut b = 0;
        let mut pending: Vec<(u32, u32)> = Vec::new();
        core::iter::from_fn(move || {
            if pending.is_empty() {
                let (_, _, start) = self.index(b)?;
                let mut at = self.data_start() + start;
                let mut bad = None;
                self.decode_block(b, |k, v| pending.push((k, v)), &mut at, &mut bad);
                pending.reverse();
                b += 1;
            }
            pending.pop()
        })
    }
}

/// Append an index entry.
fn push_index(index: &mut Vec<u8>, key: u32, value: u32, offset: usize) -> Result<(), String> {
    let offset = u32::try_from(offset).map_err(|_| String::from("over 4 GiB of records"))?;
    index.extend_from_slice(&key.to_le_bytes());
    index.extend_from_slice(&value.to_le_bytes());
    index.extend_from_slice(&offset.to_le_bytes());
    Ok(())
}

/// One trapping instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrapInfo {
    /// Offset of the instruction in the text section.
    pub offset: u32,
    /// The trap it raises.
    pub code: Trap,
}

/// The trap sites of a text section: text offset to [`Trap`] code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrapTable(CompactTable);

impl TrapTable {
    /// The table of `sites`, sorted by offset here.
    ///
    /// # Errors
    ///
    /// If two sites have the same offset.
    pub fn new(mut sites: Vec<TrapInfo>) -> Result<Self, String> {
        sites.sort_unstable_by_key(|t| t.offset);
        CompactTable::from_sorted(sites.iter().map(|t| (t.offset, t.code as u32)))
            .map(Self)
            .map_err(|e| format!("trap table: {e}"))
    }

    /// Take an encoded table ([`CompactTable::from_bytes`]), checking
    /// too that every code is a [`Trap`].
    ///
    /// # Errors
    ///
    /// As [`CompactTable::from_bytes`]; or an unknown code, as
    /// `(code, offset)`.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TrapTableError> {
        let table = CompactTable::from_bytes(bytes).map_err(TrapTableError::Malformed)?;
        for (offset, code) in table.iter() {
            if u8::try_from(code).ok().and_then(Trap::from_u8).is_none() {
                return Err(TrapTableError::UnknownCode { code, offset });
            }
        }
        Ok(Self(table))
    }

    /// The encoded table.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The number of trap sites.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The trap raised by the instruction at `offset`, if it is a site.
    pub fn lookup(&self, offset: u32) -> Option<Trap> {
        let code = self.0.get(offset)?;
        Trap::from_u8(u8::try_from(code).ok()?)
    }

    /// The sites, by offset.
    pub fn iter(&self) -> impl Iterator<Item = TrapInfo> + '_ {
        self.0.iter().filter_map(|(offset, code)| {
            let code = Trap::from_u8(u8::try_from(code).ok()?)?;
            Some(TrapInfo { offset, code })
        })
    }
}

/// Why an encoded trap table was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapTableError {
    /// It does not decode ([`CompactTable::from_bytes`]): why.
    Malformed(String),
    /// A site's code is not a [`Trap`].
    UnknownCode {
        /// The code.
        code: u32,
        /// The site's text offset.
        offset: u32,
    },
}

/// Text offset to the wasm byte offset (in the module) of the operator
/// whose code starts there, for backtraces: a record where the operator
/// changes, so a lookup finds the last record at or before an offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressMap(CompactTable);

impl AddressMap {
    /// The map of `entries`, `(text offset, wasm offset)` sorted by text
    /// offset: of several at one text offset the last counts, and an
    /// entry with the wasm offset of the one before it is left out (a
    /// lookup finds that one instead).
    ///
    /// # Errors
    ///
    /// If the text offsets decrease.
    pub fn new(entries: impl IntoIterator<Item = (u32, u32)>) -> Result<Self, String> {
        let mut kept: Vec<(u32, u32)> = Vec::new();
        for (text, wasm) in entries {
            match kept.last_mut() {
                Some(last) if text < last.0 => {
                    return Err(format!("address map: text offset {text} is out of order"));
                }
                Some(last) if text == last.0 => last.1 = wasm,
                _ => kept.push((text, wasm)),
            }
            // Equal keys merged into `last` may now equal the one before.
            if let [.., a, b] = &kept[..]
                && a.1 == b.1
            {
                kept.pop();
            }
        }
        CompactTable::from_sorted(kept).map(Self)
    }

    /// Take an encoded map ([`CompactTable::from_bytes`]).
    ///
    /// # Errors
    ///
    /// As [`CompactTable::from_bytes`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        CompactTable::from_bytes(bytes).map(Self)
    }

    /// The encoded map.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The wasm offset of the operator whose code contains text `offset`.
    pub fn lookup(&self, offset: u32) -> Option<u32> {
        self.0.floor(offset).map(|(_, wasm)| wasm)
    }

    /// The records, `(text offset, wasm offset)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn records(n: u32) -> Vec<(u32, u32)> {
        // Mostly small steps, some large jumps and decreasing values.
        let mut key = 0u32;
        let mut value = 1000u32;
        (0..n)
            .map(|i| {
                key += 1 + (i * 7919) % 23 + if i % 97 == 0 { 70_000 } else { 0 };
                value = match i % 5 {
                    0 => value.wrapping_sub(3).max(1),
                    1 => value + 200_000,
                    _ => value + i % 9,
                };
                (key, value)
            })
            .collect()
    }

    #[test]
    fn round_trips_and_lookups() {
        for n in [0, 1, 2, 31, 32, 33, 63, 64, 65, 128, 129, 1000] {
            let recs = records(n);
            let table = CompactTable::from_sorted(recs.iter().copied()).unwrap();
            assert_eq!(table.len(), n as usize);
            assert_eq!(table.iter().collect::<Vec<_>>(), recs);
            let again = CompactTable::from_bytes(table.as_bytes().to_vec()).unwrap();
            assert_eq!(again, table);
            for (i, &(k, v)) in recs.iter().enumerate() {
                assert_eq!(table.get(k), Some(v));
                assert_eq!(table.floor(k), Some((k, v)));
                if k > 0 && (i == 0 || recs[i - 1].0 < k - 1) {
                    assert_eq!(table.get(k - 1), None);
                }
                let expect = match recs.get(i + 1) {
                    Some(&next) if next.0 == k + 1 => next,
                    _ => (k, v),
                };
                assert_eq!(table.floor(k + 1), Some(expect));
            }
            if let Some(&(first, _)) = recs.first() {
                assert_eq!(table.floor(first - 1), None);
            }
            assert_eq!(table.floor(u32::MAX), recs.last().copied());
        }
        // Extremes.
        let edge = [(0, u32::MAX), (1, 0), (u32::MAX, u32::MAX)];
        let table = CompactTable::from_sorted(edge).unwrap();
        assert_eq!(table.iter().collect::<Vec<_>>(), edge);
        CompactTable::from_bytes(table.as_bytes().to_vec()).unwrap();
    }

    /// A record whose value does not change takes one flag bit, not a
    /// byte; a flagged change of zero (not what the encoder writes) is
    /// refused.
    #[test]
    fn unchanged_values_take_no_byte() {
        let same: Vec<(u32, u32)> = (0..64).map(|i| (i * 10, 7)).collect();
        let table = CompactTable::from_sorted(same.iter().copied()).unwrap();
        // Header, one index entry, 63 one-byte records.
        assert_eq!(table.as_bytes().len(), HEADER + INDEX_ENTRY + 63);
        assert_eq!(table.iter().collect::<Vec<_>>(), same);
        let mut bytes = 2u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
        // Key +10 with the change flag, then a change of zero.
        bytes.extend_from_slice(&[(10 << 1) | 1, 0]);
        assert_eq!(
            CompactTable::from_bytes(bytes.clone()),
            Err("block 0: a record flags a value change of zero".into())
        );
        // The same without the flag is fine.
        bytes.truncate(bytes.len() - 2);
        bytes.push(10 << 1);
        let t = CompactTable::from_bytes(bytes).unwrap();
        assert_eq!(t.iter().collect::<Vec<_>>(), [(0, 7), (10, 7)]);
    }

    #[test]
    fn out_of_order_records_are_refused() {
        assert!(CompactTable::from_sorted([(1, 0), (1, 0)]).is_err());
        assert!(CompactTable::from_sorted([(2, 0), (1, 0)]).is_err());
    }

    /// Every truncation and every single-byte change of an encoded table
    /// either is refused or decodes to a sorted table, never panics.
    #[test]
    fn damaged_encodings_are_refused_or_consistent() {
        let recs = records(100);
        let table = CompactTable::from_sorted(recs).unwrap();
        let bytes = table.as_bytes();
        for len in 0..bytes.len() {
            assert!(
                CompactTable::from_bytes(bytes[..len].to_vec()).is_err(),
                "{len}"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(CompactTable::from_bytes(longer).is_err());
        for at in 0..bytes.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut bad = bytes.to_vec();
                bad[at] ^= flip;
                if let Ok(t) = CompactTable::from_bytes(bad) {
                    let keys: Vec<u32> = t.iter().map(|(k, _)| k).collect();
                    assert_eq!(keys.len(), t.len());
                    assert!(keys.windows(2).all(|w| w[0] < w[1]), "byte {at}");
                }
            }
        }
    }

    #[test]
    fn trap_tables_and_address_maps() {
        let sites = vec![
            TrapInfo {
                offset: 40,
                code: Trap::MemoryOutOfBounds,
            },
            TrapInfo {
                offset: 4,
                code: Trap::StackOverflow,
            },
        ];
        let traps = TrapTable::new(sites).unwrap();
        assert_eq!(traps.lookup(4), Some(Trap::StackOverflow));
        assert_eq!(traps.lookup(40), Some(Trap::MemoryOutOfBounds));
        assert_eq!(traps.lookup(5), None);
        assert_eq!(
            TrapTable::from_bytes(traps.as_bytes().to_vec()).unwrap(),
            traps
        );
        let unknown = CompactTable::from_sorted([(8, 250)]).unwrap();
        assert_eq!(
            TrapTable::from_bytes(unknown.as_bytes().to_vec()),
            Err(TrapTableError::UnknownCode {
                code: 250,
                offset: 8
            })
        );
        assert!(
            TrapTable::new(vec![
                TrapInfo {
                    offset: 4,
                    code: Trap::StackOverflow
                },
                TrapInfo {
                    offset: 4,
                    code: Trap::StackOverflow
                },
            ])
            .is_err()
        );

        // Runs of one wasm offset collapse; the last of equal text
        // offsets counts.
        let map =
            AddressMap::new([(0, 10), (4, 10), (8, 12), (8, 14), (12, 14), (20, 10)]).unwrap();
        assert_eq!(map.iter().collect::<Vec<_>>(), [(0, 10), (8, 14), (20, 10)]);
        assert_eq!(map.lookup(5), Some(10));
        assert_eq!(map.lookup(13), Some(14));
        assert_eq!(map.lookup(25), Some(10));
        let merged = AddressMap::new([(0, 10), (4, 12), (4, 10)]).unwrap();
        assert_eq!(merged.iter().collect::<Vec<_>>(), [(0, 10)]);
        assert!(AddressMap::new([(4, 1), (0, 2)]).is_err());
    }
}
