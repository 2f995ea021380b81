//! Events to state: decodes each log of the six contracts and applies it to the [`State`].
//!
//! The rules mirror the contracts' own bookkeeping, event by event, so that the state rebuilt here
//! equals what the contracts hold (the full-state test compares every table with them). Where an event
//! leaves a value implicit, the comment says which contract line it follows.

use crate::{
    columns::hex_address,
    model::{
        Buyer, Lease, Offer, Pool, Provider, Report, Stake, end_reason, lease_status, offer_status,
    },
    state::State,
};
use alloy::{
    primitives::{Address, B256, U256, aliases::U96},
    rpc::types::Log,
    sol_types::SolEventInterface,
};
use serde_json::{Value as Json, json};
use utter_bindings::{
    BuyerTrust::BuyerTrustEvents, Deployment, LeaseEscrow::LeaseEscrowEvents, Offers::OffersEvents,
    Pools::PoolsEvents, ProviderRegistry::ProviderRegistryEvents,
};

/// Where a log sits in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPosition {
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Block timestamp.
    pub block_timestamp: u64,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Index of the log in its block.
    pub log_index: u64,
}

/// One applied event, as stored in the `events` table and sent on the live stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// Where it happened.
    pub position: LogPosition,
    /// The emitting contract's name, e.g. `LeaseEscrow`.
    pub contract: &'static str,
    /// The event's name, e.g. `LeaseOpened`.
    pub kind: &'static str,
    /// The lease it concerns.
    pub lease_id: Option<u64>,
    /// The buyer it concerns.
    pub buyer: Option<Address>,
    /// The provider it concerns.
    pub provider: Option<Address>,
    /// The offer it concerns.
    pub offer_id: Option<u32>,
    /// The pool it concerns.
    pub pool_id: Option<u32>,
    /// The decoded arguments, amounts as decimal strings.
    pub fields: Json,
    /// The raw topics, `0x` hex, comma-separated: with `data`, enough to decode it again.
    pub topics: String,
    /// The raw data, `0x` hex.
    pub data: String,
}

/// What opening a lease stored once and never changes: in the append-only `lease_openings` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseOpeningRecord {
    /// Lease.
    pub lease_id: u64,
    /// Block.
    pub block_number: u64,
    /// The buyer's OpenSSH public key.
    pub ssh_public_key: String,
    /// Cloud-init user data encrypted to the provider, `0x` hex.
    pub encrypted_user_data: String,
    /// Its keccak256, zero when there is none.
    pub user_data_hash: B256,
}

/// An acknowledgement's access details: in the append-only `lease_access` table; the latest row counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseAccessRecord {
    /// Lease.
    pub lease_id: u64,
    /// Block.
    pub block_number: u64,
    /// Index of the log in the block.
    pub log_index: u64,
    /// When it was acknowledged.
    pub acknowledged_at: u64,
    /// The machine's SSH host key fingerprint.
    pub host_key_fingerprint: B256,
    /// The access details encrypted to the buyer's SSH key (age), `0x` hex.
    pub encrypted_access: String,
}

/// What applying a batch of logs appends, besides the changed entities.
#[derive(Debug, Default)]
pub struct Appended {
    /// The events.
    pub events: Vec<EventRecord>,
    /// Lease openings.
    pub openings: Vec<LeaseOpeningRecord>,
    /// Acknowledgements.
    pub access: Vec<LeaseAccessRecord>,
}

