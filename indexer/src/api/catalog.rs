//! The offers search in memory, so that a search costs microseconds instead of an SQL query per
//! request (100,000 offers must answer 500 searches a second on two cores).
//!
//! Each offer has a slot; each field the filters read is a column (an array by slot), so a search
//! first runs one sequential pass per filter over the columns into a mask of matching slots. Each
//! sort order is an ordered map from `(key, offer id)` to slot. A page is then either a walk of the
//! order from the cursor (within the search's own bounds on the sort key) that stops at the page's
//! end, when matches are many, or the matches sorted, when they are few. Each offer's JSON is
//! rendered once, when the offer changes, up to its last field: the provider's trust level, kept per
//! `(pool, provider)` and appended per request.
//!
//! The indexer owns the writes: [`OfferCatalog::from_state`] builds the catalog from the state it
//! loads from the database at start, [`OfferCatalog::prepare`] and [`OfferCatalog::apply`] fold in
//! the rows of each batch right after the batch is committed, and [`OfferCatalog::replace`] rebuilds
//! it whenever the indexer reloads its state from the database (a write failed). A search running
//! while a batch commits sees the state before it, as an SQL read started before the commit would.
//! A reorg holds searches off ([`OfferCatalog::hold`]) from before its rollback is committed until
//! the catalog is rebuilt from the rolled-back database, so no search answers from orphaned blocks.

use super::{
    offers::{OfferView, SortBy},
    trust::{TrustInputs, trust_level},
};
use crate::{
    model::{Offer, Pool, Provider, Stake},
    state::{Changes, State},
    store::{Store, StoreError},
};
use alloy::primitives::{Address, U256};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt::Write as _,
    ops::Bound,
    sync::Arc,
};
use tokio::sync::{OwnedRwLockWriteGuard, RwLock};

/// A handle on the offers catalog, shared by the indexer (which writes it) and the API.
#[derive(Clone, Debug, Default)]
pub struct OfferCatalog {
    inner: Arc<RwLock<Catalog>>,
}

/// A batch's rows, rendered outside the catalog's lock.
#[derive(Debug, Default)]
pub struct CatalogUpdate {
    offers: Vec<(Offer, Box<str>)>,
    stakes: Vec<Stake>,
    pools: Vec<Pool>,
    providers: Vec<Provider>,
}

impl OfferCatalog {
    /// The catalog of `state`.
    pub fn from_state(state: &State) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Catalog::build(state))),
        }
    }

    /// The catalog of what the database holds (an API served without an indexer in this process).
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        Ok(Self::from_state(&store.load_state().await?))
    }

    /// Replaces the whole catalog with that of `state`, built before the lock is taken.
    pub async fn replace(&self, state: &State) {
        let built = Catalog::build(state);
        *self.inner.write().await = built;
    }

    /// Holds every search off until the hold is dropped or [`CatalogHold::replace`]d.
    pub async fn hold(&self) -> CatalogHold {
        CatalogHold(self.inner.clone().write_owned().await)
    }

    /// The part of a batch's `changes` the catalog needs, with the offers rendered.
    pub fn prepare(changes: &Changes) -> CatalogUpdate {
        CatalogUpdate {
            offers: changes
                .offers
                .iter()
                .map(|offer| (offer.clone(), render(offer)))
                .collect(),
            stakes: changes.stakes.clone(),
            pools: changes.pools.clone(),
            providers: changes.providers.clone(),
        }
    }

    /// Folds a committed batch in.
    pub async fn apply(&self, update: CatalogUpdate) {
        self.inner.write().await.apply(update);
    }

    /// Everything the catalog can show, to compare two catalogs (the indexer's, kept by batches,
    /// with one read afresh from the database).
    pub async fn contents(&self) -> CatalogContents {
        self.inner.read().await.contents()
    }

    /// Runs a search and renders its page as the JSON of an `OfferPage`.
    pub(crate) async fn search(&self, search: &Search) -> String {
        self.inner.read().await.search(search)
    }
}

/// What a catalog shows: every offer's JSON (with its trust level) in id order, and the offer ids in
/// each sort order (price, vCPUs, RAM, newest, available; ascending).
#[derive(Debug, PartialEq, Eq)]
pub struct CatalogContents {
    /// Each offer's JSON, by offer id.
    pub views: Vec<String>,
    /// Offer ids in each order.
    pub orders: [Vec<u32>; 5],
}

/// Searches held off while the database changes under the catalog (a reorg's rollback).
#[derive(Debug)]
pub struct CatalogHold(OwnedRwLockWriteGuard<Catalog>);

impl CatalogHold {
    /// Sets the catalog to that of `state` and lets searches run again.
    pub fn replace(mut self, state: &State) {
        *self.0 = Catalog::build(state);
    }

