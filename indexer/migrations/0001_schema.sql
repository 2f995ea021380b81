-- utter indexer schema. Portable between SQLite and PostgreSQL: only BIGINT and TEXT columns.
-- Amounts are decimal text; addresses and hashes lower-case 0x hex; times unix seconds.

-- Where indexing stands: the last applied block. One row.
CREATE TABLE sync_state (
    id BIGINT PRIMARY KEY,
    chain_id BIGINT NOT NULL,
    escrow TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    block_timestamp BIGINT NOT NULL
);

-- Hashes of recent blocks that can still be reorganised away, to find a fork point.
CREATE TABLE blocks (
    block_number BIGINT PRIMARY KEY,
    block_hash TEXT NOT NULL,
    parent_hash TEXT NOT NULL,
    block_timestamp BIGINT NOT NULL
);

-- Images of entity rows from before a block changed them, for blocks not yet final.
CREATE TABLE undo_log (
    block_number BIGINT NOT NULL,
    tbl TEXT NOT NULL,
    row_key TEXT NOT NULL,
    image TEXT,
    PRIMARY KEY (block_number, tbl, row_key)
);

-- Every event of the contracts, raw and decoded.
CREATE TABLE events (
    block_hash TEXT NOT NULL,
    log_index BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    kind TEXT NOT NULL,
    lease_id BIGINT,
    buyer TEXT,
    provider TEXT,
    offer_id BIGINT,
    pool_id BIGINT,
    fields TEXT NOT NULL,
    topics TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (block_hash, log_index)
);
CREATE INDEX events_order ON events (block_number, log_index);
CREATE INDEX events_lease ON events (lease_id, block_number);
CREATE INDEX events_buyer ON events (buyer, block_number);
CREATE INDEX events_provider ON events (provider, block_number);
CREATE INDEX events_offer ON events (offer_id, block_number);

-- What a lease was opened with and never changes.
CREATE TABLE lease_openings (
    lease_id BIGINT PRIMARY KEY,
    block_number BIGINT NOT NULL,
    ssh_public_key TEXT NOT NULL,
    encrypted_user_data TEXT NOT NULL,
    user_data_hash TEXT NOT NULL
);
CREATE INDEX lease_openings_block ON lease_openings (block_number);

-- Each acknowledgement's access details; the latest counts.
CREATE TABLE lease_access (
    lease_id BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    acknowledged_at BIGINT NOT NULL,
    host_key_fingerprint TEXT NOT NULL,
    encrypted_access TEXT NOT NULL,
    PRIMARY KEY (lease_id, block_number, log_index)
);
CREATE INDEX lease_access_block ON lease_access (block_number);

