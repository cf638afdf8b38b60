//! The canonical query of a request: what the Bundle's links carry.
//!
//! Order: search parameters in table order (repeats in the order given), then `_include`,
//! `_elements`, `_sort`, `_summary`, `_total`, `_format`, `_pretty`, `_count` (always, as the
//! spec asks page links to repeat it) and `_offset` (when not 0). Values are written back
//! from what was parsed (escapes restored, `eq` implicit) and percent-encoded, so a link
//! parses back to the same request.

use crate::percent::encode_component;
use crate::search::sort::write_sort;
use crate::search::{SearchRequest, TotalMode};

impl SearchRequest {
    /// The canonical query of this request (its self link's query, without `?`).
    pub fn canonical_query(&self) -> String {
        self.query_at(self.offset)
    }

    /// The canonical query with another `_offset`: the paging links.
    pub(crate) fn query_at(&self, offset: usize) -> String {
        let mut pairs: Vec<(String, String)> =
            self.criteria.iter().map(|c| c.canonical()).collect();
        let mut push = |k: &str, v: String| pairs.push((k.to_owned(), v));
        for include in &self.includes {
            push("_include", include.as_str().to_owned());
        }
        if let Some(elements) = &self.elements {
            push("_elements", elements.join(","));
        }
        if !self.sort.is_empty() {
            push("_sort", write_sort(&self.sort));
        }
        if self.summary_count {
            push("_summary", "count".to_owned());
        }
        if let Some(total) = self.total {
            let total = match total {
                TotalMode::None => "none",
                TotalMode::Estimate => "estimate",
                TotalMode::Accurate => "accurate",
            };
            push("_total", total.to_owned());
        }
        if let Some(format) = &self.format {
            push("_format", format.clone());
        }
        if let Some(pretty) = &self.pretty {
            push("_pretty", pretty.clone());
        }
        push("_count", self.count.to_string());
        if offset > 0 {
            push("_offset", offset.to_string());
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}
