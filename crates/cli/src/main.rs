//! The `weir` command (filled by a later issue).

fn main() {
    eprintln!("weir: no commands yet");
    std::process::exit(2);
}
