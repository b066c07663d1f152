//! Unit tests of what integration tests cannot see: the size of a loop's task.

use std::ops::ControlFlow;
use std::time::Duration;

use tokio::time::Instant;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::control::RunTokens;
use super::driver::RunCtx;
use super::erased::loop_task;
use super::{Attempt, BackOff, DynamicInterval, FixedInterval, LoopingCall};

fn ctx() -> RunCtx {
    RunCtx {
        tokens: RunTokens {
            group_stop: Some(CancellationToken::new()),
            group_abort: Some(CancellationToken::new()),
        },
        control: Arc::default(),
        host: None,
        started: Instant::now(),
    }
}

/// The future a looping call spawns, for a trivial callee, stays well under the 1 KiB
/// budget per running call (the callee's own future comes on top).
#[test]
fn spawned_future_is_small() {
    let fixed = FixedInterval::new(Duration::from_secs(1), || async {
        ControlFlow::<()>::Continue(())
    });
    let fixed = size_of_val(&loop_task(Box::new(fixed.looping), ctx()));
    let dynamic = DynamicInterval::new(|| async { ControlFlow::<(), _>::Continue(None) });
    let dynamic = size_of_val(&loop_task(Box::new(dynamic.looping), ctx()));
    let backoff = BackOff::new(|| async { ControlFlow::<(), _>::Continue(Attempt::Failed) });
    let backoff = size_of_val(&loop_task(Box::new(backoff.looping), ctx()));
    let handle = size_of::<LoopingCall<(), std::convert::Infallible>>();
    println!(
        "loop future: fixed {fixed} B, dynamic {dynamic} B, backoff {backoff} B; handle {handle} B"
    );
    for size in [fixed, dynamic, backoff] {
        assert!(size <= 512, "a loop's future takes {size} bytes");
    }
    assert!(handle <= 64, "a LoopingCall takes {handle} bytes");
}
