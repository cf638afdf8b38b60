//! Sharing and the pages, in process: the share API, the recipient's flow from landing page to
//! study (and what a mail scanner's GET does not do), one 404 for every bad link, revocation at
//! the next request, the link reaching nothing else, the security headers and cookies, CSRF
//! refusals, and the patient's sign-in, pages and sign-out.

#[path = "common/harness.rs"]
mod harness;

use axum::body::Body;
use axum::http::StatusCode;
use harness::{Api, Reply, api, get, record, send};
use serde_json::{Value, json};
use sv_model::Timestamp;

const CT: &str = "CT_small.dcm";
const MR: &str = "MR_small.dcm";

async fn upload(api: &Api, rid: &str, token: &str, fixture: &str) -> String {
    let bytes = sv_testkit::fixtures::read_dicom_fixture(fixture);
    let ct = [("content-type", "application/dicom")];
    let uri = format!("/v1/records/{rid}/studies");
    let reply = send(api, "POST", &uri, Some(token), &ct, Body::from(bytes)).await;
    assert!(reply.status.is_success(), "{}", reply.text());
    reply.json()["instances"][0]["study_instance_uid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn share(api: &Api, rid: &str, token: &str, body: Value) -> Reply {
    let ct = [("content-type", "application/json")];
    let uri = format!("/v1/records/{rid}/shares");
    send(
        api,
        "POST",
        &uri,
        Some(token),
        &ct,
        Body::from(body.to_string()),
    )
    .await
}

/// The link's secret from a share answer.
fn link_of(reply: &Reply) -> String {
    let url = reply.json()["url"].as_str().unwrap().to_owned();
    url.rsplit('/').next().unwrap().to_owned()
}

/// A browser: the cookies it was given, sent back.
#[derive(Default)]
struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn keep(&mut self, reply: &Reply) {
        for v in reply.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, _) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !v.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, api: &Api, uri: &str) -> Reply {
        let cookie = self.cookie_header();
        let headers = [
            ("cookie", cookie.as_str()),
            ("sec-fetch-site", "same-origin"),
        ];
        let reply = send(api, "GET", uri, None, &headers, Body::empty()).await;
        self.keep(&reply);
        reply
    }

    async fn post(&mut self, api: &Api, uri: &str, form: &[(&str, &str)]) -> Reply {
        let cookie = self.cookie_header();
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        let headers = [
            ("cookie", cookie.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://127.0.0.1:8080"),
        ];
        let reply = send(api, "POST", uri, None, &headers, Body::from(body.join("&"))).await;
        self.keep(&reply);
        reply
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The form token of a page.
fn csrf(page: &Reply) -> String {
    let html = page.text();
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a csrf field")
        + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

fn assert_page_headers(r: &Reply) {
    let csp = r.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.header("referrer-policy"), "no-referrer");
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(r.header("x-robots-tag").contains("noindex"));
}

#[tokio::test]
async fn a_recipient_opens_a_share_sees_the_study_and_is_stopped_by_revoke() {
    let api = api();
    let (rid, owner) = record(&api, "Jane Doe").await;
    let study = upload(&api, &rid, &owner, CT).await;
    let created = share(
        &api,
        &rid,
        &owner,
        json!({"study_instance_uid": study, "note": "for <b>Dr Who</b>", "allow_download": true}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let body = created.json();
    assert_eq!(body["mail"], "not-requested");
    assert_eq!(body["share"]["state"], "active");
    let link = link_of(&created);
    assert_eq!(link.len(), 64);
    let id = body["id"].as_str().unwrap().to_owned();

    // A mail scanner: GET and HEAD, many times, change nothing.
    for method in ["GET", "HEAD", "GET"] {
        let r = send(
            &api,
            method,
            &format!("/s/{link}"),
            None,
            &[],
            Body::empty(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let listed = get(&api, &format!("/v1/records/{rid}/shares"), &owner)
        .await
        .json();
    assert_eq!(listed[0]["views"], 0);
    assert!(listed[0]["last_opened"].is_null());

    let mut browser = Browser::default();
    let landing = browser.get(&api, &format!("/s/{link}")).await;
    assert_page_headers(&landing);
    let html = landing.text();
    assert!(html.contains("Jane Doe"), "who shared it");
    assert!(
        html.contains("for &#60;b&#62;Dr Who&#60;/b&#62;") || html.contains("for &lt;b&gt;Dr Who")
    );
    let form_cookie = landing.header("set-cookie").to_owned();
    assert!(form_cookie.starts_with("__Host-sv-form="));
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(form_cookie.contains(flag), "{flag} in {form_cookie}");
    }

    // Without the form token: refused, nothing logged.
    let refused = browser
        .post(&api, &format!("/s/{link}"), &[("csrf", "0")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let token = csrf(&landing);
    let opened = browser
        .post(&api, &format!("/s/{link}"), &[("csrf", &token)])
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.header("location"), format!("/s/{link}/study"));
    assert!(opened.header("set-cookie").starts_with("__Host-sv-share="));

    let page = browser.get(&api, &format!("/s/{link}/study")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_page_headers(&page);
    assert!(page.text().contains("/s/") && page.text().contains("/download.zip"));
    let series = browser.get(&api, &format!("/s/{link}/series/1")).await;
    assert_eq!(series.status, StatusCode::OK);
    let img = series
        .text()
        .split("src=\"")
        .find_map(|s| {
            s.split('"')
                .next()
                .filter(|u| u.contains("/images/"))
                .map(str::to_owned)
        })
        .expect("an image in the series grid");
    let image = browser.get(&api, &img.replace("&#x2F;", "/")).await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.header("content-type"), "image/jpeg");
    assert_eq!(image.header("cache-control"), "no-store");
    let viewer = browser
        .get(&api, &format!("/s/{link}/series/1/view?i=1"))
        .await;
    assert_eq!(viewer.status, StatusCode::OK);
    let zip = browser.get(&api, &format!("/s/{link}/download.zip")).await;
    assert_eq!(zip.status, StatusCode::OK);
    assert!(zip.bytes.starts_with(b"PK"));

    let log = get(&api, &format!("/v1/records/{rid}/shares/{id}/log"), &owner)
        .await
        .json();
    let events: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["created", "opened", "downloaded"]);
    assert_eq!(log["share"]["views"], 1);
    assert_eq!(log["share"]["downloads"], 1);

    // Revoke: the very next request with the open session is refused.
    let revoked = send(
        &api,
        "DELETE",
        &format!("/v1/records/{rid}/shares/{id}"),
        Some(&owner),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(revoked.json()["state"], "revoked");
    let after = browser.get(&api, &format!("/s/{link}/study")).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    let after = browser.get(&api, &format!("/s/{link}/images/x")).await;
    assert_ne!(after.status, StatusCode::OK);
    let landing = browser.get(&api, &format!("/s/{link}")).await;
    assert_eq!(landing.status, StatusCode::NOT_FOUND);
    let unknown = browser.get(&api, &format!("/s/{}", "ab".repeat(32))).await;
    assert_eq!(landing.bytes, unknown.bytes, "the same 404 page");
}

#[tokio::test]
async fn expired_revoked_locked_unknown_and_malformed_links_get_the_same_404() {
    let api = api();
    let (rid, owner) = record(&api, "Jane").await;
    let study = upload(&api, &rid, &owner, CT).await;
    let record_id = rid.parse().unwrap();
    // Made an hour ago with a one-minute life: expired now.
    let expired = api
        .vault
        .create_share_blocking(
            record_id,
            sv_vault::NewShare {
                study_instance_uid: study.clone(),
                expires_in: Some(std::time::Duration::from_secs(60)),
                ..Default::default()
            },
            Timestamp::now().plus_seconds(-3600),
        )
        .unwrap()
        .unwrap();
    let revoked = link_of(&share(&api, &rid, &owner, json!({"study_instance_uid": study})).await);
    let id = api.vault.shares_blocking(record_id).unwrap()[0].id;
    api.vault
        .revoke_share_blocking(record_id, id, Timestamp::now())
        .unwrap();
    let locked = share(
        &api,
        &rid,
        &owner,
        json!({"study_instance_uid": study, "passcode": "right-one"}),
    )
    .await;
    let locked = link_of(&locked);
    let mut browser = Browser::default();
    let landing = browser.get(&api, &format!("/s/{locked}")).await;
    assert!(
        landing.text().contains("passcode"),
        "the landing page asks for it"
    );
    let token = csrf(&landing);
    for left in (0..5).rev() {
        let r = browser
            .post(
                &api,
                &format!("/s/{locked}"),
                &[("csrf", &token), ("passcode", "wrong-one")],
            )
            .await;
        if left > 0 {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert!(r.text().contains(&left.to_string()), "attempts left shown");
        } else {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "the fifth failure locks");
        }
    }
    let after_lock = browser
        .post(
            &api,
            &format!("/s/{locked}"),
            &[("csrf", &token), ("passcode", "right-one")],
        )
        .await;
    assert_eq!(
        after_lock.status,
        StatusCode::NOT_FOUND,
        "locked stays locked"
    );

    let links = [
        expired.link_secret.expose().to_owned(),
        revoked,
        locked,
        "0".repeat(64),
        "not-a-link".to_owned(),
    ];
    let mut bodies = Vec::new();
    for link in &links {
        for path in ["", "/study", "/dicomweb/studies"] {
            let r = send(
                &api,
                "GET",
                &format!("/s/{link}{path}"),
                None,
                &[],
                Body::empty(),
            )
            .await;
            if path.is_empty() {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{link}");
                bodies.push(r.bytes.clone());
            } else if path == "/study" && link.len() == 64 {
                assert_eq!(
                    r.status,
                    StatusCode::SEE_OTHER,
                    "no session: back to the landing page"
                );
            } else if path == "/study" {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "not a link at all");
            } else {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{link}{path}");
            }
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one 404 page for every bad link"
    );
    let log = api.vault.shares_blocking(record_id).unwrap();
    let locked_share = log.iter().find(|s| s.passcode.is_some()).unwrap();
    assert_eq!(
        locked_share.state(Timestamp::now()),
        sv_model::ShareState::Locked
    );
}

#[tokio::test]
async fn a_share_link_reaches_its_study_over_dicomweb_and_nothing_else() {
    let api = api();
    let (rid, owner) = record(&api, "Jane").await;
    let shared = upload(&api, &rid, &owner, CT).await;
    let other = upload(&api, &rid, &owner, MR).await;
    let link = link_of(&share(&api, &rid, &owner, json!({"study_instance_uid": shared})).await);

    let found = send(
        &api,
        "GET",
        &format!("/s/{link}/dicomweb/studies"),
        None,
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    let studies = found.json();
    assert_eq!(
        studies.as_array().unwrap().len(),
        1,
        "only the shared study"
    );
    assert_eq!(studies[0]["0020000D"]["Value"][0], shared.as_str());
    let retrieve_url = studies[0]["00081190"]["Value"][0].as_str().unwrap();
    assert!(retrieve_url.contains(&format!("/s/{link}/dicomweb/studies/")));
    let asked = send(
        &api,
        "GET",
        &format!("/s/{link}/dicomweb/studies?StudyInstanceUID={other}"),
        None,
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(
        asked.status,
        StatusCode::NO_CONTENT,
        "another study is not searchable"
    );
    for path in [
        format!("/s/{link}/dicomweb/studies/{other}"),
        format!("/s/{link}/dicomweb/studies/{other}/metadata"),
        format!("/s/{link}/dicomweb/studies/{other}/series"),
    ] {
        let r = send(&api, "GET", &path, None, &[], Body::empty()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    let whole = send(
        &api,
        "GET",
        &format!("/s/{link}/dicomweb/studies/{shared}"),
        None,
        &[("accept", "multipart/related; type=\"application/dicom\"")],
        Body::empty(),
    )
    .await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.header("cache-control"), "no-store");
    // The link is not a token for anything under /v1.
    for path in [
        format!("/v1/records/{rid}/studies"),
        format!("/v1/records/{rid}/dicomweb/studies"),
        format!("/v1/records/{rid}/shares"),
        format!("/v1/records/{rid}/fhir/ImagingStudy"),
    ] {
        let r = get(&api, &path, &link).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn cross_site_posts_and_forms_without_their_token_are_refused() {
    let api = api();
    let (rid, owner) = record(&api, "Jane").await;
    let study = upload(&api, &rid, &owner, CT).await;
    let link = link_of(&share(&api, &rid, &owner, json!({"study_instance_uid": study})).await);
    let mut browser = Browser::default();
    let landing = browser.get(&api, &format!("/s/{link}")).await;
    let token = csrf(&landing);
    let cookie = browser.cookie_header();
    let cross = send(
        &api,
        "POST",
        &format!("/s/{link}"),
        None,
        &[
            ("cookie", &cookie),
            ("content-type", "application/x-www-form-urlencoded"),
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
        Body::from(format!("csrf={token}")),
    )
    .await;
    assert_eq!(
        cross.status,
        StatusCode::FORBIDDEN,
        "fetch metadata says cross-site"
    );
    let views = api.vault.shares_blocking(rid.parse().unwrap()).unwrap()[0].views;
    assert_eq!(views, 0, "a refused POST opens nothing");
}

#[tokio::test]
async fn a_patient_signs_in_with_a_token_sees_studies_shares_and_signs_out() {
    let api = api();
    let (rid, owner) = record(&api, "Jane").await;
    let study = upload(&api, &rid, &owner, CT).await;
    let mut browser = Browser::default();
    let signin = browser.get(&api, "/").await;
    assert_eq!(signin.status, StatusCode::OK);
    assert_page_headers(&signin);
    let token = csrf(&signin);
    let wrong = browser
        .post(
            &api,
            "/signin/token",
            &[("csrf", &token), ("token", "not-a-token")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let signed = browser
        .post(
            &api,
            "/signin/token",
            &[("csrf", &token), ("token", &owner)],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let session_cookie = signed
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("__Host-sv-session="))
        .expect("a session cookie");
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Strict"));
    let list = browser.get(&api, "/studies").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_page_headers(&list);
    let page_token = csrf(&list);
    let study_page = browser.get(&api, &format!("/studies/{study}")).await;
    assert_eq!(study_page.status, StatusCode::OK);
    let form = browser.get(&api, &format!("/studies/{study}/share")).await;
    assert_eq!(form.status, StatusCode::OK);
    let made = browser
        .post(
            &api,
            &format!("/studies/{study}/share"),
            &[
                ("csrf", &page_token),
                ("expires_days", "7"),
                ("note", "hi"),
                ("allow_download", "yes"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text());
    assert!(made.text().contains("/s/"), "the link, shown once");
    assert!(made.text().contains("<svg"), "with its QR code");
    let shares = browser.get(&api, "/shares").await;
    assert!(shares.text().contains("Active"));
    let id = api.vault.shares_blocking(rid.parse().unwrap()).unwrap()[0].id;
    let no_token = browser
        .post(&api, &format!("/shares/{id}/revoke"), &[("csrf", "x")])
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let revoked = browser
        .post(
            &api,
            &format!("/shares/{id}/revoke"),
            &[("csrf", &page_token)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let shares = browser.get(&api, "/shares").await;
    assert!(shares.text().contains("Revoked"));

    let out = browser
        .post(&api, "/signout", &[("csrf", &page_token)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = browser.get(&api, "/studies").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "signed out");
}

/// A GET of a share's DICOMweb path with no cookie, as a viewer on another origin sends it.
async fn viewer_get(api: &Api, path: &str, accept: &str) -> Reply {
    let headers = [("accept", accept), ("origin", "https://viewer.example")];
    send(api, "GET", path, None, &headers, Body::empty()).await
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_deidentifying_share_answers_dicomweb_in_the_uids_it_shows_and_nothing_more() {
    let api = api();
    let (rid, owner) = record(&api, "Jane").await;
    let study = upload(&api, &rid, &owner, CT).await;
    let stored = get(
        &api,
        &format!("/v1/records/{rid}/dicomweb/studies/{study}/instances"),
        &owner,
    )
    .await
    .json();
    let (series, sop) = (
        stored[0]["0020000E"]["Value"][0]
            .as_str()
            .unwrap()
            .to_owned(),
        stored[0]["00080018"]["Value"][0]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let owners_view = get(
        &api,
        &format!("/v1/records/{rid}/dicomweb/studies/{study}/metadata"),
        &owner,
    )
    .await
    .json();
    let name = owners_view[0]["00100010"]["Value"][0]["Alphabetic"]
        .as_str()
        .expect("the fixture names its patient")
        .to_owned();
    let patient_id = owners_view[0]["00100020"]["Value"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let created = share(
        &api,
        &rid,
        &owner,
        json!({"study_instance_uid": study, "deidentify": true}),
    )
    .await;
    let link = link_of(&created);
    let base = format!("/s/{link}/dicomweb");
    let json = "application/dicom+json";

    // QIDO: the study, in the UIDs the share shows, without the patient.
    let found = viewer_get(&api, &format!("{base}/studies"), json).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    assert_eq!(found.header("access-control-allow-origin"), "*");
    let shown_study = found.json()[0]["0020000D"]["Value"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(shown_study.starts_with("2.25.") && shown_study != study);
    assert_eq!(
        found.json()[0]["00100010"]["Value"][0]["Alphabetic"],
        "Anonymous"
    );
    let instances = viewer_get(
        &api,
        &format!("{base}/studies/{shown_study}/instances"),
        json,
    )
    .await
    .json();
    let shown_series = instances[0]["0020000E"]["Value"][0].as_str().unwrap();
    let shown_sop = instances[0]["00080018"]["Value"][0].as_str().unwrap();
    assert!(shown_series.starts_with("2.25.") && shown_sop.starts_with("2.25."));
    for answer in [
        &found,
        &viewer_get(&api, &format!("{base}/studies/{shown_study}/series"), json).await,
    ] {
        for secret in [&name, &patient_id, &study, &series, &sop] {
            assert!(
                !contains(&answer.bytes, secret),
                "{secret} in {}",
                answer.text()
            );
        }
    }
    // The stored UIDs name nothing here.
    for path in [
        format!("{base}/studies/{study}"),
        format!("{base}/studies/{study}/metadata"),
        format!("{base}/studies/{study}/series"),
        format!("{base}/studies/{shown_study}/series/{series}/instances/{sop}"),
    ] {
        let r = viewer_get(&api, &path, "*/*").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    let by_stored_uid = viewer_get(
        &api,
        &format!("{base}/studies?StudyInstanceUID={study}"),
        json,
    )
    .await;
    assert_eq!(by_stored_uid.status, StatusCode::NO_CONTENT);

    // Metadata and files: de-identified, consistent with the search, bulk data reachable.
    let instance =
        format!("{base}/studies/{shown_study}/series/{shown_series}/instances/{shown_sop}");
    let metadata = viewer_get(&api, &format!("{instance}/metadata"), json).await;
    assert_eq!(metadata.status, StatusCode::OK, "{}", metadata.text());
    for secret in [&name, &patient_id, &study, &series, &sop] {
        assert!(
            !contains(&metadata.bytes, secret),
            "{secret} in the metadata"
        );
    }
    let m = &metadata.json()[0];
    assert_eq!(m["00080018"]["Value"][0], shown_sop);
    assert_eq!(m["00120062"]["Value"][0], "YES", "Patient Identity Removed");
    let file = viewer_get(
        &api,
        &instance,
        "multipart/related; type=\"application/dicom\"",
    )
    .await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(contains(&file.bytes, shown_sop) && contains(&file.bytes, "DICM"));
    for secret in [&name, &patient_id, &sop] {
        assert!(!contains(&file.bytes, secret), "{secret} in the file");
    }
    // Frames are the stored pixels: de-identifying leaves them as they are.
    let octets = "multipart/related; type=\"application/octet-stream\"";
    let frame = viewer_get(&api, &format!("{instance}/frames/1"), octets).await;
    assert_eq!(frame.status, StatusCode::OK, "{}", frame.text());
    let owners_frame = send(
        &api,
        "GET",
        &format!(
            "/v1/records/{rid}/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/1"
        ),
        Some(&owner),
        &[("accept", octets)],
        Body::empty(),
    )
    .await;
    assert_eq!(frame.bytes, owners_frame.bytes);
    let thumbnail = viewer_get(&api, &format!("{instance}/thumbnail"), "image/jpeg").await;
    assert_eq!(thumbnail.status, StatusCode::OK);
    assert_eq!(thumbnail.header("content-type"), "image/jpeg");
}

#[tokio::test]
async fn a_passcode_share_opens_to_a_viewer_only_with_the_key_its_recipient_was_given() {
    let api = api();
    let (rid, owner) = record(&api, "Jane").await;
    let study = upload(&api, &rid, &owner, CT).await;
    let created = share(
        &api,
        &rid,
        &owner,
        json!({"study_instance_uid": study, "passcode": "4242-cedar"}),
    )
    .await;
    let link = link_of(&created);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let json = "application/dicom+json";
    let studies = format!("/s/{link}/dicomweb/studies");
    assert_eq!(
        viewer_get(&api, &studies, json).await.status,
        StatusCode::NOT_FOUND
    );

    let mut browser = Browser::default();
    let landing = browser.get(&api, &format!("/s/{link}")).await;
    assert!(
        !landing.text().contains("/viewer/"),
        "no key before the passcode"
    );
    let token = csrf(&landing);
    let opened = browser
        .post(
            &api,
            &format!("/s/{link}"),
            &[("csrf", &token), ("passcode", "4242-cedar")],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    let page = browser.get(&api, &format!("/s/{link}/study")).await.text();
    let at = page
        .find(&format!("/s/{link}/viewer/"))
        .expect("a viewer address");
    let address = page[at..].split('"').next().unwrap().to_owned();
    assert!(address.ends_with("/dicomweb"), "{address}");
    assert!(page.contains("without the passcode"));
    let key = address.split('/').nth(4).unwrap().to_owned();

    // The key opens the study's DICOMweb to a client with no cookie, from any origin.
    let found = viewer_get(&api, &format!("{address}/studies"), json).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    assert_eq!(found.header("access-control-allow-origin"), "*");
    assert!(
        found
            .headers
            .get("access-control-allow-credentials")
            .is_none()
    );
    let retrieve = found.json()[0]["00081190"]["Value"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(retrieve.contains(&address), "results stay under the key");
    // A changed key, a key of another share, a key moved past its expiry: 404.
    let (expiry, mac) = key.split_once('.').unwrap();
    let flipped = format!(
        "{expiry}.{}{}",
        if mac.starts_with('0') { "1" } else { "0" },
        &mac[1..]
    );
    let later: i64 = expiry.parse::<i64>().unwrap() + 3600;
    for bad in [flipped, format!("{later}.{mac}"), "0.00".into(), "x".into()] {
        let r = viewer_get(
            &api,
            &format!("/s/{link}/viewer/{bad}/dicomweb/studies"),
            json,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}");
    }
    let other = link_of(
        &share(
            &api,
            &rid,
            &owner,
            json!({"study_instance_uid": study, "passcode": "other-one"}),
        )
        .await,
    );
    let r = viewer_get(
        &api,
        &format!("/s/{other}/viewer/{key}/dicomweb/studies"),
        json,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a key belongs to its share"
    );

    // Revoked: the key stops at the next request.
    let revoked = send(
        &api,
        "DELETE",
        &format!("/v1/records/{rid}/shares/{id}"),
        Some(&owner),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let after = viewer_get(&api, &format!("{address}/studies"), json).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn attempts_at_secrets_are_limited_per_network_and_pages_are_not() {
    let api = api();
    let (rid, owner) = record(&api, "Jane").await;
    let study = upload(&api, &rid, &owner, CT).await;
    let link = link_of(
        &share(
            &api,
            &rid,
            &owner,
            json!({"study_instance_uid": study, "passcode": "right-one"}),
        )
        .await,
    );
    let mut browser = Browser::default();
    let home = browser.get(&api, "/").await;
    let token = csrf(&home);
    // The burst: every wrong token is answered as such.
    for n in 0..20 {
        let r = browser
            .post(
                &api,
                "/signin/token",
                &[("csrf", &token), ("token", "not-a-token")],
            )
            .await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "attempt {n}");
    }
    // Then the network is refused, on every guarded route, before anything is tried.
    let refused = browser
        .post(
            &api,
            "/signin/token",
            &[("csrf", &token), ("token", &owner)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.header("retry-after").parse().unwrap();
    assert!((1..=3).contains(&wait), "{wait}");
    assert!(refused.text().contains("Too many attempts"));
    assert_page_headers(&refused);
    let landing = browser.get(&api, &format!("/s/{link}")).await;
    let opened = browser
        .post(
            &api,
            &format!("/s/{link}"),
            &[("csrf", &csrf(&landing)), ("passcode", "right-one")],
        )
        .await;
    assert_eq!(opened.status, StatusCode::TOO_MANY_REQUESTS);
    let log = get(&api, &format!("/v1/records/{rid}/shares"), &owner)
        .await
        .json();
    assert_eq!(log[0]["views"], 0, "the refused attempt was not tried");
    assert_eq!(log[0]["passcode_failures"], 0);
    // Pages, images and the API are not limited.
    assert_eq!(browser.get(&api, "/").await.status, StatusCode::OK);
    assert_eq!(landing.status, StatusCode::OK);
    assert_eq!(
        get(&api, &format!("/v1/records/{rid}/shares"), &owner)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn deleting_the_study_ends_its_shares_at_the_next_request() {
    let api = api();
    let (rid, owner) = record(&api, "Jane").await;
    let bytes = sv_testkit::fixtures::read_dicom_fixture(CT);
    let ct = [("content-type", "application/dicom")];
    let uri = format!("/v1/records/{rid}/studies");
    let uploaded = send(&api, "POST", &uri, Some(&owner), &ct, Body::from(bytes)).await;
    let e = &uploaded.json()["instances"][0];
    let (study, thing) = (
        e["study_instance_uid"].as_str().unwrap().to_owned(),
        e["thing_id"].as_str().unwrap().to_owned(),
    );
    let link = link_of(&share(&api, &rid, &owner, json!({"study_instance_uid": study})).await);
    let studies = format!("/s/{link}/dicomweb/studies");
    let json = "application/dicom+json";
    // Read twice: the second answer comes from the remembered share.
    for _ in 0..2 {
        assert_eq!(
            viewer_get(&api, &studies, json).await.status,
            StatusCode::OK
        );
    }
    let deleted = send(
        &api,
        "DELETE",
        &format!("/v1/records/{rid}/things/{thing}"),
        Some(&owner),
        &[],
        Body::empty(),
    )
    .await;
    assert!(deleted.status.is_success(), "{}", deleted.text());
    assert_eq!(
        viewer_get(&api, &studies, json).await.status,
        StatusCode::NOT_FOUND
    );
    let landing = send(&api, "GET", &format!("/s/{link}"), None, &[], Body::empty()).await;
    assert_eq!(landing.status, StatusCode::NOT_FOUND);
}

/// A `multipart/form-data` body as the upload page's script sends it.
fn form_data(boundary: &str, csrf: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .into_bytes();
    for (name, bytes) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; \
                 filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    body
}

#[tokio::test]
async fn a_browser_upload_spools_big_files_and_zips_instead_of_holding_them() {
    let api = harness::api_with_config(
        sv_api::ApiLimits::default(),
        sv_vault::VaultConfig {
            spool_above_bytes: 64 << 10,
            ..sv_vault::VaultConfig::default()
        },
    );
    let (rid, owner) = record(&api, "Jane").await;
    let study = "1.2.826.0.1.3680043.10.9.7";
    let slice = |i| sv_dicom::synthetic::ct_series_slice(study, &format!("{study}.1"), i);
    let (single, zipped) = (slice(0), slice(1));
    assert!(single.len() > 64 << 10);
    let mut zip = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut zip);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("DICOM/IM1", stored).unwrap();
        std::io::Write::write_all(&mut w, &zipped).unwrap();
        w.finish().unwrap();
    }
    let zip = zip.into_inner();

    let mut browser = Browser::default();
    let signin = browser.get(&api, "/").await;
    let signed = browser
        .post(
            &api,
            "/signin/token",
            &[("csrf", &csrf(&signin)), ("token", &owner)],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let page = browser.get(&api, "/upload").await;
    let boundary = "sv-test-boundary-7";
    let body = form_data(
        boundary,
        &csrf(&page),
        &[("IM0.dcm", &single), ("export.zip", &zip)],
    );
    let cookie = browser.cookie_header();
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let headers = [
        ("cookie", cookie.as_str()),
        ("content-type", content_type.as_str()),
        ("accept", "application/json"),
        ("sec-fetch-site", "same-origin"),
        ("origin", "http://127.0.0.1:8080"),
    ];
    let reply = send(&api, "POST", "/upload", None, &headers, Body::from(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let report = reply.json();
    let statuses: Vec<&str> = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["stored", "stored"], "{report}");
    // The file and the zip's entry, each above the bound, went through spool files (the
    // page's old path held the file in memory: 1).
    assert_eq!(api.vault.spooled_ingests(), 2);
    let found = get(
        &api,
        &format!("/v1/records/{rid}/dicomweb/studies/{study}/instances"),
        &owner,
    )
    .await;
    assert_eq!(found.json().as_array().unwrap().len(), 2);
}

#[test]
fn the_request_timeout_covers_pages_and_shared_dicomweb_but_not_the_upload_page() {
    // One blocking thread, which the test holds: every answer that needs the store waits
    // for it, so the timeout decides, whatever the machine's speed.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    runtime.block_on(request_timeout_covers_pages_not_the_upload());
}

/// `reply`, which the timeout must give while the test holds the blocking thread (a route
/// without the timeout would wait for ever).
async fn answered(reply: impl std::future::Future<Output = Reply>) -> Reply {
    tokio::time::timeout(std::time::Duration::from_secs(10), reply)
        .await
        .expect("no answer within 10 s: the request timeout did not apply")
}

async fn request_timeout_covers_pages_not_the_upload() {
    let api = api();
    let (rid, owner) = record(&api, "Jane").await;
    let study = upload(&api, &rid, &owner, "CT_small.dcm").await;
    let link = link_of(&share(&api, &rid, &owner, json!({"study_instance_uid": study})).await);
    let mut browser = Browser::default();
    let signin = browser.get(&api, "/").await;
    let signed = browser
        .post(
            &api,
            "/signin/token",
            &[("csrf", &csrf(&signin)), ("token", &owner)],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let upload_page = browser.get(&api, "/upload").await;
    // A second router over the same vault, answering within 50 ms; the browser's session
    // lives in the vault, so both routers know it.
    let hurried = Api {
        app: sv_api::router(sv_api::AppState::new(
            api.vault.clone(),
            sv_api::ApiConfig {
                admin_token_hash: sv_model::SecretHash::of(harness::ADMIN.as_bytes()),
                public_url: harness::PUBLIC_URL.into(),
                limits: sv_api::ApiLimits {
                    request_timeout: std::time::Duration::from_millis(50),
                    ..sv_api::ApiLimits::default()
                },
                cors_allowed_origins: Vec::new(),
            },
        )),
        vault: api.vault.clone(),
        dir: tempfile::tempdir().unwrap(),
    };
    let (held_tx, held) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = tokio::task::spawn_blocking(move || {
        held_tx.send(()).unwrap();
        released.recv().unwrap();
    });
    held.await.unwrap();

    let page = answered(browser.get(&hurried, "/studies")).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page.text().contains("try again"), "{}", page.text());
    assert_page_headers(&page);
    let api_answer = get(
        &hurried,
        &format!("/v1/records/{rid}/dicomweb/studies"),
        &owner,
    )
    .await;
    assert_eq!(api_answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api_answer.code(), "request-timeout");
    let shared = answered(send(
        &hurried,
        "GET",
        &format!("/s/{link}/dicomweb/studies"),
        None,
        &[("accept", "application/dicom+json")],
        Body::empty(),
    ))
    .await;
    assert_eq!(shared.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shared.code(), "request-timeout");

    // The upload waits for the thread far past the timeout, and is answered all the same.
    let boundary = "sv-test-boundary-9";
    let uid = "1.2.826.0.1.3680043.10.9.8";
    let slice = sv_dicom::synthetic::ct_series_slice(uid, &format!("{uid}.1"), 0);
    let body = form_data(boundary, &csrf(&upload_page), &[("IM0.dcm", &slice)]);
    let cookie = browser.cookie_header();
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let uploading = tokio::spawn(async move {
        let headers = [
            ("cookie", cookie.as_str()),
            ("content-type", content_type.as_str()),
            ("accept", "application/json"),
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://127.0.0.1:8080"),
        ];
        send(
            &hurried,
            "POST",
            "/upload",
            None,
            &headers,
            Body::from(body),
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !uploading.is_finished(),
        "the upload waits for the held thread"
    );
    release.send(()).unwrap();
    holder.await.unwrap();
    let reply = uploading.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["instances"][0]["status"], "stored");
}