/// Why a log could not be applied. Any of these means the indexer and the contracts disagree: it stops.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A log of one of the contracts did not decode as any of its events.
    #[error("log {log_index} of block {block_number} from {contract} does not decode: {reason}")]
    Undecodable {
        /// Block.
        block_number: u64,
        /// Log index.
        log_index: u64,
        /// Contract name.
        contract: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// An event names an entity that no earlier event created.
    #[error("{kind} in block {block_number} refers to unknown {entity} {id}")]
    Unknown {
        /// Block.
        block_number: u64,
        /// Event name.
        kind: &'static str,
        /// Entity kind.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// The log has no block number, hash or index: it is pending, not mined.
    #[error("a log without a block position (pending?) was returned")]
    Unpositioned,
}

/// Applies logs of one deployment to a state.
#[derive(Debug)]
pub struct Applier {
    deployment: Deployment,
}

fn amount(value: U256) -> Json {
    Json::String(value.to_string())
}

fn u96(value: U96) -> U256 {
    U256::from(value)
}

fn sub(a: U256, b: U256) -> U256 {
    a.saturating_sub(b)
}

impl Applier {
    /// An applier for the contracts of `deployment`.
    pub fn new(deployment: Deployment) -> Self {
        Self { deployment }
    }

    /// The addresses whose logs are applied.
    pub fn addresses(&self) -> Vec<Address> {
        let d = &self.deployment;
        vec![d.pools, d.registry, d.offers, d.buyer_trust, d.escrow]
    }

    /// Where `log` sits; `timestamp` is used when the node did not include the block timestamp.
    pub fn position(log: &Log, timestamp: Option<u64>) -> Result<LogPosition, ApplyError> {
        Ok(LogPosition {
            block_number: log.block_number.ok_or(ApplyError::Unpositioned)?,
            block_hash: log.block_hash.ok_or(ApplyError::Unpositioned)?,
            block_timestamp: log
                .block_timestamp
                .or(timestamp)
                .ok_or(ApplyError::Unpositioned)?,
            tx_hash: log.transaction_hash.unwrap_or_default(),
            log_index: log.log_index.ok_or(ApplyError::Unpositioned)?,
        })
    }

    /// Applies one log at `position` to `state`, appending what it records to `out`. Logs of other
    /// addresses are ignored.
    pub fn apply(
        &self,
        state: &mut State,
        log: &Log,
        position: LogPosition,
        out: &mut Appended,
    ) -> Result<(), ApplyError> {
        let address = log.address();
        let d = &self.deployment;
        let undecodable =
            |contract: &'static str, e: alloy::sol_types::Error| ApplyError::Undecodable {
                block_number: position.block_number,
                log_index: position.log_index,
                contract,
                reason: e.to_string(),
            };
        let mut event = EventRecord {
            position: position.clone(),
            contract: "",
            kind: "",
            lease_id: None,
            buyer: None,
            provider: None,
            offer_id: None,
            pool_id: None,
            fields: Json::Null,
            topics: log
                .topics()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            data: log.data().data.to_string(),
        };
        let cx = Cx {
            state,
            position: &position,
            out,
        };
        if address == d.pools {
            event.contract = "Pools";
            let decoded =
                PoolsEvents::decode_log(&log.inner).map_err(|e| undecodable("Pools", e))?;
            cx.pools(decoded.data, &mut event)?;
        } else if address == d.registry {
            event.contract = "ProviderRegistry";
            let decoded = ProviderRegistryEvents::decode_log(&log.inner)
                .map_err(|e| undecodable("ProviderRegistry", e))?;
            cx.registry(decoded.data, &mut event)?;
        } else if address == d.offers {
            event.contract = "Offers";
            let decoded =
                OffersEvents::decode_log(&log.inner).map_err(|e| undecodable("Offers", e))?;
            cx.offers(decoded.data, &mut event)?;
        } else if address == d.buyer_trust {
            event.contract = "BuyerTrust";
            let decoded = BuyerTrustEvents::decode_log(&log.inner)
                .map_err(|e| undecodable("BuyerTrust", e))?;
            cx.buyer_trust(decoded.data, &mut event)?;
        } else if address == d.escrow {
            event.contract = "LeaseEscrow";
            let decoded = LeaseEscrowEvents::decode_log(&log.inner)
                .map_err(|e| undecodable("LeaseEscrow", e))?;
            cx.escrow(decoded.data, &mut event)?;
        } else {
            return Ok(());
        }
        out.events.push(event);
        Ok(())
    }
}

/// The context of one log being applied.
struct Cx<'a> {
    state: &'a mut State,
    position: &'a LogPosition,
    out: &'a mut Appended,
}