    /// Empties the catalog and lets searches run again: what to answer when the database changed
    /// and its new state could not be read back.
    pub fn clear(mut self) {
        *self.0 = Catalog::default();
    }
}

/// The JSON of `offer`'s view, without the trust level's value and the closing brace.
fn render(offer: &Offer) -> Box<str> {
    let json =
        serde_json::to_string(&OfferView::with_level(offer, 0)).expect("an offer view serialises");
    let open = json
        .strip_suffix("0}")
        .filter(|j| j.ends_with("\"provider_trust_level\":"))
        .expect("provider_trust_level is the last field of an offer view");
    open.into()
}

/// What a search asks for, checked by the handler.
#[derive(Debug, Default)]
pub(crate) struct Search {
    /// Status code, or every status.
    pub(crate) status: Option<u8>,
    pub(crate) min_vcpus: Option<i64>,
    pub(crate) max_vcpus: Option<i64>,
    pub(crate) min_ram_mib: Option<i64>,
    pub(crate) min_disk_gib: Option<i64>,
    pub(crate) min_gpu_count: Option<i64>,
    pub(crate) min_available: Option<i64>,
    pub(crate) pool: Option<i64>,
    pub(crate) provider: Option<Address>,
    pub(crate) gpu_model: Option<String>,
    pub(crate) region: Option<String>,
    /// An image name (non-empty, without `|`).
    pub(crate) image: Option<String>,
    pub(crate) min_price: Option<U256>,
    pub(crate) max_price: Option<U256>,
    /// Only applied when above zero.
    pub(crate) min_trust: Option<i64>,
    pub(crate) sort: SortBy,
    pub(crate) descending: bool,
    /// The cursor's sort key (as text, checked) and offer id.
    pub(crate) after: Option<(String, i64)>,
    pub(crate) limit: usize,
}

/// Strings (or addresses) numbered in order of first sight, so rows compare numbers.
#[derive(Debug)]
struct Names<T> {
    ids: HashMap<T, u32>,
    values: Vec<T>,
}

impl<T> Default for Names<T> {
    fn default() -> Self {
        Self {
            ids: HashMap::new(),
            values: Vec::new(),
        }
    }
}

impl<T: std::hash::Hash + Eq + Clone> Names<T> {
    fn id(&mut self, value: &T) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = self.values.len() as u32;
        self.ids.insert(value.clone(), id);
        self.values.push(value.clone());
        id
    }

    fn find(&self, value: &T) -> Option<u32> {
        self.ids.get(value).copied()
    }
}

/// The inputs of each `(pool, provider)` trust level and the levels, numbered per pair.
#[derive(Debug, Default)]
struct Trust {
    min_stake: HashMap<u32, U256>,
    bonded: HashMap<(u32, Address), U256>,
    records: HashMap<Address, (u64, u32, u32)>,
    pairs: Names<(u32, Address)>,
    levels: Vec<u8>,
}

impl Trust {
    fn pair(&mut self, pool_id: u32, provider: Address) -> u32 {
        let id = self.pairs.id(&(pool_id, provider));
        if id as usize == self.levels.len() {
            self.levels.push(0);
            self.recompute(id);
        }
        id
    }

    /// The level as the API's `trust_levels` query computes it: a stake row joined to its pool,
    /// with the provider's record when there is one; 0 without a stake or a pool.
    fn recompute(&mut self, id: u32) {
        let (pool_id, provider) = self.pairs.values[id as usize];
        let level = match (
            self.bonded.get(&(pool_id, provider)),
            self.min_stake.get(&pool_id),
        ) {
            (Some(&bonded), Some(&min_stake)) => {
                let (completed_seconds, reclaimed, boot_failed) =
                    self.records.get(&provider).copied().unwrap_or_default();
                trust_level(&TrustInputs {
                    bonded,
                    min_stake,
                    completed_seconds,
                    reclaimed,
                    boot_failed,
                })
            }
            _ => 0,
        };
        self.levels[id as usize] = level;
    }

    fn set_pool(&mut self, pool: &Pool) {
        self.min_stake.insert(pool.pool_id, pool.min_stake);
    }

    fn set_stake(&mut self, stake: &Stake) {
        self.bonded
            .insert((stake.pool_id, stake.provider), stake.bonded);
    }

    fn set_provider(&mut self, record: &Provider) {
        self.records.insert(
            record.provider,
            (
                record.completed_seconds,
                record.reclaimed,
                record.boot_failed,
            ),
        );
    }
}

