//! Validation of medical-image-study XML against HealthVault's official v2 schema, with xmllint.
//!
//! The schema's target namespace is `urn:com.microsoft.wc.thing.medical-images`, while
//! HealthVault's `data-xml` carries `<medical-image-study>` without one; as the schema's notice
//! says, the root is put alone into the namespace before validating.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// `fixtures/healthvault/`: the official XSDs and sample, unchanged.
pub fn schema_dir() -> PathBuf {
    crate::fixtures::fixtures_dir().join("healthvault")
}

/// HealthVault's official medical-image-study v2 sample.
pub fn sample_study_xml() -> String {
    let path = schema_dir().join("sample-medical-image-study.xml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Puts the root alone into the schema's namespace.
pub fn wrap_for_schema(xml: &str) -> String {
    let body = xml
        .trim()
        .strip_prefix("<medical-image-study>")
        .and_then(|b| b.strip_suffix("</medical-image-study>"))
        .expect("a <medical-image-study> element without attributes");
    format!(
        "<this:medical-image-study xmlns:this=\"urn:com.microsoft.wc.thing.medical-images\">\
         {body}</this:medical-image-study>"
    )
}

/// Runs `xmllint --noout --nonet --schema medical-image-study.2.xsd -` on the wrapped study.
/// `Err` carries xmllint's complaint. A missing xmllint fails the calling test, never skips it.
pub fn xmllint_study(xml: &str) -> Result<(), String> {
    let mut child = Command::new("xmllint")
        .args([
            "--noout",
            "--nonet",
            "--schema",
            "medical-image-study.2.xsd",
            "-",
        ])
        .current_dir(schema_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run xmllint ({e}): schema validation needs the Debian package \
                 libxml2-utils (scripts/test installs it)"
            )
        });
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(wrap_for_schema(xml).as_bytes())
        .expect("write to xmllint");
    drop(stdin);
    let output = child.wait_with_output().expect("xmllint runs");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}
