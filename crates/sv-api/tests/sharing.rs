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
