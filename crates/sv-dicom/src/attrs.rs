//! Small typed accessors over a dicom-rs object, tolerant of padding and absent values.

use dicom_core::value::Value;
use dicom_core::{PrimitiveValue, Tag, VR};
use dicom_object::InMemDicomObject;

pub(crate) type Obj = InMemDicomObject;

/// The value as text, multiple values joined by `\`, trimmed of space and NUL padding; `None`
/// when absent, empty, or not text.
pub(crate) fn text(obj: &Obj, tag: Tag) -> Option<String> {
    let e = obj.get(tag)?;
    let s = match un_bytes(obj, tag) {
        Some(b) => String::from_utf8_lossy(b).into_owned().into(),
        None => e.value().to_str().ok()?,
    };
    let t = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!t.is_empty()).then(|| t.to_string())
}

/// The raw bytes of an element whose VR is UN (explicit files written without a dictionary):
/// dicom-rs keeps them as bytes, so numbers must be read from their text.
fn un_bytes(obj: &Obj, tag: Tag) -> Option<&[u8]> {
    let e = obj.get(tag)?;
    match (e.vr(), e.value()) {
        (VR::UN, Value::Primitive(PrimitiveValue::U8(b))) => Some(b),
        _ => None,
    }
}

/// Numbers of a UN element read as backslash-separated text.
fn un_numbers(obj: &Obj, tag: Tag) -> Option<Vec<f64>> {
    let b = un_bytes(obj, tag)?;
    let s = String::from_utf8_lossy(b);
    let v: Option<Vec<f64>> = s
        .split('\\')
        .map(|p| {
            p.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .parse()
                .ok()
        })
        .collect();
    v.filter(|v| !v.is_empty())
}

/// The first integer value (IS, US, UL, SS …); `None` when absent or unparsable.
pub(crate) fn int(obj: &Obj, tag: Tag) -> Option<i64> {
    if let Some(b) = un_bytes(obj, tag) {
        if let Some(v) = un_numbers(obj, tag) {
            return (v[0].fract() == 0.0).then_some(v[0] as i64);
        }
        // binary US/UL written as UN
        return match b.len() {
            2 => Some(i64::from(u16::from_le_bytes([b[0], b[1]]))),
            4 => Some(i64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            _ => None,
        };
    }
    obj.get(tag)?.value().to_int::<i64>().ok()
}

/// Whether the attribute is present but its value does not read as an integer.
pub(crate) fn int_is_invalid(obj: &Obj, tag: Tag) -> bool {
    match obj.get(tag) {
        None => false,
        Some(e) => text(obj, tag).is_some() && e.value().to_int::<i64>().is_err(),
    }
}

/// All values as floats (DS, FL, FD, IS).
pub(crate) fn floats(obj: &Obj, tag: Tag) -> Option<Vec<f64>> {
    if un_bytes(obj, tag).is_some() {
        return un_numbers(obj, tag);
    }
    let v = obj.get(tag)?.value().to_multi_float64().ok()?;
    (!v.is_empty()).then_some(v)
}

/// The first value as float.
pub(crate) fn float(obj: &Obj, tag: Tag) -> Option<f64> {
    floats(obj, tag)?.first().copied()
}

/// The items of a sequence (empty when absent or not a sequence).
pub(crate) fn items(obj: &Obj, tag: Tag) -> &[Obj] {
    match obj.get(tag).map(|e| e.value()) {
        Some(Value::Sequence(seq)) => seq.items(),
        _ => &[],
    }
}

/// The first item of a sequence.
pub(crate) fn first_item(obj: &Obj, tag: Tag) -> Option<&Obj> {
    items(obj, tag).first()
}

/// Raw bytes of a primitive value in little-endian order (OB/OW/US lookup tables).
pub(crate) fn bytes(obj: &Obj, tag: Tag) -> Option<std::borrow::Cow<'_, [u8]>> {
    match obj.get(tag)?.value() {
        Value::Primitive(p) => Some(p.to_bytes()),
        _ => None,
    }
}
