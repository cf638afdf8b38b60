//! Sharing use cases over real stores: the link works until it expires, is revoked or locks;
//! passcode attempts hold their limit under concurrency; reading a landing page changes
//! nothing; a share's mail is queued with it and dropped when it is revoked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sv_meta::{MetaStore, SledMetaStore};
use sv_model::{
    MailState, PASSCODE_ATTEMPTS, Record, RecordId, Secret, ShareEventKind, ShareState, Timestamp,
};
use sv_testkit::fixtures::read_dicom_fixture;
use sv_vault::{IngestOptions, NewShare, OpenOutcome, ShareRefusal, Transport, Vault, VaultConfig};

struct Fixture {
    vault: Vault,
    meta: Arc<dyn MetaStore>,
    record: RecordId,
    study: String,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let meta: Arc<dyn MetaStore> = Arc::new(SledMetaStore::open(dir.path().join("meta")).unwrap());
    let blobs = Arc::new(sv_blob::LocalBlobStore::open(dir.path().join("blobs")).unwrap());
    let vault = Vault::with_stores(meta.clone(), blobs, VaultConfig::default());
    let record = RecordId::new_random();
    meta.create_record(&Record {
        id: record,
        name: "Jane".into(),
        created: Timestamp::now(),
        owner_email: Some("jane@example.org".into()),
    })
    .unwrap();
    let report = vault
        .ingest_blocking(
            record,
            &read_dicom_fixture("CT_small.dcm"),
            &IngestOptions::default(),
        )
        .unwrap();
    Fixture {
        vault,
        meta,
        record,
        study: report.study_instance_uid.unwrap(),
        _dir: dir,
    }
}

fn share(f: &Fixture, passcode: Option<&str>) -> sv_vault::CreatedShare {
    f.vault
        .create_share_blocking(
            f.record,
            NewShare {
                study_instance_uid: f.study.clone(),
                passcode: passcode.map(Secret::new),
                ..NewShare::default()
            },
            Timestamp::now(),
        )
        .unwrap()
        .unwrap()
}

#[test]
fn a_link_opens_until_it_is_revoked_and_reading_it_changes_nothing() {
    let f = fixture();
    let created = share(&f, None);
    let link = created.link_secret.expose().to_owned();
    assert!(created.url.ends_with(&format!("/s/{link}")));
    let now = Timestamp::now();
    // What a mail scanner does: read the landing page, many times.
    for _ in 0..3 {
        assert!(
            f.vault
                .share_landing_blocking(&link, now)
                .unwrap()
                .is_some()
        );
    }
    let before = f.meta.share(f.record, created.share.id).unwrap().unwrap();
    assert_eq!((before.views, before.last_opened), (0, None));
    assert_eq!(
        f.meta
            .share_events(f.record, created.share.id)
            .unwrap()
            .len(),
        1,
        "only the creation is logged"
    );

    let OpenOutcome::Opened {
        session,
        share: opened,
    } = f
        .vault
        .open_share_blocking(&link, None, Some("192.0.2.0/24"), now)
        .unwrap()
    else {
        panic!("a share without passcode opens");
    };
    assert_eq!(opened.views, 1);
    assert!(
        f.vault
            .image_share_blocking(None, &link, now)
            .unwrap()
            .is_some(),
        "without a passcode the link alone reaches the images, as it reaches DICOMweb"
    );
    assert!(
        f.vault
            .share_session_blocking(session.expose(), &link, now)
            .unwrap()
            .is_some()
    );
    assert!(
        f.vault
            .share_session_blocking(session.expose(), "another-link", now)
            .unwrap()
            .is_none(),
        "a session is bound to its share's link"
    );

    f.vault
        .revoke_share_blocking(f.record, created.share.id, now)
        .unwrap()
        .unwrap();
    assert!(
        f.vault
            .share_landing_blocking(&link, now)
            .unwrap()
            .is_none()
    );
    assert!(
        f.vault
            .share_session_blocking(session.expose(), &link, now)
            .unwrap()
            .is_none(),
        "revocation ends open sessions at once"
    );
    assert!(matches!(
        f.vault.open_share_blocking(&link, None, None, now).unwrap(),
        OpenOutcome::NotFound
    ));
    let later = now.plus_seconds(8 * 86_400);
    let fresh = share(&f, None);
    assert!(
        f.vault
            .share_landing_blocking(fresh.link_secret.expose(), later)
            .unwrap()
            .is_none(),
        "the default expiry is 7 days"
    );
}

