//! `utter`: the command line for buyers, providers and pool operators, and the local devnet.

fn main() -> std::process::ExitCode {
    utter_cli::main()
}
