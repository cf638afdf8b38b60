//! The `_count`-weighted cost of a query, checked before it runs (fhir-graphql.md §3.3: the
//! dynamic schema has no per-field cost, so we walk the parsed document ourselves).
//!
//! The model is Medplum's: a field costs 1 plus its children; a search
//! (`ImagingStudyList`, `ImagingStudyConnection`) costs [`SEARCH_COST`] plus its page size
//! times its children; following a reference (`resource`) costs 1 plus twice its children.
//! The page size is the `_count` argument (a literal or a variable); without one, a list
//! counts [`MAX_COUNT`] (it answers up to that many) and a connection [`DEFAULT_COUNT`];
//! when it cannot be known (a cursor, a variable not given) it counts `MAX_COUNT`. Every
//! operation of the document is weighed and the dearest counts. Fragments are weighed once
//! each; a fragment cycle weighs nothing here (validation refuses it), and a document whose
//! fragments nest deeper than [`MAX_NESTING`] is too costly outright.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Name, Value, Variables};
use sv_fhir::{DEFAULT_COUNT, MAX_COUNT};

/// The most a query may cost.
pub(super) const MAX_COST: u64 = 10_000;
/// What a search costs besides its matches.
pub(super) const SEARCH_COST: u64 = 8;
/// Nesting (selection sets and fragment spreads) beyond which the walk stops.
const MAX_NESTING: usize = 128;

/// The cost of the dearest operation of `doc`.
pub(super) fn cost(doc: &ExecutableDocument, variables: &Variables) -> u64 {
    let mut walk = Walk {
        doc,
        variables,
        memo: HashMap::new(),
        active: Vec::new(),
    };
    doc.operations
        .iter()
        .map(|(_, op)| walk.set(&op.node.selection_set.node, 0))
        .max()
        .unwrap_or(0)
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    memo: HashMap<&'a Name, u64>,
    active: Vec<&'a Name>,
}

impl<'a> Walk<'a> {
    fn set(&mut self, set: &'a SelectionSet, depth: usize) -> u64 {
        if depth > MAX_NESTING {
            return MAX_COST + 1;
        }
        let mut total = 0u64;
        for item in &set.items {
            let cost = match &item.node {
                Selection::Field(f) => self.field(&f.node, depth),
                Selection::InlineFragment(i) => self.set(&i.node.selection_set.node, depth + 1),
                Selection::FragmentSpread(s) => self.fragment(&s.node.fragment_name.node, depth),
            };
            total = total.saturating_add(cost);
        }
        total
    }

    fn fragment(&mut self, name: &'a Name, depth: usize) -> u64 {
        if let Some(cost) = self.memo.get(name) {
            return *cost;
        }
        if self.active.contains(&name) {
            return 0;
        }
        let Some(fragment) = self.doc.fragments.get(name) else {
            return 0;
        };
        self.active.push(name);
        let cost = self.set(&fragment.node.selection_set.node, depth + 1);
        self.active.pop();
        self.memo.insert(name, cost);
        cost
    }

    fn field(&mut self, f: &'a Field, depth: usize) -> u64 {
        let children = self.set(&f.selection_set.node, depth + 1);
        let page = |default: usize| self.page_size(f, default);
        match f.name.node.as_str() {
            "ImagingStudyList" => {
                SEARCH_COST.saturating_add(page(MAX_COUNT).saturating_mul(children))
            }
            "ImagingStudyConnection" => {
                SEARCH_COST.saturating_add(page(DEFAULT_COUNT).saturating_mul(children))
            }
            "resource" => 1u64.saturating_add(children.saturating_mul(2)),
            _ => 1u64.saturating_add(children),
        }
    }

    /// The page size a search field asks for, at most `MAX_COUNT`.
    fn page_size(&self, f: &Field, default: usize) -> u64 {
        let arg = |name: &str| {
            f.arguments
                .iter()
                .find(|(n, _)| n.node.as_str() == name)
                .map(|(_, v)| &v.node)
        };
        if arg("_cursor").is_some() || arg("cursor").is_some() {
            return MAX_COUNT as u64;
        }
        let count = match arg("_count") {
            None => Some(default as u64),
            Some(v) => v
                .clone()
                .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                .ok()
                .and_then(|c| match c {
                    Value::Number(n) => n.as_u64(),
                    _ => None,
                }),
        };
        count.unwrap_or(MAX_COUNT as u64).min(MAX_COUNT as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn cost_of(query: &str, variables: serde_json::Value) -> u64 {
        let doc = parse_query(query).unwrap();
        cost(&doc, &Variables::from_json(variables))
    }

    #[test]
    fn searches_weigh_their_page_and_references_double() {
        let none = serde_json::json!({});
        assert_eq!(
            cost_of("{ Patient(id: \"x\") { id name { text } } }", none.clone()),
            4
        );
        // 8 + 50 × (id + started) = 108
        assert_eq!(
            cost_of(
                "{ ImagingStudyList(_count: 50) { id started } }",
                none.clone()
            ),
            108
        );
        // without _count a list counts MAX_COUNT, a connection DEFAULT_COUNT
        assert_eq!(
            cost_of("{ ImagingStudyList { id } }", none.clone()),
            8 + 200
        );
        assert_eq!(
            cost_of("{ ImagingStudyConnection { count } }", none.clone()),
            8 + 20
        );
        // a variable page size is read from the variables; unknown counts MAX_COUNT
        let q = "query Q($n: Int) { ImagingStudyList(_count: $n) { id } }";
        assert_eq!(cost_of(q, serde_json::json!({"n": 5})), 13);
        assert_eq!(cost_of(q, none.clone()), 208);
        // resource: 1 + 2 × children
        let q =
            "{ ImagingStudy(id: \"x\") { subject { resource { ... on Patient { id gender } } } } }";
        assert_eq!(cost_of(q, none.clone()), 1 + 1 + (1 + 2 * 2));
        // fragments count where they are spread, and a cycle does not hang the walk
        let q = "{ ImagingStudyList(_count: 2) { ...F } } fragment F on ImagingStudy { id ...G } \
                 fragment G on ImagingStudy { status ...F }";
        assert_eq!(cost_of(q, none), 8 + 2 * 2);
    }
}
