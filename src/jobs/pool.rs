//! The one worker pool: files run on N threads, each with its own worker (its own model sessions
//! and buffers), and every result comes back to the calling thread as it finishes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// The worker threads could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start {jobs} worker threads: {source}")]
pub struct PoolError {
    /// Workers asked for.
    pub jobs: usize,
    /// What the operating system said.
    #[source]
    pub source: std::io::Error,
}

/// Runs `process(worker, i)` for every index of `order`, in that order of starting, on one thread
/// per worker; `on_done(i, result)` runs on the calling thread as each one finishes (in the order
/// they finish). Workers stop taking new items once `cancel` is set; items in progress finish.
/// Returns how many items were started.
///
/// The workers are made by the caller, before anything runs, so that a problem making them (a
/// model that does not load) is reported once rather than per file.
pub(crate) fn run<W, R>(
    workers: Vec<W>,
    order: &[usize],
    cancel: &AtomicBool,
    process: impl Fn(&mut W, usize) -> R + Sync,
    mut on_done: impl FnMut(usize, R),
) -> Result<usize, PoolError>
where
    W: Send,
    R: Send,
{
    let jobs = workers.len();
    let next = AtomicUsize::new(0);
    // Set when a worker thread cannot be started: the ones already running stop taking items, so
    // the error returns without the batch running on unobserved.
    let abandoned = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|scope| {
        for (n, mut worker) in workers.into_iter().enumerate() {
            let (tx, next, process, abandoned) = (tx.clone(), &next, &process, &abandoned);
            let spawned = std::thread::Builder::new()
                .name(format!("roomtone-worker-{n}"))
                .spawn_scoped(scope, move || {
                    while !cancel.load(Ordering::Relaxed) && !abandoned.load(Ordering::Relaxed) {
                        let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        if tx.send((i, process(&mut worker, i))).is_err() {
                            break;
                        }
                    }
                });
            if let Err(source) = spawned {
                abandoned.store(true, Ordering::Relaxed);
                return Err(PoolError { jobs, source });
            }
        }
        drop(tx);
        for (i, result) in rx {
            on_done(i, result);
        }
        Ok(next.load(Ordering::Relaxed).min(order.len()))
    })
}

/// As [`run`] over `0..n`, with `on_result(i, result)` called in index order: each result as soon
/// as it and every one before it are done.
pub(crate) fn run_in_order<W, R>(
    workers: Vec<W>,
    n: usize,
    process: impl Fn(&mut W, usize) -> R + Sync,
    mut on_result: impl FnMut(usize, R),
) -> Result<(), PoolError>
where
    W: Send,
    R: Send,
{
    let order: Vec<usize> = (0..n).collect();
    let mut waiting = std::collections::BTreeMap::new();
    let mut due = 0;
    run(workers, &order, &AtomicBool::new(false), process, |i, r| {
        waiting.insert(i, r);
        while let Some(r) = waiting.remove(&due) {
            on_result(due, r);
            due += 1;
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_runs_once_and_results_come_back_in_order() {
        for jobs in 1..=4 {
            let workers: Vec<Vec<usize>> = vec![Vec::new(); jobs];
            let mut seen = Vec::new();
            run_in_order(
                workers,
                25,
                |w, i| {
                    w.push(i);
                    i * 10
                },
                |i, r| seen.push((i, r)),
            )
            .unwrap();
            assert_eq!(seen, (0..25).map(|i| (i, i * 10)).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_set_cancel_flag_starts_nothing() {
        let cancel = AtomicBool::new(true);
        let mut done = 0;
        let started = run(
            vec![(), ()],
            &[0, 1, 2],
            &cancel,
            |_, _| (),
            |_, _| done += 1,
        )
        .unwrap();
        assert_eq!((started, done), (0, 0));
    }

    #[test]
    fn items_start_in_the_order_given() {
        let mut finished = Vec::new();
        run(
            vec![()],
            &[3, 1, 2],
            &AtomicBool::new(false),
            |_, i| i,
            |i, _| finished.push(i),
        )
        .unwrap();
        assert_eq!(finished, [3, 1, 2]);
    }
}
