//! The server's `CapabilityStatement` (`GET [base]/metadata`), generated from the search
//! parameter and `_include` tables the parser uses, so it says exactly what the server does.

use serde::Serialize;
use sv_model::Timestamp;

use crate::search::{INCLUDES, PARAMS};

/// The `graphql` operation's definition.
pub const GRAPHQL_OPERATION: &str = "http://hl7.org/fhir/OperationDefinition/Resource-graphql";

/// An R4 `CapabilityStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "resourceType",
    rename = "CapabilityStatement",
    rename_all = "camelCase"
)]
pub struct CapabilityStatement {
    pub status: String,
    pub date: String,
    pub kind: String,
    pub software: Software,
    pub implementation: Implementation,
    pub fhir_version: String,
    pub format: Vec<String>,
    pub rest: Vec<Rest>,
}

/// `CapabilityStatement.software`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Software {
    pub name: String,
    pub version: String,
}

/// `CapabilityStatement.implementation` (required for kind `instance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Implementation {
    pub description: String,
    pub url: String,
}

/// `CapabilityStatement.rest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rest {
    pub mode: String,
    pub resource: Vec<RestResource>,
    pub operation: Vec<Operation>,
}

/// `CapabilityStatement.rest.resource`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestResource {
    #[serde(rename = "type")]
    pub type_: String,
    pub interaction: Vec<Interaction>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub search_include: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub search_param: Vec<SearchParamDecl>,
}

/// `CapabilityStatement.rest.resource.interaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interaction {
    pub code: String,
}

/// `CapabilityStatement.rest.resource.searchParam`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchParamDecl {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub documentation: String,
}

/// `CapabilityStatement.rest.operation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    pub name: String,
    pub definition: String,
}

/// The CapabilityStatement of the FHIR base `base`, dated `now`.
pub fn capability_statement(
    base: &str,
    software_version: &str,
    now: Timestamp,
) -> CapabilityStatement {
    let interactions = |codes: &[&str]| {
        codes
            .iter()
            .map(|c| Interaction {
                code: (*c).to_owned(),
            })
            .collect()
    };
    let read_only = |type_: &str| RestResource {
        type_: type_.to_owned(),
        interaction: interactions(&["read"]),
        search_include: Vec::new(),
        search_param: Vec::new(),
    };
    let mut search_include: Vec<String> = Vec::new();
    for (name, _) in INCLUDES {
        search_include.push(name.to_owned());
    }
    let imaging_study = RestResource {
        type_: "ImagingStudy".to_owned(),
        interaction: interactions(&["read", "search-type"]),
        search_include,
        search_param: PARAMS
            .iter()
            .map(|p| SearchParamDecl {
                name: p.name.to_owned(),
                type_: p.kind.type_code().to_owned(),
                documentation: p.documentation.to_owned(),
            })
            .collect(),
    };
    CapabilityStatement {
        status: "active".to_owned(),
        date: now.to_rfc3339(),
        kind: "instance".to_owned(),
        software: Software {
            name: "studyvault".to_owned(),
            version: software_version.to_owned(),
        },
        implementation: Implementation {
            description: "studyvault: one personal health record's imaging studies".to_owned(),
            url: base.trim_end_matches('/').to_owned(),
        },
        fhir_version: "4.0.1".to_owned(),
        format: vec!["json".to_owned(), "application/fhir+json".to_owned()],
        rest: vec![Rest {
            mode: "server".to_owned(),
            resource: vec![imaging_study, read_only("Patient"), read_only("Endpoint")],
            operation: vec![Operation {
                name: "graphql".to_owned(),
                definition: GRAPHQL_OPERATION.to_owned(),
            }],
        }],
    }
}
