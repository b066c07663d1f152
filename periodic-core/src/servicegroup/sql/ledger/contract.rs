//! [`TaskLedger`] for the SQL store: each method is one of the claims, records or
//! controls of the sibling files.

use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::Error;
use crate::periodic::{
    Claim, ClaimRequest, Claimed, ControlState, LedgerEntry, RunRecord, RunReport, TaskControl,
    TaskLedger, TaskScope,
};

use super::{BATCH, SqlLedger};

impl TaskLedger for SqlLedger {
    fn now(&self) -> BoxFuture<'_, Result<i64, Error>> {
        Box::pin(self.store_now())
    }

    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<Claimed>, Error>> {
        Box::pin(self.claim_all(request))
    }

    fn renew(
        &self,
        row: i64,
        token: u64,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<i64>, Error>> {
        Box::pin(self.renew_lease(row, token, lease))
    }

    fn release(&self, row: i64, token: u64) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(self.release_lease(row, token))
    }

    fn record<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        report: &'a RunReport,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.record_run(scope, task, report))
    }

    fn prepare<'a>(
        &'a self,
        scope: &'a TaskScope,
        tasks: &'a [&'a str],
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            for chunk in tasks.chunks(BATCH) {
                self.ensure_rows(scope.as_str(), chunk).await?;
            }
            Ok(())
        })
    }

    fn settle<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        claim: &'a Claim,
        report: Option<&'a RunReport>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.settle_run(scope, task, claim, report))
    }

    fn entries<'a>(
        &'a self,
        scope: Option<&'a TaskScope>,
    ) -> BoxFuture<'a, Result<Vec<LedgerEntry>, Error>> {
        Box::pin(self.read_entries(scope, None))
    }

    fn control<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        control: &'a TaskControl,
    ) -> BoxFuture<'a, Result<LedgerEntry, Error>> {
        Box::pin(self.apply_control(scope, task, control))
    }

    fn history<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>, Error>> {
        Box::pin(self.read_history(scope, task, limit))
    }

    fn controls<'a>(
        &'a self,
        scope: &'a TaskScope,
    ) -> BoxFuture<'a, Result<Vec<ControlState>, Error>> {
        Box::pin(self.read_controls(scope))
    }

    fn take_run_request<'a>(
        &'a self,
        scope: &'a TaskScope,
        task: &'a str,
        holder: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Option<Claim>, Error>> {
        Box::pin(self.take_request(scope, task, holder, lease))
    }

    fn control_signals(&self) -> Option<futures::stream::BoxStream<'static, ()>> {
        self.listen()
    }
}
