//! The heartbeat is isolated from the manager's work: a periodic task that blocks its
//! thread (a blocking call, a CPU loop) for 3 × service_down_time does not make the
//! service look down. Real threads and a real SQLite file, so this runs in real time; it
//! waits for events (heartbeats seen by an observer with its own connection), with
//! generous deadlines, never for fixed sleeps.
//!
//! The negative control runs the same block with the heartbeat on the service's own
//! runtime and shows that the observer then does see the service go down: the test can
//! tell the difference.

#![cfg(feature = "sqlite")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use periodic::{
    HeartbeatMode, Jitter, Manager, Service, ServiceGroup, ServiceGroupConfig, periodic_tasks,
};

const REPORT_INTERVAL: Duration = Duration::from_millis(200);
const SERVICE_DOWN_TIME: Duration = Duration::from_millis(1500);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Block {
    /// A blocking call on the runtime's thread (a channel receive).
    Call,
    /// A CPU loop on the runtime's thread.
    Cpu,
}

struct Blocker {
    how: Block,
    /// Set by the observer once it has seen the heartbeat working: the next pass blocks.
    armed: AtomicBool,
    started: Mutex<Option<mpsc::Sender<()>>>,
    release_rx: Mutex<mpsc::Receiver<()>>,
    released: AtomicBool,
}

impl Manager for Blocker {
    type Context = ();
    fn context(&self) {}
}

#[periodic_tasks]
impl Blocker {
    // An async task that blocks its thread: the worst case, on a current-thread runtime it
    // stalls everything else on that runtime.
    #[periodic_task(spacing = 0.1, run_immediately)]
    async fn busy(&self) {
        if !self.armed.load(Ordering::SeqCst) {
            return;
        }
        if let Some(tx) = self.started.lock().unwrap().take() {
            tx.send(()).unwrap();
        }
        match self.how {
            Block::Call => {
                let _ = self
                    .release_rx
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(60));
            }
            Block::Cpu => {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !self.released.load(Ordering::SeqCst) && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

struct Observed {
    polls: usize,
    down_seen: bool,
    reports_during_block: i64,
    blocked_for: Duration,
}

async fn run(how: Block, mode: HeartbeatMode, name: &str) -> Observed {
    let dir =
        std::env::temp_dir().join(format!("periodic-isolation-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("services.db").display());
    let config = ServiceGroupConfig::default()
        .report_interval(REPORT_INTERVAL)
        .service_down_time(SERVICE_DOWN_TIME);
    let group = ServiceGroup::open(&url, config.clone()).await.unwrap();

    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let manager = Arc::new(Blocker {
        how,
        armed: AtomicBool::new(false),
        started: Mutex::new(Some(started_tx)),
        release_rx: Mutex::new(release_rx),
        released: AtomicBool::new(false),
    });
    let running = Service::<Blocker>::builder(Arc::clone(&manager), "periodic-compute", "compute")
        .host(name)
        .servicegroup(group.clone())
        .periodic_fuzzy_delay(Duration::ZERO)
        .jitter(Jitter::None)
        .initial_reporting_delay(Duration::ZERO)
        .heartbeat_mode(mode)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let id = running.record().id;

    // The observer: its own thread, runtime and connection, as an operator's `service
    // list` on another host would be.
    let observer_manager = Arc::clone(&manager);
    let observer = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let group = ServiceGroup::open_existing(&url, config).await.unwrap();
            // Wait until the heartbeat works, then arm the blocking task.
            let deadline = Instant::now() + Duration::from_secs(30);
            while group.get(id).await.unwrap().report_count < 2 {
                assert!(Instant::now() < deadline, "no heartbeat at all");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            observer_manager.armed.store(true, Ordering::SeqCst);
            started_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the task never blocked");
            let block_start = Instant::now();
            let count_at_start = group.get(id).await.unwrap().report_count;
            let mut polls = 0;
            let mut down_seen = false;
            // Hold the block for 3 × service_down_time, or until the service is seen down.
            while block_start.elapsed() < SERVICE_DOWN_TIME * 3 {
                let status = group.status(id).await.unwrap();
                polls += 1;
                if !status.is_up() {
                    down_seen = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let reports = group.get(id).await.unwrap().report_count - count_at_start;
            let blocked_for = block_start.elapsed();
            observer_manager.released.store(true, Ordering::SeqCst);
            let _ = release_tx.send(());
            group.close().await;
            Observed {
                polls,
                down_seen,
                reports_during_block: reports,
                blocked_for,
            }
        })
    });
    // This runtime is stalled while the task blocks; the observer's thread is not.
    let seen = tokio::task::spawn_blocking(move || observer.join().unwrap())
        .await
        .unwrap();
    running.stop().await.unwrap();
    group.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    seen
}

#[tokio::test]
async fn blocking_call_in_a_task_does_not_make_the_service_look_down() {
    let seen = run(Block::Call, HeartbeatMode::Thread, "call").await;
    assert!(
        !seen.down_seen,
        "the service looked down while a task blocked its thread"
    );
    assert!(seen.blocked_for >= SERVICE_DOWN_TIME * 3);
    assert!(seen.polls >= 10, "observed {} times", seen.polls);
    // Heartbeats went on during the block: about 22 in 4.5 s at 200 ms.
    assert!(
        seen.reports_during_block >= 10,
        "{} reports",
        seen.reports_during_block
    );
}

#[tokio::test]
async fn cpu_loop_in_a_task_does_not_make_the_service_look_down() {
    let seen = run(Block::Cpu, HeartbeatMode::Thread, "cpu").await;
    assert!(
        !seen.down_seen,
        "the service looked down while a task spun on its thread"
    );
    assert!(seen.blocked_for >= SERVICE_DOWN_TIME * 3);
    assert!(
        seen.reports_during_block >= 10,
        "{} reports",
        seen.reports_during_block
    );
}

// Negative control: with the heartbeat on the service's runtime, the same block stalls the
// heartbeat and the observer sees the service go down (what eventlet does to nova).
#[tokio::test]
async fn control_heartbeat_on_the_blocked_runtime_does_go_down() {
    let seen = run(Block::Call, HeartbeatMode::CurrentRuntime, "control").await;
    assert!(seen.down_seen, "the control should have gone down");
    assert!(seen.blocked_for < SERVICE_DOWN_TIME * 3);
    assert_eq!(seen.reports_during_block, 0);
}
