// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IPools} from "../../../src/interfaces/IPools.sol";
import {IProviderRegistry} from "../../../src/interfaces/IProviderRegistry.sol";
import {RegistryUnitTest} from "./RegistryUnit.t.sol";

contract StakeTest is RegistryUnitTest {
    function test_RevertWhen_AmountZero() external {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_ZeroAmount.selector));
        vm.prank(provider);
        registry.stake(poolId, 0);
    }

    function test_RevertGiven_PoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(2)));
        vm.prank(stranger);
        registry.stake(2, MIN_STAKE);
    }

    function test_RevertWhen_AmountAboveUint96() external {
        uint256 amount = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, uint8(96), amount));
        vm.prank(stranger);
        registry.stake(poolId, amount);
    }

    function test_RevertWhen_FirstStakeBelowMin() external {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProviderRegistry.Registry_BelowMinStake.selector, uint256(MIN_STAKE), uint256(MIN_STAKE - 1)
            )
        );
        vm.prank(stranger);
        registry.stake(poolId, MIN_STAKE - 1);
    }

    function test_RevertWhen_AllowanceInsufficient() external {
        vm.prank(stranger);
        token.approve(address(registry), MIN_STAKE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(registry), MIN_STAKE - 1, MIN_STAKE
            )
        );
        vm.prank(stranger);
        registry.stake(poolId, MIN_STAKE);
    }

    function test_WhenFirstStakeReachesMin() external {
        uint256 callerBefore = token.balanceOf(stranger);
        uint256 registryBefore = token.balanceOf(address(registry));
        assertFalse(registry.isEligible(poolId, stranger), "eligible before");

        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderJoined(poolId, stranger);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.Staked(poolId, stranger, MIN_STAKE, MIN_STAKE);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(stranger, address(registry), MIN_STAKE);
        vm.prank(stranger);
        registry.stake(poolId, MIN_STAKE);

        assertStake(poolId, stranger, MIN_STAKE, 0, 0, true);
        assertEq(token.balanceOf(stranger), callerBefore - MIN_STAKE, "caller balance");
        assertEq(token.balanceOf(address(registry)), registryBefore + MIN_STAKE, "registry balance");
        assertTrue(registry.isEligible(poolId, stranger), "eligible after");
    }

    function test_WhenFirstStakeAboveMin() external {
        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderJoined(poolId, stranger);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.Staked(poolId, stranger, 3 * MIN_STAKE, 3 * MIN_STAKE);
        vm.prank(stranger);
        registry.stake(poolId, 3 * MIN_STAKE);
        assertStake(poolId, stranger, 3 * MIN_STAKE, 0, 0, true);
    }

    function test_GivenJoined_WhenAmountBelowMin() external {
        uint256 registryBefore = token.balanceOf(address(registry));

        vm.expectEmit(address(registry));
        emit IProviderRegistry.Staked(poolId, provider, 1, MIN_STAKE + 1);
        vm.recordLogs();
        vm.prank(provider);
        registry.stake(poolId, 1);

        assertEq(countRecorded(PROVIDER_JOINED), 0, "joined again");
        assertStake(poolId, provider, MIN_STAKE + 1, 0, 0, true);
        assertEq(token.balanceOf(address(registry)), registryBefore + 1, "registry balance");
    }

    function test_GivenJoinedAndFullyUnbonded() external {
        vm.prank(provider);
        registry.unbond(poolId, MIN_STAKE);
        uint40 ends = uint40(block.timestamp) + PROVIDER_UNBONDING;
        assertStake(poolId, provider, 0, MIN_STAKE, ends, true);

        vm.expectEmit(address(registry));
        emit IProviderRegistry.Staked(poolId, provider, 5, 5);
        vm.recordLogs();
        vm.prank(provider);
        registry.stake(poolId, 5);

        assertEq(countRecorded(PROVIDER_JOINED), 0, "joined again");
        assertStake(poolId, provider, 5, MIN_STAKE, ends, true);
        assertFalse(registry.isEligible(poolId, provider), "eligible");
    }

    function test_GivenNotJoinedAnotherPool() external {
        uint32 other = createPool(2 * MIN_STAKE);

        vm.expectRevert(
            abi.encodeWithSelector(
                IProviderRegistry.Registry_BelowMinStake.selector, uint256(2 * MIN_STAKE), uint256(MIN_STAKE)
            )
        );
        vm.prank(provider);
        registry.stake(other, MIN_STAKE);

        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderJoined(other, provider);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.Staked(other, provider, 2 * MIN_STAKE, 2 * MIN_STAKE);
        vm.prank(provider);
        registry.stake(other, 2 * MIN_STAKE);

        assertStake(other, provider, 2 * MIN_STAKE, 0, 0, true);
        assertStake(poolId, provider, MIN_STAKE, 0, 0, true);
    }
}