impl Cx<'_> {
    fn unknown(&self, kind: &'static str, entity: &'static str, id: impl ToString) -> ApplyError {
        ApplyError::Unknown {
            block_number: self.position.block_number,
            kind,
            entity,
            id: id.to_string(),
        }
    }

    fn now(&self) -> u64 {
        self.position.block_timestamp
    }

    fn pools(self, event: PoolsEvents, record: &mut EventRecord) -> Result<(), ApplyError> {
        match event {
            PoolsEvents::PoolCreated(e) => {
                record.kind = "PoolCreated";
                record.pool_id = Some(e.poolId);
                record.fields = json!({"poolId": e.poolId, "operator": hex_address(&e.operator), "name": e.config.name});
                let mut pool = Pool {
                    pool_id: e.poolId,
                    operator: e.operator,
                    created_at: self.now(),
                    ..Pool::default()
                };
                configure(&mut pool, &e.config);
                self.state.pools.insert(pool);
            }
            PoolsEvents::PoolUpdated(e) => {
                record.kind = "PoolUpdated";
                record.pool_id = Some(e.poolId);
                record.fields =
                    json!({"poolId": e.poolId, "name": e.config.name, "feeBps": e.config.feeBps});
                let unknown = self.unknown(record.kind, "pool", e.poolId);
                let pool = self.state.pools.update(&e.poolId).ok_or(unknown)?;
                configure(pool, &e.config);
            }
            PoolsEvents::OperatorTransferStarted(e) => {
                record.kind = "OperatorTransferStarted";
                record.pool_id = Some(e.poolId);
                record.fields = json!({"poolId": e.poolId, "operator": hex_address(&e.operator), "pendingOperator": hex_address(&e.pendingOperator)});
                let unknown = self.unknown(record.kind, "pool", e.poolId);
                let pool = self.state.pools.update(&e.poolId).ok_or(unknown)?;
                pool.pending_operator = e.pendingOperator;
            }
            PoolsEvents::OperatorTransferred(e) => {
                record.kind = "OperatorTransferred";
                record.pool_id = Some(e.poolId);
                record.fields = json!({"poolId": e.poolId, "previousOperator": hex_address(&e.previousOperator), "newOperator": hex_address(&e.newOperator)});
                let unknown = self.unknown(record.kind, "pool", e.poolId);
                let pool = self.state.pools.update(&e.poolId).ok_or(unknown)?;
                pool.operator = e.newOperator;
                pool.pending_operator = Address::ZERO;
            }
        }
        Ok(())
    }

    fn stake_mut(&mut self, pool_id: u32, provider: Address) -> &mut Stake {
        self.state.stakes.upsert((pool_id, provider), || Stake {
            pool_id,
            provider,
            ..Stake::default()
        })
    }

    fn provider_mut(&mut self, provider: Address) -> &mut Provider {
        self.state.providers.upsert(provider, || Provider {
            provider,
            ..Provider::default()
        })
    }

    fn buyer_mut(&mut self, buyer: Address) -> &mut Buyer {
        self.state.buyers.upsert(buyer, || Buyer {
            buyer,
            ..Buyer::default()
        })
    }

    fn registry(
        mut self,
        event: ProviderRegistryEvents,
        record: &mut EventRecord,
    ) -> Result<(), ApplyError> {
        match event {
            ProviderRegistryEvents::ProviderJoined(e) => {
                record.kind = "ProviderJoined";
                record.pool_id = Some(e.poolId);
                record.provider = Some(e.provider);
                record.fields = json!({"poolId": e.poolId, "provider": hex_address(&e.provider)});
                self.stake_mut(e.poolId, e.provider).joined = true;
                self.provider_mut(e.provider);
                let unknown = self.unknown(record.kind, "pool", e.poolId);
                self.state
                    .pools
                    .update(&e.poolId)
                    .ok_or(unknown)?
                    .provider_count += 1;
            }
            ProviderRegistryEvents::Staked(e) => {
                record.kind = "Staked";
                record.pool_id = Some(e.poolId);
                record.provider = Some(e.provider);
                record.fields = json!({"poolId": e.poolId, "provider": hex_address(&e.provider), "amount": amount(e.amount), "bonded": amount(e.bonded)});
                self.stake_mut(e.poolId, e.provider).bonded = e.bonded;
            }
            ProviderRegistryEvents::UnbondingStarted(e) => {
                record.kind = "UnbondingStarted";
                record.pool_id = Some(e.poolId);
                record.provider = Some(e.provider);
                record.fields = json!({"poolId": e.poolId, "provider": hex_address(&e.provider), "amount": amount(e.amount), "bonded": amount(e.bonded), "unbonding": amount(e.unbonding), "unbondingEnds": e.unbondingEnds.to::<u64>()});
                let stake = self.stake_mut(e.poolId, e.provider);
                stake.bonded = e.bonded;
                stake.unbonding = e.unbonding;
                stake.unbonding_ends = e.unbondingEnds.to();
            }
            ProviderRegistryEvents::UnbondedWithdrawn(e) => {
                record.kind = "UnbondedWithdrawn";
                record.pool_id = Some(e.poolId);
                record.provider = Some(e.provider);
                record.fields = json!({"poolId": e.poolId, "provider": hex_address(&e.provider), "to": hex_address(&e.to), "amount": amount(e.amount)});
                // `withdrawUnbonded` zeroes the unbonding stake and keeps its end time.
                self.stake_mut(e.poolId, e.provider).unbonding = U256::ZERO;
            }
            ProviderRegistryEvents::ProviderSlashed(e) => {
                record.kind = "ProviderSlashed";
                record.pool_id = Some(e.poolId);
                record.provider = Some(e.provider);
                record.fields = json!({"poolId": e.poolId, "provider": hex_address(&e.provider), "recipient": hex_address(&e.recipient), "amount": amount(e.amount), "bonded": amount(e.bonded), "unbonding": amount(e.unbonding)});
                let stake = self.stake_mut(e.poolId, e.provider);
                stake.bonded = e.bonded;
                stake.unbonding = e.unbonding;
                stake.slashed += e.amount;
            }
            ProviderRegistryEvents::EncryptionKeySet(e) => {
                record.kind = "EncryptionKeySet";
                record.provider = Some(e.provider);
                record.fields = json!({"provider": hex_address(&e.provider), "x25519PublicKey": e.x25519PublicKey.to_string()});
                self.provider_mut(e.provider).encryption_key = e.x25519PublicKey;
            }
        }
        Ok(())
    }

    fn offers(self, event: OffersEvents, record: &mut EventRecord) -> Result<(), ApplyError> {
        use utter_bindings::Offers::{OfferSpec, OfferTerms};
        fn describe(offer: &mut Offer, spec: &OfferSpec, terms: &OfferTerms) {
            offer.vcpus = spec.vcpus;
            offer.ram_mib = spec.ramMiB;
            offer.disk_gib = spec.diskGiB;
            offer.gpu_count = spec.gpuCount;
            offer.gpu_model = spec.gpuModel.clone();
            offer.bandwidth_up_mbps = spec.bandwidthUpMbps;
            offer.bandwidth_down_mbps = spec.bandwidthDownMbps;
            offer.public_ipv4 = spec.publicIpv4;
            offer.public_ipv6 = spec.publicIpv6;
            offer.region = spec.region.clone();
            offer.price_per_second = u96(terms.pricePerSecond);
            offer.price_key = crate::columns::sort_key(offer.price_per_second);
            offer.capacity = terms.capacity;
            offer.boot_timeout = terms.bootTimeout;
            offer.retention = terms.retention;
        }
        let set_status = |cx: Cx<'_>, record: &mut EventRecord, id: u32, status: u8| {
            let unknown = cx.unknown(record.kind, "offer", id);
            record.offer_id = Some(id);
            record.fields = json!({"offerId": id});
            let offer = cx.state.offers.update(&id).ok_or(unknown)?;
            offer.status = status;
            record.provider = Some(offer.provider);
            record.pool_id = Some(offer.pool_id);
            Ok(())
        };
        match event {
            OffersEvents::OfferPublished(e) => {
                record.kind = "OfferPublished";
                record.offer_id = Some(e.offerId);
                record.provider = Some(e.provider);
                record.pool_id = Some(e.poolId);
                record.fields = json!({"offerId": e.offerId, "provider": hex_address(&e.provider), "poolId": e.poolId, "region": e.spec.region, "pricePerSecond": amount(u96(e.terms.pricePerSecond)), "capacity": e.terms.capacity});
                let mut offer = Offer {
                    offer_id: e.offerId,
                    provider: e.provider,
                    pool_id: e.poolId,
                    status: offer_status::ACTIVE,
                    images: "[]".into(),
                    image_names: "|".into(),
                    published_at: self.now(),
                    ..Offer::default()
                };
                describe(&mut offer, &e.spec, &e.terms);
                self.state.offers.insert(offer);
                let provider = self.state.providers.upsert(e.provider, || Provider {
                    provider: e.provider,
                    ..Provider::default()
                });
                provider.offer_count += 1;
            }
            OffersEvents::OfferUpdated(e) => {
                record.kind = "OfferUpdated";
                record.offer_id = Some(e.offerId);
                record.fields = json!({"offerId": e.offerId, "region": e.spec.region, "pricePerSecond": amount(u96(e.terms.pricePerSecond)), "capacity": e.terms.capacity});
                let unknown = self.unknown(record.kind, "offer", e.offerId);
                let offer = self.state.offers.update(&e.offerId).ok_or(unknown)?;
                describe(offer, &e.spec, &e.terms);
                record.provider = Some(offer.provider);
                record.pool_id = Some(offer.pool_id);
            }
            OffersEvents::OfferImagesSet(e) => {
                record.kind = "OfferImagesSet";
                record.offer_id = Some(e.offerId);
                let images: Vec<Json> = e
                    .images
                    .iter()
                    .map(|image| json!({"id": image.id.to_string(), "name": image.name}))
                    .collect();
                record.fields =
                    json!({"offerId": e.offerId, "revision": e.revision, "images": images});
                let unknown = self.unknown(record.kind, "offer", e.offerId);
                let offer = self.state.offers.update(&e.offerId).ok_or(unknown)?;
                offer.images_revision = e.revision;
                offer.images = Json::Array(images).to_string();
                offer.image_names =
                    crate::model::image_names_key(e.images.iter().map(|i| i.name.as_str()));
                record.provider = Some(offer.provider);
                record.pool_id = Some(offer.pool_id);
            }
            OffersEvents::OfferPaused(e) => {
                record.kind = "OfferPaused";
                set_status(self, record, e.offerId, offer_status::PAUSED)?;
            }
            OffersEvents::OfferResumed(e) => {
                record.kind = "OfferResumed";
                set_status(self, record, e.offerId, offer_status::ACTIVE)?;
            }
            OffersEvents::OfferRetired(e) => {
                record.kind = "OfferRetired";
                set_status(self, record, e.offerId, offer_status::RETIRED)?;
            }
        }
        Ok(())
    }

    fn buyer_trust(
        mut self,
        event: BuyerTrustEvents,
        record: &mut EventRecord,
    ) -> Result<(), ApplyError> {
        match event {
            BuyerTrustEvents::Deposited(e) => {
                record.kind = "Deposited";
                record.buyer = Some(e.buyer);
                record.fields = json!({"buyer": hex_address(&e.buyer), "amount": amount(e.amount), "deposit": amount(e.deposit)});
                self.buyer_mut(e.buyer).deposit = e.deposit;
            }
            BuyerTrustEvents::WithdrawalRequested(e) => {
                record.kind = "WithdrawalRequested";
                record.buyer = Some(e.buyer);
                record.fields = json!({"buyer": hex_address(&e.buyer), "amount": amount(e.amount), "deposit": amount(e.deposit), "unbonding": amount(e.unbonding), "unbondingEnds": e.unbondingEnds.to::<u64>()});
                let buyer = self.buyer_mut(e.buyer);
                buyer.deposit = e.deposit;
                buyer.unbonding = e.unbonding;
                buyer.unbonding_ends = e.unbondingEnds.to();
            }
            BuyerTrustEvents::Withdrawn(e) => {
                record.kind = "Withdrawn";
                record.buyer = Some(e.buyer);
                record.fields = json!({"buyer": hex_address(&e.buyer), "to": hex_address(&e.to), "amount": amount(e.amount)});
                self.buyer_mut(e.buyer).unbonding = U256::ZERO;
            }
            BuyerTrustEvents::AbuseReported(e) => {
                record.kind = "AbuseReported";
                let report_id: u64 = e.reportId.to();
                let lease_id: u64 = e.leaseId.to();
                record.lease_id = Some(lease_id);
                record.buyer = Some(e.buyer);
                record.provider = Some(e.provider);
                record.pool_id = Some(e.poolId);
                record.fields = json!({"reportId": report_id, "leaseId": lease_id, "buyer": hex_address(&e.buyer), "provider": hex_address(&e.provider), "poolId": e.poolId, "evidenceURI": e.evidenceURI});
                let now = self.now();
                self.state.reports.insert(Report {
                    report_id,
                    lease_id,
                    buyer: e.buyer,
                    provider: e.provider,
                    pool_id: e.poolId,
                    status: 1,
                    evidence_uri: e.evidenceURI,
                    slashed: U256::ZERO,
                    reported_at: now,
                });
                // `BuyerTrust._freeze`: one more open report, frozen for the ruling period from now.
                let buyer = self.buyer_mut(e.buyer);
                buyer.open_reports += 1;
                buyer.frozen_until = now + RULING_PERIOD;
            }
            BuyerTrustEvents::ReportResolved(e) => {
                record.kind = "ReportResolved";
                let report_id: u64 = e.reportId.to();
                record.buyer = Some(e.buyer);
                record.fields = json!({"reportId": report_id, "buyer": hex_address(&e.buyer), "upheld": e.upheld, "slashed": amount(e.slashed), "deposit": amount(e.deposit), "unbonding": amount(e.unbonding)});
                let unknown = self.unknown(record.kind, "report", report_id);
                let report = self.state.reports.update(&report_id).ok_or(unknown)?;
                report.status = if e.upheld { 2 } else { 3 };
                report.slashed = e.slashed;
                record.lease_id = Some(report.lease_id);
                record.provider = Some(report.provider);
                record.pool_id = Some(report.pool_id);
                let buyer = self.buyer_mut(e.buyer);
                buyer.open_reports = buyer.open_reports.saturating_sub(1);
                if buyer.open_reports == 0 {
                    buyer.frozen_until = 0;
                }
                buyer.deposit = e.deposit;
                buyer.unbonding = e.unbonding;
            }
        }
        Ok(())
    }

    fn lease(&mut self, kind: &'static str, lease_id: u64) -> Result<&mut Lease, ApplyError> {
        let unknown = self.unknown(kind, "lease", lease_id);
        self.state.leases.update(&lease_id).ok_or(unknown)
    }

    /// Takes a running lease out of the compute rates (`LeaseEscrow._deactivate`).
    fn deactivate(&mut self, price: U256, pool_id: u32, anonymous: bool) -> Result<(), ApplyError> {
        let market = self.state.market_mut();
        market.global_rate = sub(market.global_rate, price);
        market.running_leases = market.running_leases.saturating_sub(1);
        if anonymous {
            market.anon_rate = sub(market.anon_rate, price);
            let unknown = self.unknown("deactivate", "pool", pool_id);
            let pool = self.state.pools.update(&pool_id).ok_or(unknown)?;
            pool.anon_rate = sub(pool.anon_rate, price);
        }
        Ok(())
    }

    fn escrow(
        mut self,
        event: LeaseEscrowEvents,
        record: &mut EventRecord,
    ) -> Result<(), ApplyError> {
        match event {
            LeaseEscrowEvents::LeaseOpened(e) => {
                record.kind = "LeaseOpened";
                let lease_id: u64 = e.leaseId.to();
                let o = &e.opening;
                record.lease_id = Some(lease_id);
                record.offer_id = Some(e.offerId);
                record.buyer = Some(e.buyer);
                record.provider = Some(o.provider);
                record.pool_id = Some(o.poolId);
                record.fields = json!({
                    "leaseId": lease_id, "offerId": e.offerId, "buyer": hex_address(&e.buyer),
                    "provider": hex_address(&o.provider), "poolId": o.poolId, "imageId": o.imageId.to_string(),
                    "pricePerSecond": amount(u96(o.pricePerSecond)), "deposit": amount(u96(o.deposit)),
                    "anonFee": amount(u96(o.anonFee)), "isAnonymous": o.isAnonymous, "feeBps": o.feeBps,
                    "bootDeadline": o.bootDeadline.to::<u64>(),
                });
                let now = self.now();
                self.state.leases.insert(Lease {
                    lease_id,
                    buyer: e.buyer,
                    offer_id: e.offerId,
                    provider: o.provider,
                    pool_id: o.poolId,
                    image_id: o.imageId,
                    status: lease_status::PENDING,
                    end_reason: 0,
                    is_anonymous: o.isAnonymous,
                    price_per_second: u96(o.pricePerSecond),
                    funds: u96(o.deposit),
                    settled_at: now,
                    deadline: o.bootDeadline.to(),
                    fee_bps: o.feeBps,
                    deposit: u96(o.deposit),
                    anon_fee: u96(o.anonFee),
                    opened_at: now,
                    opened_block: self.position.block_number,
                    ..Lease::default()
                });
                self.out.openings.push(LeaseOpeningRecord {
                    lease_id,
                    block_number: self.position.block_number,
                    ssh_public_key: o.sshPublicKey.clone(),
                    encrypted_user_data: o.encryptedUserData.to_string(),
                    user_data_hash: o.userDataHash,
                });
                let unknown = self.unknown(record.kind, "offer", e.offerId);
                let offer = self.state.offers.update(&e.offerId).ok_or(unknown)?;
                offer.active_leases += 1;
                offer.total_leases += 1;
                self.provider_mut(o.provider).lease_count += 1;
                let buyer = self.buyer_mut(e.buyer);
                buyer.active += 1;
                buyer.opened += 1;
                // The anonymous-start fee accrues to the pool (`_chargeAnonStart`).
                if o.anonFee != U96::ZERO {
                    let unknown = self.unknown(record.kind, "pool", o.poolId);
                    self.state.pools.update(&o.poolId).ok_or(unknown)?.fees += u96(o.anonFee);
                }
                self.state.market_mut().lease_count += 1;
            }
            LeaseEscrowEvents::LeaseAcknowledged(e) => {
                record.kind = "LeaseAcknowledged";
                let lease_id: u64 = e.leaseId.to();
                record.lease_id = Some(lease_id);
                record.provider = Some(e.provider);
                let started_at: u64 = e.startedAt.to();
                record.fields = json!({"leaseId": lease_id, "provider": hex_address(&e.provider), "startedAt": started_at, "paidUntil": e.paidUntil.to::<u64>(), "hostKeyFingerprint": e.hostKeyFingerprint.to_string()});
                let lease = self.lease(record.kind, lease_id)?;
                lease.status = lease_status::RUNNING;
                lease.settled_at = started_at;
                lease.started_at = started_at;
                let (price, pool_id, anonymous) =
                    (lease.price_per_second, lease.pool_id, lease.is_anonymous);
                record.buyer = Some(lease.buyer);
                record.offer_id = Some(lease.offer_id);
                record.pool_id = Some(pool_id);
                // `_activate`: the lease enters the compute rates.
                let market = self.state.market_mut();
                market.global_rate += price;
                market.running_leases += 1;
                if anonymous {
                    market.anon_rate += price;
                    let unknown = self.unknown(record.kind, "pool", pool_id);
                    self.state.pools.update(&pool_id).ok_or(unknown)?.anon_rate += price;
                }
                self.out.access.push(LeaseAccessRecord {
                    lease_id,
                    block_number: self.position.block_number,
                    log_index: self.position.log_index,
                    acknowledged_at: started_at,
                    host_key_fingerprint: e.hostKeyFingerprint,
                    encrypted_access: e.encryptedAccess.to_string(),
                });
            }
            LeaseEscrowEvents::LeaseToppedUp(e) => {
                record.kind = "LeaseToppedUp";
                let lease_id: u64 = e.leaseId.to();
                record.lease_id = Some(lease_id);
                record.fields = json!({"leaseId": lease_id, "payer": hex_address(&e.payer), "amount": amount(e.amount), "funds": amount(e.funds), "resumed": e.resumed, "restartDeadline": e.restartDeadline.to::<u64>()});
                let lease = self.lease(record.kind, lease_id)?;
                lease.funds = e.funds;
                lease.topped_up += e.amount;
                if e.resumed {
                    lease.status = lease_status::RESTART_PENDING;
                    lease.deadline = e.restartDeadline.to();
                }
                fill_parties(record, lease);
            }
            LeaseEscrowEvents::LeaseHalted(e) => {
                record.kind = "LeaseHalted";
                let lease_id: u64 = e.leaseId.to();
                record.lease_id = Some(lease_id);
                let halted_at: u64 = e.haltedAt.to();
                record.fields = json!({"leaseId": lease_id, "haltedAt": halted_at, "retentionEnds": e.retentionEnds.to::<u64>()});
                let lease = self.lease(record.kind, lease_id)?;
                lease.status = lease_status::HALTED;
                lease.settled_at = halted_at;
                lease.deadline = e.retentionEnds.to();
                fill_parties(record, lease);
                let (price, pool_id, anonymous) =
                    (lease.price_per_second, lease.pool_id, lease.is_anonymous);
                self.deactivate(price, pool_id, anonymous)?;
            }
            LeaseEscrowEvents::LeaseSettled(e) => {
                record.kind = "LeaseSettled";
                let lease_id: u64 = e.leaseId.to();
                record.lease_id = Some(lease_id);
                let billed: u64 = e.billedSeconds.saturating_to();
                record.fields = json!({"leaseId": lease_id, "earned": amount(e.earned), "billedSeconds": billed});
                let lease = self.lease(record.kind, lease_id)?;
                // Every settlement bills from `settledAt` on; for a running lease that stays running
                // (`_payOut`) `settledAt` moves to now, which is `settledAt + billedSeconds`. A halt
                // or an end sets it again in its own event.
                lease.settled_at += billed;
                lease.billed_seconds += billed;
                fill_parties(record, lease);
                let (buyer, provider) = (lease.buyer, lease.provider);
                // `_recordEarnings`: karma saturates at uint96.
                let buyer = self.buyer_mut(buyer);
                buyer.karma = (buyer.karma + e.earned).min(U256::from(U96::MAX));
                self.provider_mut(provider).completed_seconds += billed;
            }
            LeaseEscrowEvents::LeasePaidOut(e) => {
                record.kind = "LeasePaidOut";
                let lease_id: u64 = e.leaseId.to();
                record.lease_id = Some(lease_id);
                record.fields = json!({"leaseId": lease_id, "provider": hex_address(&e.provider), "amount": amount(e.amount), "poolFee": amount(e.poolFee)});
                let lease = self.lease(record.kind, lease_id)?;
                lease.funds = sub(lease.funds, e.amount + e.poolFee);
                lease.paid_out += e.amount;
                lease.pool_fees += e.poolFee;
                fill_parties(record, lease);
                let pool_id = lease.pool_id;
                self.provider_mut(e.provider).earned += e.amount;
                let unknown = self.unknown(record.kind, "pool", pool_id);
                self.state.pools.update(&pool_id).ok_or(unknown)?.fees += e.poolFee;
            }
            LeaseEscrowEvents::LeaseEnded(e) => {
                record.kind = "LeaseEnded";
                let lease_id: u64 = e.leaseId.to();
                record.lease_id = Some(lease_id);
                let ended_at: u64 = e.endedAt.to();
                record.fields = json!({"leaseId": lease_id, "reason": e.reason, "endedAt": ended_at, "refund": amount(e.refund), "slashed": amount(e.slashed)});
                let lease = self.lease(record.kind, lease_id)?;
                let was_running = lease.status == lease_status::RUNNING;
                lease.status = lease_status::CLOSED;
                lease.end_reason = e.reason;
                lease.settled_at = ended_at;
                lease.ended_at = ended_at;
                lease.deadline = 0;
                lease.funds = sub(lease.funds, e.refund);
                lease.refunded += e.refund;
                lease.slashed = e.slashed;
                fill_parties(record, lease);
                let (price, pool_id, anonymous) =
                    (lease.price_per_second, lease.pool_id, lease.is_anonymous);
                let (offer_id, buyer, provider) = (lease.offer_id, lease.buyer, lease.provider);
                // A running lease ended early leaves the rates (`_endEarly`); a halted one already did.
                if was_running {
                    self.deactivate(price, pool_id, anonymous)?;
                }
                let unknown = self.unknown(record.kind, "offer", offer_id);
                let offer = self.state.offers.update(&offer_id).ok_or(unknown)?;
                offer.active_leases = offer.active_leases.saturating_sub(1);
                let buyer = self.buyer_mut(buyer);
                buyer.active = buyer.active.saturating_sub(1);
                buyer.last_ended_at = ended_at;
                let provider = self.provider_mut(provider);
                match e.reason {
                    end_reason::BUYER_STOPPED => provider.buyer_stopped += 1,
                    end_reason::RAN_DRY => provider.ran_dry += 1,
                    end_reason::BOOT_FAILED => provider.boot_failed += 1,
                    end_reason::PROVIDER_TERMINATED => provider.terminated += 1,
                    _ => provider.reclaimed += 1,
                }
            }
            LeaseEscrowEvents::EarningsWithdrawn(e) => {
                record.kind = "EarningsWithdrawn";
                record.provider = Some(e.provider);
                record.fields = json!({"provider": hex_address(&e.provider), "to": hex_address(&e.to), "amount": amount(e.amount), "leaseCount": e.leaseCount.saturating_to::<u64>()});
                self.provider_mut(e.provider).withdrawn += e.amount;
            }
            LeaseEscrowEvents::PoolFeesWithdrawn(e) => {
                record.kind = "PoolFeesWithdrawn";
                record.pool_id = Some(e.poolId);
                record.fields = json!({"poolId": e.poolId, "to": hex_address(&e.to), "amount": amount(e.amount)});
                let unknown = self.unknown(record.kind, "pool", e.poolId);
                let pool = self.state.pools.update(&e.poolId).ok_or(unknown)?;
                pool.fees = sub(pool.fees, e.amount);
                pool.fees_withdrawn += e.amount;
            }
            LeaseEscrowEvents::AnonFeeUpdated(e) => {
                record.kind = "AnonFeeUpdated";
                record.pool_id = Some(e.poolId);
                record.fields = json!({"poolId": e.poolId, "fee": amount(e.fee), "checkpointAt": e.checkpointAt.to::<u64>(), "anonRate": amount(e.anonRate), "globalRate": amount(e.globalRate)});
                let unknown = self.unknown(record.kind, "pool", e.poolId);
                let pool = self.state.pools.update(&e.poolId).ok_or(unknown)?;
                pool.anon_fee = e.fee;
                pool.anon_fee_updated_at = e.checkpointAt.to();
            }
            LeaseEscrowEvents::KarmaReset(e) => {
                record.kind = "KarmaReset";
                record.buyer = Some(e.buyer);
                record.fields = json!({"buyer": hex_address(&e.buyer)});
                self.buyer_mut(e.buyer).karma = U256::ZERO;
            }
        }
        Ok(())
    }
}

