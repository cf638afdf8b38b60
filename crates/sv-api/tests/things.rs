//! HealthVault-style things over HTTP, in process: create, read, update, delete, versions,
//! queries, studies, access rules, hostile XML and the change feed.

#[path = "common/harness.rs"]
mod harness;

#[path = "things/access.rs"]
mod access;
#[path = "things/crud.rs"]
mod crud;
#[path = "things/feed.rs"]
mod feed;
#[path = "things/hostile.rs"]
mod hostile;
#[path = "things/query.rs"]
mod query;
#[path = "things/study.rs"]
mod study;