/// Offers in slots (a slot per offer id, in order of first sight; offers are never deleted, a
/// rollback rebuilds the catalog), each field a column, so that a filter is a sequential pass over
/// one small array into a mask of slots.
#[derive(Debug, Default)]
struct Columns {
    json: Vec<Box<str>>,
    offer_id: Vec<u32>,
    status: Vec<u8>,
    vcpus: Vec<u16>,
    gpu_count: Vec<u16>,
    ram_mib: Vec<u32>,
    disk_gib: Vec<u32>,
    available: Vec<i64>,
    published_at: Vec<i64>,
    price: Vec<U256>,
    /// The price when below `u64::MAX`, else `u64::MAX` (then `price` decides).
    price_low: Vec<u64>,
    pool_id: Vec<u32>,
    provider: Vec<u32>,
    pair: Vec<u32>,
    /// The trust level of `pair`, copied per slot for the `min_trust` pass.
    level: Vec<u8>,
    region: Vec<u32>,
    gpu_model: Vec<u32>,
    image_names: Vec<u32>,
}

/// An offer's sort keys.
#[derive(Clone, Copy, Debug)]
struct Keys {
    price: U256,
    vcpus: i64,
    ram: i64,
    newest: i64,
    available: i64,
}

/// Which slots match: a byte per slot, 1 or 0 (bytes rather than bits so that every filter's pass
/// compiles to vector instructions).
type Bits = Vec<u8>;

/// Keeps the slots whose `column` value passes `keep`.
fn keep<T: Copy>(bits: &mut Bits, column: &[T], keep: impl Fn(T) -> bool) {
    for (bit, &value) in bits.iter_mut().zip(column) {
        *bit &= u8::from(keep(value));
    }
}

/// Keeps the slots whose `column` value is at least `min` (a whole number, never negative).
fn at_least<T: Copy + Ord + TryFrom<i64>>(bits: &mut Bits, column: &[T], min: Option<i64>) {
    match min.map(T::try_from) {
        None => {}
        Some(Ok(min)) => keep(bits, column, |v| v >= min),
        // Above the column type's range: nothing is that large.
        Some(Err(_)) => bits.fill(0),
    }
}

/// The slots set in `bits`, skipping clear ones 32 at a time.
fn slots(bits: &Bits) -> Vec<usize> {
    let mut found = Vec::new();
    for (chunk, bytes) in bits.chunks(32).enumerate() {
        if bytes.iter().fold(0, |any, &b| any | b) == 0 {
            continue;
        }
        for (i, &b) in bytes.iter().enumerate() {
            if b != 0 {
                found.push(chunk * 32 + i);
            }
        }
    }
    found
}

fn is_set(bits: &Bits, slot: usize) -> bool {
    bits[slot] != 0
}

/// Below this many matches a page is cut from the matches sorted, above it by walking the order.
const GATHER_BELOW: usize = 4_096;

/// The catalog proper.
#[derive(Debug, Default)]
struct Catalog {
    slot_of: HashMap<u32, u32>,
    columns: Columns,
    /// Slots whose price is at least `u64::MAX`.
    big_prices: Vec<u32>,
    by_price: BTreeMap<(U256, u32), u32>,
    by_vcpus: BTreeMap<(i64, u32), u32>,
    by_ram: BTreeMap<(i64, u32), u32>,
    by_newest: BTreeMap<(i64, u32), u32>,
    by_available: BTreeMap<(i64, u32), u32>,
    providers: Names<Address>,
    regions: Names<String>,
    gpu_models: Names<String>,
    image_names: Names<String>,
    trust: Trust,
}

impl Catalog {
    fn build(state: &State) -> Self {
        let mut catalog = Self::default();
        for pool in state.pools.rows() {
            catalog.trust.set_pool(pool);
        }
        for stake in state.stakes.rows() {
            catalog.trust.set_stake(stake);
        }
        for record in state.providers.rows() {
            catalog.trust.set_provider(record);
        }
        for offer in state.offers.rows() {
            catalog.put(offer, render(offer));
        }
        catalog
    }

    fn apply(&mut self, update: CatalogUpdate) {
        for pool in &update.pools {
            self.trust.set_pool(pool);
        }
        for stake in &update.stakes {
            self.trust.set_stake(stake);
        }
        for record in &update.providers {
            self.trust.set_provider(record);
        }
        if !(update.pools.is_empty() && update.stakes.is_empty() && update.providers.is_empty()) {
            let pools: HashSet<u32> = update.pools.iter().map(|p| p.pool_id).collect();
            let providers: HashSet<Address> = update.providers.iter().map(|p| p.provider).collect();
            let stakes: HashSet<(u32, Address)> = update
                .stakes
                .iter()
                .map(|s| (s.pool_id, s.provider))
                .collect();
            for id in 0..self.trust.levels.len() as u32 {
                let pair = self.trust.pairs.values[id as usize];
                if pools.contains(&pair.0) || providers.contains(&pair.1) || stakes.contains(&pair)
                {
                    self.trust.recompute(id);
                }
            }
            let c = &mut self.columns;
            for (level, &pair) in c.level.iter_mut().zip(&c.pair) {
                *level = self.trust.levels[pair as usize];
            }
        }
        for (offer, json) in update.offers {
            self.put(&offer, json);
        }
    }

