//! Study upload, list, previews and archive, in process (no socket), over temporary vaults.

#[path = "common/harness.rs"]
mod common;
#[path = "studies/harness.rs"]
mod harness;

#[path = "studies/bounds.rs"]
mod bounds;
#[path = "studies/hostile.rs"]
mod hostile;
#[path = "studies/upload.rs"]
mod upload;
#[path = "studies/views.rs"]
mod views;
