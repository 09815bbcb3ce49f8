//! Work over many items on a few threads: reading and hashing thousands of small
//! files is mostly waiting on system calls, which two threads overlap.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Threads doing other work beside the maps (see [`Beside`]).
static BESIDE: AtomicUsize = AtomicUsize::new(0);

/// Held by a thread that works while maps run elsewhere (a plan reads the state
/// log and scans the target while it renders): it takes a core from them. On
/// two cores, two maps of two threads each beside each other were 3–7 % slower
/// than one each.
pub struct Beside(());

impl Beside {
    pub fn start() -> Beside {
        BESIDE.fetch_add(1, Ordering::SeqCst);
        Beside(())
    }
}

impl Drop for Beside {
    fn drop(&mut self) {
        BESIDE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `f` of every item, in order, on up to 8 threads (fewer for few items, and one
/// fewer than the cores for each thread working [`Beside`]).
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let threads = cores
        .saturating_sub(BESIDE.load(Ordering::SeqCst))
        .clamp(1, 8)
        .min(items.len().div_ceil(64).max(1));
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(results) => results,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order_of_the_items() {
        let items: Vec<u32> = (0..1000).collect();
        assert_eq!(
            super::map(&items, |i| i * 2),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        assert_eq!(super::map(&[] as &[u32], |i| *i), Vec::<u32>::new());
    }
}