    fn keys(&self, slot: usize) -> Keys {
        let c = &self.columns;
        Keys {
            price: c.price[slot],
            vcpus: c.vcpus[slot].into(),
            ram: c.ram_mib[slot].into(),
            newest: c.published_at[slot],
            available: c.available[slot],
        }
    }

    /// Adds `offer`, or moves it from where its previous version sorted.
    fn put(&mut self, offer: &Offer, json: Box<str>) {
        let id = offer.offer_id;
        let slot = match self.slot_of.get(&id) {
            Some(&slot) => {
                let old = self.keys(slot as usize);
                self.by_price.remove(&(old.price, id));
                self.by_vcpus.remove(&(old.vcpus, id));
                self.by_ram.remove(&(old.ram, id));
                self.by_newest.remove(&(old.newest, id));
                self.by_available.remove(&(old.available, id));
                slot
            }
            None => {
                let slot = self.columns.offer_id.len() as u32;
                self.slot_of.insert(id, slot);
                slot
            }
        };
        let fields = (
            self.providers.id(&offer.provider),
            self.trust.pair(offer.pool_id, offer.provider),
            self.regions.id(&offer.region),
            self.gpu_models.id(&offer.gpu_model),
            self.image_names.id(&offer.image_names),
        );
        let (provider, pair, region, gpu_model, image_names) = fields;
        let price = offer.price_per_second;
        let price_low = u64::try_from(price).unwrap_or(u64::MAX);
        if price_low == u64::MAX && !self.big_prices.contains(&slot) {
            self.big_prices.push(slot);
        }
        let level = self.trust.levels[pair as usize];
        let c = &mut self.columns;
        let at = slot as usize;
        macro_rules! set {
            ($($column:ident = $value:expr),* $(,)?) => {
                if at == c.offer_id.len() {
                    $(c.$column.push($value);)*
                } else {
                    $(c.$column[at] = $value;)*
                }
            };
        }
        set!(
            json = json,
            offer_id = id,
            status = offer.status,
            vcpus = offer.vcpus,
            gpu_count = offer.gpu_count,
            ram_mib = offer.ram_mib,
            disk_gib = offer.disk_gib,
            available = i64::from(offer.capacity) - i64::from(offer.active_leases),
            published_at = i64::try_from(offer.published_at).unwrap_or(i64::MAX),
            price = price,
            price_low = price_low,
            pool_id = offer.pool_id,
            provider = provider,
            pair = pair,
            level = level,
            region = region,
            gpu_model = gpu_model,
            image_names = image_names,
        );
        let new = self.keys(at);
        self.by_price.insert((new.price, id), slot);
        self.by_vcpus.insert((new.vcpus, id), slot);
        self.by_ram.insert((new.ram, id), slot);
        self.by_newest.insert((new.newest, id), slot);
        self.by_available.insert((new.available, id), slot);
    }

    /// The slots of the offers that pass every filter of `search`.
    fn matches(&self, search: &Search) -> Bits {
        let c = &self.columns;
        let count = c.offer_id.len();
        let mut bits: Bits = vec![1; count];
        if let Some(status) = search.status {
            keep(&mut bits, &c.status, |s| s == status);
        }
        at_least(&mut bits, &c.vcpus, search.min_vcpus);
        // A bound above every vCPU count keeps everything.
        if let Some(Ok(max)) = search.max_vcpus.map(u16::try_from) {
            keep(&mut bits, &c.vcpus, |v| v <= max);
        }
        at_least(&mut bits, &c.ram_mib, search.min_ram_mib);
        at_least(&mut bits, &c.disk_gib, search.min_disk_gib);
        at_least(&mut bits, &c.gpu_count, search.min_gpu_count);
        at_least(&mut bits, &c.available, search.min_available);
        if let Some(pool) = search.pool {
            match u32::try_from(pool) {
                Ok(pool) => keep(&mut bits, &c.pool_id, |v| v == pool),
                Err(_) => bits.fill(0),
            }
        }
        let names = [
            (
                search.provider.map(|p| self.providers.find(&p)),
                &c.provider,
            ),
            (
                search.gpu_model.as_ref().map(|g| self.gpu_models.find(g)),
                &c.gpu_model,
            ),
            (
                search.region.as_ref().map(|r| self.regions.find(r)),
                &c.region,
            ),
        ];
        for (wanted, column) in names {
            match wanted {
                None => {}
                // A name no offer has.
                Some(None) => bits.fill(0),
                Some(Some(id)) => keep(&mut bits, column, |v| v == id),
            }
        }
        if let Some(image) = &search.image {
            let needle = format!("|{image}|");
            let holds: Vec<bool> = self
                .image_names
                .values
                .iter()
                .map(|names| names.contains(&needle))
                .collect();
            keep(&mut bits, &c.image_names, |v| holds[v as usize]);
        }
        if search.min_price.is_some() || search.max_price.is_some() {
            // Prices below `u64::MAX` compare as `u64` (a bound above saturates, which keeps the
            // comparison exact); the few above are checked on their full value.
            let low = |bound: Option<U256>, unbounded| {
                bound.map_or(unbounded, |b| u64::try_from(b).unwrap_or(u64::MAX))
            };
            let (min, max) = (low(search.min_price, 0), low(search.max_price, u64::MAX));
            keep(&mut bits, &c.price_low, |p| {
                p == u64::MAX || (p >= min && p <= max)
            });
            for &slot in &self.big_prices {
                let slot = slot as usize;
                let price = c.price[slot];
                if is_set(&bits, slot)
                    && (search.min_price.is_some_and(|m| price < m)
                        || search.max_price.is_some_and(|m| price > m))
                {
                    bits[slot] = 0;
                }
            }
        }
        if let Some(min) = search.min_trust.filter(|&t| t > 0) {
            at_least(&mut bits, &c.level, Some(min));
        }
        bits
    }

