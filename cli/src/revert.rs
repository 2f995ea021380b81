//! A reverted call turned into the contract's custom error, by name with its facts, and a sentence
//! saying what to do about it.

use alloy::sol_types::SolInterface;
use utter_bindings::{
    buyer_trust::BuyerTrust::BuyerTrustErrors, compute_token::ComputeToken::ComputeTokenErrors,
    lease_escrow::LeaseEscrow::LeaseEscrowErrors, offers::Offers::OffersErrors,
    pools::Pools::PoolsErrors, provider_registry::ProviderRegistry::ProviderRegistryErrors,
};

/// A call the contracts refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the contracts refuse {what}: {error}. {advice}")]
pub struct Revert {
    /// What was being done, e.g. `opening the lease`.
    pub what: String,
    /// The custom error with its arguments, e.g. `Escrow_OfferFull { offerId: 3, capacity: 2 }`, or
    /// the raw data when no contract declares it.
    pub error: String,
    /// What to do.
    pub advice: &'static str,
}

impl Revert {
    /// The error's name alone, e.g. `Escrow_OfferFull`.
    pub fn name(&self) -> &str {
        self.error.split([' ', '(']).next().unwrap_or(&self.error)
    }
}

/// Decodes revert `data` against every contract's errors.
pub fn decode(what: &str, data: &[u8]) -> Revert {
    let error = describe(data).unwrap_or_else(|| {
        if data.is_empty() {
            "a revert without a reason".to_owned()
        } else {
            format!(
                "an unknown error 0x{}",
                alloy::primitives::hex::encode(data)
            )
        }
    });
    let name = error.split([' ', '(']).next().unwrap_or("").to_owned();
    Revert {
        what: what.to_owned(),
        advice: advice(&name),
        error,
    }
}

/// `Name { field: value }` from the `Debug` text of a decoded error enum, `Variant(Name { .. })`.
fn inner(debug: String) -> String {
    match debug.split_once('(') {
        Some((_, rest)) => rest.strip_suffix(')').unwrap_or(rest).to_owned(),
        None => debug,
    }
}

fn describe(data: &[u8]) -> Option<String> {
    macro_rules! try_decode {
        ($($errors:ty),*) => {$(
            if let Ok(decoded) = <$errors>::abi_decode(data) {
                return Some(inner(format!("{decoded:?}")));
            }
        )*};
    }
    try_decode!(
        LeaseEscrowErrors,
        OffersErrors,
        PoolsErrors,
        ProviderRegistryErrors,
        BuyerTrustErrors,
        ComputeTokenErrors
    );
    None
}

