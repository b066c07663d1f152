//! Memory per running looping call, measured (not unit tests, so ignored by default):
//! 100,000 fixed-interval calls with a trivial callee, each asleep between runs; the
//! growth of the process's resident memory divided by their number, handles included. The
//! target is at most 1 KiB per call beyond the user's closure. Resident memory does not
//! shrink when memory is freed, so run one measurement per process:
//!
//! ```text
//! cargo test --release -p periodic --test looping_memory -- --ignored --nocapture --exact standalone_calls
//! cargo test --release -p periodic --test looping_memory -- --ignored --nocapture --exact task_group_timers
//! ```
#![cfg(target_os = "linux")]

use std::ops::ControlFlow;
use std::time::Duration;

use periodic::{FixedInterval, LoopingCall, Shutdown, TaskGroup};

const CALLS: usize = 100_000;

/// Resident memory in bytes, from `/proc/self/statm` (pages × 4 KiB).
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn trivial() -> FixedInterval<impl FnMut() -> std::future::Ready<ControlFlow<()>> + Send + 'static>
{
    FixedInterval::new(Duration::from_secs(3600), || {
        std::future::ready(ControlFlow::Continue(()))
    })
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
#[ignore = "a measurement: 100,000 running calls; run it alone"]
fn standalone_calls() {
    paused_runtime().block_on(async {
        let before = resident_bytes();
        let mut calls: Vec<LoopingCall<(), _>> = (0..CALLS).map(|_| trivial().start()).collect();
        tokio::time::sleep(Duration::from_millis(10)).await; // every loop ran once, now asleep
        let per_call = (resident_bytes() - before) / CALLS;
        println!("resident memory per running standalone call: {per_call} B");
        for call in &calls {
            call.stop();
        }
        for call in &mut calls {
            call.wait().await.unwrap();
        }
        assert!(per_call <= 1024, "{per_call} B per call");
    });
}

#[test]
#[ignore = "a measurement: 100,000 running timers; run it alone"]
fn task_group_timers() {
    paused_runtime().block_on(async {
        let tg = TaskGroup::new();
        let before = resident_bytes();
        let timers: Vec<LoopingCall<(), _>> = (0..CALLS).map(|_| tg.add_timer(trivial())).collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let per_call = (resident_bytes() - before) / CALLS;
        println!("resident memory per running TaskGroup timer: {per_call} B");
        tg.stop(Shutdown::Immediate).await;
        drop(timers);
        assert!(per_call <= 1024, "{per_call} B per timer");
    });
}