    fn search(&self, search: &Search) -> String {
        let bits = self.matches(search);
        let found = bits.iter().map(|&b| usize::from(b)).sum();
        let want = search.limit + 1;
        let c = &self.columns;
        let page = match search.sort {
            SortBy::Price => {
                let clamp = (search.min_price, search.max_price);
                let price = |s: usize| c.price[s];
                match &search.after {
                    None => {
                        self.order_by(&self.by_price, &price, None, clamp, search, &bits, found)
                    }
                    Some((key, id)) => match U256::from_str_radix(key, 10) {
                        Ok(key) => self.order_by(
                            &self.by_price,
                            &price,
                            Some((key, *id)),
                            clamp,
                            search,
                            &bits,
                            found,
                        ),
                        // A 78-digit key above the largest amount sorts after every offer.
                        Err(_) if search.descending => {
                            self.order_by(&self.by_price, &price, None, clamp, search, &bits, found)
                        }
                        Err(_) => Vec::new(),
                    },
                }
            }
            sort => {
                let after = search
                    .after
                    .as_ref()
                    .map(|(key, id)| (key.parse().unwrap_or_default(), *id));
                // Filters on the sort's own column bound the walk.
                let (map, key, clamp): (_, &dyn Fn(usize) -> i64, _) = match sort {
                    SortBy::Vcpus => (
                        &self.by_vcpus,
                        &|s| c.vcpus[s].into(),
                        (search.min_vcpus, search.max_vcpus),
                    ),
                    SortBy::Ram => (
                        &self.by_ram,
                        &|s| c.ram_mib[s].into(),
                        (search.min_ram_mib, None),
                    ),
                    SortBy::Newest => (&self.by_newest, &|s| c.published_at[s], (None, None)),
                    _ => (
                        &self.by_available,
                        &|s| c.available[s],
                        (search.min_available, None),
                    ),
                };
                self.order_by(map, key, after, clamp, search, &bits, found)
            }
        };
        debug_assert!(page.len() <= want);
        self.page(search, &page)
    }

    /// The first `limit + 1` matching slots in the search's order after the cursor: a walk of the
    /// order between the cursor and the bounds `clamp` (the search's own bounds on the sort key)
    /// that checks each offer's bit, when matches are many; the matches sorted when they are few,
    /// or when the walk meets as many offers as there are matches without filling the page (the
    /// matches sit far along the order).
    #[allow(clippy::too_many_arguments)]
    fn order_by<K: Ord + Copy>(
        &self,
        map: &BTreeMap<(K, u32), u32>,
        key: &dyn Fn(usize) -> K,
        after: Option<(K, i64)>,
        clamp: (Option<K>, Option<K>),
        search: &Search,
        bits: &Bits,
        found: usize,
    ) -> Vec<usize> {
        let want = search.limit + 1;
        if found == 0 {
            return Vec::new();
        }
        if found >= GATHER_BELOW
            && let Some(page) = walk(
                map,
                after,
                clamp,
                search.descending,
                want,
                (found / 4).max(GATHER_BELOW),
                |slot| is_set(bits, slot),
            )
        {
            return page;
        }
        let ids = &self.columns.offer_id;
        // Offer ids are `u32`; a cursor's id is any `i64`, compared as SQL compares it.
        let mut gathered: Vec<(K, i64, usize)> = slots(bits)
            .into_iter()
            .map(|slot| (key(slot), i64::from(ids[slot]), slot))
            .filter(|&(key, id, _)| match after {
                None => true,
                Some(after) if search.descending => (key, id) < after,
                Some(after) => (key, id) > after,
            })
            .collect();
        let order = |a: &(K, i64, usize), b: &(K, i64, usize)| {
            let ordering = (a.0, a.1).cmp(&(b.0, b.1));
            if search.descending {
                ordering.reverse()
            } else {
                ordering
            }
        };
        if gathered.len() > want {
            gathered.select_nth_unstable_by(want - 1, order);
            gathered.truncate(want);
        }
        gathered.sort_unstable_by(order);
        gathered.into_iter().map(|(_, _, slot)| slot).collect()
    }

