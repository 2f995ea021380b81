//! The indexed state in memory, with what changed since the last write and how to undo it.
//!
//! Every mutable entity lives in a [`Table`]. A write goes through [`Table::update`] or
//! [`Table::insert`], which mark the row dirty (it is written back at the end of the batch) and, while
//! the block being applied is not yet final, record the row's image from before the block: the undo
//! log that a reorg replays backwards.

use crate::model::{Buyer, Entity, Lease, Market, Offer, Pool, Provider, Report, Stake};
use std::collections::{BTreeMap, BTreeSet};

/// The image of one row before a block changed it; `image` is `None` when the block created the row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UndoEntry {
    /// The block that changed the row.
    pub block_number: u64,
    /// The row's table.
    pub table: &'static str,
    /// The row's key, as JSON.
    pub key: String,
    /// The row before the block, as JSON.
    pub image: Option<String>,
}

/// One table of entities in memory.
#[derive(Debug)]
pub struct Table<E: Entity> {
    rows: BTreeMap<E::Key, E>,
    dirty: BTreeSet<E::Key>,
    /// Keys whose image is already saved for `undo_block`.
    saved: BTreeSet<E::Key>,
    undo_block: Option<u64>,
    undo: Vec<UndoEntry>,
}

impl<E: Entity> Default for Table<E> {
    fn default() -> Self {
        Self {
            rows: BTreeMap::new(),
            dirty: BTreeSet::new(),
            saved: BTreeSet::new(),
            undo_block: None,
            undo: Vec::new(),
        }
    }
}

impl<E: Entity> Table<E> {
    /// A table holding `rows`, nothing dirty.
    pub fn from_rows(rows: impl IntoIterator<Item = E>) -> Self {
        Self {
            rows: rows.into_iter().map(|row| (row.key(), row)).collect(),
            ..Self::default()
        }
    }

    /// The row under `key`.
    pub fn get(&self, key: &E::Key) -> Option<&E> {
        self.rows.get(key)
    }

    /// All rows, in key order.
    pub fn rows(&self) -> impl Iterator<Item = &E> {
        self.rows.values()
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Starts recording undo images for `block` (or stops, with `None`, for final blocks).
    fn begin_block(&mut self, block: Option<u64>) {
        if self.undo_block != block {
            self.undo_block = block;
            self.saved.clear();
        }
    }

    fn save(&mut self, key: &E::Key) {
        let Some(block_number) = self.undo_block else {
            return;
        };
        if !self.saved.insert(key.clone()) {
            return;
        }
        self.undo.push(UndoEntry {
            block_number,
            table: E::TABLE,
            key: serde_json::to_string(key).expect("keys serialize"),
            image: self
                .rows
                .get(key)
                .map(|row| serde_json::to_string(row).expect("rows serialize")),
        });
    }

    /// The row under `key`, to change; `None` when there is none.
    pub fn update(&mut self, key: &E::Key) -> Option<&mut E> {
        if !self.rows.contains_key(key) {
            return None;
        }
        self.save(key);
        self.dirty.insert(key.clone());
        self.rows.get_mut(key)
    }

    /// The row under `key`, made with `make` if there is none, to change.
    pub fn upsert(&mut self, key: E::Key, make: impl FnOnce() -> E) -> &mut E {
        self.save(&key);
        self.dirty.insert(key.clone());
        self.rows.entry(key).or_insert_with(make)
    }

    /// Adds or replaces a row.
    pub fn insert(&mut self, row: E) {
        let key = row.key();
        self.save(&key);
        self.dirty.insert(key.clone());
        self.rows.insert(key, row);
    }

    /// The rows changed since the last call, to write back.
    pub fn take_dirty(&mut self) -> Vec<E> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .filter_map(|key| self.rows.get(&key).cloned())
            .collect()
    }

    /// The undo images recorded since the last call.
    pub fn take_undo(&mut self) -> Vec<UndoEntry> {
        self.saved.clear();
        self.undo_block = None;
        std::mem::take(&mut self.undo)
    }
}

/// The whole indexed state.
#[derive(Debug, Default)]
pub struct State {
    /// Pools.
    pub pools: Table<Pool>,
    /// Provider stakes.
    pub stakes: Table<Stake>,
    /// Providers.
    pub providers: Table<Provider>,
    /// Offers.
    pub offers: Table<Offer>,
    /// Leases.
    pub leases: Table<Lease>,
    /// Buyers.
    pub buyers: Table<Buyer>,
    /// Abuse reports.
    pub reports: Table<Report>,
    /// Network-wide figures.
    pub market: Table<Market>,
}

/// The rows a batch changed, to write back.
#[derive(Debug, Default)]
pub struct Changes {
    /// Pools.
    pub pools: Vec<Pool>,
    /// Stakes.
    pub stakes: Vec<Stake>,
    /// Providers.
    pub providers: Vec<Provider>,
    /// Offers.
    pub offers: Vec<Offer>,
    /// Leases.
    pub leases: Vec<Lease>,
    /// Buyers.
    pub buyers: Vec<Buyer>,
    /// Reports.
    pub reports: Vec<Report>,
    /// Market.
    pub market: Vec<Market>,
    /// Undo images of every table, in the order they were taken.
    pub undo: Vec<UndoEntry>,
}

impl State {
    /// Starts applying `block`; `keep_undo` says whether it can still be reorganised away.
    pub fn begin_block(&mut self, block: u64, keep_undo: bool) {
        let block = keep_undo.then_some(block);
        self.pools.begin_block(block);
        self.stakes.begin_block(block);
        self.providers.begin_block(block);
        self.offers.begin_block(block);
        self.leases.begin_block(block);
        self.buyers.begin_block(block);
        self.reports.begin_block(block);
        self.market.begin_block(block);
    }

    /// Everything changed since the last call.
    pub fn take_changes(&mut self) -> Changes {
        let mut undo = Vec::new();
        undo.extend(self.pools.take_undo());
        undo.extend(self.stakes.take_undo());
        undo.extend(self.providers.take_undo());
        undo.extend(self.offers.take_undo());
        undo.extend(self.leases.take_undo());
        undo.extend(self.buyers.take_undo());
        undo.extend(self.reports.take_undo());
        undo.extend(self.market.take_undo());
        Changes {
            pools: self.pools.take_dirty(),
            stakes: self.stakes.take_dirty(),
            providers: self.providers.take_dirty(),
            offers: self.offers.take_dirty(),
            leases: self.leases.take_dirty(),
            buyers: self.buyers.take_dirty(),
            reports: self.reports.take_dirty(),
            market: self.market.take_dirty(),
            undo,
        }
    }

    /// The market row, created on first use.
    pub fn market_mut(&mut self) -> &mut Market {
        self.market.upsert(1, || Market {
            id: 1,
            ..Market::default()
        })
    }
}
