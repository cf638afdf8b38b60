//! `ImagingStudyList` and `ImagingStudyConnection`: the REST search, reached by GraphQL.
//!
//! The arguments become `(name, value)` pairs (argument names with `_` back to `-`), parsed
//! by `SearchRequest::parse` under strict handling and run by one
//! `Vault::search_studies_blocking` call (in `run_io`) with the request's own filter and
//! order, as the REST search does, so a GraphQL search answers exactly what
//! `GET ImagingStudy?…` answers for the same criteria.
//! - A string value is a REST value as it is (`"CT,MR"` is CT or MR, `\` escapes); a list
//!   is the spec's OR (`["CT", "MR"]`), each item one alternative whose commas are data.
//! - `ImagingStudyList` answers every match or an error: `_count` over [`MAX_COUNT`] is
//!   `too-costly`, and so is a search without `_count` that matches more than `MAX_COUNT`
//!   (from `_offset` on). With `_count` it answers that page.
//! - `ImagingStudyConnection` pages as the Bundle does (default `_count` 20, clamped to
//!   `MAX_COUNT`); its cursors are the Bundle's `first`/`previous`/`next`/`last` links'
//!   queries, hex-encoded (opaque), taken back by `_cursor` or `cursor` alone.

use std::sync::Arc;

use async_graphql::dynamic::{
    Field, FieldValue, InputValue, ObjectAccessor, ResolverContext, TypeRef,
};
use async_graphql::{Error, Value};
use axum::extract::Query;
use axum::http::Uri;
use serde_json::json;
use sv_fhir::{Handling, IssueCode, MAX_COUNT, SearchContext, SearchRequest, search_parameters};
use sv_vault::StudyPage;

use super::outcome::error;
use super::root::{Scope, to_json};
use crate::fhir::FhirFailure;

type Pairs = Vec<(String, String)>;

/// Every search parameter as an argument (`-` → `_`, a list of its type), then `_sort`,
/// `_count`, `_offset`.
pub(super) fn search_arguments(mut field: Field) -> Field {
    for (name, kind) in search_parameters() {
        // `token`, `date` and `reference`: scalars of the schema (`types::SCALARS`).
        field = field.argument(InputValue::new(
            name.replace('-', "_"),
            TypeRef::named_list(kind),
        ));
    }
    field
        .argument(InputValue::new("_sort", TypeRef::named(TypeRef::STRING)))
        .argument(InputValue::new("_count", TypeRef::named(TypeRef::INT)))
        .argument(InputValue::new("_offset", TypeRef::named(TypeRef::INT)))
}

/// The search arguments as REST pairs, `_count` left out (each search decides it).
fn criteria(args: &ObjectAccessor<'_>) -> Result<Pairs, Error> {
    let mut pairs = Pairs::new();
    for (name, value) in args.iter() {
        let name = name.as_str();
        let value = value.as_value();
        match name {
            "_count" | "_cursor" | "cursor" => {}
            "_offset" => match value {
                Value::Null => {}
                Value::Number(n) if n.as_u64().is_some() => {
                    pairs.push(("_offset".to_owned(), n.to_string()))
                }
                _ => return Err(invalid("_offset", "not a non-negative integer")),
            },
            "_sort" => {
                if let Value::String(s) = value {
                    pairs.push(("_sort".to_owned(), s.clone()));
                }
            }
            _ => {
                let Some((param, _)) =
                    search_parameters().find(|(p, _)| p.replace('-', "_") == name)
                else {
                    return Err(invalid(name, "unknown search parameter"));
                };
                if let Some(v) = rest_value(param, value)? {
                    pairs.push((param.to_owned(), v));
                }
            }
        }
    }
    Ok(pairs)
}

/// One argument's value as a REST value: a string as it is, a list as alternatives.
fn rest_value(param: &str, value: &Value) -> Result<Option<String>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::List(items) => {
            let mut alternatives = Vec::with_capacity(items.len());
            for item in items {
                let Value::String(s) = item else {
                    return Err(invalid(param, "search values are strings"));
                };
                alternatives.push(escape_commas(s));
            }
            Ok((!alternatives.is_empty()).then(|| alternatives.join(",")))
        }
        _ => Err(invalid(param, "search values are strings")),
    }
}

/// A list item is one alternative: its unescaped commas are data.
fn escape_commas(item: &str) -> String {
    let mut out = String::with_capacity(item.len());
    let mut chars = item.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            ',' => out.push_str("\\,"),
            c => out.push(c),
        }
    }
    out
}

fn invalid(param: &str, reason: &str) -> Error {
    error(IssueCode::Invalid, &format!("argument '{param}': {reason}"))
}

/// The `_count` argument, if given.
fn count_argument(args: &ObjectAccessor<'_>) -> Result<Option<usize>, Error> {
    match args.get("_count").map(|v| v.as_value()) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| invalid("_count", "not a non-negative integer")),
        Some(_) => Err(invalid("_count", "not a non-negative integer")),
    }
}

pub(super) async fn list<'a>(ctx: &ResolverContext<'a>) -> Result<FieldValue<'a>, Error> {
    let scope = ctx.data::<Scope>()?;
    let mut pairs = criteria(&ctx.args)?;
    let count = count_argument(&ctx.args)?;
    if count.is_some_and(|c| c > MAX_COUNT) {
        return Err(error(
            IssueCode::TooCostly,
            &format!(
                "ImagingStudyList answers at most {MAX_COUNT} studies: page with ImagingStudyConnection"
            ),
        ));
    }
    pairs.push(("_count".to_owned(), count.unwrap_or(MAX_COUNT).to_string()));
    let (request, page) = search(scope, &pairs).await?;
    if count.is_none() && page.total > request.offset() + page.hits.len() {
        return Err(error(
            IssueCode::TooCostly,
            &format!(
                "more than {MAX_COUNT} studies match: narrow the search or page with ImagingStudyConnection"
            ),
        ));
    }
    let studies = studies(scope, &page)?;
    Ok(FieldValue::list(
        studies.into_iter().map(FieldValue::owned_any),
    ))
}