    /// The page's JSON: `{"items": [...], "next_cursor": ...}`.
    fn page(&self, search: &Search, slots: &[usize]) -> String {
        let c = &self.columns;
        let shown = &slots[..slots.len().min(search.limit)];
        let mut body = String::with_capacity(64 + shown.len() * 1024);
        body.push_str("{\"items\":[");
        for (i, &slot) in shown.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&c.json[slot]);
            let level = self.trust.levels[c.pair[slot] as usize];
            let _ = write!(body, "{level}}}");
        }
        body.push_str("],\"next_cursor\":");
        match shown.last().filter(|_| slots.len() > search.limit) {
            Some(&last) => {
                let keys = self.keys(last);
                let key = match search.sort {
                    SortBy::Price => crate::columns::sort_key(keys.price),
                    SortBy::Vcpus => keys.vcpus.to_string(),
                    SortBy::Ram => keys.ram.to_string(),
                    SortBy::Newest => keys.newest.to_string(),
                    SortBy::Available => keys.available.to_string(),
                };
                let cursor = super::offers::make_cursor(
                    search.sort,
                    search.descending,
                    &key,
                    c.offer_id[last],
                );
                // A cursor is hex: nothing to escape.
                let _ = write!(body, "\"{cursor}\"");
            }
            None => body.push_str("null"),
        }
        body.push('}');
        body
    }

    fn contents(&self) -> CatalogContents {
        let c = &self.columns;
        let mut views: Vec<(u32, String)> = (0..c.offer_id.len())
            .map(|slot| {
                let level = self.trust.levels[c.pair[slot] as usize];
                (c.offer_id[slot], format!("{}{level}}}", c.json[slot]))
            })
            .collect();
        views.sort_unstable();
        fn ids<K>(map: &BTreeMap<(K, u32), u32>) -> Vec<u32> {
            map.keys().map(|(_, id)| *id).collect()
        }
        CatalogContents {
            views: views.into_iter().map(|(_, json)| json).collect(),
            orders: [
                ids(&self.by_price),
                ids(&self.by_vcpus),
                ids(&self.by_ram),
                ids(&self.by_newest),
                ids(&self.by_available),
            ],
        }
    }
}

/// The later of two lower bounds.
fn later<T: Ord + Copy>(a: Bound<T>, b: Bound<T>) -> Bound<T> {
    use Bound::{Excluded, Included, Unbounded};
    match (a, b) {
        (Unbounded, x) | (x, Unbounded) => x,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) if x != y => {
            if x > y {
                a
            } else {
                b
            }
        }
        (Excluded(x), _) | (_, Excluded(x)) => Excluded(x),
        (Included(x), Included(_)) => Included(x),
    }
}

/// The earlier of two upper bounds.
fn earlier<T: Ord + Copy>(a: Bound<T>, b: Bound<T>) -> Bound<T> {
    use Bound::{Excluded, Included, Unbounded};
    match (a, b) {
        (Unbounded, x) | (x, Unbounded) => x,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) if x != y => {
            if x < y {
                a
            } else {
                b
            }
        }
        (Excluded(x), _) | (_, Excluded(x)) => Excluded(x),
        (Included(x), Included(_)) => Included(x),
    }
}

/// Whether no key lies between `lower` and `upper`.
fn is_empty<T: Ord>(lower: &Bound<T>, upper: &Bound<T>) -> bool {
    use Bound::{Excluded, Included};
    match (lower, upper) {
        (Included(a), Included(b)) => a > b,
        (Included(a) | Excluded(a), Included(b) | Excluded(b)) => a >= b,
        _ => false,
    }
}

