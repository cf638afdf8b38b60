//! `Accept` negotiation for WADO-RS instance retrieval and the JSON resources (PS18 8.7).
//!
//! An `Accept` value is a comma-separated list of media ranges with parameters; a range with
//! `q=0` is refused by the client and is skipped. Parameter names and media types compare
//! case-insensitively; quotes around parameter values are dropped.
//!
//! Transfer syntax decision: we never transcode, so an instance goes out in the transfer
//! syntax it was stored in, which the part's `Content-Type` names. A `multipart/related;
//! type="application/dicom"` range with **no** `transfer-syntax` parameter is accepted for any
//! stored syntax, although PS18 makes Explicit VR Little Endian the default there: that is
//! what dicomweb-client's `retrieve_study` and `retrieve_series` send, and refusing them for
//! every compressed instance would make those calls useless (pydicom reads any syntax).
//! An explicit `transfer-syntax` must be `*` or the stored one; anything else is a 406.

/// No representation we can send fits the `Accept` header (406).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not acceptable: {reason}")]
pub struct NotAcceptable {
    pub reason: &'static str,
}

/// One media range of an `Accept` header.
#[derive(Debug)]
struct MediaRange<'a> {
    essence: String,
    params: Vec<(String, &'a str)>,
}

impl MediaRange<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// The media ranges of an `Accept` value, without those with `q=0`.
fn media_ranges(accept: &str) -> Vec<MediaRange<'_>> {
    split_outside_quotes(accept, ',')
        .into_iter()
        .filter_map(|range| {
            let mut pieces = split_outside_quotes(range, ';').into_iter();
            let essence = pieces.next()?.trim().to_ascii_lowercase();
            if essence.is_empty() {
                return None;
            }
            let params: Vec<(String, &str)> = pieces
                .filter_map(|p| {
                    let (name, value) = p.split_once('=')?;
                    let value = value.trim();
                    let value = value
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(value);
                    Some((name.trim().to_ascii_lowercase(), value))
                })
                .collect();
            let refused = params
                .iter()
                .any(|(n, v)| n == "q" && v.parse::<f32>().is_ok_and(|q| q <= 0.0));
            (!refused).then_some(MediaRange { essence, params })
        })
        .collect()
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            out.push(&text[start..i]);
            start = i + 1;
        }
    }
    out.push(&text[start..]);
    out
}

/// Whether instances stored in `stored_transfer_syntax` may be sent as they are, as
/// `multipart/related; type="application/dicom"`, for this `Accept`.
///
/// Accepted ranges: `*/*`, `multipart/*`, and `multipart/related` whose `type` is absent,
/// `application/dicom`, `application/*` or `*/*` and whose `transfer-syntax` is absent, `*`
/// or the stored one. No `Accept` header means anything. A bare `application/dicom` (a
/// single-part response) is not offered.
pub fn accepts_stored_instance(
    accept: Option<&str>,
    stored_transfer_syntax: &str,
) -> Result<(), NotAcceptable> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(());
    };
    let mut reason = "only multipart/related; type=\"application/dicom\" is offered";
    for range in media_ranges(accept) {
        match range.essence.as_str() {
            "*/*" | "multipart/*" => return Ok(()),
            "multipart/related" => {}
            _ => continue,
        }
        let part_type = range.param("type").map(str::to_ascii_lowercase);
        if !matches!(
            part_type.as_deref(),
            None | Some("application/dicom" | "application/*" | "*/*")
        ) {
            continue;
        }
        match range.param("transfer-syntax") {
            None | Some("*") => return Ok(()),
            Some(ts) if ts.trim() == stored_transfer_syntax.trim() => return Ok(()),
            Some(_) => {
                reason = "the instance is stored in another transfer syntax and is not transcoded"
            }
        }
    }
    Err(NotAcceptable { reason })
}

/// Whether a DICOM JSON answer (QIDO-RS results, WADO-RS metadata) fits this `Accept`:
/// `application/dicom+json`, `application/json`, `application/*`, `*/*`, or no header.
pub fn accepts_dicom_json(accept: Option<&str>) -> Result<(), NotAcceptable> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(());
    };
    let ok = media_ranges(accept).iter().any(|r| {
        matches!(
            r.essence.as_str(),
            "application/dicom+json" | "application/json" | "application/*" | "*/*"
        )
    });
    if ok {
        Ok(())
    } else {
        Err(NotAcceptable {
            reason: "only application/dicom+json is offered",
        })
    }
}
