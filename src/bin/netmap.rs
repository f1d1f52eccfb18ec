//! The `netmap` binary: parse the command line, run it, print the error and
//! map it to the exit status (0 ok, 1 a clean "no", 2 error; a closed pipe is 0).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = netmap::cmd::Cli::parse();
    match netmap::cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netmap: {e:#}");
            ExitCode::from(e.exit_code())
        }
    }
}