/// Up to `want` accepted slots of `map` after `after` (key and offer id) within the keys `clamp`,
/// in the search's direction; `None` when `budget` offers were met before the page filled.
fn walk<K: Ord + Copy>(
    map: &BTreeMap<(K, u32), u32>,
    after: Option<(K, i64)>,
    clamp: (Option<K>, Option<K>),
    descending: bool,
    want: usize,
    budget: usize,
    accept: impl Fn(usize) -> bool,
) -> Option<Vec<usize>> {
    fn take<'a>(
        slots: impl Iterator<Item = &'a u32>,
        want: usize,
        budget: usize,
        accept: impl Fn(usize) -> bool,
    ) -> Option<Vec<usize>> {
        let mut page = Vec::with_capacity(want);
        for (met, &slot) in slots.enumerate() {
            if met == budget {
                return None;
            }
            if accept(slot as usize) {
                page.push(slot as usize);
                if page.len() == want {
                    break;
                }
            }
        }
        Some(page)
    }
    let mut lower = clamp
        .0
        .map_or(Bound::Unbounded, |k| Bound::Included((k, 0)));
    let mut upper = clamp
        .1
        .map_or(Bound::Unbounded, |k| Bound::Included((k, u32::MAX)));
    // Offer ids are `u32`; a cursor's id is any `i64`, compared as SQL compares it.
    if let Some((key, id)) = after {
        if descending {
            let end = if id < 0 {
                Bound::Excluded((key, 0))
            } else if id > i64::from(u32::MAX) {
                Bound::Included((key, u32::MAX))
            } else {
                Bound::Excluded((key, id as u32))
            };
            upper = earlier(upper, end);
        } else {
            let start = if id < 0 {
                Bound::Included((key, 0))
            } else if id > i64::from(u32::MAX) {
                Bound::Excluded((key, u32::MAX))
            } else {
                Bound::Excluded((key, id as u32))
            };
            lower = later(lower, start);
        }
    }
    if is_empty(&lower, &upper) {
        return Some(Vec::new());
    }
    let range = map.range((lower, upper)).map(|(_, slot)| slot);
    if descending {
        take(range.rev(), want, budget, accept)
    } else {
        take(range, want, budget, accept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Table;
    use serde_json::{Value, json};

    const P1: Address = Address::repeat_byte(0x11);
    const P2: Address = Address::repeat_byte(0x22);

    fn offer(offer_id: u32, provider: Address, price: u64, vcpus: u16, images: &[&str]) -> Offer {
        let list: Vec<Value> = images
            .iter()
            .map(|name| json!({"id": "0x01", "name": name}))
            .collect();
        Offer {
            offer_id,
            provider,
            pool_id: 1,
            status: 1,
            price_per_second: U256::from(price),
            price_key: crate::columns::sort_key(U256::from(price)),
            capacity: 4,
            active_leases: 1,
            images: serde_json::to_string(&list).expect("json"),
            image_names: format!("|{}|", images.join("|")),
            vcpus,
            region: "eu \"west\"".into(),
            published_at: u64::from(offer_id) * 10,
            ..Offer::default()
        }
    }

    fn state(offers: Vec<Offer>) -> State {
        State {
            pools: Table::from_rows([Pool {
                pool_id: 1,
                min_stake: U256::from(100),
                ..Pool::default()
            }]),
            stakes: Table::from_rows([Stake {
                pool_id: 1,
                provider: P1,
                bonded: U256::from(250),
                ..Stake::default()
            }]),
            offers: Table::from_rows(offers),
            ..State::default()
        }
    }

    fn search(sort: SortBy, descending: bool, limit: usize) -> Search {
        Search {
            status: Some(1),
            sort,
            descending,
            limit,
            ..Search::default()
        }
    }

    fn ids(body: &str) -> Vec<u64> {
        let page: Value = serde_json::from_str(body).expect("the page is JSON");
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|o| o["offer_id"].as_u64().expect("an id"))
            .collect()
    }

    #[test]
    fn pages_are_the_json_of_the_views() {
        let offers = vec![
            offer(1, P1, 300, 4, &["ubuntu-24.04", "debian-12"]),
            offer(2, P2, 100, 8, &["ubuntu-24.04"]),
        ];
        let catalog = Catalog::build(&state(offers.clone()));
        let body = catalog.search(&search(SortBy::Price, false, 1));
        let page: Value = serde_json::from_str(&body).expect("the page is JSON");
        let cursor = make_cursor_for(&offers[1]);
        assert_eq!(
            page,
            json!({
                "items": [serde_json::to_value(OfferView::with_level(&offers[1], 0)).expect("json")],
                "next_cursor": cursor,
            })
        );
        let body = catalog.search(&search(SortBy::Price, true, 5));
        let page: Value = serde_json::from_str(&body).expect("the page is JSON");
        // P1 has 2.5 times the pool's minimum: two stake points.
        assert_eq!(
            page,
            json!({
                "items": [
                    serde_json::to_value(OfferView::with_level(&offers[0], 2)).expect("json"),
                    serde_json::to_value(OfferView::with_level(&offers[1], 0)).expect("json"),
                ],
                "next_cursor": null,
            })
        );
    }

    fn make_cursor_for(offer: &Offer) -> String {
        super::super::offers::make_cursor(SortBy::Price, false, &offer.price_key, offer.offer_id)
    }

    #[test]
    fn batches_leave_the_catalog_equal_to_a_rebuild() {
        let mut offers = vec![
            offer(1, P1, 300, 4, &["a"]),
            offer(2, P2, 100, 8, &["b"]),
            offer(3, P1, 200, 2, &["a", "b"]),
        ];
        let mut state = state(offers.clone());
        let kept = OfferCatalog::from_state(&state);
        // An offer changes price and load, one is added, P2 stakes, P1's record and the pool's
        // minimum change the levels.
        offers[0].price_per_second = U256::from(50);
        offers[0].price_key = crate::columns::sort_key(U256::from(50));
        offers[0].active_leases = 4;
        offers.push(offer(4, P2, 200, 16, &["c"]));
        let changes = Changes {
            offers: vec![offers[0].clone(), offers[3].clone()],
            stakes: vec![Stake {
                pool_id: 1,
                provider: P2,
                bonded: U256::from(100),
                ..Stake::default()
            }],
            pools: vec![Pool {
                pool_id: 1,
                min_stake: U256::from(50),
                ..Pool::default()
            }],
            providers: vec![Provider {
                provider: P1,
                completed_seconds: 86_400,
                ..Provider::default()
            }],
            ..Changes::default()
        };
        for row in &changes.offers {
            state.offers.insert(row.clone());
        }
        state.stakes.insert(changes.stakes[0].clone());
        state.pools.insert(changes.pools[0].clone());
        state.providers.insert(changes.providers[0].clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let before = kept.contents().await;
            kept.apply(OfferCatalog::prepare(&changes)).await;
            let after = kept.contents().await;
            assert_ne!(before, after, "the batch changed what the catalog shows");
            assert_eq!(after, OfferCatalog::from_state(&state).contents().await);
            assert_eq!(after.orders[0], [1, 2, 3, 4], "offer 1 is now the cheapest");
            // P1: 250 / 50 → 4 stake points, one service point; P2: 100 / 50 → 2.
            let level = |i: usize| {
                let view: Value = serde_json::from_str(&after.views[i]).expect("json");
                view["provider_trust_level"].as_u64().expect("a level")
            };
            assert_eq!([level(0), level(1), level(2), level(3)], [5, 2, 5, 2]);
        });
    }

    #[test]
    fn filters_match_names_exactly_and_cursors_of_any_id_page_like_sql() {
        let catalog = Catalog::build(&state(vec![
            offer(1, P1, 300, 4, &["a_b", "c"]),
            offer(2, P2, 100, 4, &["axb"]),
            offer(3, P1, 100, 4, &["c"]),
        ]));
        let image = |name: &str| {
            ids(&catalog.search(&Search {
                image: Some(name.into()),
                ..search(SortBy::Price, false, 50)
            }))
        };
        assert_eq!(image("a_b"), [1]);
        assert_eq!(image("c"), [3, 1]);
        assert_eq!(image("a"), Vec::<u64>::new());
        let region = |name: &str| {
            ids(&catalog.search(&Search {
                region: Some(name.into()),
                ..search(SortBy::Price, false, 50)
            }))
        };
        assert_eq!(region("eu \"west\""), [2, 3, 1]);
        assert_eq!(region("eu"), Vec::<u64>::new());
        let after = |sort, descending, key: &str, id| {
            ids(&catalog.search(&Search {
                after: Some((key.to_owned(), id)),
                ..search(sort, descending, 50)
            }))
        };
        // Ties on 4 vCPUs: ids beyond the u32 range still compare as numbers.
        assert_eq!(after(SortBy::Vcpus, false, "4", -1), [1, 2, 3]);
        assert_eq!(after(SortBy::Vcpus, false, "4", 1), [2, 3]);
        assert_eq!(after(SortBy::Vcpus, false, "4", 1 << 40), Vec::<u64>::new());
        assert_eq!(after(SortBy::Vcpus, true, "4", 1 << 40), [3, 2, 1]);
        assert_eq!(after(SortBy::Vcpus, true, "4", 0), Vec::<u64>::new());
        let price = |p: u64| crate::columns::sort_key(U256::from(p));
        assert_eq!(after(SortBy::Price, false, &price(100), 2), [3, 1]);
        assert_eq!(after(SortBy::Price, true, &price(300), 1), [3, 2]);
        // A 78-digit key above the largest amount sorts after every offer.
        let huge = "9".repeat(78);
        assert_eq!(after(SortBy::Price, false, &huge, 0), Vec::<u64>::new());
        assert_eq!(after(SortBy::Price, true, &huge, 0), [1, 3, 2]);
    }
}
