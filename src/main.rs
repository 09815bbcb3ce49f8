fn main() -> std::process::ExitCode {
    return_large_buffers();
    mpm::run(std::env::args_os())
}

/// glibc serves a buffer of 128 KiB or more from its own mapping, but once one is
/// freed it raises that bound to the freed size: from then on such buffers come
/// from the heap and their pages stay with the process after they are freed. An
/// apply changing 10 000 agents frees many (file lists, JSON of the state log,
/// the render memo) and kept about 20 MB it no longer used. A fixed bound gives
/// them back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_buffers() {
    // SAFETY: mallopt only sets one of glibc's tuning values; it is called before
    // any allocation that could depend on it and before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_buffers() {}
