//! The fixed merge tree that makes a run splittable.
//!
//! Floating-point merges are not associative, so a run split into shards
//! can only reproduce the single-machine result bit for bit if every
//! statistic is merged along the same tree whatever the split. The tree is
//! fixed by the block indices alone: a node covers an aligned range of
//! blocks `[first, first + len)` with `len` a power of two and `first` a
//! multiple of `len`, and is the merge of its two halves. Blocks pushed in
//! order build the nodes like carries in a binary counter; any contiguous
//! range of blocks leaves a short list of aligned nodes (at most two per
//! bit of the block count), which is what a shard stores. Pushing every
//! shard's nodes in block order rebuilds exactly the nodes a single pass
//! builds, and [`MergeStack::finish`] folds what is left from the left.

use super::Summary;
use serde::{Deserialize, Serialize};

/// The summary of the aligned block range `[first, first + len)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Node {
    /// First block.
    pub first: u64,
    /// Number of blocks, a power of two dividing `first`.
    pub len: u64,
    /// Summary of the iterations of these blocks.
    pub summary: Summary,
}

impl Node {
    /// One past the last block.
    pub fn end(&self) -> u64 {
        self.first + self.len
    }
}

/// Nodes of a contiguous run of blocks, merged along the fixed tree.
#[derive(Clone, Debug, Default)]
pub struct MergeStack {
    nodes: Vec<Node>,
}

impl MergeStack {
    /// An empty stack.
    pub fn new() -> Self {
        MergeStack::default()
    }

    /// Adds the next node. It must start where the stack ends and be
    /// aligned; callers check contiguity before (a gap is a bug here).
    pub fn push(&mut self, node: Node) {
        assert!(
            node.len.is_power_of_two() && node.first.is_multiple_of(node.len),
            "unaligned node {}+{}",
            node.first,
            node.len
        );
        if let Some(top) = self.nodes.last() {
            assert_eq!(top.end(), node.first, "blocks pushed out of order");
        }
        let mut node = node;
        while let Some(top) = self.nodes.last() {
            if top.len != node.len || !top.first.is_multiple_of(2 * top.len) {
                break;
            }
            let mut left = self.nodes.pop().expect("checked");
            left.summary.merge_blocks(&[&node.summary]);
            left.len *= 2;
            node = left;
        }
        self.nodes.push(node);
    }

    /// The range of blocks covered, if any.
    pub fn blocks(&self) -> Option<std::ops::Range<u64>> {
        Some(self.nodes.first()?.first..self.nodes.last()?.end())
    }

    /// The nodes, for storing a shard.
    pub fn into_nodes(self) -> Vec<Node> {
        self.nodes
    }

    /// Folds the nodes from the left into one summary (`None` if empty).
    pub fn finish(self) -> Option<Summary> {
        let mut nodes = self.nodes.into_iter();
        let mut total = nodes.next()?.summary;
        for n in nodes {
            total.merge_blocks(&[&n.summary]);
        }
        Some(total)
    }

    /// What `finish` would give for one figure's moments, without merging
    /// everything else (for stopping rules checked after every step).
    pub fn figure_moments(&self, k: usize) -> crate::stats::Moments {
        let mut m = crate::stats::Moments::default();
        for n in &self.nodes {
            m.merge(&n.summary.moments[k]);
        }
        m
    }
}
