// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IBuyerTrust} from "./interfaces/IBuyerTrust.sol";
import {ILeaseEscrow} from "./interfaces/ILeaseEscrow.sol";
import {Bonds} from "./libraries/Bonds.sol";
import {IPools} from "./interfaces/IPools.sol";
import {BuyerRecord, LeaseStatus, TrustParams} from "./types/DataTypes.sol";

/// @title BuyerTrust
/// @notice The whitepaper's pay-for-trust. A buyer escrows a deposit, withdrawable after an unbonding period,
/// and earns karma (kept by the escrow) from what it pays providers. Deposit and karma raise how many leases
/// it may hold at once and lift it out of the anonymous class. Providers report abuse to the pool operator,
/// who may slash a bounded share of the deposit to the provider and reset the buyer's karma.
contract BuyerTrust is IBuyerTrust, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice How long a withdrawn deposit stays slashable before it can be taken out.
    uint40 public constant UNBONDING_PERIOD = 7 days;
    /// @notice How long after a lease ends its provider may still report the buyer.
    uint40 public constant REPORT_WINDOW = 7 days;
    /// @notice How long an open report freezes the buyer's deposit: an operator who never rules cannot hold it
    /// forever. A later ruling still slashes what is left.
    uint40 public constant RULING_PERIOD = 30 days;

    /// @notice The deposit token.
    IERC20 public immutable TOKEN;
    /// @notice The pool registry, for operators and slash caps.
    IPools public immutable POOLS;
    /// @notice The lease escrow, for lease parties and karma.
    ILeaseEscrow public immutable ESCROW;

    mapping(address buyer => Account) private _accounts;
    mapping(uint256 reportId => Report) private _reports;
    mapping(uint256 leaseId => uint256 reportId) private _reportOfLease;

    /// @dev Per buyer, one slot: reports awaiting a ruling, and until when they freeze its deposit.
    struct Freeze {
        uint32 openReports;
        uint40 until;
    }

    mapping(address buyer => Freeze) private _freezes;
    uint256 private _reportCount;

    /// @param token The compute token.
    /// @param pools The pool registry.
    /// @param escrow The lease escrow (deployed after this contract at a predicted address).
    constructor(IERC20 token, IPools pools, ILeaseEscrow escrow) {
        TOKEN = token;
        POOLS = pools;
        ESCROW = escrow;
    }

    /// @inheritdoc IBuyerTrust
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert BuyerTrust_ZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint96 newDeposit = account.deposit + SafeCast.toUint96(amount);
        account.deposit = newDeposit;
        emit Deposited(msg.sender, amount, newDeposit);
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IBuyerTrust
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert BuyerTrust_ZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint96 current = account.deposit;
        if (amount > current) revert BuyerTrust_InsufficientDeposit(current, amount);
        uint96 unbonding;
        (current, unbonding) = Bonds.unbond(current, account.unbonding, amount);
        uint40 ends = uint40(block.timestamp) + UNBONDING_PERIOD;
        account.deposit = current;
        account.unbonding = unbonding;
        account.unbondingEnds = ends;
        emit WithdrawalRequested(msg.sender, amount, current, unbonding, ends);
    }

    /// @inheritdoc IBuyerTrust
    function withdraw(address to) external nonReentrant {
        if (to == address(0)) revert BuyerTrust_ZeroAddress();
        Account storage account = _accounts[msg.sender];
        uint96 amount = account.unbonding;
        if (amount == 0 || block.timestamp < account.unbondingEnds) {
            revert BuyerTrust_NothingToWithdraw(account.unbondingEnds, amount);
        }
        Freeze memory freeze = _freezes[msg.sender];
        if (freeze.openReports != 0 && block.timestamp <= freeze.until) {
            revert BuyerTrust_ReportsOpen(freeze.openReports, freeze.until);
        }
        BuyerRecord memory leases = ESCROW.buyerRecord(msg.sender);
        if (leases.active != 0) revert BuyerTrust_LeasesActive(leases.active);
        uint256 reportableUntil = uint256(leases.lastEndedAt) + REPORT_WINDOW;
        if (leases.lastEndedAt != 0 && block.timestamp <= reportableUntil) {
            revert BuyerTrust_ReportWindowOpen(reportableUntil);
        }
        account.unbonding = 0;
        emit Withdrawn(msg.sender, to, amount);
        TOKEN.safeTransfer(to, amount);
    }

    /// @inheritdoc IBuyerTrust
    function reportAbuse(uint256 leaseId, string calldata evidenceURI) external returns (uint256 reportId) {
        uint256 evidenceLength = bytes(evidenceURI).length;
        if (evidenceLength == 0 || evidenceLength > 256) revert BuyerTrust_InvalidEvidence();
        (address buyer, address provider, uint32 poolId, LeaseStatus status, uint40 endedAt) =
            ESCROW.leaseParties(leaseId);
        if (msg.sender != provider) revert BuyerTrust_NotLeaseProvider(leaseId, msg.sender);
        uint256 existing = _reportOfLease[leaseId];
        if (existing != 0) revert BuyerTrust_AlreadyReported(leaseId, existing);
        if (status == LeaseStatus.Closed && block.timestamp > uint256(endedAt) + REPORT_WINDOW) {
            revert BuyerTrust_ReportWindowClosed(leaseId, endedAt);
        }
        reportId = ++_reportCount;
        _reportOfLease[leaseId] = reportId;
        _freeze(buyer);
        _reports[reportId] =
            Report({leaseId: leaseId, buyer: buyer, provider: provider, poolId: poolId, status: ReportStatus.Open});
        emit AbuseReported(reportId, leaseId, buyer, provider, poolId, evidenceURI);
    }

    /// @inheritdoc IBuyerTrust
    function resolveReport(uint256 reportId, bool upheld, uint256 slashAmount) external nonReentrant {
        Report storage report = _reports[reportId];
        if (report.status != ReportStatus.Open) revert BuyerTrust_ReportNotOpen(reportId);
        uint32 poolId = report.poolId;
        if (msg.sender != POOLS.operatorOf(poolId)) revert BuyerTrust_NotOperator(poolId, msg.sender);
        address buyer = report.buyer;
        --_freezes[buyer].openReports;
        Account storage account = _accounts[buyer];
        uint96 current = account.deposit;
        uint96 unbonding = account.unbonding;
        if (!upheld) {
            report.status = ReportStatus.Dismissed;
            emit ReportResolved(reportId, buyer, false, 0, current, unbonding);
            return;
        }
        // Only the trust parameters bound the slash.
        // slither-disable-next-line unused-return
        (,, TrustParams memory trust) = POOLS.leaseParams(poolId);
        // Rounds down, in the buyer's favour.
        uint256 maxSlash = Bonds.share(current, unbonding, trust.maxBuyerSlashBps);
        if (slashAmount > maxSlash) revert BuyerTrust_SlashTooHigh(slashAmount, maxSlash);
        (current, unbonding) = Bonds.take(current, unbonding, slashAmount);
        report.status = ReportStatus.Upheld;
        account.deposit = current;
        account.unbonding = unbonding;
        emit ReportResolved(reportId, buyer, true, slashAmount, current, unbonding);
        ESCROW.resetKarma(buyer);
        if (slashAmount != 0) TOKEN.safeTransfer(report.provider, slashAmount);
    }

    /// @dev Counts an open report against `buyer` and freezes its deposit for the ruling period from now.
    function _freeze(address buyer) private {
        Freeze storage freeze = _freezes[buyer];
        ++freeze.openReports;
        freeze.until = uint40(block.timestamp) + RULING_PERIOD;
    }

    /// @inheritdoc IBuyerTrust
    function depositOf(address buyer) external view returns (uint96) {
        return _accounts[buyer].deposit;
    }

    /// @inheritdoc IBuyerTrust
    function accountOf(address buyer) external view returns (Account memory) {
        return _accounts[buyer];
    }

    /// @inheritdoc IBuyerTrust
    function getReport(uint256 reportId) external view returns (Report memory) {
        return _reports[reportId];
    }

    /// @inheritdoc IBuyerTrust
    function openReportsOf(address buyer) external view returns (uint256 openReports, uint40 frozenUntil) {
        Freeze memory freeze = _freezes[buyer];
        // A count of reports, not a balance: with none open, the freeze time is stale and reads as zero.
        // slither-disable-next-line incorrect-equality
        return (freeze.openReports, freeze.openReports == 0 ? 0 : freeze.until);
    }

    /// @inheritdoc IBuyerTrust
    function reportCount() external view returns (uint256) {
        return _reportCount;
    }
}
