//! sv-dicomweb's tests: one binary, one module per concern. Facts and digests are built by
//! hand (`common`); no DICOM file, no server.

mod accept;
mod common;
mod multipart;
mod order;
mod qido_json;
mod qido_keys;
mod qido_parse;
mod qido_rules;
mod stow;
