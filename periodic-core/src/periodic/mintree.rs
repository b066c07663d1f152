//! A min segment tree over task indices: the earliest due time in any index range and the
//! first task at or after an index that is due. It keeps a pass from costing time
//! proportional to the tasks that are not due.

/// The value of a slot that never becomes due (disabled, skipped, or unused).
pub(crate) const NEVER: u64 = u64::MAX;

#[derive(Debug, Clone)]
pub(crate) struct MinTree {
    /// Number of leaves: a power of two, at least 1.
    leaves: usize,
    /// Implicit binary tree; node 1 is the root, leaf `i` is node `leaves + i`.
    nodes: Vec<u64>,
    len: usize,
}

impl MinTree {
    pub(crate) fn new() -> Self {
        MinTree {
            leaves: 1,
            nodes: vec![NEVER; 2],
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends a slot with `value`; returns its index.
    pub(crate) fn push(&mut self, value: u64) -> usize {
        if self.len == self.leaves {
            self.grow();
        }
        let index = self.len;
        self.len += 1;
        self.set(index, value);
        index
    }

    fn grow(&mut self) {
        let old: Vec<u64> = (0..self.len).map(|i| self.nodes[self.leaves + i]).collect();
        self.leaves *= 2;
        self.nodes = vec![NEVER; 2 * self.leaves];
        self.nodes[self.leaves..self.leaves + old.len()].copy_from_slice(&old);
        for node in (1..self.leaves).rev() {
            self.nodes[node] = self.nodes[2 * node].min(self.nodes[2 * node + 1]);
        }
    }

    pub(crate) fn get(&self, index: usize) -> u64 {
        self.nodes[self.leaves + index]
    }

    pub(crate) fn set(&mut self, index: usize, value: u64) {
        debug_assert!(index < self.len);
        let mut node = self.leaves + index;
        self.nodes[node] = value;
        node /= 2;
        while node >= 1 {
            let m = self.nodes[2 * node].min(self.nodes[2 * node + 1]);
            if self.nodes[node] == m {
                // Unchanged here, so unchanged above.
                break;
            }
            self.nodes[node] = m;
            node /= 2;
        }
    }

    /// Minimum over `start..end` (clamped to the slots in use); `NEVER` when empty.
    pub(crate) fn min(&self, start: usize, end: usize) -> u64 {
        let end = end.min(self.len);
        if start >= end {
            return NEVER;
        }
        let mut lo = start + self.leaves;
        let mut hi = end + self.leaves;
        let mut best = NEVER;
        while lo < hi {
            if lo & 1 == 1 {
                best = best.min(self.nodes[lo]);
                lo += 1;
            }
            if hi & 1 == 1 {
                hi -= 1;
                best = best.min(self.nodes[hi]);
            }
            lo /= 2;
            hi /= 2;
        }
        best
    }

    /// The smallest index `>= start` whose value is `<= limit`.
    pub(crate) fn first_at_most(&self, start: usize, limit: u64) -> Option<usize> {
        if start >= self.len || self.nodes[1] > limit {
            return None;
        }
        self.descend(1, 0, self.leaves, start, limit)
    }

    fn descend(
        &self,
        node: usize,
        lo: usize,
        hi: usize,
        start: usize,
        limit: u64,
    ) -> Option<usize> {
        if hi <= start || self.nodes[node] > limit {
            return None;
        }
        if hi - lo == 1 {
            return (lo < self.len).then_some(lo);
        }
        let mid = lo + (hi - lo) / 2;
        self.descend(2 * node, lo, mid, start, limit)
            .or_else(|| self.descend(2 * node + 1, mid, hi, start, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_a_linear_scan(
            values in proptest::collection::vec(0u64..50, 1..70),
            updates in proptest::collection::vec((0usize..70, 0u64..60), 0..40),
            queries in proptest::collection::vec((0usize..75, 0usize..75, 0u64..55), 1..30),
        ) {
            let mut tree = MinTree::new();
            let mut plain = Vec::new();
            for v in values {
                tree.push(v);
                plain.push(v);
            }
            for (i, v) in updates {
                if i < plain.len() {
                    tree.set(i, v);
                    plain[i] = v;
                }
            }
            for (a, b, limit) in queries {
                let expect_min = plain.iter().enumerate()
                    .filter(|(i, _)| *i >= a && *i < b)
                    .map(|(_, v)| *v).min().unwrap_or(NEVER);
                prop_assert_eq!(tree.min(a, b), expect_min);
                let expect_first = plain.iter().enumerate()
                    .find(|(i, v)| *i >= a && **v <= limit).map(|(i, _)| i);
                prop_assert_eq!(tree.first_at_most(a, limit), expect_first);
            }
            for (i, v) in plain.iter().enumerate() {
                prop_assert_eq!(tree.get(i), *v);
            }
        }
    }
}
