//! Configuration: what each command's `--help` shows. Every setting is global (any command reads
//! the environment as `serve` does, and takes the flags anywhere), so clap would list all of them
//! under every command; asked for the help of a command other than `serve`, the settings only
//! `serve` uses are hidden. Parsing is unchanged: a hidden setting is still read.
use clap::Command;

/// The settings a command other than `serve` may need: they stay in its help.
const SHARED: [&str; 5] = [
    "data_dir",
    "database_url",
    "master_keys",
    "stripe_api_base",
    "log_format",
];

/// `cmd` (the whole command line, not built yet), with `serve`'s own settings hidden when `args`
/// (the process's, program name first) ask for the help of another subcommand.
pub fn for_args(cmd: Command, args: &[String]) -> Command {
    let asks_help = args
        .iter()
        .skip(1)
        .any(|a| a == "-h" || a == "--help" || a == "help");
    // `gateway tenants list --help` or `gateway help check-config`.
    let subcommand = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-') && *a != "help");
    let other =
        subcommand.is_some_and(|name| name != "serve" && cmd.find_subcommand(name).is_some());
    if !(asks_help && other) {
        return cmd;
    }
    let serve_only: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set() && !SHARED.contains(&a.get_id().as_str()))
        .map(|a| a.get_id().clone())
        .collect();
    serve_only
        .iter()
        .fold(cmd, |cmd, id| cmd.mut_arg(id, |a| a.hide(true)))
}
