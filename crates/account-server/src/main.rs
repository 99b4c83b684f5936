//! The `accounts` binary: parses the command line and hands over to the library.

fn main() -> std::process::ExitCode {
    account_server::cli::main()
}