pub(super) async fn connection<'a>(ctx: &ResolverContext<'a>) -> Result<FieldValue<'a>, Error> {
    let scope = ctx.data::<Scope>()?;
    let cursor = ["_cursor", "cursor"]
        .iter()
        .filter_map(|n| ctx.args.get(n))
        .find_map(|v| v.string().ok());
    let pairs = match cursor {
        Some(cursor) => {
            let others = ctx.args.iter().any(|(n, v)| {
                !matches!(n.as_str(), "_cursor" | "cursor") && !v.as_value().eq(&Value::Null)
            });
            if others {
                return Err(invalid(
                    "_cursor",
                    "a cursor carries its search: give it alone",
                ));
            }
            from_cursor(cursor)?
        }
        None => {
            let mut pairs = criteria(&ctx.args)?;
            if let Some(count) = count_argument(&ctx.args)? {
                pairs.push(("_count".to_owned(), count.to_string()));
            }
            pairs
        }
    };
    let (request, page) = search(scope, &pairs).await?;
    let total = page.total;
    let studies: Vec<sv_fhir::ImagingStudy> =
        page.hits.iter().map(|hit| study_of(scope, hit)).collect();
    let bundle =
        sv_fhir::search_bundle(&request, total, studies, Vec::new(), &scope.links.fhir_base);
    let bundle = to_json(&bundle)?;
    let link = |relation: &str| {
        bundle["link"]
            .as_array()
            .and_then(|links| links.iter().find(|l| l["relation"] == relation))
            .and_then(|l| l["url"].as_str())
            .and_then(|url| url.split_once('?'))
            .map(|(_, query)| to_cursor(query))
    };
    let edges: Vec<serde_json::Value> = bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| json!({"mode": e["search"]["mode"], "resource": e["resource"]}))
                .collect()
        })
        .unwrap_or_default();
    let connection = json!({
        "count": total,
        "offset": request.offset(),
        "pagesize": request.count(),
        "pageSize": request.count(),
        "first": link("first"),
        "previous": link("previous"),
        "next": link("next"),
        "last": link("last"),
        "edges": edges,
    });
    Ok(FieldValue::owned_any(connection))
}

/// A cursor: the page's canonical query, hex-encoded.
fn to_cursor(query: &str) -> String {
    query.bytes().map(|b| format!("{b:02x}")).collect()
}

fn from_cursor(cursor: &str) -> Result<Pairs, Error> {
    let bad = || invalid("_cursor", "not a cursor this server gave");
    if !cursor.len().is_multiple_of(2) || !cursor.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let query = String::from_utf8(bytes).map_err(|_| bad())?;
    let uri: Uri = format!("/?{query}").parse().map_err(|_| bad())?;
    let Query(pairs) = Query::<Pairs>::try_from_uri(&uri).map_err(|_| bad())?;
    Ok(pairs)
}

/// Parses the pairs as the REST search does (strict: the schema already refused unknown
/// names) and runs it: one vault call.
async fn search(scope: &Scope, pairs: &Pairs) -> Result<(Arc<SearchRequest>, StudyPage), Error> {
    let context = SearchContext {
        record: scope.record,
        links: scope.links.clone(),
    };
    let request =
        SearchRequest::parse(pairs, Handling::Strict, &context).map_err(FhirFailure::from)?;
    let request = Arc::new(request);
    let asked = request.clone();
    let record = scope.record;
    let page = scope
        .state
        .vault()
        .run_io(move |vault| crate::fhir::studies::search_blocking(vault, record, &asked))
        .await
        .map_err(FhirFailure::from)?;
    Ok((request, page))
}

fn study_of(scope: &Scope, hit: &sv_vault::StudyHit) -> sv_fhir::ImagingStudy {
    crate::fhir::studies::resource(hit, scope.record, &scope.links)
}

fn studies(scope: &Scope, page: &StudyPage) -> Result<Vec<serde_json::Value>, Error> {
    page.hits
        .iter()
        .map(|hit| to_json(&study_of(scope, hit)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_items_are_alternatives_whose_commas_are_data() {
        let list = Value::List(vec![Value::from("CT"), Value::from("a,b\\,c")]);
        assert_eq!(
            rest_value("modality", &list).unwrap().as_deref(),
            Some("CT,a\\,b\\,c")
        );
        let one = Value::from("CT,MR");
        assert_eq!(
            rest_value("modality", &one).unwrap().as_deref(),
            Some("CT,MR")
        );
        assert!(rest_value("modality", &Value::from(3)).is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_they_are_not() {
        let query = "identifier=urn%3Adicom%3Auid%7C1.2&_count=2&_offset=4";
        let pairs = from_cursor(&to_cursor(query)).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("identifier".to_owned(), "urn:dicom:uid|1.2".to_owned()),
                ("_count".to_owned(), "2".to_owned()),
                ("_offset".to_owned(), "4".to_owned()),
            ]
        );
        assert!(from_cursor("zz").is_err());
        assert!(from_cursor("abc").is_err());
    }
}
