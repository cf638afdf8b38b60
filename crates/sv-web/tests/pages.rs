//! Every page rendered from sample data (with hostile user text), and checked for escaping, the CSP
//! rules (no inline script, style or handlers), labels, alt text, CSRF fields, one `<h1>` and a
//! `<title>`. Set `SVWEB_PREVIEW_DIR` to also write the pages there for a browser.

#[path = "pages/html.rs"]
mod html;
#[path = "pages/samples.rs"]
mod samples;

use html::{Tag, decode, tags};
use sv_web::errors::{ErrorPage, LinkNotValidPage, TooManyRequestsPage, link_not_valid_html};
use sv_web::shares::{MailState, ShareFormValues};
use sv_web::{Layout, SCRIPT, STYLESHEET, Section, render};

use samples::EVIL;

/// The escaped form of [`EVIL`]'s script tag, as askama writes it.
const EVIL_ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

#[test]
fn every_page_passes_the_page_rules() {
    let pages = samples::all_pages();
    assert!(pages.len() >= 22, "{} pages", pages.len());
    for (name, page) in &pages {
        check_page(name, page);
    }
}

#[test]
fn the_page_rules_catch_what_they_are_for() {
    let pages = samples::all_pages();
    let get = |name: &str| pages.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    let signin = get("signin");
    let studies = get("studies");
    let csrf_field = r#"<input type="hidden" name="csrf" value="csrf-token-123">"#;
    let broken: Vec<(&str, String)> = vec![
        (
            "inline script",
            signin.replace("</body>", "<script>alert(1)</script></body>"),
        ),
        (
            "second h1",
            signin.replace("</main>", "<h1>again</h1></main>"),
        ),
        (
            "style attribute",
            signin.replace("<main id", r#"<main style="color:red" id"#),
        ),
        (
            "style element",
            signin.replace("</head>", "<style>p{}</style></head>"),
        ),
        (
            "handler",
            signin.replace("<button type", r#"<button onclick="go()" type"#),
        ),
        (
            "img without alt",
            studies.replacen(" alt=\"", " data-alt=\"", 1),
        ),
        (
            "field without label",
            signin.replace(r#"<label for="token">"#, "<label>"),
        ),
        ("form without csrf", signin.replacen(csrf_field, "", 2)),
        ("empty csrf", signin.replace("csrf-token-123", "")),
        (
            "no title",
            signin.replace("<title>Sign in – studyvault</title>", ""),
        ),
        ("no lang", signin.replace(r#"<html lang="en">"#, "<html>")),
    ];
    for (what, page) in broken {
        assert!(
            page != signin && page != studies,
            "{what}: mutation did nothing"
        );
        let caught = std::panic::catch_unwind(|| check_page(what, &page)).is_err();
        assert!(caught, "the checks missed: {what}");
    }
}

/// The rules every page keeps, whatever its data.
fn check_page(name: &str, page: &str) {
    let tags = tags(page);
    let starts: Vec<&Tag> = tags.iter().filter(|t| !t.end).collect();
    let ctx = |what: &str| format!("{name}: {what}");

    // CSP: no inline script, no style attributes or elements, no event handler attributes.
    for t in &starts {
        if t.name == "script" {
            assert!(
                t.attr("src").is_some_and(|s| !s.is_empty()),
                "{}",
                ctx("script without src")
            );
        }
        assert_ne!(t.name, "style", "{}", ctx("<style> element"));
        for (attr, _) in &t.attrs {
            assert_ne!(attr, "style", "{}", ctx(&format!("style= on <{}>", t.name)));
            let handler = attr.len() > 2
                && attr.starts_with("on")
                && attr.bytes().all(|b| b.is_ascii_lowercase());
            assert!(
                !handler,
                "{}",
                ctx(&format!("handler {attr}= on <{}>", t.name))
            );
        }
        if let Some(href) = t.attr("href") {
            assert!(
                !href
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("javascript:"),
                "{}",
                ctx("javascript: link")
            );
        }
    }
    assert!(!page.contains(" style="), "{}", ctx("raw ' style='"));
    assert!(
        !raw_handler_attribute(page),
        "{}",
        ctx("raw ' on…=' attribute")
    );
    let scripts: Vec<_> = starts.iter().filter(|t| t.name == "script").collect();
    assert_eq!(scripts.len(), 1, "{}", ctx("one script"));
    assert_eq!(
        scripts[0].attr("src"),
        Some(SCRIPT.path),
        "{}",
        ctx("script path")
    );
    assert!(
        scripts[0].attr("defer").is_some(),
        "{}",
        ctx("script defer")
    );
    let sheets: Vec<_> = starts
        .iter()
        .filter(|t| t.name == "link" && t.attr("rel") == Some("stylesheet"))
        .collect();
    assert_eq!(sheets.len(), 1, "{}", ctx("one stylesheet"));
    assert_eq!(
        sheets[0].attr("href"),
        Some(STYLESHEET.path),
        "{}",
        ctx("stylesheet path")
    );

    // Document basics.
    assert!(page.starts_with("<!doctype html>"), "{}", ctx("doctype"));
    let html_tag = starts.iter().find(|t| t.name == "html").expect("html");
    assert_eq!(html_tag.attr("lang"), Some("en"), "{}", ctx("lang"));
    assert!(
        starts
            .iter()
            .any(|t| t.name == "meta" && t.attr("name") == Some("viewport")),
        "{}",
        ctx("viewport meta")
    );
    let title = html::text_of(page, "title").unwrap_or_default();
    assert!(
        title.ends_with("– studyvault") && title.len() > "– studyvault".len() + 1,
        "{}",
        ctx(&format!("title {title:?}"))
    );
    assert_eq!(
        starts.iter().filter(|t| t.name == "h1").count(),
        1,
        "{}",
        ctx("exactly one h1")
    );
    assert!(
        starts
            .iter()
            .any(|t| t.name == "a" && t.attr("href") == Some("#main") && t.has_class("skip-link")),
        "{}",
        ctx("skip link")
    );
    assert!(
        starts
            .iter()
            .any(|t| t.name == "main" && t.attr("id") == Some("main")),
        "{}",
        ctx("main#main")
    );

    // Ids are unique, so labels point at one field.
    let mut ids: Vec<&str> = starts.iter().filter_map(|t| t.attr("id")).collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "{}", ctx("duplicate id"));

    // Images have alt text, size and (except the viewer's main image) lazy loading.
    for t in starts.iter().filter(|t| t.name == "img") {
        assert!(
            t.attr("alt").is_some_and(|a| !a.trim().is_empty()),
            "{}",
            ctx("img without alt")
        );
        assert!(
            t.attr("width").is_some() && t.attr("height").is_some(),
            "{}",
            ctx("img without size")
        );
        if t.attr("data-viewer-image").is_none() {
            assert_eq!(t.attr("loading"), Some("lazy"), "{}", ctx("img not lazy"));
        }
    }

    // Every field has a label (or an aria-label).
    let labelled: Vec<&str> = starts
        .iter()
        .filter(|t| t.name == "label")
        .filter_map(|t| t.attr("for"))
        .collect();
    for t in starts
        .iter()
        .filter(|t| matches!(t.name.as_str(), "input" | "select" | "textarea"))
    {
        let kind = t.attr("type").unwrap_or("text");
        if t.name == "input" && matches!(kind, "hidden" | "submit" | "button" | "reset") {
            continue;
        }
        let ok = t.attr("aria-label").is_some_and(|s| !s.is_empty())
            || t.attr("aria-labelledby").is_some()
            || t.attr("id").is_some_and(|id| labelled.contains(&id));
        assert!(
            ok,
            "{}",
            ctx(&format!("unlabelled <{} type={kind}>", t.name))
        );
    }
    for label in &labelled {
        assert!(
            ids.contains(label),
            "{}",
            ctx(&format!("label for missing #{label}"))
        );
    }

    // Forms: POST ones carry the CSRF token; GET ones change nothing (only the viewer's slider).
    for (i, form) in tags
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.end && t.name == "form")
    {
        let method = form.attr("method").unwrap_or("get").to_ascii_lowercase();
        let inside: Vec<&Tag> = tags[i + 1..]
            .iter()
            .take_while(|t| !(t.end && t.name == "form"))
            .collect();
        if method == "post" {
            let csrf = inside.iter().find(|t| {
                t.name == "input"
                    && t.attr("type") == Some("hidden")
                    && t.attr("name") == Some("csrf")
            });
            let value = csrf.and_then(|t| t.attr("value")).unwrap_or("");
            assert!(!value.is_empty(), "{}", ctx("POST form without csrf"));
            if let Some(action) = form.attr("action") {
                assert!(!action.is_empty(), "{}", ctx("empty action"));
            }
        } else {
            assert_eq!(method, "get", "{}", ctx("form method"));
            assert!(
                inside.iter().any(|t| t.attr("name") == Some("i")),
                "{}",
                ctx("unexpected GET form")
            );
        }
        if form.attr("enctype").is_some() {
            assert_eq!(method, "post", "{}", ctx("upload form"));
        }
    }
    assert!(
        !page.contains("<script>alert"),
        "{}",
        ctx("unescaped user text")
    );
}

/// ` on` + lowercase letters + `=` anywhere in the raw page.
fn raw_handler_attribute(page: &str) -> bool {
    page.match_indices(" on").any(|(i, _)| {
        let rest = &page.as_bytes()[i + 3..];
        let letters = rest.iter().take_while(|b| b.is_ascii_lowercase()).count();
        letters > 0 && rest.get(letters) == Some(&b'=')
    })
}

#[test]
fn user_text_is_escaped_everywhere_it_appears() {
    for (name, page) in samples::all_pages() {
        if samples::CARRIES_EVIL.contains(&name) {
            assert!(
                page.contains(EVIL_ESCAPED),
                "{name}: escaped user text missing"
            );
        }
        assert!(!page.contains("<script>alert(1)"), "{name}");
        // Quotes in user text never end an attribute: every attribute that came from user text
        // decodes back to it.
        for t in tags(&page).iter().filter(|t| !t.end) {
            for (attr, value) in &t.attrs {
                if let Some(v) = value {
                    assert!(!v.contains('<'), "{name}: raw < in {attr}=");
                    if decode(v).contains("alert(1)") {
                        assert!(decode(v).contains(EVIL), "{name}: {attr} mangled: {v}");
                    }
                }
                assert!(
                    attr.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
                    "{name}: odd attribute name {attr:?} (broken quoting?)"
                );
            }
        }
    }
}

#[test]
fn the_invalid_link_page_is_one_fixed_answer() {
    let a = render(&LinkNotValidPage::default()).unwrap();
    let b = render(&LinkNotValidPage::default()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, link_not_valid_html());
    assert_eq!(
        link_not_valid_html().as_ptr(),
        link_not_valid_html().as_ptr()
    );
    assert!(a.contains("<h1>This link is not valid</h1>"));
    assert!(a.contains("Ask the sender for a new one."));
    assert!(!a.contains("csrf"));
    assert!(!a.contains("Sign out"));
}

#[test]
fn error_pages_say_little() {
    let page = render(&ErrorPage::new(500)).unwrap();
    assert!(page.contains("Something went wrong on our side"));
    assert!(page.contains("Error 500"));
    let page = render(&TooManyRequestsPage::new(30)).unwrap();
    assert!(page.contains("Try again in 30 seconds."));
    assert!(
        render(&TooManyRequestsPage::new(61))
            .unwrap()
            .contains("2 minutes")
    );
    assert!(
        render(&TooManyRequestsPage::new(3600))
            .unwrap()
            .contains("1 hour.")
    );
}

#[test]
fn signed_in_pages_have_the_nav_and_the_csrf_meta() {
    let page = render(&samples::study_list(true)).unwrap();
    assert!(page.contains(r#"<meta name="csrf-token" content="csrf-token-123">"#));
    assert!(page.contains(r#"href="/studies" aria-current="page">Studies</a>"#));
    assert!(page.contains(r#"<form class="signout" method="post" action="/signout">"#));
    let public = render(&samples::signin(true)).unwrap();
    assert!(!public.contains("Sign out"));
    assert!(!public.contains(r#"href="/upload""#));
}

#[test]
fn study_list_has_an_empty_state() {
    let page = render(&samples::study_list(false)).unwrap();
    assert!(page.contains("No studies yet."));
    assert!(page.contains(r#"<a class="button primary" href="/upload">Upload a study</a>"#));
}

#[test]
fn signin_hides_the_mail_form_without_mail() {
    let with = render(&samples::signin(true)).unwrap();
    let without = render(&samples::signin(false)).unwrap();
    assert!(with.contains(r#"action="/signin/mail""#));
    assert!(!without.contains(r#"action="/signin/mail""#));
    assert!(without.contains(r#"action="/signin/token""#));
    assert!(without.contains(r#"type="password" id="token" name="token""#));
}

#[test]
fn viewer_pages_without_script_and_frames_for_it() {
    let viewer = samples::viewer_view(12, true);
    assert_eq!(viewer.position(), 12);
    assert_eq!(viewer.previous().unwrap().viewer_url, "/v/s3?i=11");
    assert_eq!(viewer.next().unwrap().viewer_url, "/v/s3?i=13");
    let page = render(&sv_web::viewer::ViewerPage {
        layout: Layout::patient("Viewer", "csrf-token-123", Section::Studies),
        viewer,
    })
    .unwrap();
    assert!(page.contains(r#"href="/v/s3?i=11" rel="prev""#));
    assert!(page.contains(r#"href="/v/s3?i=13" rel="next""#));
    assert!(page.contains("Image <span data-viewer-n>12</span> of 20"));
    assert!(page.contains(
        r#"<input type="range" id="viewer-slider" name="i" min="1" max="20" value="12""#
    ));
    assert!(page.contains("Download this image"));
    // The cine button is there for the script only, and never starts by itself.
    assert!(page.contains(r#"<div class="cine" data-js-show hidden>"#));
    assert!(page.contains(r#"aria-pressed="false" data-viewer-play>Play</button>"#));

    // Clamped at both ends, with the missing neighbour disabled.
    let first = samples::viewer_view(0, false);
    assert_eq!(first.position(), 1);
    assert!(first.previous().is_none());
    let last = samples::viewer_view(99, false);
    assert_eq!(last.position(), 20);
    assert!(last.next().is_none());
    let page = render(&sv_web::viewer::ViewerPage {
        layout: Layout::patient("Viewer", "t", Section::Studies),
        viewer: last,
    })
    .unwrap();
    assert!(page.contains(r#"<a class="button" aria-disabled="true" data-viewer-next>Next</a>"#));
    assert!(!page.contains("Download this image"));
}

#[test]
fn viewer_frames_attribute_is_json_after_decoding() {
    let viewer = samples::viewer_view(1, true);
    let page = render(&sv_web::viewer::ViewerPage {
        layout: Layout::patient("Viewer", "t", Section::Studies),
        viewer: viewer.clone(),
    })
    .unwrap();
    let tags = tags(&page);
    let root = tags
        .iter()
        .find(|t| t.attr("data-viewer").is_some())
        .unwrap();
    let frames = decode(root.attr("data-frames").unwrap());
    assert_eq!(frames, viewer.frames_json());
    assert!(
        frames.starts_with(r#"[{"src":"/p/ct-01.svg","alt":"CT, series 3 'Axial \"1.25\""#),
        "{frames}"
    );
    if let Some(node) = node() {
        let out = std::process::Command::new(node)
            .args(["-e", r#"const f = JSON.parse(process.argv[1]); if (f.length !== 20 || !f[0].alt.includes('"1.25"')) process.exit(1);"#])
            .arg(&frames)
            .status()
            .unwrap();
        assert!(out.success(), "node could not parse the frames");
    }
}

#[test]
fn share_form_offers_presets_up_to_the_maximum() {
    let days = |max: u32, wanted: u32| -> Vec<(u32, bool)> {
        let mut page = samples::share_form();
        page.max_days = max;
        page.values = ShareFormValues {
            expires_days: wanted,
            ..ShareFormValues::default()
        };
        page.expiry_choices()
            .into_iter()
            .map(|c| (c.days, c.checked))
            .collect()
    };
    assert_eq!(days(365, 30), [(7, false), (30, true), (90, false)]);
    assert_eq!(days(90, 90), [(7, false), (30, false), (90, true)]);
    assert_eq!(days(30, 90), [(7, false), (30, true)]);
    assert_eq!(days(60, 45), [(7, false), (30, true), (60, false)]);
    assert_eq!(days(3, 7), [(3, true)]);
    assert_eq!(days(90, 1), [(7, true), (30, false), (90, false)]);

    let html = render(&samples::share_form()).unwrap();
    assert!(html.contains(r#"name="expires_days" value="30" checked>"#));
    assert!(!html.contains(r#"value="90""#), "max_days 30 hides 90");
    assert!(html.contains(r#"name="allow_download" value="yes" checked>"#));
    assert!(html.contains(r#"name="passcode" minlength="6" maxlength="64""#));
    assert!(
        !html.contains("value=\"hunter"),
        "the passcode is never sent back"
    );
}

#[test]
fn share_result_shows_the_link_once_and_inlines_only_the_qr() {
    let page = samples::share_created(Some(samples::QR_SVG.to_owned()), MailState::NotConfigured);
    let html = render(&page).unwrap();
    assert!(html.contains(r#"value="https://vault.example/s/AbC_123-xyz""#));
    assert!(
        html.contains(r#"<div class="qr-code" role="img" aria-label="QR code of the link"><svg "#)
    );
    assert!(!html.contains("<?xml"));
    assert!(html.contains("Not mailed: the server has no mail configured"));
    assert!(html.contains("Give it to the recipient another way"));
    // Debug never shows the link.
    let debug = format!("{page:?}");
    assert!(!debug.contains("AbC_123"), "{debug}");
    assert!(
        !format!(
            "{:?}",
            Layout::patient("x", "secret-csrf", Section::Studies)
        )
        .contains("secret-csrf")
    );

    let html = render(&samples::share_created(
        None,
        MailState::Sent {
            to: "dr@example.org".into(),
        },
    ))
    .unwrap();
    assert!(!html.contains("<svg"));
    assert!(html.contains("Mailed to dr@example.org."));
    // Something that is not an SVG is not inlined.
    let html = render(&samples::share_created(
        Some("<b>x</b>".into()),
        MailState::NotRequested,
    ))
    .unwrap();
    assert!(!html.contains("<b>x</b>"));
}

#[test]
fn share_list_revokes_only_active_and_locked_shares_and_says_the_state_in_words() {
    let html = render(&samples::share_list()).unwrap();
    assert_eq!(html.matches(r#"action="/shares/"#).count(), 2);
    assert!(html.contains(r#"action="/shares/a1/revoke""#));
    assert!(html.contains(r#"action="/shares/d4/revoke""#));
    for state in ["Active", "Expired", "Revoked", "Locked (wrong passcodes)"] {
        assert!(html.contains(&format!(">{state}</span>")), "{state}");
    }
}

#[test]
fn recipient_landing_asks_for_the_passcode_and_posts_to_itself() {
    let html = render(&samples::landing(true, Some(2))).unwrap();
    assert!(html.contains(r#"<form class="panel open-form" method="post">"#));
    assert!(html.contains(r#"type="password" id="passcode" name="passcode""#));
    assert!(html.contains("That passcode is not right. 2 attempts left."));
    let html = render(&samples::landing(false, None)).unwrap();
    assert!(!html.contains("passcode\""));
    assert!(html.contains("Open the study"));
}

#[test]
fn recipient_pages_offer_download_and_own_viewer_only_when_given() {
    let html = render(&samples::recipient_study(true)).unwrap();
    assert!(html.contains("Download the study (zip)"));
    assert!(html.contains("Open in your own viewer"));
    assert!(html.contains(r#"href="weasis://?%24dicom%3Ars+--url"#));
    assert!(!html.contains(r#"href="/studies""#), "no patient links");
    let html = render(&samples::recipient_study(false)).unwrap();
    assert!(!html.contains("Download the study"));
    assert!(!html.contains("Open in your own viewer"));
}

#[test]
fn upload_result_counts_and_lists_refusals() {
    let html = render(&samples::upload_result()).unwrap();
    assert!(html.contains("<li><strong>2</strong> stored</li>"));
    assert!(html.contains("<li><strong>1</strong> already stored</li>"));
    assert!(html.contains("<li><strong>1</strong> refused</li>"));
    assert!(html.contains("(not a DICOM instance)"));
    assert!(html.contains("<summary>All 4 instances</summary>"));
}

#[test]
fn upload_form_works_without_script() {
    let html = render(&samples::upload()).unwrap();
    assert!(html.contains(r#"method="post" action="/upload" enctype="multipart/form-data""#));
    assert!(html.contains(r#"<input type="file" id="upload-files" name="files" multiple>"#));
    assert!(html.contains("webkitdirectory"));
    assert!(html.contains(r#"<progress id="upload-bar""#));
}

fn node() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("node"))
            .find(|p| p.is_file())
    })
}

#[test]
fn the_script_parses() {
    let Some(node) = node() else {
        eprintln!("node not installed: skipping the syntax check");
        return;
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/static/app.js");
    let out = std::process::Command::new(node)
        .arg("--check")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn assets_are_served_by_their_hashed_paths() {
    assert_eq!(
        sv_web::asset(STYLESHEET.path).unwrap().bytes,
        STYLESHEET.bytes
    );
    assert!(STYLESHEET.content_type.starts_with("text/css"));
    assert!(SCRIPT.content_type.starts_with("text/javascript"));
    let css = std::str::from_utf8(STYLESHEET.bytes).unwrap();
    assert!(css.contains("repeat(auto-fill, minmax("), "responsive grid");
    assert!(css.contains(":focus-visible"), "visible focus");
}

/// Writes every sample page, the assets and sample images to `$SVWEB_PREVIEW_DIR` for screenshots.
#[test]
fn write_previews_when_asked() {
    let Some(dir) = std::env::var_os("SVWEB_PREVIEW_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(dir.join("p")).unwrap();
    std::fs::write(dir.join("app.css"), STYLESHEET.bytes).unwrap();
    std::fs::write(dir.join("app.js"), SCRIPT.bytes).unwrap();
    for (name, svg) in samples::preview_images() {
        std::fs::write(dir.join("p").join(name), svg).unwrap();
    }
    for (name, page) in samples::all_pages() {
        let page = page
            .replace(STYLESHEET.path, "app.css")
            .replace(SCRIPT.path, "app.js")
            .replace("\"/p/", "\"p/")
            .replace("&#34;/p/", "&#34;p/");
        std::fs::write(dir.join(format!("{name}.html")), page).unwrap();
    }
}
