fn main() -> std::process::ExitCode {
    mpm::run(std::env::args_os())
}
