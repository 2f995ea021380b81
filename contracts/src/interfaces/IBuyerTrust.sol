// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IBuyerTrust
/// @notice Pay-for-trust: a buyer escrows a deposit to hold more leases at once and to start leases
/// without the anonymous-start fee. Providers report abuse to the pool operator, who may slash a bounded
/// share of the deposit to the provider and reset the buyer's karma.
interface IBuyerTrust {
    /// @notice Status of an abuse report.
    enum ReportStatus {
        None,
        Open,
        Upheld,
        Dismissed
    }

    /// @notice An abuse report as stored.
    struct Report {
        uint256 leaseId;
        address buyer;
        address provider;
        uint32 poolId;
        ReportStatus status;
    }

    /// @notice A buyer's deposit.
    struct Account {
        /// @dev Counts for trust.
        uint96 deposit;
        /// @dev On its way out: does not count, still slashable.
        uint96 unbonding;
        /// @dev When `unbonding` may be withdrawn.
        uint40 unbondingEnds;
    }

    /// @notice A buyer added to its trust deposit.
    event Deposited(address indexed buyer, uint256 amount, uint256 deposit);
    /// @notice A buyer started withdrawing; all its unbonding deposit unlocks at `unbondingEnds`.
    event WithdrawalRequested(
        address indexed buyer, uint256 amount, uint256 deposit, uint256 unbonding, uint40 unbondingEnds
    );
    /// @notice Unbonded deposit was withdrawn.
    event Withdrawn(address indexed buyer, address to, uint256 amount);
    /// @notice A provider reported abuse by the buyer of one of its leases.
    event AbuseReported(
        uint256 indexed reportId,
        uint256 indexed leaseId,
        address indexed buyer,
        address provider,
        uint32 poolId,
        string evidenceURI
    );
    /// @notice The pool operator ruled on a report.
    event ReportResolved(
        uint256 indexed reportId,
        address indexed buyer,
        bool upheld,
        uint256 slashed,
        uint256 deposit,
        uint256 unbonding
    );

    /// @notice Amounts must be positive.
    error BuyerTrust_ZeroAmount();
    /// @notice More was asked to withdraw than is deposited.
    error BuyerTrust_InsufficientDeposit(uint256 deposit, uint256 requested);
    /// @notice Nothing is unbonding, or it is not yet free.
    error BuyerTrust_NothingToWithdraw(uint40 unbondingEnds, uint256 unbonding);
    /// @notice The recipient is the zero address.
    error BuyerTrust_ZeroAddress();
    /// @notice Abuse reports against the buyer await the operator's ruling: the deposit stays until they are ruled
    /// on, or until `frozenUntil` (30 days after the latest report) if the operator never rules.
    error BuyerTrust_ReportsOpen(uint256 openReports, uint40 frozenUntil);
    /// @notice The buyer still holds leases, which its deposit backs.
    error BuyerTrust_LeasesActive(uint256 activeLeases);
    /// @notice The buyer's latest lease ended too recently: its provider may still report it until `reportableUntil`.
    error BuyerTrust_ReportWindowOpen(uint256 reportableUntil);
    /// @notice Only the lease's provider may report its buyer.
    error BuyerTrust_NotLeaseProvider(uint256 leaseId, address caller);
    /// @notice The lease was already reported.
    error BuyerTrust_AlreadyReported(uint256 leaseId, uint256 reportId);
    /// @notice The lease ended more than the report window ago.
    error BuyerTrust_ReportWindowClosed(uint256 leaseId, uint40 endedAt);
    /// @notice The evidence URI is empty or longer than 256 bytes.
    error BuyerTrust_InvalidEvidence();
    /// @notice The report does not exist or was already resolved.
    error BuyerTrust_ReportNotOpen(uint256 reportId);
    /// @notice Only the operator of the lease's pool may rule.
    error BuyerTrust_NotOperator(uint32 poolId, address caller);
    /// @notice The slash exceeds the pool's bounded share of the buyer's deposit.
    error BuyerTrust_SlashTooHigh(uint256 requested, uint256 max);

    /// @notice Adds to the caller's trust deposit.
    /// @dev Emits {Deposited}. Pulls `amount` tokens. Requirements: `amount` > 0.
    function deposit(uint256 amount) external;

    /// @notice Starts withdrawing part of the deposit; it stops counting now and stays slashable for the
    /// unbonding period.
    /// @dev Emits {WithdrawalRequested}. The period restarts for all of the caller's unbonding deposit.
    /// Requirements: 0 < `amount` <= deposit.
    function requestWithdrawal(uint256 amount) external;

    /// @notice Withdraws deposit whose unbonding period has passed. The deposit backs the buyer's leases, so it
    /// cannot leave while a report against the buyer is open (for at most 30 days after the latest one), while the
    /// buyer holds a lease, or before the report window after its latest lease has passed.
    /// @dev Emits {Withdrawn}. Requirements: something unbonding and free; `to` not zero; no open report younger
    /// than 30 days; no active lease; more than 7 days since the buyer's latest lease ended.
    function withdraw(address to) external;

    /// @notice Reports abuse by the buyer of one of the caller's leases to the pool operator.
    /// @dev Emits {AbuseReported}. Requirements: caller is the lease's provider; one report per lease; the
    /// lease is open or ended within the last 7 days; 1 to 256 bytes of evidence URI.
    /// @return reportId The report's id, counting from 1.
    function reportAbuse(uint256 leaseId, string calldata evidenceURI) external returns (uint256 reportId);

    /// @notice Rules on a report. Upheld: slashes `slashAmount` of the buyer's deposit (deposit first, then
    /// unbonding) to the reporting provider and resets the buyer's karma.
    /// @dev Emits {ReportResolved}. Requirements: caller operates the lease's pool; the report is open;
    /// `slashAmount` <= the pool's `maxBuyerSlashBps` share of deposit plus unbonding.
    function resolveReport(uint256 reportId, bool upheld, uint256 slashAmount) external;

    /// @notice The buyer's deposit that counts for trust (excluding unbonding).
    function depositOf(address buyer) external view returns (uint96);

    /// @notice The buyer's whole account.
    function accountOf(address buyer) external view returns (Account memory);

    /// @notice A report.
    function getReport(uint256 reportId) external view returns (Report memory);

    /// @notice Reports against the buyer still awaiting a ruling, and until when they freeze its deposit (zero
    /// when none is open).
    function openReportsOf(address buyer) external view returns (uint256 openReports, uint40 frozenUntil);

    /// @notice The number of reports filed so far; ids run from 1 to this.
    function reportCount() external view returns (uint256);
}
