//! SIGINT and SIGTERM as calls of a closure. They are blocked in the calling
//! thread, and so in every thread it starts later, and one thread of their own
//! takes them with `sigwait`: no handler ever runs in the middle of a plan or a
//! write, and the closure may do anything (send on a channel, print). Done with
//! `libc`, already a dependency, rather than a crate for three calls.

use std::io;

/// Calls `on_signal` with the signal's number and how many have come so far, on
/// a thread of its own. Call it before any other thread starts: a thread started
/// earlier keeps the default (the process dies at once).
pub fn forward(mut on_signal: impl FnMut(i32, u32) + Send + 'static) -> io::Result<()> {
    let set = stop_signals();
    // SAFETY: `set` is initialised; this changes only the calling thread's mask
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut count = 0;
            loop {
                let mut signal = 0;
                // SAFETY: `set` is initialised and blocked in this thread (inherited);
                // `signal` is a valid place for the one int it writes
                if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                    return;
                }
                count += 1;
                on_signal(signal, count);
            }
        })?;
    Ok(())
}

fn stop_signals() -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given, which sigaddset then
    // changes; both only fail for an invalid signal number, and these are valid
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
        set.assume_init()
    }
}
