//! What the agent must do, decided from two views alone: the leases on its offers as the chain
//! records them (a few blocks deep), and the servers its cloud holds tagged with their lease.
//!
//! [`plan`] is a pure function, so the same decision is taken after a restart as before it: a kill
//! at any instant followed by a restart never yields two servers for one lease, a running server for
//! a dead lease, or a booted server that is never acknowledged.

use alloy::primitives::B256;
use std::collections::BTreeMap;

/// A lease's status as the chain records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainStatus {
    /// Opened, waiting for the first boot.
    Pending,
    /// Acknowledged and billed.
    Running,
    /// Ran dry; the disk is kept until `deadline`.
    Halted,
    /// Topped up after halting; waiting for the restart.
    RestartPending,
    /// Ended.
    Closed,
}

/// A lease on one of the agent's offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Lease id.
    pub lease_id: u64,
    /// Offer.
    pub offer_id: u32,
    /// Status.
    pub status: ChainStatus,
    /// Boot or restart deadline while awaiting a boot; end of retention while halted.
    pub deadline: u64,
    /// While running: when the balance runs out.
    pub paid_until: u64,
    /// The image to boot.
    pub image_id: B256,
}

/// A server's state as the cloud reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerStatus {
    /// Being created or rebuilt.
    Building,
    /// Running.
    Active,
    /// Stopped; its disk is kept.
    Shutoff,
    /// Failed.
    Error,
    /// Anything else (transitional states such as REBOOT or DELETED).
    Other(String),
}

/// A server the cloud holds for a lease (found by its tag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// The cloud's id.
    pub id: String,
    /// The lease its tag names.
    pub lease_id: u64,
    /// Status.
    pub status: ServerStatus,
    /// Creation time, unix seconds: of two servers for one lease the older stays.
    pub created_at: u64,
    /// A hot spare handed to this lease whose rebuild (with the lease's image and the buyer's key) is
    /// not confirmed yet: it must not be acknowledged as it is.
    pub claimed: bool,
}

/// A pre-booted server waiting for a lease of its offer (a "hot spare").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spare {
    /// The cloud's id.
    pub id: String,
    /// The offer it waits for.
    pub offer_id: u32,
    /// Status.
    pub status: ServerStatus,
    /// Creation time.
    pub created_at: u64,
}

/// One thing to do.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Create a server for the lease.
    Boot {
        /// Lease.
        lease_id: u64,
    },
    /// Hand a running hot spare to the lease: tag it as the lease's, then rebuild it with the lease's
    /// image and the buyer's key.
    Claim {
        /// Lease.
        lease_id: u64,
        /// The spare.
        server_id: String,
    },
    /// Rebuild a claimed spare whose rebuild was not confirmed (e.g. the agent died in between).
    Rebuild {
        /// Lease.
        lease_id: u64,
        /// Server.
        server_id: String,
    },
    /// Boot one more hot spare for the offer.
    BootSpare {
        /// Offer.
        offer_id: u32,
    },
    /// Start a stopped server.
    Start {
        /// Lease.
        lease_id: u64,
        /// Server.
        server_id: String,
    },
    /// Acknowledge the (re)start on-chain with the access details.
    Acknowledge {
        /// Lease.
        lease_id: u64,
        /// Server.
        server_id: String,
    },
    /// Stop a server whose lease ran dry (its disk is kept for the retention window).
    Stop {
        /// Lease.
        lease_id: u64,
        /// Server.
        server_id: String,
    },
    /// Record on-chain that a running lease ran dry.
    Halt {
        /// Lease.
        lease_id: u64,
    },
    /// Delete a server.
    Delete {
        /// Server.
        server_id: String,
        /// Why.
        reason: DeleteReason,
    },
    /// Tell the chain the cloud cannot boot the lease: the buyer is refunded before the deadline.
    ReportBootFailure {
        /// Lease.
        lease_id: u64,
    },
    /// End a running lease whose server is gone for good.
    Terminate {
        /// Lease.
        lease_id: u64,
    },
    /// Close a halted lease whose retention window is over.
    Close {
        /// Lease.
        lease_id: u64,
    },
}

impl Action {
    /// The action's kind in snake case, e.g. `boot`, as metrics and logs name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Boot { .. } => "boot",
            Self::Claim { .. } => "claim",
            Self::Rebuild { .. } => "rebuild",
            Self::BootSpare { .. } => "boot_spare",
            Self::Start { .. } => "start",
            Self::Acknowledge { .. } => "acknowledge",
            Self::Stop { .. } => "stop",
            Self::Halt { .. } => "halt",
            Self::Delete { .. } => "delete",
            Self::ReportBootFailure { .. } => "report_boot_failure",
            Self::Terminate { .. } => "terminate",
            Self::Close { .. } => "close",
        }
    }
}

