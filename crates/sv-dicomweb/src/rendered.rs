//! WADO-RS `rendered` and `thumbnail` parameters (PS3.18 8.3.5.1): what the client asks the
//! image to look like, and in which media type.
//!
//! Supported: `window=center,width[,linear|linear-exact|sigmoid]`, `viewport=vw,vh` (the
//! image is fitted inside, aspect kept), `quality=1..100`, `accept=` (or the `Accept` header)
//! naming `image/jpeg` (the default) or `image/png`, `iccprofile=no`, and `charset` (ignored:
//! no text is drawn). Refused: `annotation` (nothing is burned in), a viewport with a source
//! region, other ICC profiles, other media types (406).

use crate::accept::NotAcceptable;

/// A VOI LUT Function named by `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowShape {
    Linear,
    LinearExact,
    Sigmoid,
}

/// What a `rendered` request asks for beyond the stored preview.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rendering {
    /// Centre, width (modality units), shape.
    pub window: Option<(f64, f64, WindowShape)>,
    /// Width and height to fit the image in.
    pub viewport: Option<(u32, u32)>,
    /// JPEG quality.
    pub quality: Option<u8>,
    /// `image/jpeg` or `image/png`.
    pub media_type: &'static str,
}

/// Why a rendering request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderingError {
    #[error("parameter '{param}': {reason}")]
    Invalid {
        param: &'static str,
        reason: &'static str,
    },
    #[error("parameter '{param}' is not supported: {reason}")]
    NotSupported { param: String, reason: &'static str },
    #[error("{}", .0.reason)]
    NotAcceptable(NotAcceptable),
}

/// Largest viewport side.
pub const MAX_VIEWPORT: u32 = 8192;

impl Rendering {
    /// Parses the query pairs and the `Accept` header. `Ok(None)`: nothing asks for other than
    /// the default (JPEG, the stored look), so the stored preview answers.
    pub fn parse(
        pairs: &[(String, String)],
        accept: Option<&str>,
    ) -> Result<Option<Rendering>, RenderingError> {
        let mut rendering = Rendering {
            window: None,
            viewport: None,
            quality: None,
            media_type: "image/jpeg",
        };
        let mut accept_param = None;
        for (key, value) in pairs {
            match key.as_str() {
                "window" => rendering.window = Some(window(value)?),
                "viewport" => rendering.viewport = Some(viewport(value)?),
                "quality" => {
                    let q = value
                        .trim()
                        .parse::<u8>()
                        .ok()
                        .filter(|q| (1..=100).contains(q));
                    rendering.quality = Some(q.ok_or(RenderingError::Invalid {
                        param: "quality",
                        reason: "a whole number from 1 to 100",
                    })?);
                }
                "accept" => accept_param = Some(value.as_str()),
                "iccprofile" if value.eq_ignore_ascii_case("no") => {}
                "iccprofile" | "annotation" => {
                    return Err(RenderingError::NotSupported {
                        param: key.clone(),
                        reason: "nothing is drawn on or colour-managed in the image",
                    });
                }
                _ => {}
            }
        }
        rendering.media_type = media_type(accept_param.or(accept))?;
        let default = rendering.window.is_none()
            && rendering.viewport.is_none()
            && rendering.quality.is_none();
        Ok((!default || rendering.media_type != "image/jpeg").then_some(rendering))
    }
}

fn window(value: &str) -> Result<(f64, f64, WindowShape), RenderingError> {
    let invalid = RenderingError::Invalid {
        param: "window",
        reason: "center,width[,linear|linear-exact|sigmoid] with a width above 0",
    };
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let (center, width) = match parts.as_slice() {
        [c, w] | [c, w, _] => (c.parse::<f64>(), w.parse::<f64>()),
        _ => return Err(invalid),
    };
    let (Ok(center), Ok(width)) = (center, width) else {
        return Err(invalid);
    };
    if !center.is_finite() || !width.is_finite() || width <= 0.0 {
        return Err(invalid);
    }
    let shape = match parts.get(2).map(|s| s.to_ascii_lowercase()).as_deref() {
        None | Some("linear") => WindowShape::Linear,
        Some("linear-exact") | Some("linear_exact") => WindowShape::LinearExact,
        Some("sigmoid") => WindowShape::Sigmoid,
        Some(_) => return Err(invalid),
    };
    if shape == WindowShape::Linear && width < 1.0 {
        return Err(invalid);
    }
    Ok((center, width, shape))
}

