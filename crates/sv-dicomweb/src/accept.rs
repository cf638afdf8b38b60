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

/// How frames go out: the part media type, and the transfer syntax a compressed part names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramesAs {
    /// `application/octet-stream` (native, little endian) or the compressed media type.
    pub media_type: &'static str,
    /// The stored transfer syntax, for compressed frames (`None` for native ones).
    pub transfer_syntax: Option<String>,
}

impl FramesAs {
    /// The `Content-Type` of each part: the media type, with `transfer-syntax=` when compressed.
    pub fn part_content_type(&self) -> String {
        match &self.transfer_syntax {
            Some(ts) => format!("{}; transfer-syntax={ts}", self.media_type),
            None => self.media_type.to_owned(),
        }
    }
}

/// Explicit VR Little Endian: what native frames are, whatever the file's syntax.
const EXPLICIT_LITTLE: &str = "1.2.840.10008.1.2.1";

/// The media type of frames stored in a transfer syntax (PS3.18 Table 8.7.3-5, the table
/// dicomweb-client reads): native syntaxes give `application/octet-stream`; `None` for
/// syntaxes whose frames are not served (video, unknown).
pub fn frame_media_type(transfer_syntax: &str) -> Option<&'static str> {
    Some(match transfer_syntax.trim() {
        "1.2.840.10008.1.2"
        | "1.2.840.10008.1.2.1"
        | "1.2.840.10008.1.2.2"
        | "1.2.840.10008.1.2.1.99" => "application/octet-stream",
        "1.2.840.10008.1.2.4.50"
        | "1.2.840.10008.1.2.4.51"
        | "1.2.840.10008.1.2.4.57"
        | "1.2.840.10008.1.2.4.70" => "image/jpeg",
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => "image/jls",
        "1.2.840.10008.1.2.4.90" | "1.2.840.10008.1.2.4.91" => "image/jp2",
        "1.2.840.10008.1.2.4.92" | "1.2.840.10008.1.2.4.93" => "image/jpx",
        "1.2.840.10008.1.2.4.201" | "1.2.840.10008.1.2.4.202" | "1.2.840.10008.1.2.4.203" => {
            "image/jphc"
        }
        "1.2.840.10008.1.2.5" => "image/dicom-rle",
        _ => return None,
    })
}

/// Whether frames stored in `stored_transfer_syntax` may be sent for this `Accept`, and how.
///
/// Frames go out as stored (nothing is decoded or transcoded): native frames as
/// `application/octet-stream`, compressed ones in their own media type. Accepted ranges:
/// `*/*`, `multipart/*`, and `multipart/related` whose `type` is absent, `*/*`, the frames'
/// media type (or its `x-` alias, `image/*` for compressed frames, `application/*` for native
/// ones) and whose `transfer-syntax` is absent, `*` or the one sent (Explicit VR Little Endian
/// for native frames). No `Accept` header means anything. So octet-stream for compressed
/// frames, and JPEG for native ones, are 406.
pub fn accepts_frames(
    accept: Option<&str>,
    stored_transfer_syntax: &str,
) -> Result<FramesAs, NotAcceptable> {
    let media_type = frame_media_type(stored_transfer_syntax).ok_or(NotAcceptable {
        reason: "frames of this transfer syntax are not served",
    })?;
    let native = media_type == "application/octet-stream";
    let answer = FramesAs {
        media_type,
        transfer_syntax: (!native).then(|| stored_transfer_syntax.trim().to_owned()),
    };
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(answer);
    };
    let sent_syntax = if native {
        EXPLICIT_LITTLE
    } else {
        stored_transfer_syntax.trim()
    };
    let alias = media_type.replace("image/", "image/x-");
    let mut reason = if native {
        "the frames are uncompressed: only application/octet-stream is offered"
    } else {
        "the frames are compressed and are not decoded: only their own media type is offered"
    };
    for range in media_ranges(accept) {
        match range.essence.as_str() {
            "*/*" | "multipart/*" => return Ok(answer),
            "multipart/related" => {}
            _ => continue,
        }
        let part_type = range.param("type").map(str::to_ascii_lowercase);
        let fits = match part_type.as_deref() {
            None | Some("*/*") => true,
            Some("image/*") => !native,
            Some("application/*") => native,
            Some(t) => t == media_type || t == alias,
        };
        if !fits {
            continue;
        }
        match range.param("transfer-syntax").map(str::trim) {
            None | Some("*") => return Ok(answer),
            Some(ts) if ts == sent_syntax => return Ok(answer),
            Some(_) => reason = "the frames are in another transfer syntax and are not transcoded",
        }
    }
    Err(NotAcceptable { reason })
}

