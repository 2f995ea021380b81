// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BuyerTrust} from "../../../src/BuyerTrust.sol";
import {ComputeToken} from "../../../src/ComputeToken.sol";
import {LeaseEscrow} from "../../../src/LeaseEscrow.sol";
import {Offers} from "../../../src/Offers.sol";
import {Pools} from "../../../src/Pools.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {IBuyerTrust} from "../../../src/interfaces/IBuyerTrust.sol";
import {
    EndReason,
    Lease,
    LeaseStatus,
    Offer,
    OfferTerms,
    OpenParams,
    Stake,
    TrustParams
} from "../../../src/types/DataTypes.sol";
import {Vm} from "../../utils/Vm.sol";

/// @notice What the invariant test deployed, handed to the handler.
struct Deployment {
    ComputeToken token;
    Pools pools;
    ProviderRegistry registry;
    Offers offers;
    BuyerTrust buyerTrust;
    LeaseEscrow escrow;
    address[] buyers;
    address[] providers;
    uint32[] offerIds;
    uint32[] poolIds;
    address feeSink;
    bytes32 image;
}

/// @notice Drives the whole exchange for forge's invariant fuzzer: several buyers (anonymous and trusted), several
/// providers across two pools (one of them unbonding), several offers, and every lease action, with time jumps.
/// Every action picks, from its random seeds, a target on which the spec says it must succeed, performs it with
/// try/catch, and checks its exact effect (refunds, payouts, fees, slashes, stored fields) against the spec. A
/// failed check or an unexpected revert never reverts the handler (that would be swallowed with
/// fail_on_revert = false): it is recorded in `violations` / `firstViolation`, which an invariant asserts empty.
/// Ghost variables record every token that entered or left the escrow, the registry and BuyerTrust.
contract EscrowHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    string internal constant SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly handler@utter";
    uint256 internal constant REPORT_WINDOW = 7 days;
    uint256 internal constant RULING_PERIOD = 30 days;

    ComputeToken public immutable token;
    Pools public immutable pools;
    ProviderRegistry public immutable registry;
    Offers public immutable offers;
    BuyerTrust public immutable buyerTrust;
    LeaseEscrow public immutable escrow;
    address public immutable feeSink;
    bytes32 public immutable image;

    address[] internal _buyers;
    address[] internal _providers;
    uint32[] internal _offerIds;
    uint32[] internal _poolIds;

    /// @notice The handler's record of a lease.
    struct LeaseInfo {
        address buyer;
        address provider;
        uint32 offerId;
        uint32 poolId;
        uint96 price;
        uint16 feeBps;
        bool anon;
        /// @dev Stored status and funds seen after the last call.
        LeaseStatus lastStatus;
        uint96 lastFunds;
        /// @dev Deposit plus all top-ups, whoever paid them.
        uint256 paidIn;
        /// @dev Refunded to the buyer.
        uint256 refunded;
        bool reported;
    }

    uint256[] internal _leaseIds;
    mapping(uint256 leaseId => LeaseInfo) internal _leases;
    uint256[] internal _reportIds;

    /// @notice The exchange's clock; every action starts by warping to it.
    uint256 public currentTime;

    // ---------------------------------------------------------------- ghost variables

    /// @notice Deposits plus top-ups into leases.
    uint256 public ghost_leaseIn;
    /// @notice Anonymous-start fees paid into the escrow.
    uint256 public ghost_anonFees;
    mapping(uint32 poolId => uint256) public ghost_anonFeesOf;
    /// @notice Refunds from the escrow to buyers.
    uint256 public ghost_refunded;
    /// @notice Tokens the escrow paid to providers (withdrawals and resume payouts).
    uint256 public ghost_providerPaid;
    mapping(address provider => uint256) public ghost_paidTo;
    /// @notice Pool fees withdrawn by operators.
    uint256 public ghost_poolFeesWithdrawn;
    mapping(uint32 poolId => uint256) public ghost_poolFeesWithdrawnOf;
    /// @notice Per buyer: deposits + top-ups of its leases, and refunds it got.
    mapping(address buyer => uint256) public ghost_buyerLeaseIn;
    mapping(address buyer => uint256) public ghost_buyerRefunds;
    /// @notice Provider stake: in (including setUp), withdrawn, slashed to buyers.
    uint256 public ghost_staked;
    uint256 public ghost_unstaked;
    uint256 public ghost_stakeSlashed;
    mapping(address buyer => uint256) public ghost_slashedTo;
    /// @notice Buyer trust deposits: in (including setUp), withdrawn, slashed to providers.
    uint256 public ghost_trustDeposited;
    uint256 public ghost_trustWithdrawn;
    uint256 public ghost_trustSlashed;
    /// @notice The lease limit a buyer had when it opened its most recent lease.
    mapping(address buyer => uint256) public ghost_limitAtLastOpen;
    mapping(address buyer => bool) public ghost_hasOpened;
    /// @notice Ended leases per provider and reason.
    mapping(address provider => mapping(EndReason reason => uint256)) public ghost_ended;
    /// @notice Reports awaiting a ruling, per buyer; when each buyer's latest lease ended.
    mapping(address buyer => uint256) public ghost_openReportsOf;
    mapping(address buyer => uint256) public ghost_lastEndedAt;
    /// @notice 30 days after the latest report against each buyer: how long open reports freeze its deposit.
    mapping(address buyer => uint256) public ghost_frozenUntil;
    /// @notice Leases not closed, per buyer and per offer.
    mapping(address buyer => uint256) public ghost_activeOfBuyer;
    mapping(uint32 offerId => uint256) public ghost_activeOfOffer;
    /// @notice Leases opened per offer.
    mapping(uint32 offerId => uint256) public ghost_openedOn;

    /// @notice Failed checks and unexpected reverts; the first one's description.
    uint256 public violations;
    string public firstViolation;

    /// @notice Calls made, and successful calls per action.
    uint256 public calls;
    uint256 public successes;
    mapping(bytes32 action => uint256) public done;

    /// @dev The lease the current action may move to another status (0: none), and whether it is a withdrawal.
    uint256 internal _target;
    bool internal _withdrawing;

    constructor(Deployment memory d) {
        token = d.token;
        pools = d.pools;
        registry = d.registry;
        offers = d.offers;
        buyerTrust = d.buyerTrust;
        escrow = d.escrow;
        feeSink = d.feeSink;
        image = d.image;
        _buyers = d.buyers;
        _providers = d.providers;
        _offerIds = d.offerIds;
        _poolIds = d.poolIds;
        currentTime = block.timestamp;
        ghost_staked = d.token.balanceOf(address(d.registry));
        ghost_trustDeposited = d.token.balanceOf(address(d.buyerTrust));
    }

    modifier action(bool withdrawing) {
        vm.warp(currentTime);
        _target = 0;
        _withdrawing = withdrawing;
        ++calls;
        _;
        _sync();
    }

    // ================================================================ BUYERS

    struct OpenCtx {
        address buyer;
        uint32 offerId;
        address provider;
        uint32 poolId;
        uint96 price;
        uint256 deposit;
        uint256 limit;
        bool anon;
        uint256 quotedFee;
        uint256 balanceBefore;
        uint256 poolFeesBefore;
    }

    /// @notice A buyer opens a lease on an offer that has room, with a provider that is eligible, within its limit.
    function openLease(uint256 buyerSeed, uint256 offerSeed, uint256 secondsSeed, uint256 dustSeed)
        external
        action(false)
    {
        // The last buyer only saves in BuyerTrust (it never leases, so its deposit can always be withdrawn).
        uint256 nb = _buyers.length - 1;
        uint256 no = _offerIds.length;
        for (uint256 i; i < nb * no; ++i) {
            address b = _buyers[(buyerSeed % nb + i / no) % nb];
            uint32 o = _offerIds[(offerSeed % no + i) % no];
            if (_canOpen(b, o)) {
                _open(b, o, secondsSeed, dustSeed);
                return;
            }
        }
    }

    function _canOpen(address b, uint32 o) internal view returns (bool) {
        (address p, uint32 pool, uint96 price, uint32 capacity,) = offers.leaseTerms(o, image);
        (uint96 minStake,,,) = pools.stakeParams(pool);
        if (registry.bondedOf(pool, p) < minStake) return false;
        (uint32 active,) = escrow.offerLoad(o);
        if (active >= capacity) return false;
        (uint256 limit,) = escrow.buyerLimit(pool, b);
        if (escrow.buyerRecord(b).active >= limit) return false;
        return token.balanceOf(b) >= uint256(price) * 13 hours + 1e21;
    }

    function _open(address b, uint32 o, uint256 secondsSeed, uint256 dustSeed) internal {
        OpenCtx memory c;
        (c.buyer, c.offerId) = (b, o);
        (c.provider, c.poolId, c.price,,) = offers.leaseTerms(o, image);
        uint256 seconds_ = secondsSeed % 2 == 0 ? _bound(secondsSeed, 60, 2 hours) : _bound(secondsSeed, 60, 12 hours);
        c.deposit = uint256(c.price) * seconds_ + dustSeed % c.price;
        (c.limit, c.anon) = escrow.buyerLimit(c.poolId, b);
        c.quotedFee = c.anon ? escrow.anonFee(c.poolId) : 0;
        c.balanceBefore = token.balanceOf(b);
        c.poolFeesBefore = escrow.poolFees(c.poolId);
        OpenParams memory params = OpenParams({
            offerId: o,
            imageId: image,
            deposit: c.deposit,
            maxPricePerSecond: type(uint256).max,
            maxAnonFee: type(uint256).max,
            sshPublicKey: SSH_KEY,
            encryptedUserData: ""
        });
        vm.prank(b);
        try escrow.openLease(params) returns (uint256 leaseId) {
            _afterOpen(c, leaseId);
        } catch (bytes memory err) {
            _unexpected("openLease", 0, err);
        }
    }

    function _afterOpen(OpenCtx memory c, uint256 leaseId) internal {
        _check(leaseId == _leaseIds.length + 1, "open: lease ids count from 1", leaseId);
        uint256 paid = c.balanceBefore - token.balanceOf(c.buyer);
        _check(paid == c.deposit + c.quotedFee, "open: buyer paid deposit + quoted anon fee", leaseId);
        _check(escrow.poolFees(c.poolId) - c.poolFeesBefore == c.quotedFee, "open: anon fee to the pool", leaseId);
        Lease memory l = escrow.getLease(leaseId);
        _check(l.status == LeaseStatus.Pending, "open: pending", leaseId);
        _check(l.funds == c.deposit && l.pricePerSecond == c.price, "open: funds and price", leaseId);
        _check(l.isAnonymous == c.anon && l.buyer == c.buyer && l.offerId == c.offerId, "open: parties", leaseId);
        (, uint32 bootTimeout,,) = _timing(c.offerId);
        _check(l.deadline == block.timestamp + bootTimeout, "open: boot deadline", leaseId);

        _leaseIds.push(leaseId);
        LeaseInfo storage li = _leases[leaseId];
        li.buyer = c.buyer;
        li.provider = c.provider;
        li.offerId = c.offerId;
        li.poolId = c.poolId;
        li.price = c.price;
        li.feeBps = l.feeBps;
        li.anon = l.isAnonymous;
        li.lastStatus = LeaseStatus.Pending;
        li.lastFunds = l.funds;
        li.paidIn = c.deposit;

        ghost_leaseIn += c.deposit;
        ghost_buyerLeaseIn[c.buyer] += c.deposit;
        ghost_anonFees += paid - c.deposit;
        ghost_anonFeesOf[c.poolId] += paid - c.deposit;
        ghost_limitAtLastOpen[c.buyer] = c.limit;
        ghost_hasOpened[c.buyer] = true;
        ++ghost_openedOn[c.offerId];
        ++ghost_activeOfBuyer[c.buyer];
        ++ghost_activeOfOffer[c.offerId];
        _done(c.anon ? bytes32("openAnonymous") : bytes32("openTrusted"));
    }

    struct TopUpCtx {
        uint256 leaseId;
        address payer;
        uint256 amount;
        LeaseStatus effective;
        uint256 earned;
        uint96 fundsBefore;
        uint256 payerBefore;
        uint256 providerBefore;
        uint256 poolFeesBefore;
    }

    /// @notice Anyone (usually the buyer) tops up a lease that is not closed; a halted one within retention resumes.
    function topUp(uint256 leaseSeed, uint256 payerSeed, uint256 secondsSeed) external action(false) {
        // Most top-ups go to a lease that ran dry, if any: the resume path.
        (uint256 leaseId, bool found) = _findLease(leaseSeed, leaseSeed % 4 != 0 ? _resumable : _toppable);
        if (!found) (leaseId, found) = _findLease(leaseSeed, _toppable);
        if (!found) return;
        _target = leaseId;
        LeaseInfo storage li = _leases[leaseId];
        TopUpCtx memory c;
        c.leaseId = leaseId;
        c.payer = payerSeed % 4 == 0 ? _buyers[(payerSeed / 4) % _buyers.length] : li.buyer;
        c.amount = uint256(li.price) * _bound(secondsSeed, 60, 12 hours);
        (c.effective,, c.earned,) = escrow.leaseState(leaseId);
        c.fundsBefore = escrow.getLease(leaseId).funds;
        c.payerBefore = token.balanceOf(c.payer);
        c.providerBefore = token.balanceOf(li.provider);
        c.poolFeesBefore = escrow.poolFees(li.poolId);
        vm.prank(c.payer);
        try escrow.topUp(leaseId, c.amount) {
            _afterTopUp(c, li);
        } catch (bytes memory err) {
            _unexpected("topUp", leaseId, err);
        }
    }

    function _afterTopUp(TopUpCtx memory c, LeaseInfo storage li) internal {
        uint256 id = c.leaseId;
        _check(c.payerBefore - token.balanceOf(c.payer) == c.amount, "topUp: payer paid the amount", id);
        uint256 toProvider = token.balanceOf(li.provider) - c.providerBefore;
        uint256 toPool = escrow.poolFees(li.poolId) - c.poolFeesBefore;
        Lease memory l = escrow.getLease(id);
        if (c.effective == LeaseStatus.Halted) {
            uint256 fee = c.earned * li.feeBps / 10_000;
            _check(toProvider == c.earned - fee, "topUp: resume pays the halted run's earnings", id);
            _check(toPool == fee, "topUp: resume pays the pool fee", id);
            _check(l.status == LeaseStatus.RestartPending, "topUp: resumed lease is restart-pending", id);
            _check(l.funds == c.amount, "topUp: resumed lease holds only the top-up", id);
            (, uint32 bootTimeout,,) = _timing(li.offerId);
            _check(l.deadline == block.timestamp + bootTimeout, "topUp: restart deadline", id);
            _done("resume");
        } else {
            _check(toProvider == 0 && toPool == 0, "topUp: nothing paid out", id);
            _check(l.status == c.effective, "topUp: status unchanged", id);
            _check(l.funds == uint256(c.fundsBefore) + c.amount, "topUp: added to funds", id);
            _done("topUp");
        }
        li.paidIn += c.amount;
        ghost_leaseIn += c.amount;
        ghost_buyerLeaseIn[li.buyer] += c.amount;
        ghost_paidTo[li.provider] += toProvider;
        ghost_providerPaid += toProvider;
    }

    struct EndCtx {
        uint256 leaseId;
        LeaseStatus effective;
        uint256 balance;
        uint256 earned;
        uint256 buyerBefore;
        uint256 providerBefore;
        uint256 escrowBefore;
        Stake stakeBefore;
        uint256 slashBps;
    }

    /// @notice The buyer stops a lease that is not closed: the unspent balance comes back.
    function stop(uint256 leaseSeed) external action(false) {
        (uint256 leaseId, bool found) = _findLease(leaseSeed, _notClosed);
        if (!found) return;
        _target = leaseId;
        LeaseInfo storage li = _leases[leaseId];
        EndCtx memory c = _endCtx(leaseId, li);
        vm.prank(li.buyer);
        try escrow.stop(leaseId) {
            _afterEnd(c, li, c.effective == LeaseStatus.Halted ? EndReason.RanDry : EndReason.BuyerStopped);
            _done("stop");
        } catch (bytes memory err) {
            _unexpected("stop", leaseId, err);
        }
    }

    /// @notice The buyer reclaims a lease whose (re)boot deadline passed: full refund plus a slash of the stake.
    function reclaim(uint256 leaseSeed) external action(false) {
        (uint256 leaseId, bool found) = _findLease(leaseSeed, _awaitingBootLate);
        if (!found) return;
        _target = leaseId;
        LeaseInfo storage li = _leases[leaseId];
        EndCtx memory c = _endCtx(leaseId, li);
        (,, c.slashBps,) = pools.stakeParams(li.poolId);
        vm.prank(li.buyer);
        try escrow.reclaim(leaseId) {
            _afterEnd(c, li, EndReason.ReclaimedNoBoot);
            _done("reclaim");
        } catch (bytes memory err) {
            _unexpected("reclaim", leaseId, err);
        }
    }

    // ================================================================ PROVIDERS

    /// @notice The provider acknowledges a pending boot or restart before its deadline.
    function acknowledge(uint256 leaseSeed) external action(false) {
        (uint256 leaseId, bool found) = _findLease(leaseSeed, _awaitingBootInTime);
        if (!found) return;
        _target = leaseId;
        LeaseInfo storage li = _leases[leaseId];
        uint96 fundsBefore = escrow.getLease(leaseId).funds;
        vm.prank(li.provider);
        try escrow.acknowledge(leaseId, hex"a9e0", bytes32(leaseId)) {
            Lease memory l = escrow.getLease(leaseId);
            _check(l.status == LeaseStatus.Running, "acknowledge: running", leaseId);
            _check(l.settledAt == block.timestamp, "acknowledge: billing starts now", leaseId);
            _check(l.funds == fundsBefore, "acknowledge: funds unchanged", leaseId);
            _done("acknowledge");
        } catch (bytes memory err) {
            _unexpected("acknowledge", leaseId, err);
        }
    }

    /// @notice The provider terminates a running, halted or restart-pending lease: the buyer gets the unspent rest.
    function terminate(uint256 leaseSeed) external action(false) {
        (uint256 leaseId, bool found) = _findLease(leaseSeed, _terminable);
        if (!found) return;
        _target = leaseId;
        LeaseInfo storage li = _leases[leaseId];
        EndCtx memory c = _endCtx(leaseId, li);
        vm.prank(li.provider);
        try escrow.terminate(leaseId) {
            _afterEnd(c, li, EndReason.ProviderTerminated);
            _done("terminate");
        } catch (bytes memory err) {
            _unexpected("terminate", leaseId, err);
        }
    }

    /// @notice The provider reports a failed boot before the deadline: full refund plus a small slash.
    function reportBootFailure(uint256 leaseSeed) external action(false) {
        (uint256 leaseId, bool found) = _findLease(leaseSeed, _awaitingBootInTime);
        if (!found) return;
        _target = leaseId;
        LeaseInfo storage li = _leases[leaseId];
        EndCtx memory c = _endCtx(leaseId, li);
        (,,, c.slashBps) = pools.stakeParams(li.poolId);
        vm.prank(li.provider);
        try escrow.reportBootFailure(leaseId) {
            _afterEnd(c, li, EndReason.BootFailed);
            _done("bootFailure");
        } catch (bytes memory err) {
            _unexpected("reportBootFailure", leaseId, err);
        }
    }

    struct WithdrawCtx {
        address provider;
        uint32 poolId;
        uint256[] ids;
        uint256 expectedNet;
        uint256 expectedFees;
        uint256 providerBefore;
        uint256 poolFeesBefore;
    }

    /// @notice A provider withdraws the earnings of a batch of its leases (distinct ids, any status).
    function withdraw(uint256 providerSeed, uint256 startSeed, uint256 countSeed) external action(true) {
        WithdrawCtx memory c;
        // Mostly a provider with something to withdraw, batching from one of its leases with earnings.
        (uint256 earning, bool found) = _findLease(startSeed, _hasEarnings);
        c.provider =
            found && providerSeed % 4 != 0 ? _leases[earning].provider : _providers[providerSeed % _providers.length];
        c.ids = _batchOf(c.provider, found ? _indexOf(earning) : startSeed, _bound(countSeed, 1, 6));
        if (c.ids.length == 0) return;
        c.poolId = _leases[c.ids[0]].poolId;
        for (uint256 i; i < c.ids.length; ++i) {
            (,, uint256 earned,) = escrow.leaseState(c.ids[i]);
            uint256 fee = earned * _leases[c.ids[i]].feeBps / 10_000;
            c.expectedNet += earned - fee;
            c.expectedFees += fee;
        }
        c.providerBefore = token.balanceOf(c.provider);
        c.poolFeesBefore = escrow.poolFees(c.poolId);
        vm.prank(c.provider);
        try escrow.withdraw(c.ids, c.provider) returns (uint256 amount) {
            uint256 received = token.balanceOf(c.provider) - c.providerBefore;
            _check(amount == received, "withdraw: returns what it sent", 0);
            _check(amount == c.expectedNet, "withdraw: pays earned minus pool fee", c.ids[0]);
            _check(escrow.poolFees(c.poolId) - c.poolFeesBefore == c.expectedFees, "withdraw: pool fees", c.ids[0]);
            for (uint256 i; i < c.ids.length; ++i) {
                (,, uint256 left,) = escrow.leaseState(c.ids[i]);
                _check(left == 0, "withdraw: earnings left in a withdrawn lease", c.ids[i]);
            }
            ghost_paidTo[c.provider] += received;
            ghost_providerPaid += received;
            _done(amount == 0 ? bytes32("withdrawNothing") : bytes32("withdraw"));
        } catch (bytes memory err) {
            _unexpected("withdraw", c.ids[0], err);
        }
    }

    /// @dev Up to `count` distinct leases of `provider`, starting at a random one.
    function _batchOf(address provider, uint256 startSeed, uint256 count) internal view returns (uint256[] memory ids) {
        uint256 n = _leaseIds.length;
        ids = new uint256[](count);
        uint256 k;
        for (uint256 i; i < n && k < count; ++i) {
            uint256 id = _leaseIds[(startSeed % n + i) % n];
            if (_leases[id].provider == provider) ids[k++] = id;
        }
        assembly ("memory-safe") {
            mstore(ids, k)
        }
    }

    /// @notice A provider reports abuse by the buyer of one of its leases (open, or ended within 7 days).
    function reportAbuse(uint256 leaseSeed) external action(false) {
        (uint256 leaseId, bool found) = _findLease(leaseSeed, _reportable);
        if (!found) return;
        LeaseInfo storage li = _leases[leaseId];
        vm.prank(li.provider);
        try buyerTrust.reportAbuse(leaseId, "ipfs://evidence") returns (uint256 reportId) {
            _check(reportId == _reportIds.length + 1, "reportAbuse: report ids count from 1", leaseId);
            IBuyerTrust.Report memory r = buyerTrust.getReport(reportId);
            _check(
                r.buyer == li.buyer && r.provider == li.provider && r.poolId == li.poolId && r.leaseId == leaseId,
                "reportAbuse: report parties",
                leaseId
            );
            li.reported = true;
            _reportIds.push(reportId);
            ++ghost_openReportsOf[li.buyer];
            ghost_frozenUntil[li.buyer] = block.timestamp + RULING_PERIOD;
            _done("reportAbuse");
        } catch (bytes memory err) {
            _unexpected("reportAbuse", leaseId, err);
        }
    }

    /// @notice A provider adds stake in its pool.
    function stake(uint256 providerSeed, uint256 amountSeed) external action(false) {
        address p = _providers[providerSeed % _providers.length];
        uint32 pool = _poolOf(p);
        uint256 amount = _bound(amountSeed, 1, 3000e18);
        uint256 before = token.balanceOf(address(registry));
        vm.prank(p);
        try registry.stake(pool, amount) {
            _check(token.balanceOf(address(registry)) - before == amount, "stake: registry received", 0);
            ghost_staked += amount;
            _done("stake");
        } catch (bytes memory err) {
            _unexpected("stake", 0, err);
        }
    }

    /// @notice A provider (mostly the last one, the unbonding one) starts unbonding part of its bonded stake.
    function unbond(uint256 providerSeed, uint256 amountSeed) external action(false) {
        address p = providerSeed % 3 == 0
            ? _providers[(providerSeed / 3) % _providers.length]
            : _providers[_providers.length - 1];
        uint32 pool = _poolOf(p);
        uint96 bonded = registry.bondedOf(pool, p);
        if (bonded == 0) return;
        uint256 amount = _bound(amountSeed, 1, bonded / 2 + 1);
        Stake memory before = registry.stakeOf(pool, p);
        vm.prank(p);
        try registry.unbond(pool, amount) {
            Stake memory afterwards = registry.stakeOf(pool, p);
            _check(
                afterwards.bonded == before.bonded - amount && afterwards.unbonding == before.unbonding + amount,
                "unbond: moved bonded to unbonding",
                0
            );
            _done("unbond");
        } catch (bytes memory err) {
            _unexpected("unbond", 0, err);
        }
    }

    /// @notice A provider withdraws stake whose unbonding period is over.
    function withdrawUnbonded(uint256 providerSeed) external action(false) {
        uint256 np = _providers.length;
        for (uint256 i; i < np; ++i) {
            address p = _providers[(providerSeed % np + i) % np];
            uint32 pool = _poolOf(p);
            Stake memory s = registry.stakeOf(pool, p);
            if (s.unbonding == 0 || block.timestamp < s.unbondingEnds) continue;
            uint256 before = token.balanceOf(p);
            vm.prank(p);
            try registry.withdrawUnbonded(pool, p) {
                _check(token.balanceOf(p) - before == s.unbonding, "withdrawUnbonded: amount", 0);
                _check(registry.stakeOf(pool, p).unbonding == 0, "withdrawUnbonded: cleared", 0);
                ghost_unstaked += s.unbonding;
                _done("withdrawUnbonded");
            } catch (bytes memory err) {
                _unexpected("withdrawUnbonded", 0, err);
            }
            return;
        }
    }

    /// @notice A provider changes its offer's price (running leases keep theirs).
    function repriceOffer(uint256 offerSeed, uint256 priceSeed) external action(false) {
        uint32 o = _offerIds[offerSeed % _offerIds.length];
        Offer memory offer = offers.getOffer(o);
        OfferTerms memory terms = OfferTerms({
            pricePerSecond: uint96(_bound(priceSeed, 1, 2e15)),
            capacity: offer.capacity,
            bootTimeout: offer.bootTimeout,
            retention: offer.retention
        });
        vm.prank(offer.provider);
        try offers.updateOffer(o, offer.spec, terms) {
            _done("reprice");
        } catch (bytes memory err) {
            _unexpected("updateOffer", 0, err);
        }
    }

    // ================================================================ ANYONE

    /// @notice Anyone records that a running lease ran dry.
    function halt(uint256 leaseSeed, uint256 callerSeed) external action(false) {
        (uint256 leaseId, bool found) = _findLease(leaseSeed, _dryRunning);
        if (!found) return;
        _target = leaseId;
        LeaseInfo storage li = _leases[leaseId];
        (,, uint256 earned, uint40 paidUntil) = escrow.leaseState(leaseId);
        (,, uint32 retention,) = _timing(li.offerId);
        uint256 escrowBefore = token.balanceOf(address(escrow));
        vm.prank(_buyers[callerSeed % _buyers.length]);
        try escrow.halt(leaseId) {
            Lease memory l = escrow.getLease(leaseId);
            _check(l.status == LeaseStatus.Halted, "halt: halted", leaseId);
            _check(l.settledAt == paidUntil, "halt: halted at settledAt + ceil(funds / price)", leaseId);
            _check(l.deadline == uint256(paidUntil) + retention, "halt: retention end", leaseId);
            _check(l.funds == earned, "halt: all funds earned", leaseId);
            _check(token.balanceOf(address(escrow)) == escrowBefore, "halt: moved tokens", leaseId);
            _done("halt");
        } catch (bytes memory err) {
            _unexpected("halt", leaseId, err);
        }
    }

    /// @notice Anyone closes a lease that ran dry and whose retention is over.
    function close(uint256 leaseSeed, uint256 callerSeed) external action(false) {
        (uint256 leaseId, bool found) = _findLease(leaseSeed, _closable);
        if (!found) return;
        _target = leaseId;
        LeaseInfo storage li = _leases[leaseId];
        EndCtx memory c = _endCtx(leaseId, li);
        vm.prank(_buyers[callerSeed % _buyers.length]);
        try escrow.close(leaseId) {
            _afterEnd(c, li, EndReason.RanDry);
            _done("close");
        } catch (bytes memory err) {
            _unexpected("close", leaseId, err);
        }
    }

    /// @notice A pool operator withdraws the pool's fees.
    function withdrawPoolFees(uint256 poolSeed) external action(false) {
        uint32 pool = _poolIds[poolSeed % _poolIds.length];
        uint256 accrued = escrow.poolFees(pool);
        uint256 before = token.balanceOf(feeSink);
        vm.prank(pools.operatorOf(pool));
        try escrow.withdrawPoolFees(pool, feeSink) returns (uint256 amount) {
            _check(amount == accrued, "withdrawPoolFees: all accrued", 0);
            _check(token.balanceOf(feeSink) - before == amount, "withdrawPoolFees: sent", 0);
            _check(escrow.poolFees(pool) == 0, "withdrawPoolFees: cleared", 0);
            ghost_poolFeesWithdrawn += amount;
            ghost_poolFeesWithdrawnOf[pool] += amount;
            _done(amount == 0 ? bytes32("withdrawPoolFeesNothing") : bytes32("withdrawPoolFees"));
        } catch (bytes memory err) {
            _unexpected("withdrawPoolFees", 0, err);
        }
    }

    // ================================================================ BUYER TRUST

    function trustDeposit(uint256 buyerSeed, uint256 amountSeed) external action(false) {
        address b = _buyers[buyerSeed % _buyers.length];
        uint256 amount = _bound(amountSeed, 1, 400e18);
        uint96 before = buyerTrust.depositOf(b);
        vm.prank(b);
        try buyerTrust.deposit(amount) {
            _check(buyerTrust.depositOf(b) == before + amount, "trustDeposit: deposit grew", 0);
            ghost_trustDeposited += amount;
            _done("trustDeposit");
        } catch (bytes memory err) {
            _unexpected("trustDeposit", 0, err);
        }
    }

    /// @notice A buyer starts withdrawing part of its trust deposit; preferably one with nothing unbonding yet (a new
    /// request restarts the unbonding period of everything unbonding).
    function trustRequestWithdrawal(uint256 buyerSeed, uint256 amountSeed) external action(false) {
        uint256 nb = _buyers.length;
        // Restarting a pending unbonding only now and then, so that unbonding periods do end.
        uint256 passes = amountSeed % 4 == 0 ? 2 : 1;
        for (uint256 pass; pass < passes; ++pass) {
            for (uint256 i; i < nb; ++i) {
                address b = _buyers[(buyerSeed % nb + i) % nb];
                IBuyerTrust.Account memory before = buyerTrust.accountOf(b);
                if (before.deposit == 0 || (pass == 0 && before.unbonding != 0)) continue;
                uint256 amount = _bound(amountSeed, 1, before.deposit);
                vm.prank(b);
                try buyerTrust.requestWithdrawal(amount) {
                    IBuyerTrust.Account memory a = buyerTrust.accountOf(b);
                    _check(a.deposit == before.deposit - amount, "trustRequestWithdrawal: deposit", 0);
                    _check(a.unbonding == before.unbonding + amount, "trustRequestWithdrawal: unbonding", 0);
                    _check(a.unbondingEnds == block.timestamp + 7 days, "trustRequestWithdrawal: unbonding end", 0);
                    _done("trustRequestWithdrawal");
                } catch (bytes memory err) {
                    _unexpected("requestWithdrawal", 0, err);
                }
                return;
            }
        }
    }

    /// @notice A buyer withdraws its unbonded trust deposit. Per the spec this succeeds only with no open report
    /// against it younger than 30 days, no active lease and more than 7 days after its latest lease ended; otherwise
    /// it must revert.
    function trustWithdraw(uint256 buyerSeed) external action(false) {
        // First a buyer that may withdraw; failing that, one whose deposit is locked (the call must revert).
        for (uint256 pass; pass < 2; ++pass) {
            uint256 nb = _buyers.length;
            for (uint256 i; i < nb; ++i) {
                address b = _buyers[(buyerSeed % nb + i) % nb];
                IBuyerTrust.Account memory a = buyerTrust.accountOf(b);
                if (a.unbonding == 0 || block.timestamp < a.unbondingEnds) continue;
                bool locked = _trustLocked(b);
                if (locked != (pass == 1)) continue;
                uint256 before = token.balanceOf(b);
                vm.prank(b);
                try buyerTrust.withdraw(b) {
                    _check(!locked, "trustWithdraw: deposit left while it still backs leases or reports", 0);
                    _check(token.balanceOf(b) - before == a.unbonding, "trustWithdraw: amount", 0);
                    ghost_trustWithdrawn += a.unbonding;
                    _done("trustWithdraw");
                } catch (bytes memory err) {
                    if (locked) _done("trustWithdrawLocked");
                    else _unexpected("trustWithdraw", 0, err);
                }
                return;
            }
        }
    }

    /// @dev Whether the buyer's deposit is locked: an open report against it less than 30 days after the latest report,
    /// an active lease, or a lease that ended within the report window.
    function _trustLocked(address b) internal view returns (bool) {
        if (ghost_openReportsOf[b] != 0 && block.timestamp <= ghost_frozenUntil[b]) return true;
        if (escrow.buyerRecord(b).active != 0) return true;
        uint256 lastEnd = ghost_lastEndedAt[b];
        return lastEnd != 0 && block.timestamp <= lastEnd + REPORT_WINDOW;
    }

    struct RulingCtx {
        uint256 reportId;
        IBuyerTrust.Report report;
        IBuyerTrust.Account before;
        uint256 slash;
        uint256 providerBefore;
    }

    /// @notice The pool operator rules on an open report, slashing up to the pool's cap when upheld.
    function resolveReport(uint256 reportSeed, bool upheld, uint256 slashSeed) external action(false) {
        uint256 n = _reportIds.length;
        for (uint256 i; i < n; ++i) {
            RulingCtx memory c;
            c.reportId = _reportIds[(reportSeed % n + i) % n];
            c.report = buyerTrust.getReport(c.reportId);
            if (c.report.status != IBuyerTrust.ReportStatus.Open) continue;
            c.before = buyerTrust.accountOf(c.report.buyer);
            (,, TrustParams memory trust) = pools.leaseParams(c.report.poolId);
            uint256 maxSlash = (uint256(c.before.deposit) + c.before.unbonding) * trust.maxBuyerSlashBps / 10_000;
            c.slash = upheld ? _bound(slashSeed, 0, maxSlash) : 0;
            c.providerBefore = token.balanceOf(c.report.provider);
            vm.prank(pools.operatorOf(c.report.poolId));
            try buyerTrust.resolveReport(c.reportId, upheld, c.slash) {
                _afterRuling(c, upheld);
            } catch (bytes memory err) {
                _unexpected("resolveReport", c.report.leaseId, err);
            }
            return;
        }
    }

    function _afterRuling(RulingCtx memory c, bool upheld) internal {
        --ghost_openReportsOf[c.report.buyer];
        IBuyerTrust.Account memory a = buyerTrust.accountOf(c.report.buyer);
        uint256 id = c.report.leaseId;
        _check(token.balanceOf(c.report.provider) - c.providerBefore == c.slash, "resolveReport: slash paid", id);
        if (c.slash <= c.before.deposit) {
            _check(
                a.deposit == c.before.deposit - c.slash && a.unbonding == c.before.unbonding,
                "resolveReport: deposit first",
                id
            );
        } else {
            _check(
                a.deposit == 0 && a.unbonding == c.before.unbonding - (c.slash - c.before.deposit),
                "resolveReport: rest from unbonding",
                id
            );
        }
        if (upheld) {
            _check(escrow.buyerRecord(c.report.buyer).karma == 0, "resolveReport: karma reset", id);
            ghost_trustSlashed += c.slash;
            _done("upheld");
        } else {
            _done("dismissed");
        }
    }

    // ================================================================ FORBIDDEN CALLS

    /// @notice Tries a lease action the spec forbids in the lease's current state (wrong status, wrong caller, too
    /// early or too late: e.g. topping up, stopping or halting a closed lease, acknowledging after the deadline,
    /// reclaiming before it, closing within retention, a stranger stopping or terminating), or withdrawing stake
    /// that is still unbonding. Such a call must revert; the action is skipped when the drawn call is allowed.
    function pokeForbidden(uint256 leaseSeed, uint256 kindSeed) external action(false) {
        uint256 n = _leaseIds.length;
        if (n == 0) return;
        uint256 id = _leaseIds[leaseSeed % n];
        LeaseInfo storage li = _leases[id];
        uint256 kind = kindSeed % 9;
        bool byParty = (kindSeed >> 8) % 2 == 0;
        address other = _buyers[(kindSeed >> 16) % _buyers.length];
        if (other == li.buyer) other = _buyers[((kindSeed >> 16) + 1) % _buyers.length];
        address caller;
        bool allowed;
        bytes memory data;
        if (kind == 0) {
            (caller, allowed) = (li.buyer, _toppable(id));
            data = abi.encodeCall(escrow.topUp, (id, uint256(li.price) * 60));
        } else if (kind == 1) {
            caller = byParty ? li.buyer : other;
            allowed = byParty && _notClosed(id);
            data = abi.encodeCall(escrow.stop, (id));
        } else if (kind == 2) {
            caller = byParty ? li.provider : other;
            allowed = byParty && _terminable(id);
            data = abi.encodeCall(escrow.terminate, (id));
        } else if (kind == 3) {
            caller = byParty ? li.provider : other;
            allowed = byParty && _awaitingBootInTime(id);
            data = abi.encodeCall(escrow.acknowledge, (id, hex"a9e0", bytes32(id)));
        } else if (kind == 4) {
            caller = byParty ? li.provider : other;
            allowed = byParty && _awaitingBootInTime(id);
            data = abi.encodeCall(escrow.reportBootFailure, (id));
        } else if (kind == 5) {
            (caller, allowed) = (other, _dryRunning(id));
            data = abi.encodeCall(escrow.halt, (id));
        } else if (kind == 6) {
            (caller, allowed) = (other, _closable(id));
            data = abi.encodeCall(escrow.close, (id));
        } else if (kind == 7) {
            caller = byParty ? li.buyer : other;
            allowed = byParty && _awaitingBootLate(id);
            data = abi.encodeCall(escrow.reclaim, (id));
        } else {
            uint256[] memory ids = new uint256[](1);
            ids[0] = id;
            // Only the lease's provider may withdraw its earnings.
            (caller, allowed) = (other, false);
            data = abi.encodeCall(escrow.withdraw, (ids, other));
        }
        if (allowed) return;
        vm.prank(caller);
        (bool ok,) = address(escrow).call(data);
        _check(!ok, string.concat("escrow accepted a forbidden call, kind ", _str(kind)), id);
        _done("forbiddenRejected");
    }

    /// @notice Tries to open a lease the escrow must refuse: the buyer at its lease limit, the offer at capacity, or
    /// the provider below the pool's minimum stake. Skipped when no such buyer and offer exist.
    function pokeForbiddenOpen(uint256 buyerSeed, uint256 offerSeed) external action(false) {
        uint256 nb = _buyers.length - 1;
        uint256 no = _offerIds.length;
        for (uint256 i; i < nb * no; ++i) {
            address b = _buyers[(buyerSeed % nb + i / no) % nb];
            uint32 o = _offerIds[(offerSeed % no + i) % no];
            if (!_mustRefuseOpen(b, o)) continue;
            (,, uint96 price,,) = offers.leaseTerms(o, image);
            OpenParams memory params = OpenParams({
                offerId: o,
                imageId: image,
                deposit: uint256(price) * 3600,
                maxPricePerSecond: type(uint256).max,
                maxAnonFee: type(uint256).max,
                sshPublicKey: SSH_KEY,
                encryptedUserData: ""
            });
            vm.prank(b);
            try escrow.openLease(params) returns (uint256 leaseId) {
                _check(false, "escrow opened a lease beyond a limit, capacity or eligibility", leaseId);
            } catch {
                _done("forbiddenRejected");
            }
            return;
        }
    }

    function _mustRefuseOpen(address b, uint32 o) internal view returns (bool) {
        (address p, uint32 pool,, uint32 capacity,) = offers.leaseTerms(o, image);
        (uint96 minStake,,,) = pools.stakeParams(pool);
        if (registry.bondedOf(pool, p) < minStake) return true;
        (uint32 active,) = escrow.offerLoad(o);
        if (active >= capacity) return true;
        (uint256 limit,) = escrow.buyerLimit(pool, b);
        return escrow.buyerRecord(b).active >= limit;
    }

    /// @notice Tries to withdraw provider stake that is not unbonded yet (or absent): must revert.
    function pokeEarlyUnstake(uint256 providerSeed) external action(false) {
        address p = _providers[providerSeed % _providers.length];
        uint32 pool = _poolOf(p);
        Stake memory s = registry.stakeOf(pool, p);
        if (s.unbonding != 0 && block.timestamp >= s.unbondingEnds) return;
        vm.prank(p);
        try registry.withdrawUnbonded(pool, p) {
            _check(false, "registry released stake before its unbonding period ended", 0);
        } catch {
            _done("forbiddenRejected");
        }
    }

    // ================================================================ TIME

    /// @notice Moves time forward: mostly minutes, sometimes hours, now and then days.
    function warp(uint256 seed) external action(false) {
        uint256 kind = seed % 8;
        uint256 amount = kind == 0
            ? _bound(seed >> 8, 1 days, 8 days)
            : kind < 3 ? _bound(seed >> 8, 1 hours, 12 hours) : _bound(seed >> 8, 1, 30 minutes);
        currentTime += amount;
        vm.warp(currentTime);
        _done("warp");
    }

    // ================================================================ ENDING A LEASE

    function _endCtx(uint256 leaseId, LeaseInfo storage li) internal view returns (EndCtx memory c) {
        c.leaseId = leaseId;
        (c.effective, c.balance, c.earned,) = escrow.leaseState(leaseId);
        c.buyerBefore = token.balanceOf(li.buyer);
        c.providerBefore = token.balanceOf(li.provider);
        c.escrowBefore = token.balanceOf(address(escrow));
        c.stakeBefore = registry.stakeOf(li.poolId, li.provider);
    }

    /// @dev Checks a lease that just ended: refund == the unspent balance, the provider keeps exactly what it earned,
    /// a slash is floor((bonded + unbonding) * bps / 1e4) taken bonded first; records the ghosts.
    function _afterEnd(EndCtx memory c, LeaseInfo storage li, EndReason reason) internal {
        uint256 id = c.leaseId;
        bool unbooted = reason == EndReason.BootFailed || reason == EndReason.ReclaimedNoBoot;
        Stake memory s = registry.stakeOf(li.poolId, li.provider);
        uint256 whole = uint256(c.stakeBefore.bonded) + c.stakeBefore.unbonding;
        uint256 slashed = unbooted ? whole * c.slashBps / 10_000 : 0;
        _check(uint256(s.bonded) + s.unbonding + slashed == whole, "end: slash amount", id);
        if (slashed <= c.stakeBefore.bonded) {
            _check(s.unbonding == c.stakeBefore.unbonding, "end: slash takes bonded first", id);
        } else {
            _check(s.bonded == 0, "end: slash exhausts bonded first", id);
        }

        uint256 received = token.balanceOf(li.buyer) - c.buyerBefore;
        _check(received == c.balance + slashed, "end: buyer gets the unspent balance (+ slash)", id);
        _check(token.balanceOf(li.provider) == c.providerBefore, "end: provider paid on ending", id);
        _check(c.escrowBefore - token.balanceOf(address(escrow)) == c.balance, "end: escrow paid the refund", id);

        Lease memory l = escrow.getLease(id);
        _check(l.status == LeaseStatus.Closed, "end: closed", id);
        _check(l.funds == c.earned, "end: closed lease keeps exactly the earnings", id);
        _check(l.settledAt == block.timestamp && l.deadline == 0, "end: end time recorded", id);

        li.refunded += c.balance;
        ghost_refunded += c.balance;
        ghost_buyerRefunds[li.buyer] += c.balance;
        ghost_stakeSlashed += slashed;
        ghost_slashedTo[li.buyer] += slashed;
        ++ghost_ended[li.provider][reason];
        --ghost_activeOfBuyer[li.buyer];
        --ghost_activeOfOffer[li.offerId];
        ghost_lastEndedAt[li.buyer] = block.timestamp;
    }

    // ================================================================ SYNC

    /// @dev After every call: compares every lease with what was seen after the previous call.
    function _sync() internal {
        uint256 n = _leaseIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = _leaseIds[i];
            LeaseInfo storage li = _leases[id];
            Lease memory l = escrow.getLease(id);
            LeaseStatus prev = li.lastStatus;
            if (prev == LeaseStatus.Closed) {
                _check(l.status == LeaseStatus.Closed, "sync: a closed lease left Closed", id);
                _check(l.funds <= li.lastFunds, "sync: a closed lease's funds grew", id);
                _check(l.funds == li.lastFunds || _withdrawing, "sync: a closed lease drained outside withdraw", id);
            } else if (l.status != prev) {
                _check(_allowed(prev, l.status), "sync: illegal status transition", id);
                _check(
                    id == _target || (_withdrawing && prev == LeaseStatus.Running && l.status == LeaseStatus.Halted),
                    "sync: an untouched lease changed status",
                    id
                );
            }
            _check(
                l.pricePerSecond == li.price && l.buyer == li.buyer && l.offerId == li.offerId
                    && l.isAnonymous == li.anon && l.feeBps == li.feeBps,
                "sync: a fixed lease field changed",
                id
            );
            li.lastStatus = l.status;
            li.lastFunds = l.funds;
        }
        _check(escrow.leaseCount() == n, "sync: leases opened outside the handler", 0);
    }

    function _allowed(LeaseStatus from, LeaseStatus to) internal pure returns (bool) {
        if (from == LeaseStatus.Pending) return to == LeaseStatus.Running || to == LeaseStatus.Closed;
        if (from == LeaseStatus.Running) {
            return to == LeaseStatus.Halted || to == LeaseStatus.RestartPending || to == LeaseStatus.Closed;
        }
        if (from == LeaseStatus.Halted) return to == LeaseStatus.RestartPending || to == LeaseStatus.Closed;
        if (from == LeaseStatus.RestartPending) return to == LeaseStatus.Running || to == LeaseStatus.Closed;
        return false;
    }

    // ================================================================ SELECTION

    function _findLease(uint256 seed, function(uint256) internal view returns (bool) ok)
        internal
        view
        returns (uint256 leaseId, bool found)
    {
        uint256 n = _leaseIds.length;
        if (n == 0) return (0, false);
        uint256 start = seed % n;
        for (uint256 i; i < n; ++i) {
            uint256 candidate = _leaseIds[(start + i) % n];
            if (ok(candidate)) return (candidate, true);
        }
    }

    function _notClosed(uint256 id) internal view returns (bool) {
        return escrow.getLease(id).status != LeaseStatus.Closed;
    }

    function _awaitingBootInTime(uint256 id) internal view returns (bool) {
        Lease memory l = escrow.getLease(id);
        return
            (l.status == LeaseStatus.Pending || l.status == LeaseStatus.RestartPending) && block.timestamp <= l.deadline;
    }

    function _awaitingBootLate(uint256 id) internal view returns (bool) {
        Lease memory l = escrow.getLease(id);
        return
            (l.status == LeaseStatus.Pending || l.status == LeaseStatus.RestartPending) && block.timestamp > l.deadline;
    }

    function _terminable(uint256 id) internal view returns (bool) {
        LeaseStatus s = escrow.getLease(id).status;
        return s == LeaseStatus.Running || s == LeaseStatus.Halted || s == LeaseStatus.RestartPending;
    }

    function _dryRunning(uint256 id) internal view returns (bool) {
        if (escrow.getLease(id).status != LeaseStatus.Running) return false;
        (LeaseStatus effective,,,) = escrow.leaseState(id);
        return effective == LeaseStatus.Halted;
    }

    /// @dev When a lease that ran dry (recorded or not) stops keeping its disk; 0 if it has not run dry.
    function _retentionEnd(uint256 id) internal view returns (uint256) {
        Lease memory l = escrow.getLease(id);
        if (l.status == LeaseStatus.Halted) return l.deadline;
        if (l.status != LeaseStatus.Running) return 0;
        (LeaseStatus effective,,, uint40 paidUntil) = escrow.leaseState(id);
        if (effective != LeaseStatus.Halted) return 0;
        (,, uint32 retention,) = _timing(l.offerId);
        return uint256(paidUntil) + retention;
    }

    function _closable(uint256 id) internal view returns (bool) {
        uint256 end = _retentionEnd(id);
        return end != 0 && block.timestamp > end;
    }

    function _toppable(uint256 id) internal view returns (bool) {
        LeaseStatus s = escrow.getLease(id).status;
        if (s == LeaseStatus.Closed) return false;
        uint256 end = _retentionEnd(id);
        return end == 0 || block.timestamp <= end;
    }

    function _hasEarnings(uint256 id) internal view returns (bool) {
        (,, uint256 earned,) = escrow.leaseState(id);
        return earned != 0;
    }

    function _indexOf(uint256 id) internal view returns (uint256) {
        // Lease ids count from 1 and are pushed in order.
        return id - 1;
    }

    function _resumable(uint256 id) internal view returns (bool) {
        uint256 end = _retentionEnd(id);
        return end != 0 && block.timestamp <= end;
    }

    function _reportable(uint256 id) internal view returns (bool) {
        if (_leases[id].reported) return false;
        Lease memory l = escrow.getLease(id);
        return l.status != LeaseStatus.Closed || block.timestamp <= uint256(l.settledAt) + REPORT_WINDOW;
    }

    // ================================================================ HELPERS

    function _timing(uint32 offerId)
        internal
        view
        returns (address provider, uint32 bootTimeout, uint32 retention, uint32 poolId)
    {
        (provider, poolId, bootTimeout, retention) = offers.providerOf(offerId);
    }

    function _poolOf(address provider) internal view returns (uint32) {
        // Each provider stakes in exactly one pool: the pool of its first offer.
        uint256 no = _offerIds.length;
        for (uint256 i; i < no; ++i) {
            (address p, uint32 pool,,) = offers.providerOf(_offerIds[i]);
            if (p == provider) return pool;
        }
        return _poolIds[0];
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + (x % (max - min + 1));
    }

    function _done(bytes32 name) internal {
        ++done[name];
        ++successes;
    }

    function _check(bool ok, string memory what, uint256 leaseId) internal {
        if (ok) return;
        if (violations == 0) firstViolation = string.concat(what, " (lease ", _str(leaseId), ")");
        ++violations;
    }

    function _unexpected(string memory what, uint256 leaseId, bytes memory err) internal {
        bytes4 selector;
        if (err.length >= 4) selector = bytes4(err);
        _check(false, string.concat("unexpected revert of ", what, " with selector ", _hex(selector)), leaseId);
    }

    function _str(uint256 value) internal pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) {
            ++digits;
        }
        bytes memory buffer = new bytes(digits);
        while (value != 0) {
            buffer[--digits] = bytes1(uint8(48 + value % 10));
            value /= 10;
        }
        return string(buffer);
    }

    function _hex(bytes4 value) internal pure returns (string memory) {
        bytes memory alphabet = "0123456789abcdef";
        bytes memory out = new bytes(10);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i; i < 4; ++i) {
            out[2 + 2 * i] = alphabet[uint8(value[i]) >> 4];
            out[3 + 2 * i] = alphabet[uint8(value[i]) & 0x0f];
        }
        return string(out);
    }

    // ================================================================ VIEWS FOR THE INVARIANTS

    function leaseCount() external view returns (uint256) {
        return _leaseIds.length;
    }

    function poolOf(address provider) external view returns (uint32) {
        return _poolOf(provider);
    }

    /// @notice What the invariants need of a lease, in one call.
    function ledgerOf(uint256 leaseId)
        external
        view
        returns (
            address provider,
            uint32 poolId,
            uint256 paidIn,
            uint256 refunded,
            LeaseStatus lastStatus,
            uint96 lastFunds
        )
    {
        LeaseInfo storage li = _leases[leaseId];
        return (li.provider, li.poolId, li.paidIn, li.refunded, li.lastStatus, li.lastFunds);
    }

    /// @notice What the invariants need of a buyer, in one call.
    struct BuyerGhosts {
        bool hasOpened;
        uint256 limitAtLastOpen;
        uint256 active;
        uint256 lastEndedAt;
        uint256 openReports;
        uint256 frozenUntil;
        uint256 leaseIn;
        uint256 refunds;
    }

    function buyerGhosts(address b) external view returns (BuyerGhosts memory g) {
        g.hasOpened = ghost_hasOpened[b];
        g.limitAtLastOpen = ghost_limitAtLastOpen[b];
        g.active = ghost_activeOfBuyer[b];
        g.lastEndedAt = ghost_lastEndedAt[b];
        g.openReports = ghost_openReportsOf[b];
        g.frozenUntil = ghost_frozenUntil[b];
        g.leaseIn = ghost_buyerLeaseIn[b];
        g.refunds = ghost_buyerRefunds[b];
    }

    /// @notice Ended leases of a provider by reason, in one call.
    function endedOf(address provider) external view returns (uint256[5] memory counts) {
        counts[0] = ghost_ended[provider][EndReason.BuyerStopped];
        counts[1] = ghost_ended[provider][EndReason.RanDry];
        counts[2] = ghost_ended[provider][EndReason.BootFailed];
        counts[3] = ghost_ended[provider][EndReason.ProviderTerminated];
        counts[4] = ghost_ended[provider][EndReason.ReclaimedNoBoot];
    }
}
