// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OpenParams} from "../../src/types/DataTypes.sol";
import {Base} from "../utils/Base.t.sol";

interface GasCheats {
    function envOr(string calldata name, string calldata defaultValue) external view returns (string memory);
    function skip(bool skipTest) external;
    function snapshotValue(string calldata group, string calldata name, uint256 value) external;
}

/// @notice The gas figures in `contracts/snapshots/`, checked by `scripts/check-gas-budgets` against the budgets.
/// Run only under `FOUNDRY_PROFILE=gas` (isolated: each call its own transaction, cold storage). Each call is
/// measured in its steady state: a buyer who has leased before, a provider already holding tokens, a pool that
/// has earned fees; first-time costs are measured apart. Group `LeaseEscrow` holds execution gas (the
/// transaction's gas less the 21,000 base and the calldata cost), `LeaseEscrow.tx` the whole transaction.
contract LeaseEscrowGasTest is Base {
    GasCheats private constant cheats = GasCheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    function setUp() public override {
        if (keccak256(bytes(cheats.envOr("FOUNDRY_PROFILE", string("")))) != keccak256("gas")) {
            cheats.skip(true);
            return;
        }
        super.setUp();
        // Warm the steady state: the buyer, offer and pool have history (an anonymous start and a payout), the
        // provider holds tokens.
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(60);
        vm.prank(provider);
        escrow.withdraw(single(leaseId), provider);
        vm.prank(buyer);
        escrow.stop(leaseId);
    }

    function test_Gas_OpenLease() public {
        _measure("open lease", buyer, address(escrow), abi.encodeCall(escrow.openLease, (openParams(ONE_HOUR_DEPOSIT))));
    }

    function test_Gas_OpenLeaseFirstOfNewBuyer() public {
        _measure(
            "open lease (first lease of a new buyer)",
            stranger,
            address(escrow),
            abi.encodeCall(escrow.openLease, (openParams(ONE_HOUR_DEPOSIT)))
        );
    }

    function test_Gas_OpenLeaseWithUserData() public {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.encryptedUserData = new bytes(512);
        _measure(
            "open lease (512 bytes of user data)", buyer, address(escrow), abi.encodeCall(escrow.openLease, (params))
        );
    }

    function test_Gas_Acknowledge() public {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        bytes memory access = new bytes(400);
        _measure(
            "acknowledge",
            provider,
            address(escrow),
            abi.encodeCall(escrow.acknowledge, (leaseId, access, keccak256("host key")))
        );
    }

    function test_Gas_TopUp() public {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(600);
        _measure("top up", buyer, address(escrow), abi.encodeCall(escrow.topUp, (leaseId, ONE_HOUR_DEPOSIT)));
    }

    function test_Gas_WithdrawOne() public {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(600);
        _measure(
            "withdraw one lease",
            provider,
            address(escrow),
            abi.encodeCall(escrow.withdraw, (single(leaseId), provider))
        );
    }

    function test_Gas_WithdrawTen() public {
        uint256[] memory ids = new uint256[](10);
        vm.prank(buyer);
        buyerTrust.deposit(1000e18);
        for (uint256 i; i < 10; ++i) {
            ids[i] = openRunning(ONE_HOUR_DEPOSIT);
        }
        skip(600);
        _measure("withdraw ten leases", provider, address(escrow), abi.encodeCall(escrow.withdraw, (ids, provider)));
    }

    function test_Gas_Close() public {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3600 + RETENTION + 1);
        _measure("close", stranger, address(escrow), abi.encodeCall(escrow.close, (leaseId)));
    }

    function test_Gas_Stop() public {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(600);
        _measure("stop early", buyer, address(escrow), abi.encodeCall(escrow.stop, (leaseId)));
    }

    function test_Gas_Stake() public {
        _measure("stake", provider, address(registry), abi.encodeCall(registry.stake, (poolId, 100e18)));
    }

    function test_Gas_PublishOffer() public {
        _measure(
            "publish offer",
            provider,
            address(offers),
            abi.encodeCall(offers.publishOffer, (poolId, defaultSpec(), defaultTerms(), defaultImages()))
        );
    }

    /// @dev Sends `data` from `from` as its own transaction and records both figures.
    function _measure(string memory name, address from, address target, bytes memory data) private {
        vm.prank(from);
        (bool ok, bytes memory result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
        uint256 txGas = vm.snapshotGasLastCall("LeaseEscrow.tx", name);
        uint256 intrinsic = 21_000;
        for (uint256 i; i < data.length; ++i) {
            intrinsic += data[i] == 0 ? 4 : 16;
        }
        assertGt(txGas, intrinsic, "gas tests must run isolated (FOUNDRY_PROFILE=gas)");
        cheats.snapshotValue("LeaseEscrow", name, txGas - intrinsic);
    }
}