#[cfg(test)]
mod frames_tests {
    use super::*;

    const NATIVE: &str = "1.2.840.10008.1.2.1";
    const JPEG: &str = "1.2.840.10008.1.2.4.50";
    const RLE: &str = "1.2.840.10008.1.2.5";
    // What dicomweb-client sends for retrieve_instance_frames (standards.md §2).
    const DWC_DEFAULT: &str = "multipart/related; type=\"*/*\"";
    const DWC_OCTET: &str = "multipart/related; type=\"application/octet-stream\"";
    const DWC_JPEG: &str =
        "multipart/related; type=\"image/jpeg\"; transfer-syntax=1.2.840.10008.1.2.4.50";

    #[test]
    fn native_frames_are_octet_stream() {
        for accept in [
            None,
            Some(""),
            Some("*/*"),
            Some(DWC_DEFAULT),
            Some(DWC_OCTET),
        ] {
            let how = accepts_frames(accept, NATIVE).unwrap();
            assert_eq!(how.media_type, "application/octet-stream", "{accept:?}");
            assert_eq!(how.part_content_type(), "application/octet-stream");
        }
        let big = accepts_frames(Some(DWC_OCTET), "1.2.840.10008.1.2.2").unwrap();
        assert_eq!(big.media_type, "application/octet-stream");
        assert!(
            accepts_frames(
                Some("multipart/related; type=\"application/octet-stream\"; transfer-syntax=1.2.840.10008.1.2.1"),
                "1.2.840.10008.1.2"
            )
            .is_ok(),
            "native frames are explicit little endian whatever the file"
        );
        assert!(
            accepts_frames(Some(DWC_JPEG), NATIVE).is_err(),
            "JPEG of native"
        );
        assert!(accepts_frames(Some("multipart/related; type=\"image/*\""), NATIVE).is_err());
        assert!(accepts_frames(Some("image/jpeg"), NATIVE).is_err());
        assert!(accepts_frames(Some("*/*;q=0"), NATIVE).is_err());
    }

    #[test]
    fn compressed_frames_are_their_own_media_type() {
        for accept in [None, Some("*/*"), Some(DWC_DEFAULT), Some(DWC_JPEG)] {
            let how = accepts_frames(accept, JPEG).unwrap();
            assert_eq!(how.media_type, "image/jpeg", "{accept:?}");
            assert_eq!(
                how.part_content_type(),
                "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50"
            );
        }
        let err = accepts_frames(Some(DWC_OCTET), JPEG).unwrap_err();
        assert!(err.reason.contains("not decoded"), "{}", err.reason);
        let other =
            "multipart/related; type=\"image/jpeg\"; transfer-syntax=1.2.840.10008.1.2.4.51";
        assert!(
            accepts_frames(Some(other), JPEG).is_err(),
            "another JPEG syntax"
        );
        let rle = accepts_frames(Some("multipart/related; type=\"image/x-dicom-rle\""), RLE);
        assert_eq!(rle.unwrap().media_type, "image/dicom-rle");
        assert!(accepts_frames(Some(DWC_JPEG), RLE).is_err());
        assert_eq!(
            accepts_frames(Some(DWC_DEFAULT), "1.2.840.10008.1.2.4.91")
                .unwrap()
                .media_type,
            "image/jp2"
        );
        assert!(
            accepts_frames(None, "1.2.840.10008.1.2.4.100").is_err(),
            "MPEG-2"
        );
    }
}