#[test]
fn concurrent_wrong_passcodes_lock_the_share_at_the_limit() {
    let f = fixture();
    let created = share(&f, Some("right-code"));
    let link = created.link_secret.expose().to_owned();
    let now = Timestamp::now();
    assert!(matches!(
        f.vault
            .open_share_blocking(&link, Some("right-code"), None, now)
            .unwrap(),
        OpenOutcome::Opened { .. }
    ));
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..12 {
            scope.spawn(|| {
                let o = f
                    .vault
                    .open_share_blocking(&link, Some("wrong-code"), None, now)
                    .unwrap();
                outcomes.lock().unwrap().push(o);
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    let wrong = outcomes
        .iter()
        .filter(|o| matches!(o, OpenOutcome::WrongPasscode { .. }))
        .count();
    assert_eq!(
        wrong,
        PASSCODE_ATTEMPTS as usize - 1,
        "exactly the limit is checked; the last failure locks"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| !matches!(o, OpenOutcome::Opened { .. }))
    );
    let locked = f.meta.share(f.record, created.share.id).unwrap().unwrap();
    assert_eq!(locked.state(now), ShareState::Locked);
    assert_eq!(locked.failures, PASSCODE_ATTEMPTS);
    // Locked means the right passcode no longer opens it either.
    assert!(matches!(
        f.vault
            .open_share_blocking(&link, Some("right-code"), None, now)
            .unwrap(),
        OpenOutcome::NotFound
    ));
    let kinds: Vec<ShareEventKind> = f
        .meta
        .share_events(f.record, created.share.id)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ShareEventKind::PasscodeFailed)
            .count(),
        PASSCODE_ATTEMPTS as usize
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ShareEventKind::Locked)
            .count(),
        1
    );
    assert!(
        !locked.passcode.as_deref().unwrap().contains("right-code"),
        "only the hash is stored"
    );
}

#[test]
fn bad_share_requests_are_refused_and_store_nothing() {
    let f = fixture();
    let refuse = |new: NewShare| {
        f.vault
            .create_share_blocking(f.record, new, Timestamp::now())
            .unwrap()
            .unwrap_err()
    };
    let base = NewShare {
        study_instance_uid: f.study.clone(),
        ..NewShare::default()
    };
    assert_eq!(
        refuse(NewShare {
            study_instance_uid: "1.2.3.4".into(),
            ..base.clone()
        }),
        ShareRefusal::NoSuchStudy
    );
    assert!(matches!(
        refuse(NewShare {
            expires_in: Some(Duration::from_secs(91 * 86_400)),
            ..base.clone()
        }),
        ShareRefusal::Expiry { .. }
    ));
    assert_eq!(
        refuse(NewShare {
            email: Some("not an address".into()),
            ..base.clone()
        }),
        ShareRefusal::Email
    );
    assert_eq!(
        refuse(NewShare {
            passcode: Some(Secret::new("123")),
            ..base.clone()
        }),
        ShareRefusal::Passcode
    );
    assert!(f.meta.shares(f.record).unwrap().is_empty());
}

/// A transport that records what it was asked to send.
#[derive(Default)]
struct Recorder(Mutex<Vec<sv_mail::Mail>>);

