//! The `accounts` binary: parses the command line and hands over to the library.

/// mimalloc instead of glibc's malloc: glibc keeps a heap per thread that touched it (tokio's
/// workers, the SQLite connection threads, the hashing threads) and returns little of it, so
/// the resident set grew with the thread count; see docs/benchmarks.md ("Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    account_server::cli::main()
}
