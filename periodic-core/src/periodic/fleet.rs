//! A runner's side of the task ledger: the store's clock mapped onto tokio's, claims of
//! fleet tasks, the lease held while a run goes on, where a restarted runner resumes, and
//! the background writer of plain runs.
//!
//! ```text
//! store clock   0s        10s        20s        30s          spacing 10 s, lease 5 s
//! slots         |  slot 0  |  slot 1  |  slot 2  |
//! replica A        claim 1 ─ won, token 7, runs ── renew every lease/3 ── release
//! replica B        claim 1 ─ taken                claim 2 ─ won, token 8 ...
//! ```
//!
//! Every boundary is computed from the store's clock returned by the last claim, mapped to
//! a tokio [`Instant`] measured when that answer arrived, so a replica never wakes before
//! a boundary by the store's clock, whatever its own clock says.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::controls::Controls;
use super::info::RunOutcome;
use super::ledger::{Claim, ClaimRequest, Claimed, LedgerEntry, RunReport, TaskLedger, TaskScope};
use super::ledger::{slot_of, spacing_ms};
use super::options::RunnerOptions;

/// How many plain runs may wait for the ledger writer before new ones are dropped.
const RECORD_QUEUE: usize = 1024;

/// The store's clock at one tokio instant.
#[derive(Debug, Clone, Copy)]
pub(super) struct StoreClock {
    at: Instant,
    store_ms: i64,
}

impl StoreClock {
    /// The tokio instant of store time `store_ms`.
    pub(super) fn instant_of(self, store_ms: i64) -> Instant {
        let delta = Duration::from_millis((store_ms - self.store_ms).unsigned_abs());
        if store_ms >= self.store_ms {
            self.at + delta
        } else {
            self.at.checked_sub(delta).unwrap_or(self.at)
        }
    }

    /// The tokio instant of the first slot boundary after store time `store_ms`.
    fn next_boundary(self, store_ms: i64, interval: Duration) -> Instant {
        let boundary = (slot_of(store_ms, interval) + 1) * spacing_ms(interval);
        self.instant_of(boundary)
    }
}

/// One fleet task to claim.
pub(super) struct Job {
    pub(super) index: usize,
    pub(super) scope: TaskScope,
    pub(super) task: Arc<str>,
    pub(super) interval: Duration,
}

/// The answer to a job's claim.
pub(super) struct Answer {
    pub(super) index: usize,
    /// The claim, if this runner won the slot; `None`: skip to the next slot.
    pub(super) won: Option<Won>,
    /// The next slot boundary (without jitter).
    pub(super) next_boundary: Instant,
}

/// A won claim and what holding it needs.
pub(super) struct Won {
    pub(super) claim: Claim,
    pub(super) lease: Duration,
    /// Until when the lease surely holds, on tokio's clock.
    pub(super) until: Instant,
}

/// Where the ledger says a restarted runner stands.
pub(super) struct Resume {
    clock: StoreClock,
    entries: HashMap<(String, String), LedgerEntry>,
}

/// A plain run waiting for the writer.
struct PlainRun {
    task: Arc<str>,
    outcome: RunOutcome,
    duration: Duration,
    lateness: Duration,
    ended: Instant,
    spacing: Duration,
}

/// A runner's handle on its task ledger.
pub(super) struct FleetRuntime {
    ledger: Arc<dyn TaskLedger>,
    holder: Arc<str>,
    lease: Option<Duration>,
    service_scope: Option<TaskScope>,
    clock: Mutex<Option<StoreClock>>,
    reachable: AtomicBool,
    recorder: OnceLock<mpsc::Sender<PlainRun>>,
    /// The operator's controls (pause, run now), as last read.
    controls: Arc<Controls>,
}

impl FleetRuntime {
    /// The runtime of `options`, if they name a ledger.
    pub(super) fn new(options: &RunnerOptions) -> Option<FleetRuntime> {
        let ledger = Arc::clone(options.task_ledger.as_ref()?);
        let holder = options.fleet_holder.clone().unwrap_or_else(|| {
            format!(
                "{}:{}",
                gethostname::gethostname().to_string_lossy(),
                std::process::id()
            )
        });
        Some(FleetRuntime {
            ledger,
            holder: holder.into(),
            lease: options.fleet_lease,
            service_scope: options.ledger_scope.clone(),
            clock: Mutex::new(None),
            reachable: AtomicBool::new(true),
            recorder: OnceLock::new(),
            controls: Arc::new(Controls::default()),
        })
    }