impl Transport for Recorder {
    fn send<'a>(&'a self, mail: &'a sv_mail::Mail) -> sv_mail::SendFuture<'a> {
        self.0.lock().unwrap().push(mail.clone());
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailed_share_is_queued_with_it_sent_once_and_never_after_revoke() {
    let f = fixture();
    let without = f
        .vault
        .create_share_blocking(
            f.record,
            NewShare {
                study_instance_uid: f.study.clone(),
                email: Some("doctor@example.org".into()),
                ..NewShare::default()
            },
            Timestamp::now(),
        )
        .unwrap()
        .unwrap();
    assert_eq!(without.share.mail, MailState::NotConfigured);
    assert!(f.meta.outbox().unwrap().is_empty());

    let recorder = Arc::new(Recorder::default());
    assert!(f.vault.enable_mail(recorder.clone()));
    let mailed = |note: &str| {
        f.vault
            .create_share_blocking(
                f.record,
                NewShare {
                    study_instance_uid: f.study.clone(),
                    email: Some("doctor@example.org".into()),
                    passcode: Some(Secret::new("out-of-band")),
                    note: Some(note.into()),
                    ..NewShare::default()
                },
                Timestamp::now(),
            )
            .unwrap()
            .unwrap()
    };
    let revoked = mailed("revoked before it went");
    f.vault
        .revoke_share_blocking(f.record, revoked.share.id, Timestamp::now())
        .unwrap();
    let sent = mailed("please look at the left lung");
    assert_eq!(
        f.meta.outbox().unwrap().len(),
        1,
        "the revoked one left the outbox"
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let vault = f.vault.clone();
    let worker = tokio::spawn(async move {
        vault
            .run_mail(sv_vault::RetryPolicy::default(), async {
                let _ = stopped.await;
            })
            .await;
    });
    for _ in 0..200 {
        if f.meta.outbox().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    worker.await.unwrap();
    let mails = recorder.0.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.text.contains(&sent.url) && mail.html.contains(&sent.url));
    assert!(mail.text.contains("please look at the left lung"));
    assert!(!mail.text.contains("out-of-band") && !mail.html.contains("out-of-band"));
    assert!(!mail.text.contains(revoked.link_secret.expose()));
    let after = f.meta.share(f.record, sent.share.id).unwrap().unwrap();
    assert!(matches!(after.mail, MailState::Sent { .. }));
    let cancelled = f.meta.share(f.record, revoked.share.id).unwrap().unwrap();
    assert_eq!(cancelled.mail, MailState::Cancelled);
}

#[test]
fn patient_sessions_follow_their_token_and_sign_in_links_work_once() {
    let f = fixture();
    let now = Timestamp::now();
    let issued = f
        .vault
        .issue_token_blocking(f.record, "phone", Vec::new(), None)
        .unwrap();
    let session = f
        .vault
        .signin_with_token_blocking(issued.secret.expose(), now)
        .unwrap()
        .unwrap();
    assert!(
        f.vault
            .patient_session_blocking(session.expose(), now)
            .unwrap()
            .is_some()
    );
    assert!(
        f.vault
            .signin_with_token_blocking("nope", now)
            .unwrap()
            .is_none()
    );
    f.vault
        .revoke_token_blocking(f.record, issued.token.id)
        .unwrap();
    assert!(
        f.vault
            .patient_session_blocking(session.expose(), now)
            .unwrap()
            .is_none(),
        "a token session dies with its token"
    );

    let recorder = Arc::new(Recorder::default());
    f.vault.enable_mail(recorder);
    f.vault
        .request_signin_link_blocking("nobody@example.org", now)
        .unwrap();
    assert!(
        f.meta.outbox().unwrap().is_empty(),
        "no mail for an unknown address"
    );
    f.vault
        .request_signin_link_blocking("JANE@example.org", now)
        .unwrap();
    let queued = f.meta.outbox().unwrap();
    assert_eq!(queued.len(), 1);
    let code = queued[0]
        .text
        .split_whitespace()
        .find_map(|w| w.split("/signin/link/").nth(1))
        .unwrap()
        .trim_end_matches(|c: char| !c.is_ascii_hexdigit())
        .to_owned();
    let owner = f
        .vault
        .signin_with_link_blocking(&code, now)
        .unwrap()
        .expect("the mailed link signs in");
    let patient = f
        .vault
        .patient_session_blocking(owner.expose(), now)
        .unwrap()
        .unwrap();
    assert_eq!(patient.record, f.record);
    assert!(
        f.vault
            .signin_with_link_blocking(&code, now)
            .unwrap()
            .is_none(),
        "a sign-in link works once"
    );
    assert!(f.vault.end_session_blocking(owner.expose()).unwrap());
    assert!(
        f.vault
            .patient_session_blocking(owner.expose(), now)
            .unwrap()
            .is_none()
    );
    let owner_token = f
        .vault
        .issue_token_blocking(f.record, "laptop", Vec::new(), None)
        .unwrap();
    let idle = f
        .vault
        .signin_with_token_blocking(owner_token.secret.expose(), now)
        .unwrap()
        .unwrap();
    assert!(
        f.vault
            .patient_session_blocking(idle.expose(), now.plus_seconds(31 * 60))
            .unwrap()
            .is_none(),
        "half an hour idle ends a session"
    );
}