/// What to do about the error `name`.
fn advice(name: &str) -> &'static str {
    match name {
        "Escrow_UnknownLease" => "No lease has this id: check it with `utter lease list`.",
        "Escrow_NotBuyer" => "Only the lease's buyer may do this: use the buyer's key.",
        "Escrow_NotProvider" => "Only the lease's provider may do this: use the provider's key.",
        "Escrow_WrongStatus" => {
            "The lease's status does not allow this: see it with `utter lease show ID`."
        }
        "Escrow_ProviderNotEligible" | "Offers_ProviderNotEligible" => {
            "The provider's bonded stake is below the pool's minimum: choose another offer, or (as the provider) stake more with `utter provider stake`."
        }
        "Escrow_OfferFull" => "The offer has no free slot: choose another with `utter offers`.",
        "Escrow_BuyerLimitReached" => {
            "You hold as many leases as your trust allows: stop one (`utter lease stop ID`) or raise your trust deposit (`utter trust deposit AMOUNT`)."
        }
        "Escrow_DepositTooSmall" => "Pay for at least 60 seconds: raise --amount or --duration.",
        "Escrow_ZeroAmount" | "Registry_ZeroAmount" | "BuyerTrust_ZeroAmount" => {
            "Give an amount above zero."
        }
        "Escrow_PriceAboveLimit" => {
            "The offer's price rose since you looked: check it with `utter offers` and run the command again."
        }
        "Escrow_AnonFeeTooHigh" => {
            "The anonymous-start fee rose above your limit: raise --max-fee, or make a trust deposit (`utter trust deposit`) to start without it."
        }
        "Escrow_InvalidSshKey" => {
            "Give an OpenSSH public key file (the .pub) of 1 to 2048 bytes with --ssh-key."
        }
        "Escrow_PayloadTooLarge" => "The user data is too large: keep it under 16 KiB.",
        "Escrow_DeadlinePassed" => "The boot or restart deadline has passed.",
        "Escrow_DeadlineNotReached" => "Wait until the boot or restart deadline has passed.",
        "Escrow_NotDry" => "The lease still has a balance: it has not run dry.",
        "Escrow_RetentionNotOver" => "Wait until the retention window is over.",
        "Escrow_RetentionOver" => {
            "The retention window is over: the lease can only be closed; open a new one."
        }
        "Escrow_NotOperator" | "Pools_NotOperator" | "BuyerTrust_NotOperator" => {
            "Only the pool's operator may do this: use the operator's key."
        }
        "Escrow_ZeroAddress" | "Registry_ZeroAddress" | "BuyerTrust_ZeroAddress" => {
            "Give a non-zero recipient address."
        }
        "Offers_UnknownOffer" => "No offer has this id: list them with `utter offers`.",
        "Offers_NotProvider" => "Only the offer's provider may change it: use the provider's key.",
        "Offers_WrongStatus" => {
            "The offer's status does not allow this (paused, retired or active already): see `utter offers --status all`."
        }
        "Offers_NotActive" => "The offer is paused or retired: choose another with `utter offers`.",
        "Offers_UnknownImage" => {
            "The offer does not boot this image: see its images with `utter offers`."
        }
        "Offers_InvalidSpec" => "A machine field is out of range (named in the error): fix it.",
        "Offers_InvalidTerms" => {
            "A term is out of range (named in the error): price and capacity above zero, boot timeout 60 s to 1 day, retention at most 30 days."
        }
        "Offers_InvalidImages" => {
            "Give 1 to 32 images, each a non-zero id and a 1 to 64 byte name, without duplicates."
        }
        "Pools_UnknownPool" => "No pool has this id: check it with `utter pool show N`.",
        "Pools_NotPendingOperator" => "Only the proposed operator may accept the pool.",
        "Pools_InvalidName" => "Give a pool name of 1 to 64 bytes.",
        "Pools_InvalidMetadataURI" => "Keep the metadata URI at most 256 bytes.",
        "Pools_FeeTooHigh" => "Lower the fee to at most the cap (in the error).",
        "Pools_InvalidSlashShares" => {
            "Slash shares must be at most 100 %, and the boot-failure share at most the no-boot share."
        }
        "Pools_InvalidUnbonding" => "Choose an unbonding period from 1 second to a year.",
        "Pools_ZeroMinStake" => "Give a minimum stake above zero.",
        "Pools_InvalidTargetShare" => {
            "The anonymous target share must be above 0 and at most 10000 bps."
        }
        "Pools_InvalidAnonFeeBounds" => {
            "The anonymous fee's floor must be at most its ceiling, and above zero unless both are zero."
        }
        "Pools_InvalidLeaseLimits" => "max leases must be above zero and at least base leases.",
        "Registry_BelowMinStake" => {
            "A first stake must reach the pool's minimum (in the error): stake more."
        }
        "Registry_InsufficientBonded" => "You cannot unbond more than is bonded (in the error).",
        "Registry_NothingToWithdraw" => {
            "Nothing has finished unbonding: wait until the time in the error (see `utter provider show`)."
        }
        "BuyerTrust_InsufficientDeposit" => {
            "You cannot withdraw more than your deposit (in the error)."
        }
        "BuyerTrust_NothingToWithdraw" => {
            "Nothing has finished unbonding: request a withdrawal first (`utter trust withdraw-request`) and wait out the unbonding (see `utter trust show`)."
        }
        "BuyerTrust_ReportsOpen" => "Abuse reports against you await a ruling: wait for them.",
        "BuyerTrust_LeasesActive" => "Your deposit backs your open leases: stop them first.",
        "BuyerTrust_ReportWindowOpen" => {
            "Your latest lease ended recently and may still be reported: wait until the time in the error."
        }
        "BuyerTrust_ReportNotOpen" => "The report does not exist or was already ruled on.",
        "BuyerTrust_SlashTooHigh" => {
            "Slash at most the pool's share of the buyer's deposit (in the error)."
        }
        "ERC20InsufficientBalance" => {
            "Your token balance is too low for this (the error shows balance and need): get more tokens."
        }
        "ERC20InsufficientAllowance" => {
            "The contract may not take enough of your tokens: run the command again to approve them."
        }
        "Registry_ZeroKey" => "Give a non-zero encryption key.",
        "Registry_NotEscrow" | "Registry_InvalidShare" | "Escrow_NotBuyerTrust" => {
            "Only the contracts themselves may do this."
        }
        "BuyerTrust_NotLeaseProvider" => "Only the lease's provider may report its buyer.",
        "BuyerTrust_AlreadyReported" => "This lease was reported already.",
        "BuyerTrust_ReportWindowClosed" => {
            "The lease ended more than 7 days ago: it can no longer be reported."
        }
        "BuyerTrust_InvalidEvidence" => "Give an evidence URI of 1 to 256 bytes.",
        "ERC2612ExpiredSignature" | "ERC2612InvalidSigner" | "InvalidAccountNonce" => {
            "The token permit was not accepted: run the command again."
        }
        _ => GENERIC,
    }
}