    /// The scope of plain runs.
    pub(super) fn service_scope(&self) -> Option<&TaskScope> {
        self.service_scope.as_ref()
    }

    /// The operator's controls, as last read.
    pub(super) fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Starts watching the controls of `scopes` (once).
    pub(super) async fn watch_controls(&self, scopes: Vec<TaskScope>) {
        self.controls.watch(&self.ledger, scopes).await;
    }

    /// Takes the run-now request of `task` of `scope` (whose interval is `interval`, for
    /// the lease): `Some` when this runner won it and runs the task now. A failing store
    /// is logged; the request stays for the next pass.
    pub(super) async fn take_request(
        &self,
        scope: &TaskScope,
        task: &str,
        interval: Duration,
    ) -> Option<Won> {
        let lease = self.lease_for(interval);
        let sent = Instant::now();
        match self
            .ledger
            .take_run_request(scope, task, &self.holder, lease)
            .await
        {
            Ok(taken) => {
                self.controls.forget_request(scope, task);
                let claim = taken?;
                tracing::info!(task, scope = %scope, token = claim.token, "Running task {task} now, as requested");
                Some(Won {
                    claim,
                    lease,
                    until: sent + lease,
                })
            }
            Err(error) => {
                tracing::warn!(task, error = %error.report(), "Cannot take the run-now request of task {task}");
                None
            }
        }
    }

    /// The lease of a task of `interval`: the option, or half the interval within 100 ms
    /// ..= 30 s.
    fn lease_for(&self, interval: Duration) -> Duration {
        self.lease.unwrap_or_else(|| {
            (interval / 2).clamp(Duration::from_millis(100), Duration::from_secs(30))
        })
    }

    fn set_clock(&self, clock: StoreClock) {
        *self.clock.lock().unwrap_or_else(PoisonError::into_inner) = Some(clock);
    }

