//! Compiles the Foundry project's `contracts/src` with the pinned solc and writes, for each deployable
//! contract, `<Name>.json` (an artifact with `abi` and creation `bytecode`, which `sol!` reads) and
//! `<Name>.abi.json` (the bare ABI) into `OUT_DIR`.
//!
//! Settings come from the `[profile.default]` of the workspace's `foundry.toml`, so these bytes are the
//! ones `forge build` makes. The compiler is `toolchain/solc.cjs` (solc-js from npm, installed by
//! `scripts/bootstrap`); nothing is ever downloaded. Only `contracts/src` is compiled, never the tests:
//! solc-js is slow.

use foundry_compilers::{
    ConfigurableArtifacts, ProjectBuilder, ProjectPathsConfig,
    artifacts::{
        BytecodeHash, EvmVersion, Optimizer, Remapping, Settings, SettingsMetadata,
        output_selection::OutputSelection,
    },
    solc::{Solc, SolcCompiler, SolcLanguage, SolcSettings},
};
use serde::Deserialize;
use std::{
    env,
    error::Error,
    fs,
    path::{Path, PathBuf},
    process::ExitCode,
};

/// The contracts the bindings cover, each in `contracts/src/<Name>.sol`.
const CONTRACTS: [&str; 6] = [
    "ComputeToken",
    "Pools",
    "ProviderRegistry",
    "Offers",
    "BuyerTrust",
    "LeaseEscrow",
];

/// Files whose change must rebuild the bindings, relative to the workspace root (directories are
/// scanned recursively by cargo).
const WATCHED: [&str; 4] = [
    "contracts/src",
    "foundry.toml",
    "toolchain/package-lock.json",
    "toolchain/solc.cjs",
];

type BoxError = Box<dyn Error>;

/// The part of `foundry.toml`'s `[profile.default]` that decides the bytecode.
#[derive(Deserialize)]
struct Profile {
    src: PathBuf,
    solc: PathBuf,
    #[serde(default)]
    libs: Vec<PathBuf>,
    #[serde(default)]
    remappings: Vec<String>,
    evm_version: String,
    #[serde(default)]
    optimizer: bool,
    #[serde(default = "default_runs")]
    optimizer_runs: usize,
    #[serde(default)]
    via_ir: bool,
    #[serde(default)]
    bytecode_hash: Option<String>,
    #[serde(default = "default_cbor_metadata")]
    cbor_metadata: bool,
}

fn default_runs() -> usize {
    200
}

fn default_cbor_metadata() -> bool {
    true
}

#[derive(Deserialize)]
struct FoundryToml {
    profile: Profiles,
}

#[derive(Deserialize)]
struct Profiles {
    default: Profile,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: utter-bindings: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .ancestors()
        .nth(2)
        .ok_or("contracts/bindings has no workspace root two levels up")?
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    for watched in WATCHED {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let foundry_toml = root.join("foundry.toml");
    let profile = toml::from_str::<FoundryToml>(&read(&foundry_toml)?)
        .map_err(|err| format!("{}: {err}", foundry_toml.display()))?
        .profile
        .default;

    let solc_path = root.join(&profile.solc);
    let solc_package = root.join("toolchain/node_modules/solc/package.json");
    if !solc_path.is_file() || !solc_package.is_file() {
        return Err(format!(
            "the pinned Solidity compiler is missing ({} or {}): run scripts/bootstrap first",
            solc_path.display(),
            solc_package.display()
        )
        .into());
    }
    let solc = Solc::new(&solc_path).map_err(|err| {
        format!(
            "{} does not run ({err}): is node installed? run scripts/bootstrap first",
            solc_path.display()
        )
    })?;

    let remappings = profile
        .remappings
        .iter()
        .map(|remapping| {
            let mut remapping: Remapping = remapping
                .parse()
                .map_err(|err| format!("remapping {remapping:?}: {err}"))?;
            remapping.path = root.join(&remapping.path).display().to_string();
            if !Path::new(&remapping.path).is_dir() {
                return Err(format!(
                    "remapping target {} is missing: run scripts/bootstrap first",
                    remapping.path
                ));
            }
            Ok(remapping)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let evm_version: EvmVersion = profile
        .evm_version
        .parse()
        .map_err(|err| format!("foundry.toml evm_version {:?}: {err}", profile.evm_version))?;
    let mut settings = Settings {
        optimizer: Optimizer {
            enabled: Some(profile.optimizer),
            runs: Some(profile.optimizer_runs),
            details: None,
        },
        evm_version: Some(evm_version),
        via_ir: profile.via_ir.then_some(true),
        // The ABI and creation bytecode are all the bindings use: skip the rest of solc's output.
        output_selection: OutputSelection::common_output_selection(
            ["abi", "evm.bytecode.object"].map(String::from),
        ),
        ..Settings::default()
    };
    if let Some(hash) = &profile.bytecode_hash {
        let hash: BytecodeHash = hash
            .parse()
            .map_err(|err| format!("foundry.toml bytecode_hash {hash:?}: {err}"))?;
        settings.metadata = Some(SettingsMetadata::new(hash, profile.cbor_metadata));
    }

    let sources = root.join(&profile.src);
    let paths = ProjectPathsConfig::builder()
        .root(&root)
        .sources(&sources)
        .libs(profile.libs.iter().map(|lib| root.join(lib)))
        .remappings(remappings)
        .artifacts(out_dir.join("solc/artifacts"))
        .cache(out_dir.join("solc/cache.json"))
        .build::<SolcLanguage>()?;
    let project = ProjectBuilder::<SolcCompiler, ConfigurableArtifacts>::default()
        .paths(paths)
        .settings(SolcSettings {
            settings,
            ..Default::default()
        })
        .offline()
        .ephemeral()
        .no_artifacts()
        .build(SolcCompiler::Specific(solc))?;

    let files = solidity_files(&sources)?;
    let output = project.compile_files(files)?;
    if output.has_compiler_errors() {
        return Err(format!("solc failed on {}:\n{output}", sources.display()).into());
    }

    for name in CONTRACTS {
        let artifact = output
            .find(&sources.join(format!("{name}.sol")), name)
            .ok_or_else(|| {
                format!(
                    "contract {name} not found in {}/{name}.sol",
                    sources.display()
                )
            })?;
        let abi = artifact
            .abi
            .as_ref()
            .ok_or_else(|| format!("solc gave no ABI for {name}"))?;
        let bytecode = artifact
            .bytecode
            .as_ref()
            .and_then(|bytecode| bytecode.object.as_bytes())
            .ok_or_else(|| format!("solc gave no linked creation bytecode for {name}"))?;
        let artifact = serde_json::json!({ "abi": abi, "bytecode": bytecode });
        write(
            &out_dir.join(format!("{name}.json")),
            &serde_json::to_vec_pretty(&artifact)?,
        )?;
        write(
            &out_dir.join(format!("{name}.abi.json")),
            &serde_json::to_vec_pretty(abi)?,
        )?;
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, BoxError> {
    fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()).into())
}

fn write(path: &Path, contents: &[u8]) -> Result<(), BoxError> {
    fs::write(path, contents).map_err(|err| format!("{}: {err}", path.display()).into())
}

/// All `.sol` files under `dir`, sorted.
fn solidity_files(dir: &Path) -> Result<Vec<PathBuf>, BoxError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(|err| format!("{}: {err}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "sol") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}