/// The advice for an error no contract of utter declares.
const GENERIC: &str = "Check the command's arguments against the contract's rules.";

/// Errors users never meet through this CLI (internal guards and checks of other code paths).
#[cfg(test)]
const INTERNAL: &[&str] = &[
    "ReentrancyGuardReentrantCall",
    "SafeCastOverflowedUintDowncast",
    "SafeERC20FailedOperation",
    "ECDSAInvalidSignature",
    "ECDSAInvalidSignatureLength",
    "ECDSAInvalidSignatureS",
    "ERC20InvalidApprover",
    "ERC20InvalidReceiver",
    "ERC20InvalidSender",
    "ERC20InvalidSpender",
    "InvalidShortString",
    "StringTooLong",
];

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{primitives::U256, sol_types::SolError};
    use utter_bindings::lease_escrow::LeaseEscrow;

    #[test]
    fn a_custom_error_is_named_with_its_facts_and_advice() {
        let data = LeaseEscrow::Escrow_OfferFull {
            offerId: 3,
            capacity: 2,
        }
        .abi_encode();
        let revert = decode("opening the lease", &data);
        assert_eq!(revert.name(), "Escrow_OfferFull");
        assert!(revert.error.contains("offerId: 3"), "{}", revert.error);
        assert!(revert.to_string().contains("utter offers"), "{revert}");
    }

    #[test]
    fn a_token_error_is_decoded_too() {
        let data = utter_bindings::compute_token::ComputeToken::ERC20InsufficientBalance {
            sender: alloy::primitives::Address::ZERO,
            balance: U256::from(1),
            needed: U256::from(2),
        }
        .abi_encode();
        assert_eq!(decode("x", &data).name(), "ERC20InsufficientBalance");
    }

    #[test]
    fn every_error_a_user_can_meet_has_its_own_advice() {
        let mut missing = Vec::new();
        for abi in [
            utter_bindings::abi::LEASE_ESCROW,
            utter_bindings::abi::OFFERS,
            utter_bindings::abi::POOLS,
            utter_bindings::abi::PROVIDER_REGISTRY,
            utter_bindings::abi::BUYER_TRUST,
            utter_bindings::abi::COMPUTE_TOKEN,
        ] {
            let items: Vec<serde_json::Value> = serde_json::from_str(abi).unwrap();
            for item in items.iter().filter(|i| i["type"] == "error") {
                let name = item["name"].as_str().unwrap();
                if advice(name) == GENERIC && !INTERNAL.contains(&name) {
                    missing.push(name.to_owned());
                }
            }
        }
        assert!(missing.is_empty(), "errors without advice: {missing:?}");
    }

    #[test]
    fn unknown_data_is_shown_raw() {
        let revert = decode("x", &[1, 2, 3, 4]);
        assert!(revert.error.contains("0x01020304"), "{}", revert.error);
    }
}
