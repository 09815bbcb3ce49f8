//! The process's memory, as glibc keeps it (the binary's `main` sets its mapping
//! threshold; see there).

/// Gives the pages of memory freed so far back to the system. glibc keeps freed
/// small allocations for reuse, but an apply's large buffers (the state log's JSON,
/// file batches) come from mappings of their own and never reuse them: the desired
/// state and the scan of 10 000 agents, dropped once the plan is made, and what
/// rendering them all again for their blobs freed, would stay in the process's
/// memory beside them. A few milliseconds; called only where something large was
/// freed.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only returns free pages of the heap
    // to the system; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
