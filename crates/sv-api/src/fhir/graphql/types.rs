//! The FHIR R4 types of the GraphQL schema, as data: one table of elements per type, read by
//! one generic resolver that answers an element with the same-named key of the resource's
//! FHIR JSON (`serde_json::Value`, as `sv-fhir` writes it).
//!
//! Decisions (fhir-graphql.md §2.2, §2.3):
//! - Names and types follow the HL7 generator: `ImagingStudy` lists every R4 element;
//!   nested types are the parent's name plus the element's (`ImagingStudySeries`); non-null
//!   only on complex elements of min 1 (`subject: Reference!`); lists are `[T]`.
//! - Scalars are named as HL7 names them (`dateTime`, `unsignedInt`, `code`, `uri`, `ID`…);
//!   values come out as the resource holds them, so numbers are JSON numbers.
//! - Elements the store never writes still resolve (to null): a client asking for `note`
//!   gets null, not an error. `Patient` and `Endpoint` declare only the elements the store
//!   can write, so asking for another (`telecom`) is an error, as the spec asks for
//!   unsupported fields. Element ids, extensions on data types and the primitive `_x`
//!   `ElementBase` fields are not declared: the store writes none.
//! - `resourceType` is a field of every resource (as Medplum has it).
//! - Repeating complex elements take `_count`, `_offset` and one equality argument per
//!   primitive sub-element (`identifier(system: "urn:dicom:uid")`, `series(uid: "…")`):
//!   items whose sub-element equals the value (JSON equality), then offset, then count.
//!   `fhirpath` is not offered, so the schema refuses it.

use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, Object, ResolverContext, Scalar, TypeRef, Union,
};
use async_graphql::{Error, Value};

/// How many times an element occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Card {
    /// 0..1
    One,
    /// 1..1 of a complex type: `T!`
    Required,
    /// 0..*: `[T]`
    Many,
}

/// One element of a type: its JSON name, its GraphQL type name, its cardinality.
#[derive(Debug, Clone, Copy)]
pub(super) struct Element {
    pub name: &'static str,
    pub ty: &'static str,
    pub card: Card,
}

const fn one(name: &'static str, ty: &'static str) -> Element {
    Element {
        name,
        ty,
        card: Card::One,
    }
}

const fn req(name: &'static str, ty: &'static str) -> Element {
    Element {
        name,
        ty,
        card: Card::Required,
    }
}

const fn many(name: &'static str, ty: &'static str) -> Element {
    Element {
        name,
        ty,
        card: Card::Many,
    }
}

/// The FHIR primitive scalars (besides GraphQL's own `ID`, `String`, `Boolean`, `Int`), and
/// the search parameter types the search arguments take.
pub(super) const SCALARS: [&str; 13] = [
    "code",
    "uri",
    "url",
    "canonical",
    "markdown",
    "xhtml",
    "date",
    "dateTime",
    "instant",
    "unsignedInt",
    "positiveInt",
    "token",
    "reference",
];

fn is_scalar(ty: &str) -> bool {
    matches!(ty, "ID" | "String" | "Boolean" | "Int" | "Float") || SCALARS.contains(&ty)
}

/// The resources the store serves: the `Resource` union's members.
pub(super) const RESOURCES: [&str; 3] = ["ImagingStudy", "Patient", "Endpoint"];