/// Seconds a buyer's deposit stays frozen by an open report if the operator never rules
/// (`BuyerTrust.RULING_PERIOD`).
pub const RULING_PERIOD: u64 = 30 * 24 * 3600;

fn fill_parties(record: &mut EventRecord, lease: &Lease) {
    record.buyer = Some(lease.buyer);
    record.provider = Some(lease.provider);
    record.offer_id = Some(lease.offer_id);
    record.pool_id = Some(lease.pool_id);
}

fn configure(pool: &mut Pool, config: &utter_bindings::Pools::PoolConfig) {
    pool.name = config.name.clone();
    pool.metadata_uri = config.metadataURI.clone();
    pool.fee_bps = config.feeBps;
    pool.no_boot_slash_bps = config.noBootSlashBps;
    pool.boot_fail_slash_bps = config.bootFailSlashBps;
    pool.provider_unbonding = config.providerUnbonding;
    pool.min_stake = u96(config.minStake);
    let t = &config.trust;
    pool.trusted_deposit = u96(t.trustedDeposit);
    pool.trusted_karma = u96(t.trustedKarma);
    pool.anon_target_share_bps = t.anonTargetShareBps;
    pool.max_buyer_slash_bps = t.maxBuyerSlashBps;
    pool.base_leases = t.baseLeases;
    pool.max_leases = t.maxLeases;
    pool.deposit_per_lease = u96(t.depositPerLease);
    pool.karma_per_lease = u96(t.karmaPerLease);
    pool.anon_min_fee = u96(t.anonMinFee);
    pool.anon_max_fee = u96(t.anonMaxFee);
}
