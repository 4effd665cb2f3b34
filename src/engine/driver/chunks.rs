//! A call's chunks and a pool's queue of them, kept compact: a map of a million items is
//! a few numbers here, not a record per chunk (Python keeps a generator, not a list).

use std::collections::VecDeque;

use super::pool::ChunkRef;

/// A call's chunks. The regular ones (`size` items each, the last shorter) are computed
/// from their number; chunks cut from one a dead worker left are kept in `extra`.
pub struct Chunks {
    len: usize,
    size: usize,
    regular: u32,
    extra: Vec<(usize, usize)>,
}

impl Chunks {
    /// `len` items in chunks of `size` (at least 1).
    pub fn new(len: usize, size: usize) -> Chunks {
        let size = size.max(1);
        Chunks {
            len,
            size,
            regular: u32::try_from(len.div_ceil(size)).unwrap_or(u32::MAX),
            extra: Vec::new(),
        }
    }

    /// How many chunks the items were first cut into.
    pub fn regular(&self) -> u32 {
        self.regular
    }

    /// Chunk `chunk`'s first item and length.
    pub fn get(&self, chunk: u32) -> Option<(usize, usize)> {
        if chunk < self.regular {
            let first = chunk as usize * self.size;
            return Some((first, self.size.min(self.len - first)));
        }
        self.extra.get((chunk - self.regular) as usize).copied()
    }

    /// A new chunk over items `first..first + len`; returns its number.
    pub fn add(&mut self, first: usize, len: usize) -> u32 {
        self.extra.push((first, len));
        self.regular + (self.extra.len() - 1) as u32
    }

    /// Every chunk's length, in number order.
    #[cfg(test)]
    pub fn lens(&self) -> Vec<usize> {
        (0..self.regular + self.extra.len() as u32)
            .filter_map(|c| self.get(c).map(|(_, len)| len))
            .collect()
    }
}

/// Chunks waiting for a worker, in order: runs of consecutive chunks of one call.
#[derive(Default)]
pub struct ChunkQueue {
    runs: VecDeque<(ChunkRef, u32)>,
}

impl ChunkQueue {
    /// Queues chunks `0..count` of `call`.
    pub fn push_call(&mut self, call: u32, count: u32) {
        if count > 0 {
            self.runs.push_back((ChunkRef { call, chunk: 0 }, count));
        }
    }

    /// Puts one chunk at the head of the queue (it goes out next).
    pub fn push_front(&mut self, r: ChunkRef) {
        self.runs.push_front((r, 1));
    }

    pub fn pop_front(&mut self) -> Option<ChunkRef> {
        let (first, count) = self.runs.front_mut()?;
        let r = *first;
        *count -= 1;
        first.chunk += 1;
        if *count == 0 {
            self.runs.pop_front();
        }
        Some(r)
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub fn clear(&mut self) {
        self.runs.clear();
    }

    /// The chunks in queue order.
    pub fn iter(&self) -> impl Iterator<Item = ChunkRef> + '_ {
        self.runs.iter().flat_map(|&(r, count)| {
            (0..count).map(move |k| ChunkRef {
                call: r.call,
                chunk: r.chunk + k,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_chunks_are_computed_and_extra_ones_kept() {
        let mut c = Chunks::new(10, 4);
        assert_eq!(c.lens(), [4, 4, 2]);
        assert_eq!(c.get(2), Some((8, 2)));
        assert_eq!(c.add(5, 1), 3);
        assert_eq!(c.get(3), Some((5, 1)));
        assert_eq!(c.get(4), None);
        assert_eq!(Chunks::new(0, 0).lens(), Vec::<usize>::new());
    }

    #[test]
    fn the_queue_hands_out_runs_in_order_and_a_requeued_chunk_first() {
        let mut q = ChunkQueue::default();
        q.push_call(0, 2);
        q.push_call(1, 1);
        q.push_front(ChunkRef { call: 7, chunk: 3 });
        let order: Vec<(u32, u32)> = q.iter().map(|r| (r.call, r.chunk)).collect();
        assert_eq!(order, [(7, 3), (0, 0), (0, 1), (1, 0)]);
        assert_eq!(q.pop_front(), Some(ChunkRef { call: 7, chunk: 3 }));
        assert_eq!(q.pop_front(), Some(ChunkRef { call: 0, chunk: 0 }));
        assert_eq!(q.pop_front(), Some(ChunkRef { call: 0, chunk: 1 }));
        assert_eq!(q.pop_front(), Some(ChunkRef { call: 1, chunk: 0 }));
        assert!(q.pop_front().is_none() && q.is_empty());
    }
}