fn viewport(value: &str) -> Result<(u32, u32), RenderingError> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let side = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_VIEWPORT).contains(n))
    };
    match parts.as_slice() {
        [w, h] => match (side(w), side(h)) {
            (Some(w), Some(h)) => Ok((w, h)),
            _ => Err(RenderingError::Invalid {
                param: "viewport",
                reason: "vw,vh in pixels, 1 to 8192 each",
            }),
        },
        [_, _, _, _, _, _] => Err(RenderingError::NotSupported {
            param: "viewport".into(),
            reason: "a source region is not supported; give vw,vh",
        }),
        _ => Err(RenderingError::Invalid {
            param: "viewport",
            reason: "vw,vh in pixels",
        }),
    }
}

/// `image/jpeg` unless the request prefers `image/png`; 406 when it admits neither.
fn media_type(accept: Option<&str>) -> Result<&'static str, RenderingError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok("image/jpeg");
    };
    let mut best: Option<(f32, &'static str)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let served = match media.as_str() {
            "image/jpeg" | "image/*" | "*/*" => "image/jpeg",
            "image/png" => "image/png",
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, served));
        }
    }
    best.map(|(_, m)| m)
        .ok_or(RenderingError::NotAcceptable(NotAcceptable {
            reason: "rendered images are image/jpeg or image/png",
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        query: &[(&str, &str)],
        accept: Option<&str>,
    ) -> Result<Option<Rendering>, RenderingError> {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Rendering::parse(&pairs, accept)
    }

    #[test]
    fn no_parameter_means_the_stored_preview() {
        assert_eq!(parse(&[], None), Ok(None));
        assert_eq!(parse(&[], Some("*/*")), Ok(None));
        assert_eq!(
            parse(
                &[("charset", "UTF-8"), ("iccprofile", "no")],
                Some("image/jpeg")
            ),
            Ok(None)
        );
    }

    #[test]
    fn window_viewport_quality_and_png_are_read() {
        let r = parse(
            &[
                ("window", "40,400,linear"),
                ("viewport", "128,64"),
                ("quality", "75"),
            ],
            Some("image/png"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.window, Some((40.0, 400.0, WindowShape::Linear)));
        assert_eq!(r.viewport, Some((128, 64)));
        assert_eq!(r.quality, Some(75));
        assert_eq!(r.media_type, "image/png");
        let sigmoid = parse(&[("window", "-600,1500,SIGMOID")], None)
            .unwrap()
            .unwrap();
        assert_eq!(sigmoid.window.unwrap().2, WindowShape::Sigmoid);
        let png = parse(&[("accept", "image/png")], Some("image/jpeg"))
            .unwrap()
            .unwrap();
        assert_eq!(png.media_type, "image/png", "the accept parameter wins");
        let prefer = parse(&[], Some("image/jpeg;q=0.5, image/png"))
            .unwrap()
            .unwrap();
        assert_eq!(prefer.media_type, "image/png");
    }

    #[test]
    fn bad_and_unsupported_values_are_refused() {
        for (k, v) in [
            ("window", "40"),
            ("window", "40,0"),
            ("window", "40,x"),
            ("window", "40,400,cubic"),
            ("viewport", "0,10"),
            ("viewport", "10"),
            ("viewport", "99999,10"),
            ("quality", "0"),
            ("quality", "101"),
        ] {
            assert!(
                matches!(parse(&[(k, v)], None), Err(RenderingError::Invalid { .. })),
                "{k}={v}"
            );
        }
        for (k, v) in [
            ("annotation", "patient"),
            ("viewport", "10,10,0,0,5,5"),
            ("iccprofile", "srgb"),
        ] {
            assert!(
                matches!(
                    parse(&[(k, v)], None),
                    Err(RenderingError::NotSupported { .. })
                ),
                "{k}={v}"
            );
        }
        assert!(matches!(
            parse(&[], Some("image/gif")),
            Err(RenderingError::NotAcceptable(_))
        ));
    }
}
