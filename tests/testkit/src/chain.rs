//! Reading the exchange's whole state from the contracts, at one block, into a [`Snapshot`].
//!
//! Every id space starts at 1 (`++count` in `Pools.createPool`, `Offers.publishOffer`,
//! `LeaseEscrow.openLease` and `BuyerTrust.reportAbuse`), so the ids are `1..=count`. Per-address
//! state (stakes, provider records, buyer records) has no enumeration on chain: the caller names the
//! addresses to look at.

use crate::snapshot::{
    BuyerState, LeaseState, OfferState, PoolState, ProviderState, ReportState, Snapshot, StakeState,
};
use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::BlockId,
};
use futures::{StreamExt, TryStreamExt, stream};
use std::future::Future;
use utter_bindings::{BuyerTrust, Deployment, LeaseEscrow, Offers, Pools, ProviderRegistry};

/// How many calls are in flight at once.
const CONCURRENCY: usize = 64;

/// Why [`read_snapshot`] failed.
#[derive(Debug, thiserror::Error)]
#[error("reading {what} from the contracts: {source}")]
pub struct ReadError {
    /// Which view call failed, with its arguments.
    pub what: String,
    /// The cause.
    #[source]
    pub source: alloy::contract::Error,
}

/// Attaches the name of the call that failed.
fn named(what: impl FnOnce() -> String) -> impl FnOnce(alloy::contract::Error) -> ReadError {
    move |source| ReadError {
        what: what(),
        source,
    }
}