/// Every object type but `Query`: (name, elements). `Reference` gets `resource` besides.
pub(super) const TYPES: &[(&str, &[Element])] = &[
    (
        "ImagingStudy",
        &[
            one("resourceType", "String"),
            one("id", "ID"),
            one("meta", "Meta"),
            one("implicitRules", "uri"),
            one("language", "code"),
            one("text", "Narrative"),
            many("contained", "Resource"),
            many("extension", "Extension"),
            many("modifierExtension", "Extension"),
            many("identifier", "Identifier"),
            one("status", "code"),
            many("modality", "Coding"),
            req("subject", "Reference"),
            one("encounter", "Reference"),
            one("started", "dateTime"),
            many("basedOn", "Reference"),
            one("referrer", "Reference"),
            many("interpreter", "Reference"),
            many("endpoint", "Reference"),
            one("numberOfSeries", "unsignedInt"),
            one("numberOfInstances", "unsignedInt"),
            one("procedureReference", "Reference"),
            many("procedureCode", "CodeableConcept"),
            one("location", "Reference"),
            many("reasonCode", "CodeableConcept"),
            many("reasonReference", "Reference"),
            many("note", "Annotation"),
            one("description", "String"),
            many("series", "ImagingStudySeries"),
        ],
    ),
    (
        "ImagingStudySeries",
        &[
            one("uid", "ID"),
            one("number", "unsignedInt"),
            req("modality", "Coding"),
            one("description", "String"),
            one("numberOfInstances", "unsignedInt"),
            many("endpoint", "Reference"),
            one("bodySite", "Coding"),
            one("laterality", "Coding"),
            many("specimen", "Reference"),
            one("started", "dateTime"),
            many("performer", "ImagingStudySeriesPerformer"),
            many("instance", "ImagingStudySeriesInstance"),
        ],
    ),
    (
        "ImagingStudySeriesPerformer",
        &[
            one("function", "CodeableConcept"),
            req("actor", "Reference"),
        ],
    ),
    (
        "ImagingStudySeriesInstance",
        &[
            one("uid", "ID"),
            req("sopClass", "Coding"),
            one("number", "unsignedInt"),
            one("title", "String"),
        ],
    ),
    (
        "Patient",
        &[
            one("resourceType", "String"),
            one("id", "ID"),
            one("meta", "Meta"),
            one("implicitRules", "uri"),
            one("language", "code"),
            one("text", "Narrative"),
            many("identifier", "Identifier"),
            one("active", "Boolean"),
            many("name", "HumanName"),
            one("gender", "code"),
            one("birthDate", "date"),
        ],
    ),
    (
        "Endpoint",
        &[
            one("resourceType", "String"),
            one("id", "ID"),
            one("meta", "Meta"),
            one("status", "code"),
            req("connectionType", "Coding"),
            one("name", "String"),
            many("payloadType", "CodeableConcept"),
            many("payloadMimeType", "code"),
            one("address", "url"),
        ],
    ),
    (
        "Identifier",
        &[
            one("use", "code"),
            one("type", "CodeableConcept"),
            one("system", "uri"),
            one("value", "String"),
            one("period", "Period"),
            one("assigner", "Reference"),
        ],
    ),
    (
        "Coding",
        &[
            one("system", "uri"),
            one("version", "String"),
            one("code", "code"),
            one("display", "String"),
            one("userSelected", "Boolean"),
        ],
    ),
    (
        "CodeableConcept",
        &[many("coding", "Coding"), one("text", "String")],
    ),
    (
        "Reference",
        &[
            one("reference", "String"),
            one("type", "uri"),
            one("identifier", "Identifier"),
            one("display", "String"),
        ],
    ),
    (
        "Meta",
        &[
            one("versionId", "ID"),
            one("lastUpdated", "instant"),
            one("source", "uri"),
            many("profile", "canonical"),
            many("security", "Coding"),
            many("tag", "Coding"),
        ],
    ),
    (
        "HumanName",
        &[
            one("use", "code"),
            one("text", "String"),
            one("family", "String"),
            many("given", "String"),
            many("prefix", "String"),
            many("suffix", "String"),
            one("period", "Period"),
        ],
    ),
    (
        "Period",
        &[one("start", "dateTime"), one("end", "dateTime")],
    ),
    ("Narrative", &[one("status", "code"), one("div", "xhtml")]),
    (
        "Annotation",
        &[
            one("authorReference", "Reference"),
            one("authorString", "String"),
            one("time", "dateTime"),
            one("text", "markdown"),
        ],
    ),
    (
        "Extension",
        &[
            one("url", "uri"),
            many("extension", "Extension"),
            one("valueString", "String"),
            one("valueCode", "code"),
            one("valueBoolean", "Boolean"),
            one("valueInteger", "Int"),
            one("valueDateTime", "dateTime"),
            one("valueUri", "uri"),
            one("valueCoding", "Coding"),
            one("valueCodeableConcept", "CodeableConcept"),
            one("valueReference", "Reference"),
        ],
    ),
    (
        "ImagingStudyConnection",
        &[
            one("count", "Int"),
            one("offset", "Int"),
            one("pagesize", "Int"),
            one("pageSize", "Int"),
            one("first", "ID"),
            one("previous", "ID"),
            one("next", "ID"),
            one("last", "ID"),
            many("edges", "ImagingStudyEdge"),
        ],
    ),
    (
        "ImagingStudyEdge",
        &[
            one("mode", "String"),
            one("score", "Float"),
            one("resource", "ImagingStudy"),
        ],
    ),
];

