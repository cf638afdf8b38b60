//! Small typed accessors over a dicom-rs object, tolerant of padding and absent values.

use dicom_core::Tag;
use dicom_core::value::Value;
use dicom_object::InMemDicomObject;

pub(crate) type Obj = InMemDicomObject;

/// The value as text, multiple values joined by `\`, trimmed of space and NUL padding; `None`
/// when absent, empty, or not text.
pub(crate) fn text(obj: &Obj, tag: Tag) -> Option<String> {
    let e = obj.get(tag)?;
    let s = e.value().to_str().ok()?;
    let t = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!t.is_empty()).then(|| t.to_string())
}

/// The first integer value (IS, US, UL, SS …); `None` when absent or unparsable.
pub(crate) fn int(obj: &Obj, tag: Tag) -> Option<i64> {
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
