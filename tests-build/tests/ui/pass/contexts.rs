//! Context types: a user type, a path, a generic type, `Self`, and elided lifetimes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use periodic::periodic_tasks;

mod nova {
    pub struct RequestContext {
        pub project_id: String,
    }
}

struct Manager;

struct Generic<T>(T);

struct Fleet;

#[periodic_tasks]
impl Manager {
    #[periodic_task]
    async fn user_type(&self, ctx: &nova::RequestContext) {
        let _ = &ctx.project_id;
    }

    #[periodic_task]
    fn shared_map(&self, _ctx: &Arc<Mutex<HashMap<String, u64>>>) {}

    #[periodic_task]
    async fn explicit_elided_lifetime(&'_ self, _ctx: &'_ crate::nova::RequestContext) {}

    #[periodic_task]
    async fn typed_self(self: &Self, _ctx: &Self) {}

    #[periodic_task]
    fn ignored_pattern(&self, _: &nova::RequestContext) {}
}

#[periodic_tasks]
impl Generic<Fleet> {
    #[periodic_task]
    async fn concrete_instance(&self, _ctx: &Generic<u8>) {
        let Generic(Fleet) = self;
    }
}

fn main() {}