    /// The next boundary by the last known store clock, or one interval from now.
    pub(super) fn estimated_boundary(&self, interval: Duration) -> Instant {
        let now = Instant::now();
        match *self.clock.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(clock) => {
                let elapsed = now.saturating_duration_since(clock.at);
                let store_now = clock.store_ms + super::ledger::ms(elapsed);
                clock.next_boundary(store_now, interval).max(now)
            }
            None => now + interval,
        }
    }

    fn reached(&self) {
        if !self.reachable.swap(true, Ordering::AcqRel) {
            tracing::info!("The task ledger is reachable again; fleet tasks run again");
        }
    }

    fn unreachable(&self, error: &crate::error::Error) {
        if self.reachable.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                error = %error.report(),
                "The task ledger is unreachable: fleet tasks do not run until it is back"
            );
        }
    }

    /// Claims the current slot of each job, in one claim per scope and interval.
    pub(super) async fn claim(&self, jobs: Vec<Job>) -> Vec<Answer> {
        let mut groups: BTreeMap<(TaskScope, Duration), Vec<Job>> = BTreeMap::new();
        for job in jobs {
            groups
                .entry((job.scope.clone(), job.interval))
                .or_default()
                .push(job);
        }
        let mut answers = Vec::new();
        for ((scope, interval), jobs) in groups {
            let lease = self.lease_for(interval);
            let request = ClaimRequest {
                scope: &scope,
                tasks: jobs.iter().map(|job| &*job.task).collect(),
                spacing: interval,
                lease,
                holder: &self.holder,
            };
            let sent = Instant::now();
            let result = self.ledger.claim(&request).await;
            let at = Instant::now();
            let claims = match result {
                Ok(claims) if claims.len() == jobs.len() => claims,
                Ok(claims) => {
                    let error = crate::error::Error::new(
                        crate::error::ErrorKind::Store,
                        format!(
                            "the task ledger answered {} claims for {} tasks",
                            claims.len(),
                            jobs.len()
                        ),
                    );
                    self.unreachable(&error);
                    answers.extend(jobs.iter().map(|job| self.skip(job, interval)));
                    continue;
                }
                Err(error) => {
                    self.unreachable(&error);
                    answers.extend(jobs.iter().map(|job| self.skip(job, interval)));
                    continue;
                }
            };
            self.reached();
            for (job, claimed) in jobs.iter().zip(claims) {
                let clock = StoreClock {
                    at,
                    store_ms: claimed.store_now(),
                };
                self.set_clock(clock);
                let next_boundary = clock.next_boundary(claimed.store_now(), interval);
                let won = match claimed {
                    Claimed::Won(claim) => {
                        let held = claim.lease_until - claim.store_now;
                        let until = sent + Duration::from_millis(held.try_into().unwrap_or(0));
                        Some(Won {
                            claim,
                            lease,
                            until,
                        })
                    }
                    Claimed::Taken { slot, .. } => {
                        tracing::debug!(task = %job.task, fleet = scope.fleet_name(), slot, "Slot of fleet task {} already taken", job.task);
                        None
                    }
                    Claimed::Busy { holder, .. } => {
                        tracing::debug!(task = %job.task, fleet = scope.fleet_name(), %holder, "Fleet task {} is still running elsewhere; skipping this slot", job.task);
                        None
                    }
                };
                answers.push(Answer {
                    index: job.index,
                    won,
                    next_boundary,
                });
            }
        }
        answers
    }

    fn skip(&self, job: &Job, interval: Duration) -> Answer {
        Answer {
            index: job.index,
            won: None,
            next_boundary: self.estimated_boundary(interval),
        }
    }

    /// Runs `run` while holding `won`'s lease: renewed every third of the lease; when a
    /// renewal fails past the lease's end (or the store says the token is no longer the
    /// task's), `cancel` fires and the loss is logged once. Returns the run's output and
    /// whether the lease was lost.
    pub(super) async fn hold<T>(
        &self,
        won: &Won,
        cancel: &CancellationToken,
        task: &str,
        fleet: &str,
        run: impl Future<Output = T>,
    ) -> (T, bool) {
        let claim = won.claim;
        let lease = won.lease;
        let renew = async {
            let mut until = won.until;
            let period = (lease / 3).max(Duration::from_millis(1));
            loop {
                tokio::time::sleep(period).await;
                let sent = Instant::now();
                let renewed = tokio::time::timeout_at(
                    until.max(sent),
                    self.ledger.renew(claim.row, claim.token, lease),
                )
                .await;
                match renewed {
                    Ok(Ok(Some(_))) => until = sent + lease,
                    Ok(Ok(None)) | Err(_) => break,
                    Ok(Err(error)) if Instant::now() >= until => {
                        tracing::debug!(task, error = %error.report(), "Renewal failed");
                        break;
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(task, error = %error.report(), "Renewal failed; retrying within the lease");
                    }
                }
            }
            cancel.cancel();
            tracing::warn!(
                task,
                fleet,
                token = claim.token,
                "Lost the lease of fleet task {task} (token {}); its run is cancelled and another replica may run the next slot",
                claim.token
            );
            std::future::pending::<()>().await;
        };
        tokio::pin!(run);
        tokio::pin!(renew);
        tokio::select! {
            out = &mut run => (out, cancel.is_cancelled()),
            () = &mut renew => unreachable!("the renewal loop never ends"),
        }
    }

    /// After a fleet run ended: records it (unless the lease was lost) and releases the
    /// lease.
    pub(super) async fn settle(
        &self,
        scope: &TaskScope,
        task: &str,
        claim: &Claim,
        report: RunReport,
        lost: bool,
    ) {
        let report = (!lost).then_some(&report);
        if let Err(error) = self.ledger.settle(scope, task, claim, report).await {
            tracing::warn!(task, error = %error.report(), "Cannot record the run of fleet task {task} or release its lease");
        }
    }

    /// Queues a plain run for the ledger, without waiting: a full queue drops it.
    pub(super) fn record_plain(
        &self,
        task: Arc<str>,
        outcome: RunOutcome,
        duration: Duration,
        lateness: Duration,
        ended: Instant,
        spacing: Duration,
    ) {
        let Some(scope) = &self.service_scope else {
            return;
        };
        let sender = self.recorder.get_or_init(|| {
            let (tx, rx) = mpsc::channel(RECORD_QUEUE);
            tokio::spawn(write_runs(Arc::clone(&self.ledger), scope.clone(), rx));
            tx
        });
        let run = PlainRun {
            task,
            outcome,
            duration,
            lateness,
            ended,
            spacing,
        };
        if let Err(mpsc::error::TrySendError::Full(run)) = sender.try_send(run) {
            tracing::debug!(task = %run.task, "The task ledger's queue is full; a run is not recorded");
        }
    }

    /// Reads where the runner stands in the ledger: the service's plain tasks and the
    /// fleets in `scopes`. `None` (logged) if the ledger cannot be read.
    /// Creates the ledger rows of the tasks `Resume` found none for (a first start),
    /// so that ten replicas starting at once do not all create them in their first claim
    /// at the same boundary. A failure is only logged: the claim creates them then.
    pub(super) async fn prepare(&self, resume: &Resume, tasks: &[(TaskScope, Arc<str>)]) {
        let mut missing: BTreeMap<&TaskScope, Vec<&str>> = BTreeMap::new();
        for (scope, task) in tasks {
            let key = (scope.as_str().to_owned(), task.to_string());
            if !resume.entries.contains_key(&key) {
                missing.entry(scope).or_default().push(task);
            }
        }
        for (scope, tasks) in missing {
            if let Err(error) = self.ledger.prepare(scope, &tasks).await {
                tracing::debug!(error = %error.report(), "Cannot create the ledger rows of {} fleet tasks yet", tasks.len());
            }
        }
    }

    pub(super) async fn resume(&self, scopes: Vec<TaskScope>) -> Option<Resume> {
        let mut entries = HashMap::new();
        let mut store_ms = None;
        for scope in self.service_scope.iter().cloned().chain(scopes) {
            match self.ledger.entries(Some(&scope)).await {
                Ok(found) => {
                    for entry in found {
                        store_ms = Some(entry.read_at);
                        entries
                            .insert((entry.scope.as_str().to_owned(), entry.task.clone()), entry);
                    }
                }
                Err(error) => {
                    self.unreachable(&error);
                    return None;
                }
            }
        }
        let store_ms = match store_ms {
            Some(ms) => ms,
            None => match self.ledger.now().await {
                Ok(ms) => ms,
                Err(error) => {
                    self.unreachable(&error);
                    return None;
                }
            },
        };
        let clock = StoreClock {
            at: Instant::now(),
            store_ms,
        };
        self.set_clock(clock);
        Some(Resume { clock, entries })
    }
}