/// The elements of a type.
pub(super) fn elements(ty: &str) -> &'static [Element] {
    TYPES
        .iter()
        .find(|(name, _)| *name == ty)
        .map_or(&[], |(_, e)| e)
}

/// The GraphQL type of an element.
fn type_ref(e: &Element) -> TypeRef {
    match e.card {
        Card::One => TypeRef::named(e.ty),
        Card::Required => TypeRef::named_nn(e.ty),
        Card::Many => TypeRef::named_list(e.ty),
    }
}

/// Every FHIR object type, the `Resource` union and the scalars, ready to register.
/// `reference_resource` is the `Reference.resource` field (it reaches the vault).
pub(super) fn fhir_types(reference_resource: Field) -> (Vec<Object>, Union, Vec<Scalar>) {
    let mut reference_resource = Some(reference_resource);
    let objects = TYPES
        .iter()
        .map(|(name, elements)| {
            let mut object = Object::new(*name);
            for e in *elements {
                let plain = matches!(*name, "ImagingStudyConnection" | "ImagingStudyEdge");
                object = object.field(element_field(e, plain));
            }
            if *name == "Reference"
                && let Some(field) = reference_resource.take()
            {
                object = object.field(field);
            }
            object
        })
        .collect();
    let union = RESOURCES
        .iter()
        .fold(Union::new("Resource"), |u, r| u.possible_type(*r));
    let scalars = SCALARS.iter().map(|s| Scalar::new(*s)).collect();
    (objects, union, scalars)
}

/// The field of one element. `plain` leaves the list arguments off (the connection types,
/// which are not FHIR elements).
fn element_field(e: &'static Element, plain: bool) -> Field {
    let mut field = Field::new(e.name, type_ref(e), move |ctx| {
        match resolve_element(&ctx, e) {
            Ok(value) => FieldFuture::Value(value),
            Err(error) => FieldFuture::new(async move { Err::<Option<FieldValue>, _>(error) }),
        }
    });
    if e.card == Card::Many && !is_scalar(e.ty) && !plain {
        field = field
            .argument(InputValue::new("_count", TypeRef::named(TypeRef::INT)))
            .argument(InputValue::new("_offset", TypeRef::named(TypeRef::INT)));
        for sub in elements(e.ty) {
            if sub.card != Card::Many && is_scalar(sub.ty) && sub.name != "resourceType" {
                field = field.argument(InputValue::new(sub.name, TypeRef::named(sub.ty)));
            }
        }
    }
    field
}

/// The parent's JSON, for a field of an object type.
pub(super) fn parent<'a>(ctx: &ResolverContext<'a>) -> Option<&'a serde_json::Value> {
    ctx.parent_value.downcast_ref::<serde_json::Value>()
}

fn resolve_element<'a>(
    ctx: &ResolverContext<'a>,
    e: &Element,
) -> Result<Option<FieldValue<'a>>, Error> {
    let Some(value) = parent(ctx).and_then(|p| p.get(e.name)) else {
        return Ok(None);
    };
    if e.card != Card::Many {
        return Ok(Some(field_value(value, e.ty)));
    }
    let Some(items) = value.as_array() else {
        return Ok(None);
    };
    let mut offset = 0usize;
    let mut count = usize::MAX;
    let mut equal: Vec<(&str, serde_json::Value)> = Vec::new();
    for (name, arg) in ctx.args.iter() {
        match name.as_str() {
            "_offset" => offset = non_negative(arg.i64()?),
            "_count" => count = non_negative(arg.i64()?),
            sub => equal.push((sub, arg.as_value().clone().into_json()?)),
        }
    }
    let kept = items
        .iter()
        .filter(|item| equal.iter().all(|(k, v)| item.get(*k) == Some(v)))
        .skip(offset)
        .take(count)
        .map(|item| field_value(item, e.ty));
    Ok(Some(FieldValue::list(kept)))
}

fn non_negative(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// One JSON value as a field value: a scalar as it is, an object for its type's resolvers,
/// a resource in the `Resource` union by its `resourceType`.
pub(super) fn field_value<'a>(value: &'a serde_json::Value, ty: &str) -> FieldValue<'a> {
    if is_scalar(ty) {
        FieldValue::value(Value::from_json(value.clone()).unwrap_or(Value::Null))
    } else if ty == "Resource" {
        let kind = value["resourceType"].as_str().unwrap_or("").to_owned();
        FieldValue::borrowed_any(value).with_type(kind)
    } else {
        FieldValue::borrowed_any(value)
    }
}