/// Why a server is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeleteReason {
    /// Its lease ended.
    LeaseClosed,
    /// Its lease's retention window is over.
    RetentionOver,
    /// Another server of the same lease is older.
    Duplicate,
    /// No lease of the agent's offers has its id.
    Orphan,
    /// It failed to boot.
    BootFailed,
    /// A hot spare beyond what its offer wants, or of an offer no longer run.
    SpareSurplus,
    /// A hot spare that failed.
    SpareFailed,
    /// Its lease was never acknowledged and the deadline is long past: nobody pays for it.
    DeadlinePassed,
}

/// Timing the plan depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A boot still building this close to its deadline is given up and reported failed, so the
    /// report lands before the deadline.
    pub boot_failure_margin: u64,
    /// Seconds past a boot deadline after which an unacknowledged lease's server is deleted.
    pub late_grace: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            boot_failure_margin: 30,
            late_grace: 300,
        }
    }
}

/// Decides what to do at time `now`. `leases` holds every lease of the agent's offers the chain knows
/// (closed ones included while they may still have servers); `servers` every server tagged by this
/// agent's chain and escrow. Actions come in a stable order.
pub fn plan(now: u64, leases: &[Lease], servers: &[Server], policy: Policy) -> Vec<Action> {
    plan_with_spares(now, leases, servers, &[], &BTreeMap::new(), policy)
}

/// [`plan`] with hot spares: `wanted` says how many each offer keeps running. A new lease takes the
/// oldest running spare of its offer instead of booting from scratch.
pub fn plan_with_spares(
    now: u64,
    leases: &[Lease],
    servers: &[Server],
    spares: &[Spare],
    wanted: &BTreeMap<u32, u32>,
    policy: Policy,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut ready: BTreeMap<u32, Vec<&Spare>> = BTreeMap::new();
    for spare in spares {
        if spare.status == ServerStatus::Active && wanted.contains_key(&spare.offer_id) {
            ready.entry(spare.offer_id).or_default().push(spare);
        }
    }
    for list in ready.values_mut() {
        // The oldest first; popped from the end.
        list.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    }
    let mut by_lease: BTreeMap<u64, Vec<&Server>> = BTreeMap::new();
    for server in servers {
        by_lease.entry(server.lease_id).or_default().push(server);
    }
    let known: BTreeMap<u64, &Lease> = leases.iter().map(|l| (l.lease_id, l)).collect();
    for (lease_id, group) in &mut by_lease {
        group.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        if !known.contains_key(lease_id) {
            for server in group.iter() {
                actions.push(delete(server, DeleteReason::Orphan));
            }
            continue;
        }
        // One server per lease: the oldest stays, the others go.
        for server in group.iter().skip(1) {
            actions.push(delete(server, DeleteReason::Duplicate));
        }
    }
    for lease in leases {
        let server = by_lease
            .get(&lease.lease_id)
            .and_then(|g| g.first().copied());
        let before = actions.len();
        plan_lease(now, lease, server, policy, &mut actions);
        // A fresh boot becomes a claim when a spare of the offer is running.
        if actions.len() == before + 1
            && actions[before]
                == (Action::Boot {
                    lease_id: lease.lease_id,
                })
            && let Some(spare) = ready.get_mut(&lease.offer_id).and_then(Vec::pop)
        {
            actions[before] = Action::Claim {
                lease_id: lease.lease_id,
                server_id: spare.id.clone(),
            };
        }
    }
    plan_spares(spares, wanted, &mut actions);
    actions
}

/// Keeps each offer's number of spares (running or booting, not claimed) at what it wants; deletes
/// failed spares and those of offers that want none.
fn plan_spares(spares: &[Spare], wanted: &BTreeMap<u32, u32>, out: &mut Vec<Action>) {
    let claimed: Vec<String> = out
        .iter()
        .filter_map(|a| match a {
            Action::Claim { server_id, .. } => Some(server_id.clone()),
            _ => None,
        })
        .collect();
    let mut live: BTreeMap<u32, Vec<&Spare>> = BTreeMap::new();
    for spare in spares.iter().filter(|s| !claimed.contains(&s.id)) {
        match (&spare.status, wanted.get(&spare.offer_id)) {
            (ServerStatus::Error, _) => out.push(Action::Delete {
                server_id: spare.id.clone(),
                reason: DeleteReason::SpareFailed,
            }),
            (_, None | Some(0)) => out.push(Action::Delete {
                server_id: spare.id.clone(),
                reason: DeleteReason::SpareSurplus,
            }),
            _ => live.entry(spare.offer_id).or_default().push(spare),
        }
    }
    for (&offer_id, &want) in wanted {
        let mut have = live.remove(&offer_id).unwrap_or_default();
        have.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        for _ in have.len() as u32..want {
            out.push(Action::BootSpare { offer_id });
        }
        for spare in have.iter().skip(want as usize) {
            out.push(Action::Delete {
                server_id: spare.id.clone(),
                reason: DeleteReason::SpareSurplus,
            });
        }
    }
}