/// Runs `read` for every item, [`CONCURRENCY`] at a time, keeping the items' order.
async fn read_all<I, T, F, Fut>(items: I, read: F) -> Result<Vec<T>, ReadError>
where
    I: IntoIterator,
    F: Fn(I::Item) -> Fut,
    Fut: Future<Output = Result<T, ReadError>>,
{
    stream::iter(items)
        .map(read)
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// Reads the whole state of `deployment` at `block`: every pool, offer, lease and report, the global
/// rate, and for each of `addresses` its stakes (pools it joined), its provider record (when non-zero
/// or it set an encryption key) and its buyer record (when it ever opened a lease or holds a deposit).
///
/// Every call is pinned to `block`, so the snapshot is consistent even while the chain moves on;
/// `block` should therefore be a number or hash, not a tag like `latest`.
pub async fn read_snapshot<P: Provider>(
    provider: &P,
    deployment: &Deployment,
    addresses: &[Address],
    block: BlockId,
) -> Result<Snapshot, ReadError> {
    let pools_c = Pools::new(deployment.pools, provider);
    let registry = ProviderRegistry::new(deployment.registry, provider);
    let offers_c = Offers::new(deployment.offers, provider);
    let trust = BuyerTrust::new(deployment.buyer_trust, provider);
    let escrow = LeaseEscrow::new(deployment.escrow, provider);

    let (pool_count, offer_count, lease_count, report_count, global_rate) = futures::try_join!(
        async {
            pools_c
                .poolCount()
                .block(block)
                .call()
                .await
                .map_err(named(|| "Pools.poolCount".into()))
        },
        async {
            offers_c
                .offerCount()
                .block(block)
                .call()
                .await
                .map_err(named(|| "Offers.offerCount".into()))
        },
        async {
            escrow
                .leaseCount()
                .block(block)
                .call()
                .await
                .map_err(named(|| "LeaseEscrow.leaseCount".into()))
        },
        async {
            trust
                .reportCount()
                .block(block)
                .call()
                .await
                .map_err(named(|| "BuyerTrust.reportCount".into()))
        },
        async {
            escrow
                .globalRate()
                .block(block)
                .call()
                .await
                .map_err(named(|| "LeaseEscrow.globalRate".into()))
        },
    )?;
    let lease_count: u64 = lease_count.to();
    let report_count: u64 = report_count.to();
    let pool_ids: Vec<u32> = (1..=pool_count).collect();

    let pools = read_all(pool_ids.iter().copied(), |id| {
        let (pools_c, escrow) = (&pools_c, &escrow);
        async move {
            let (pool, fees, anon_rate) = futures::try_join!(
                async {
                    pools_c
                        .getPool(id)
                        .block(block)
                        .call()
                        .await
                        .map_err(named(|| format!("Pools.getPool({id})")))
                },
                async {
                    escrow
                        .poolFees(id)
                        .block(block)
                        .call()
                        .await
                        .map_err(named(|| format!("LeaseEscrow.poolFees({id})")))
                },
                async {
                    escrow
                        .anonRate(id)
                        .block(block)
                        .call()
                        .await
                        .map_err(named(|| format!("LeaseEscrow.anonRate({id})")))
                },
            )?;
            let t = &pool.trust;
            let state = PoolState {
                operator: pool.operator,
                pending_operator: pool.pendingOperator,
                name: pool.name,
                metadata_uri: pool.metadataURI,
                fee_bps: pool.feeBps,
                no_boot_slash_bps: pool.noBootSlashBps,
                boot_fail_slash_bps: pool.bootFailSlashBps,
                provider_unbonding: pool.providerUnbonding,
                min_stake: U256::from(pool.minStake),
                trust: [
                    U256::from(t.trustedDeposit),
                    U256::from(t.trustedKarma),
                    U256::from(t.anonTargetShareBps),
                    U256::from(t.maxBuyerSlashBps),
                    U256::from(t.baseLeases),
                    U256::from(t.maxLeases),
                    U256::from(t.depositPerLease),
                    U256::from(t.karmaPerLease),
                    U256::from(t.anonMinFee),
                    U256::from(t.anonMaxFee),
                ],
                fees,
                anon_rate,
            };
            Ok((id, state))
        }
    });

    let offers = read_all(1..=offer_count, |id| {
        let (offers_c, escrow) = (&offers_c, &escrow);
        async move {
            let (offer, load) = futures::try_join!(
                async {
                    offers_c
                        .getOffer(id)
                        .block(block)
                        .call()
                        .await
                        .map_err(named(|| format!("Offers.getOffer({id})")))
                },
                async {
                    escrow
                        .offerLoad(id)
                        .block(block)
                        .call()
                        .await
                        .map_err(named(|| format!("LeaseEscrow.offerLoad({id})")))
                },
            )?;
            let spec = offer.spec;
            let state = OfferState {
                provider: offer.provider,
                pool_id: offer.poolId,
                status: offer.status,
                price_per_second: U256::from(offer.pricePerSecond),
                capacity: offer.capacity,
                boot_timeout: offer.bootTimeout,
                retention: offer.retention,
                images_revision: offer.imagesRevision,
                vcpus: spec.vcpus,
                ram_mib: spec.ramMiB,
                disk_gib: spec.diskGiB,
                gpu_count: spec.gpuCount,
                gpu_model: spec.gpuModel,
                bandwidth_up_mbps: spec.bandwidthUpMbps,
                bandwidth_down_mbps: spec.bandwidthDownMbps,
                public_ipv4: spec.publicIpv4,
                public_ipv6: spec.publicIpv6,
                region: spec.region,
                active_leases: load.active,
                total_leases: load.total,
            };
            Ok((id, state))
        }
    });

    let leases = read_all(1..=lease_count, |id| {
        let escrow = &escrow;
        async move {
            let lease = escrow
                .getLease(U256::from(id))
                .block(block)
                .call()
                .await
                .map_err(named(|| format!("LeaseEscrow.getLease({id})")))?;
            let state = LeaseState {
                buyer: lease.buyer,
                offer_id: lease.offerId,
                status: lease.status,
                is_anonymous: lease.isAnonymous,
                settled_at: lease.settledAt.to(),
                funds: U256::from(lease.funds),
                price_per_second: U256::from(lease.pricePerSecond),
                deadline: lease.deadline.to(),
                fee_bps: lease.feeBps,
            };
            Ok((id, state))
        }
    });

    let reports = read_all(1..=report_count, |id| {
        let trust = &trust;
        async move {
            let report = trust
                .getReport(U256::from(id))
                .block(block)
                .call()
                .await
                .map_err(named(|| format!("BuyerTrust.getReport({id})")))?;
            let state = ReportState {
                lease_id: report.leaseId.to(),
                buyer: report.buyer,
                provider: report.provider,
                pool_id: report.poolId,
                status: report.status,
            };
            Ok((id, state))
        }
    });

    let pairs: Vec<(u32, Address)> = pool_ids
        .iter()
        .flat_map(|&pool| addresses.iter().map(move |&who| (pool, who)))
        .collect();
    let stakes = read_all(pairs, |(pool, who)| {
        let registry = &registry;
        async move {
            let stake = registry
                .stakeOf(pool, who)
                .block(block)
                .call()
                .await
                .map_err(named(|| format!("ProviderRegistry.stakeOf({pool}, {who})")))?;
            let state = StakeState {
                bonded: U256::from(stake.bonded),
                unbonding: U256::from(stake.unbonding),
                unbonding_ends: stake.unbondingEnds.to(),
                joined: stake.joined,
            };
            Ok(((pool, who), state))
        }
    });

    let people = read_all(addresses.iter().copied(), |who| {
        let (registry, trust, escrow) = (&registry, &trust, &escrow);
        async move {
            let (record, key, buyer, account) = futures::try_join!(
                async {
                    escrow
                        .providerRecord(who)
                        .block(block)
                        .call()
                        .await
                        .map_err(named(|| format!("LeaseEscrow.providerRecord({who})")))
                },
                async {
                    registry
                        .encryptionKeyOf(who)
                        .block(block)
                        .call()
                        .await
                        .map_err(named(|| format!("ProviderRegistry.encryptionKeyOf({who})")))
                },
                async {
                    escrow
                        .buyerRecord(who)
                        .block(block)
                        .call()
                        .await
                        .map_err(named(|| format!("LeaseEscrow.buyerRecord({who})")))
                },
                async {
                    trust
                        .accountOf(who)
                        .block(block)
                        .call()
                        .await
                        .map_err(named(|| format!("BuyerTrust.accountOf({who})")))
                },
            )?;
            let provider = ProviderState {
                buyer_stopped: record.buyerStopped,
                ran_dry: record.ranDry,
                boot_failed: record.bootFailed,
                terminated: record.terminated,
                reclaimed: record.reclaimed,
                completed_seconds: record.completedSeconds,
                encryption_key: key,
            };
            let buyer = BuyerState {
                active: buyer.active,
                opened: buyer.opened,
                karma: U256::from(buyer.karma),
                last_ended_at: buyer.lastEndedAt.to(),
                deposit: U256::from(account.deposit),
                unbonding: U256::from(account.unbonding),
                unbonding_ends: account.unbondingEnds.to(),
            };
            Ok((who, provider, buyer))
        }
    });

    let (pools, offers, leases, reports, stakes, people) =
        futures::try_join!(pools, offers, leases, reports, stakes, people)?;

    let mut snapshot = Snapshot {
        pools: pools.into_iter().collect(),
        stakes: stakes
            .into_iter()
            .filter(|(_, stake)| stake.joined)
            .collect(),
        offers: offers.into_iter().collect(),
        leases: leases.into_iter().collect(),
        reports: reports.into_iter().collect(),
        global_rate,
        ..Snapshot::default()
    };
    for (who, provider, buyer) in people {
        // A non-zero record or a key: both are part of `ProviderState`.
        if provider != ProviderState::default() {
            snapshot.providers.insert(who, provider);
        }
        if buyer.opened > 0 || !buyer.deposit.is_zero() || !buyer.unbonding.is_zero() {
            snapshot.buyers.insert(who, buyer);
        }
    }
    Ok(snapshot)
}
