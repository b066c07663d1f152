//! A claim of a slot and its answer, and the fence a fleet run puts on its own writes.

use std::time::Duration;

use super::scope::TaskScope;

/// A claim of the current slot for several tasks of one scope and spacing, in one call
/// (a store may split it into statements of at most 500 tasks).
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    /// The fleet.
    pub scope: &'a TaskScope,
    /// The tasks, each claimed on its own row.
    pub tasks: Vec<&'a str>,
    /// The tasks' spacing: slot = floor(store now / spacing).
    pub spacing: Duration,
    /// How long the claim holds without renewal.
    pub lease: Duration,
    /// Who claims (`host:pid:service_id`), shown in the ledger.
    pub holder: &'a str,
}

/// A won claim: the ledger row, the slot, the fencing token and the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// The ledger row of the task.
    pub row: i64,
    /// The slot won (store time / spacing).
    pub slot: i64,
    /// The fencing token: strictly greater than any token issued before for the task.
    pub token: u64,
    /// When the lease ends unless renewed, on the store's clock (milliseconds).
    pub lease_until: i64,
    /// The store's clock when the claim was judged (milliseconds).
    pub store_now: i64,
}

impl Claim {
    /// A won claim (for implementations outside the crate).
    pub fn new(row: i64, slot: i64, token: u64, lease_until: i64, store_now: i64) -> Claim {
        Claim {
            row,
            slot,
            token,
            lease_until,
            store_now,
        }
    }

    /// The fence a task puts on its own writes.
    pub fn fence(&self) -> Fence {
        Fence {
            row: self.row,
            token: self.token,
        }
    }
}

/// The answer to a claim, per task, in the order of [`ClaimRequest::tasks`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claimed {
    /// This caller runs the slot.
    Won(Claim),
    /// The slot was already claimed (by anyone): nobody runs it again.
    Taken {
        /// The current slot on the store's clock.
        slot: i64,
        /// The store's clock (milliseconds).
        store_now: i64,
    },
    /// An earlier slot's holder still holds its lease: this slot is skipped.
    Busy {
        /// Who holds it.
        holder: String,
        /// Until when, on the store's clock (milliseconds).
        lease_until: i64,
        /// The store's clock (milliseconds).
        store_now: i64,
    },
}

impl Claimed {
    /// The store's clock when the claim was judged.
    pub fn store_now(&self) -> i64 {
        match self {
            Claimed::Won(claim) => claim.store_now,
            Claimed::Taken { store_now, .. } | Claimed::Busy { store_now, .. } => *store_now,
        }
    }
}

/// What a fleet task puts on its own writes: they apply only while no newer token has
/// been issued for the task, so a holder paused past its lease (GC, SIGSTOP, VM
/// migration) cannot overwrite the work of the replica that took over.
///
/// ```
/// use periodic::Fence;
///
/// let fence = Fence::new(42, 7);
/// let sql = format!("UPDATE instances SET state = 'cleaned' WHERE id = $1 AND {}", fence.sql_condition());
/// assert!(sql.ends_with("EXISTS (SELECT 1 FROM periodic_task_ledger WHERE id = 42 AND token = 7)"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fence {
    /// The ledger row of the task.
    pub row: i64,
    /// The token of the run.
    pub token: u64,
}

impl Fence {
    /// The fence of `token` on ledger row `row`.
    pub fn new(row: i64, token: u64) -> Fence {
        Fence { row, token }
    }

    /// A condition to add to an UPDATE or DELETE in the same database as the ledger: true
    /// only while `token` is still the task's latest.
    pub fn sql_condition(&self) -> String {
        format!(
            "EXISTS (SELECT 1 FROM periodic_task_ledger WHERE id = {} AND token = {})",
            self.row, self.token
        )
    }
}