fn delete(server: &Server, reason: DeleteReason) -> Action {
    Action::Delete {
        server_id: server.id.clone(),
        reason,
    }
}

fn plan_lease(
    now: u64,
    lease: &Lease,
    server: Option<&Server>,
    policy: Policy,
    out: &mut Vec<Action>,
) {
    let lease_id = lease.lease_id;
    let server_id = || server.map(|s| s.id.clone()).unwrap_or_default();
    match lease.status {
        ChainStatus::Pending | ChainStatus::RestartPending => {
            if now > lease.deadline {
                // Too late to acknowledge: the buyer may reclaim. A server nobody pays for goes once
                // the deadline is well past (an acknowledgement mined just in time would show in
                // the confirmed view by then).
                if let Some(server) = server
                    && now > lease.deadline.saturating_add(policy.late_grace)
                {
                    out.push(Action::Delete {
                        server_id: server.id.clone(),
                        reason: DeleteReason::DeadlinePassed,
                    });
                }
                return;
            }
            let giving_up = now + policy.boot_failure_margin >= lease.deadline;
            if let Some(server) = server.filter(|s| s.claimed) {
                match server.status {
                    ServerStatus::Active | ServerStatus::Shutoff if !giving_up => {
                        out.push(Action::Rebuild {
                            lease_id,
                            server_id: server.id.clone(),
                        })
                    }
                    ServerStatus::Error => {
                        out.push(Action::ReportBootFailure { lease_id });
                        out.push(Action::Delete {
                            server_id: server.id.clone(),
                            reason: DeleteReason::BootFailed,
                        });
                    }
                    _ if giving_up => out.push(Action::ReportBootFailure { lease_id }),
                    _ => {}
                }
                return;
            }
            match server.map(|s| &s.status) {
                None if giving_up => out.push(Action::ReportBootFailure { lease_id }),
                None => out.push(Action::Boot { lease_id }),
                Some(ServerStatus::Active) => out.push(Action::Acknowledge {
                    lease_id,
                    server_id: server_id(),
                }),
                Some(ServerStatus::Shutoff) if !giving_up => out.push(Action::Start {
                    lease_id,
                    server_id: server_id(),
                }),
                Some(ServerStatus::Error) => {
                    out.push(Action::ReportBootFailure { lease_id });
                    out.push(Action::Delete {
                        server_id: server_id(),
                        reason: DeleteReason::BootFailed,
                    });
                }
                Some(_) if giving_up => {
                    out.push(Action::ReportBootFailure { lease_id });
                    out.push(Action::Delete {
                        server_id: server_id(),
                        reason: DeleteReason::BootFailed,
                    });
                }
                Some(_) => {}
            }
        }
        ChainStatus::Running => {
            if now >= lease.paid_until {
                // Ran dry: the machine stops, its disk is kept, and the chain is told.
                if let Some(ServerStatus::Active | ServerStatus::Building) =
                    server.map(|s| &s.status)
                {
                    out.push(Action::Stop {
                        lease_id,
                        server_id: server_id(),
                    });
                }
                out.push(Action::Halt { lease_id });
                return;
            }
            match server.map(|s| &s.status) {
                None => out.push(Action::Terminate { lease_id }),
                Some(ServerStatus::Shutoff) => out.push(Action::Start {
                    lease_id,
                    server_id: server_id(),
                }),
                Some(_) => {}
            }
        }
        ChainStatus::Halted => {
            if now > lease.deadline {
                if server.is_some() {
                    out.push(Action::Delete {
                        server_id: server_id(),
                        reason: DeleteReason::RetentionOver,
                    });
                }
                out.push(Action::Close { lease_id });
            } else if let Some(ServerStatus::Active | ServerStatus::Building) =
                server.map(|s| &s.status)
            {
                out.push(Action::Stop {
                    lease_id,
                    server_id: server_id(),
                });
            }
        }
        ChainStatus::Closed => {
            if server.is_some() {
                out.push(Action::Delete {
                    server_id: server_id(),
                    reason: DeleteReason::LeaseClosed,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_000_000;

    fn lease(id: u64, status: ChainStatus) -> Lease {
        Lease {
            lease_id: id,
            offer_id: 1,
            status,
            deadline: NOW + 300,
            paid_until: NOW + 3600,
            image_id: B256::ZERO,
        }
    }

    fn server(id: &str, lease_id: u64, status: ServerStatus, created_at: u64) -> Server {
        Server {
            id: id.into(),
            lease_id,
            status,
            created_at,
            claimed: false,
        }
    }

    fn spare(id: &str, offer_id: u32, status: ServerStatus, created_at: u64) -> Spare {
        Spare {
            id: id.into(),
            offer_id,
            status,
            created_at,
        }
    }

    #[test]
    fn a_new_lease_takes_the_oldest_running_spare_and_the_pool_is_refilled() {
        let wanted = BTreeMap::from([(1, 2)]);
        let spares = [
            spare("young", 1, ServerStatus::Active, 20),
            spare("old", 1, ServerStatus::Active, 10),
        ];
        let actions = plan_with_spares(
            NOW,
            &[lease(1, ChainStatus::Pending)],
            &[],
            &spares,
            &wanted,
            Policy::default(),
        );
        assert_eq!(
            actions,
            vec![
                Action::Claim {
                    lease_id: 1,
                    server_id: "old".into()
                },
                Action::BootSpare { offer_id: 1 },
            ]
        );
    }

    #[test]
    fn without_a_running_spare_a_lease_boots_and_building_spares_count() {
        let wanted = BTreeMap::from([(1, 1)]);
        let spares = [spare("b", 1, ServerStatus::Building, 1)];
        let actions = plan_with_spares(
            NOW,
            &[lease(1, ChainStatus::Pending)],
            &[],
            &spares,
            &wanted,
            Policy::default(),
        );
        assert_eq!(actions, vec![Action::Boot { lease_id: 1 }]);
    }

    #[test]
    fn a_claimed_spare_is_rebuilt_not_acknowledged() {
        let mut claimed = server("s", 1, ServerStatus::Active, 1);
        claimed.claimed = true;
        assert_eq!(
            run(&[lease(1, ChainStatus::Pending)], &[claimed]),
            vec![Action::Rebuild {
                lease_id: 1,
                server_id: "s".into()
            }]
        );
    }

    #[test]
    fn failed_and_surplus_spares_go() {
        let wanted = BTreeMap::from([(1, 1)]);
        let spares = [
            spare("a", 1, ServerStatus::Active, 1),
            spare("b", 1, ServerStatus::Active, 2),
            spare("broken", 1, ServerStatus::Error, 3),
            spare("stale", 9, ServerStatus::Active, 4),
        ];
        let actions = plan_with_spares(NOW, &[], &[], &spares, &wanted, Policy::default());
        assert_eq!(
            actions,
            vec![
                Action::Delete {
                    server_id: "broken".into(),
                    reason: DeleteReason::SpareFailed
                },
                Action::Delete {
                    server_id: "stale".into(),
                    reason: DeleteReason::SpareSurplus
                },
                Action::Delete {
                    server_id: "b".into(),
                    reason: DeleteReason::SpareSurplus
                },
            ]
        );
    }

    fn run(leases: &[Lease], servers: &[Server]) -> Vec<Action> {
        plan(NOW, leases, servers, Policy::default())
    }

    #[test]
    fn a_funded_lease_without_a_server_boots_one() {
        assert_eq!(
            run(&[lease(1, ChainStatus::Pending)], &[]),
            vec![Action::Boot { lease_id: 1 }]
        );
    }

    #[test]
    fn a_building_server_is_waited_for_and_an_active_one_acknowledged() {
        let l = [lease(1, ChainStatus::Pending)];
        assert!(run(&l, &[server("a", 1, ServerStatus::Building, 1)]).is_empty());
        assert_eq!(
            run(&l, &[server("a", 1, ServerStatus::Active, 1)]),
            vec![Action::Acknowledge {
                lease_id: 1,
                server_id: "a".into()
            }]
        );
    }

    #[test]
    fn a_restart_starts_the_kept_server_then_acknowledges() {
        let l = [lease(1, ChainStatus::RestartPending)];
        assert_eq!(
            run(&l, &[server("a", 1, ServerStatus::Shutoff, 1)]),
            vec![Action::Start {
                lease_id: 1,
                server_id: "a".into()
            }]
        );
    }

    #[test]
    fn a_failed_boot_is_reported_and_its_server_deleted() {
        let l = [lease(1, ChainStatus::Pending)];
        assert_eq!(
            run(&l, &[server("a", 1, ServerStatus::Error, 1)]),
            vec![
                Action::ReportBootFailure { lease_id: 1 },
                Action::Delete {
                    server_id: "a".into(),
                    reason: DeleteReason::BootFailed
                }
            ]
        );
    }

    #[test]
    fn a_boot_still_building_near_the_deadline_is_given_up_in_time() {
        let mut l = lease(1, ChainStatus::Pending);
        l.deadline = NOW + 10;
        let actions = run(&[l.clone()], &[server("a", 1, ServerStatus::Building, 1)]);
        assert_eq!(actions[0], Action::ReportBootFailure { lease_id: 1 });
        assert_eq!(
            run(&[l], &[]),
            vec![Action::ReportBootFailure { lease_id: 1 }]
        );
    }

    #[test]
    fn past_the_deadline_nothing_is_acknowledged_and_the_server_goes_after_the_grace() {
        let late_grace = Policy::default().late_grace;
        for status in [ChainStatus::Pending, ChainStatus::RestartPending] {
            let mut l = lease(1, status);
            l.deadline = NOW - 1;
            assert!(run(&[l.clone()], &[server("a", 1, ServerStatus::Active, 1)]).is_empty());
            l.deadline = NOW - late_grace - 1;
            assert_eq!(
                run(&[l], &[server("a", 1, ServerStatus::Shutoff, 1)]),
                vec![Action::Delete {
                    server_id: "a".into(),
                    reason: DeleteReason::DeadlinePassed
                }],
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_dry_lease_is_stopped_and_halted() {
        let mut l = lease(1, ChainStatus::Running);
        l.paid_until = NOW;
        assert_eq!(
            run(&[l], &[server("a", 1, ServerStatus::Active, 1)]),
            vec![
                Action::Stop {
                    lease_id: 1,
                    server_id: "a".into()
                },
                Action::Halt { lease_id: 1 }
            ]
        );
    }

    #[test]
    fn a_funded_running_lease_keeps_its_server_up() {
        let l = [lease(1, ChainStatus::Running)];
        assert!(run(&l, &[server("a", 1, ServerStatus::Active, 1)]).is_empty());
        assert_eq!(
            run(&l, &[server("a", 1, ServerStatus::Shutoff, 1)]),
            vec![Action::Start {
                lease_id: 1,
                server_id: "a".into()
            }]
        );
        assert_eq!(run(&l, &[]), vec![Action::Terminate { lease_id: 1 }]);
    }

    #[test]
    fn a_halted_lease_keeps_its_disk_until_retention_ends_then_closes() {
        let mut l = lease(1, ChainStatus::Halted);
        assert_eq!(
            run(&[l.clone()], &[server("a", 1, ServerStatus::Active, 1)]),
            vec![Action::Stop {
                lease_id: 1,
                server_id: "a".into()
            }]
        );
        assert!(run(&[l.clone()], &[server("a", 1, ServerStatus::Shutoff, 1)]).is_empty());
        l.deadline = NOW - 1;
        assert_eq!(
            run(&[l], &[server("a", 1, ServerStatus::Shutoff, 1)]),
            vec![
                Action::Delete {
                    server_id: "a".into(),
                    reason: DeleteReason::RetentionOver
                },
                Action::Close { lease_id: 1 }
            ]
        );
    }

    #[test]
    fn a_closed_lease_loses_its_server() {
        assert_eq!(
            run(
                &[lease(1, ChainStatus::Closed)],
                &[server("a", 1, ServerStatus::Active, 1)]
            ),
            vec![Action::Delete {
                server_id: "a".into(),
                reason: DeleteReason::LeaseClosed
            }]
        );
    }

    #[test]
    fn two_servers_for_one_lease_keep_the_older_and_orphans_go() {
        let actions = run(
            &[lease(1, ChainStatus::Running)],
            &[
                server("new", 1, ServerStatus::Active, 20),
                server("old", 1, ServerStatus::Active, 10),
                server("stray", 9, ServerStatus::Active, 5),
            ],
        );
        assert_eq!(
            actions,
            vec![
                Action::Delete {
                    server_id: "new".into(),
                    reason: DeleteReason::Duplicate
                },
                Action::Delete {
                    server_id: "stray".into(),
                    reason: DeleteReason::Orphan
                },
            ]
        );
    }
}