CREATE TABLE pools (
    pool_id BIGINT PRIMARY KEY,
    operator TEXT NOT NULL,
    pending_operator TEXT NOT NULL,
    name TEXT NOT NULL,
    metadata_uri TEXT NOT NULL,
    fee_bps BIGINT NOT NULL,
    no_boot_slash_bps BIGINT NOT NULL,
    boot_fail_slash_bps BIGINT NOT NULL,
    provider_unbonding BIGINT NOT NULL,
    min_stake TEXT NOT NULL,
    trusted_deposit TEXT NOT NULL,
    trusted_karma TEXT NOT NULL,
    anon_target_share_bps BIGINT NOT NULL,
    max_buyer_slash_bps BIGINT NOT NULL,
    base_leases BIGINT NOT NULL,
    max_leases BIGINT NOT NULL,
    deposit_per_lease TEXT NOT NULL,
    karma_per_lease TEXT NOT NULL,
    anon_min_fee TEXT NOT NULL,
    anon_max_fee TEXT NOT NULL,
    fees TEXT NOT NULL,
    fees_withdrawn TEXT NOT NULL,
    anon_fee TEXT NOT NULL,
    anon_fee_updated_at BIGINT NOT NULL,
    anon_rate TEXT NOT NULL,
    provider_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE stakes (
    pool_id BIGINT NOT NULL,
    provider TEXT NOT NULL,
    bonded TEXT NOT NULL,
    unbonding TEXT NOT NULL,
    unbonding_ends BIGINT NOT NULL,
    joined BIGINT NOT NULL,
    slashed TEXT NOT NULL,
    PRIMARY KEY (pool_id, provider)
);
CREATE INDEX stakes_provider ON stakes (provider);

CREATE TABLE providers (
    provider TEXT PRIMARY KEY,
    encryption_key TEXT NOT NULL,
    buyer_stopped BIGINT NOT NULL,
    ran_dry BIGINT NOT NULL,
    boot_failed BIGINT NOT NULL,
    terminated BIGINT NOT NULL,
    reclaimed BIGINT NOT NULL,
    completed_seconds BIGINT NOT NULL,
    earned TEXT NOT NULL,
    withdrawn TEXT NOT NULL,
    offer_count BIGINT NOT NULL,
    lease_count BIGINT NOT NULL
);

CREATE TABLE offers (
    offer_id BIGINT PRIMARY KEY,
    provider TEXT NOT NULL,
    pool_id BIGINT NOT NULL,
    status BIGINT NOT NULL,
    price_per_second TEXT NOT NULL,
    price_key TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    boot_timeout BIGINT NOT NULL,
    retention BIGINT NOT NULL,
    images_revision BIGINT NOT NULL,
    images TEXT NOT NULL,
    image_names TEXT NOT NULL,
    vcpus BIGINT NOT NULL,
    ram_mib BIGINT NOT NULL,
    disk_gib BIGINT NOT NULL,
    gpu_count BIGINT NOT NULL,
    gpu_model TEXT NOT NULL,
    bandwidth_up_mbps BIGINT NOT NULL,
    bandwidth_down_mbps BIGINT NOT NULL,
    public_ipv4 BIGINT NOT NULL,
    public_ipv6 BIGINT NOT NULL,
    region TEXT NOT NULL,
    active_leases BIGINT NOT NULL,
    total_leases BIGINT NOT NULL,
    published_at BIGINT NOT NULL
);
CREATE INDEX offers_price ON offers (status, price_key, offer_id);
CREATE INDEX offers_provider ON offers (provider);
CREATE INDEX offers_pool ON offers (pool_id, status);

CREATE TABLE leases (
    lease_id BIGINT PRIMARY KEY,
    buyer TEXT NOT NULL,
    offer_id BIGINT NOT NULL,
    provider TEXT NOT NULL,
    pool_id BIGINT NOT NULL,
    image_id TEXT NOT NULL,
    status BIGINT NOT NULL,
    end_reason BIGINT NOT NULL,
    is_anonymous BIGINT NOT NULL,
    price_per_second TEXT NOT NULL,
    funds TEXT NOT NULL,
    settled_at BIGINT NOT NULL,
    deadline BIGINT NOT NULL,
    fee_bps BIGINT NOT NULL,
    deposit TEXT NOT NULL,
    anon_fee TEXT NOT NULL,
    topped_up TEXT NOT NULL,
    paid_out TEXT NOT NULL,
    pool_fees TEXT NOT NULL,
    refunded TEXT NOT NULL,
    slashed TEXT NOT NULL,
    billed_seconds BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL,
    opened_block BIGINT NOT NULL
);
CREATE INDEX leases_buyer ON leases (buyer, lease_id);
CREATE INDEX leases_provider ON leases (provider, lease_id);
CREATE INDEX leases_status ON leases (status, lease_id);

CREATE TABLE buyers (
    buyer TEXT PRIMARY KEY,
    active BIGINT NOT NULL,
    opened BIGINT NOT NULL,
    karma TEXT NOT NULL,
    last_ended_at BIGINT NOT NULL,
    deposit TEXT NOT NULL,
    unbonding TEXT NOT NULL,
    unbonding_ends BIGINT NOT NULL,
    open_reports BIGINT NOT NULL,
    frozen_until BIGINT NOT NULL
);

CREATE TABLE reports (
    report_id BIGINT PRIMARY KEY,
    lease_id BIGINT NOT NULL,
    buyer TEXT NOT NULL,
    provider TEXT NOT NULL,
    pool_id BIGINT NOT NULL,
    status BIGINT NOT NULL,
    evidence_uri TEXT NOT NULL,
    slashed TEXT NOT NULL,
    reported_at BIGINT NOT NULL
);
CREATE INDEX reports_buyer ON reports (buyer);

CREATE TABLE market (
    id BIGINT PRIMARY KEY,
    global_rate TEXT NOT NULL,
    anon_rate TEXT NOT NULL,
    running_leases BIGINT NOT NULL,
    lease_count BIGINT NOT NULL
);
