// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProviderRegistry} from "../../../src/interfaces/IProviderRegistry.sol";
import {RegistryUnitTest} from "./RegistryUnit.t.sol";

contract SetEncryptionKeyTest is RegistryUnitTest {
    bytes32 internal constant KEY = keccak256("x25519 key");
    bytes32 internal constant KEY_2 = keccak256("x25519 key 2");

    function test_RevertWhen_KeyZero() external {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_ZeroKey.selector));
        vm.prank(provider);
        registry.setEncryptionKey(bytes32(0));
    }

    function test_WhenKeyNotZero() external {
        assertEq(registry.encryptionKeyOf(provider), bytes32(0), "no key before");
        vm.expectEmit(address(registry));
        emit IProviderRegistry.EncryptionKeySet(provider, KEY);
        vm.prank(provider);
        registry.setEncryptionKey(KEY);
        assertEq(registry.encryptionKeyOf(provider), KEY, "key");
        assertEq(registry.encryptionKeyOf(stranger), bytes32(0), "other provider");
    }

    function test_GivenKeyAlreadySet() external {
        vm.prank(provider);
        registry.setEncryptionKey(KEY);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.EncryptionKeySet(provider, KEY_2);
        vm.prank(provider);
        registry.setEncryptionKey(KEY_2);
        assertEq(registry.encryptionKeyOf(provider), KEY_2, "key replaced");
    }
}
