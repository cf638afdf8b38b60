//! sv-fhir's tests through its public API, on hand-built instance facts and digests.

mod common;
mod errors;
mod mapping;
mod paging;
mod resources;
mod search_dates;
mod search_params;