impl Resume {
    /// Where a fleet task starts: now (`Some(now)`) when it is `run_immediately` or the
    /// ledger shows that the previous slot was missed, else the next slot boundary.
    pub(super) fn fleet_start(
        &self,
        scope: &TaskScope,
        task: &str,
        interval: Duration,
        run_immediately: bool,
    ) -> (Instant, bool) {
        let current = slot_of(self.clock.store_ms, interval);
        let missed = self
            .entries
            .get(&(scope.as_str().to_owned(), task.to_owned()))
            .and_then(|entry| entry.slot)
            .is_some_and(|slot| slot < current - 1);
        if run_immediately || missed {
            (self.clock.at, true)
        } else {
            (
                self.clock.next_boundary(self.clock.store_ms, interval),
                false,
            )
        }
    }

    /// Where a plain task resumes: its last start in the ledger (as a tokio instant) and
    /// its next due time (now if it is overdue: it runs once, however many runs it
    /// missed). `None` when the ledger has no start of it.
    pub(super) fn plain_start(
        &self,
        scope: &TaskScope,
        task: &str,
        interval: Duration,
    ) -> Option<(Instant, Instant)> {
        let entry = self
            .entries
            .get(&(scope.as_str().to_owned(), task.to_owned()))?;
        let last = self.clock.instant_of(entry.started?);
        Some((last, (last + interval).max(self.clock.at)))
    }
}

/// The ledger writer of plain runs: one at a time, in order; a failing store is logged
/// once until it works again.
async fn write_runs(
    ledger: Arc<dyn TaskLedger>,
    scope: TaskScope,
    mut rx: mpsc::Receiver<PlainRun>,
) {
    let mut failing = false;
    while let Some(run) = rx.recv().await {
        let report = RunReport::new(run.outcome, run.duration, run.lateness, run.ended.elapsed())
            .with_spacing(run.spacing);
        match ledger.record(&scope, &run.task, &report).await {
            Ok(()) => failing = false,
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(task = %run.task, error = %error.report(), "Cannot record runs in the task ledger");
            }
            Err(_) => {}
        }
    }
}
