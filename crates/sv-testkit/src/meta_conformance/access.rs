//! Tokens and shares, found by the hash of their secret; share logs, sessions, sign-in links
//! and the mail outbox.

use super::*;

pub fn tokens_are_found_by_hash(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let t = token(rid, b"secret");
    s.put_token(&t).unwrap();
    s.put_token(&token(new_record(s), b"other")).unwrap();
    assert_eq!(
        s.token_by_hash(&SecretHash::of(b"secret")).unwrap(),
        Some(t.clone())
    );
    assert_eq!(s.token_by_hash(&SecretHash::of(b"nope")).unwrap(), None);
    assert_eq!(s.tokens(rid).unwrap(), vec![t.clone()]);
    let rotated = Token {
        secret_hash: SecretHash::of(b"rotated"),
        ..t.clone()
    };
    s.put_token(&rotated).unwrap();
    assert_eq!(s.token_by_hash(&SecretHash::of(b"secret")).unwrap(), None);
    assert_eq!(s.tokens(rid).unwrap(), vec![rotated]);
    assert!(s.delete_token(rid, t.id).unwrap());
    assert!(!s.delete_token(rid, t.id).unwrap());
    assert!(s.tokens(rid).unwrap().is_empty());
    assert_eq!(s.token_by_hash(&SecretHash::of(b"rotated")).unwrap(), None);
    assert!(
        s.put_token(&token(RecordId::new_random(), b"x"))
            .unwrap_err()
            .is_not_found()
    );
}

fn share(rid: RecordId, link: &[u8]) -> Share {
    Share {
        id: TokenId::new_random(),
        record_id: rid,
        thing_id: ThingId::new_random(),
        study_instance_uid: "1.2.3".into(),
        secret_hash: SecretHash::of(link),
        email: Some("a@example.org".into()),
        passcode: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        note: Some("for Dr Who".into()),
        allow_download: true,
        deidentify: true,
        uid_key: [9; 32],
        created: Timestamp::from_unix_micros(1),
        expires: Timestamp::from_unix_micros(100),
        revoked: None,
        failures: 0,
        locked: None,
        views: 0,
        downloads: 0,
        last_opened: None,
        mail: MailState::Queued {
            attempts: 0,
            last_error: None,
        },
    }
}

fn event(at: i64, kind: ShareEventKind) -> ShareEvent {
    ShareEvent {
        at: Timestamp::from_unix_micros(at),
        kind,
        detail: None,
        client: Some("192.0.2.0/24".into()),
    }
}

fn mail_for(share: &Share) -> OutboxMail {
    OutboxMail {
        id: MailId(*share.id.as_bytes()),
        to: "a@example.org".into(),
        subject: "shared".into(),
        text: "link".into(),
        html: "<a>link</a>".into(),
        queued: Timestamp::from_unix_micros(1),
        attempts: 0,
        next_attempt: Timestamp::from_unix_micros(1),
        share: Some((share.record_id, share.id)),
    }
}

pub fn shares_are_found_by_hash_and_revoked(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let sh = share(rid, b"link");
    s.create_share(
        &sh,
        &event(1, ShareEventKind::Created),
        Some(&mail_for(&sh)),
    )
    .unwrap();
    assert!(
        s.create_share(&sh, &event(1, ShareEventKind::Created), None)
            .is_err(),
        "a share id is used once"
    );
    assert_eq!(
        s.share_by_hash(&SecretHash::of(b"link")).unwrap(),
        Some(sh.clone())
    );
    assert_eq!(s.share(rid, sh.id).unwrap(), Some(sh.clone()));
    assert_eq!(
        s.share(new_record(s), sh.id).unwrap(),
        None,
        "another record"
    );
    assert_eq!(s.shares(rid).unwrap(), vec![sh.clone()]);
    assert_eq!(s.outbox().unwrap(), vec![mail_for(&sh)]);

    let at = Timestamp::from_unix_micros(50);
    let revoke = |x: &mut Share| {
        if x.revoked.is_some() {
            return Vec::new();
        }
        x.revoked = Some(at);
        vec![event(50, ShareEventKind::Revoked)]
    };
    let revoked = s.update_share(rid, sh.id, &revoke).unwrap().unwrap();
    assert_eq!(revoked.revoked, Some(at));
    assert_eq!(revoked.mail, MailState::Cancelled, "its mail never goes");
    assert!(s.outbox().unwrap().is_empty());
    let again = s.update_share(rid, sh.id, &revoke).unwrap().unwrap();
    assert_eq!(again.revoked, Some(at), "the first revocation stands");
    assert_eq!(
        s.share_by_hash(&SecretHash::of(b"link"))
            .unwrap()
            .unwrap()
            .revoked,
        Some(at)
    );
    let log: Vec<ShareEventKind> = s
        .share_events(rid, sh.id)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(log, [ShareEventKind::Created, ShareEventKind::Revoked]);
    assert_eq!(
        s.update_share(rid, TokenId::new_random(), &revoke).unwrap(),
        None
    );
    assert!(
        s.update_share(rid, sh.id, &|x: &mut Share| {
            x.secret_hash = SecretHash::of(b"other");
            Vec::new()
        })
        .is_err(),
        "a share keeps its secret"
    );
    assert!(
        s.create_share(
            &share(RecordId::new_random(), b"x"),
            &event(1, ShareEventKind::Created),
            None
        )
        .unwrap_err()
        .is_not_found()
    );
}

pub fn share_counters_change_atomically(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let sh = share(rid, b"counted");
    s.create_share(&sh, &event(1, ShareEventKind::Created), None)
        .unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..5 {
                    s.update_share(rid, sh.id, &|x: &mut Share| {
                        x.views += 1;
                        vec![event(2, ShareEventKind::Opened)]
                    })
                    .unwrap();
                }
            });
        }
    });
    let after = s.share(rid, sh.id).unwrap().unwrap();
    assert_eq!(after.views, 40, "no increment is lost");
    assert_eq!(s.share_events(rid, sh.id).unwrap().len(), 41);
    fx.reopen();
    let s = fx.store();
    assert_eq!(s.share(rid, sh.id).unwrap().unwrap().views, 40);
}

pub fn mail_outcomes_follow_into_the_share(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let (a, b) = (share(rid, b"a"), share(rid, b"b"));
    for sh in [&a, &b] {
        s.create_share(sh, &event(1, ShareEventKind::Created), Some(&mail_for(sh)))
            .unwrap();
    }
    let id_a = MailId(*a.id.as_bytes());
    let id_b = MailId(*b.id.as_bytes());
    s.mail_retry(
        id_a,
        1,
        Timestamp::from_unix_micros(99),
        "connection refused",
    )
    .unwrap();
    let queued = s.outbox().unwrap();
    let retried = queued.iter().find(|m| m.id == id_a).unwrap();
    assert_eq!(
        (retried.attempts, retried.next_attempt),
        (1, Timestamp::from_unix_micros(99))
    );
    assert_eq!(
        s.share(rid, a.id).unwrap().unwrap().mail,
        MailState::Queued {
            attempts: 1,
            last_error: Some("connection refused".into())
        }
    );
    s.mail_sent(id_a, Timestamp::from_unix_micros(120)).unwrap();
    s.mail_failed(id_b, "550 no such user", Timestamp::from_unix_micros(130))
        .unwrap();
    assert!(s.outbox().unwrap().is_empty());
    assert_eq!(
        s.share(rid, a.id).unwrap().unwrap().mail,
        MailState::Sent {
            at: Timestamp::from_unix_micros(120)
        }
    );
    assert_eq!(
        s.share(rid, b.id).unwrap().unwrap().mail,
        MailState::Failed {
            reason: "550 no such user".into()
        }
    );
    let kinds = |id| -> Vec<ShareEventKind> {
        s.share_events(rid, id)
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect()
    };
    assert_eq!(
        kinds(a.id),
        [ShareEventKind::Created, ShareEventKind::MailSent]
    );
    assert_eq!(
        kinds(b.id),
        [ShareEventKind::Created, ShareEventKind::MailFailed]
    );
    // Outcomes for a mail that is gone change nothing.
    s.mail_sent(id_b, Timestamp::from_unix_micros(140)).unwrap();
    assert!(matches!(
        s.share(rid, b.id).unwrap().unwrap().mail,
        MailState::Failed { .. }
    ));
}

pub fn sessions_and_signin_links(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let session = Session {
        kind: SessionKind::Owner { record_id: rid },
        created: Timestamp::from_unix_micros(1),
        last_seen: Timestamp::from_unix_micros(1),
        expires: Timestamp::from_unix_micros(100),
    };
    let old = Session {
        expires: Timestamp::from_unix_micros(10),
        ..session.clone()
    };
    s.put_session(&SecretHash::of(b"s1"), &session).unwrap();
    s.put_session(&SecretHash::of(b"s2"), &old).unwrap();
    assert_eq!(
        s.session(&SecretHash::of(b"s1")).unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        s.purge_sessions(Timestamp::from_unix_micros(50)).unwrap(),
        1
    );
    assert_eq!(s.session(&SecretHash::of(b"s2")).unwrap(), None);
    assert!(s.delete_session(&SecretHash::of(b"s1")).unwrap());
    assert!(!s.delete_session(&SecretHash::of(b"s1")).unwrap());
    assert_eq!(s.session(&SecretHash::of(b"s1")).unwrap(), None);

    let link = SigninLink {
        record_id: rid,
        created: Timestamp::from_unix_micros(1),
        expires: Timestamp::from_unix_micros(900),
    };
    let mail = OutboxMail {
        share: None,
        ..mail_for(&share(rid, b"unused"))
    };
    s.create_signin_link(&SecretHash::of(b"signin"), &link, &mail)
        .unwrap();
    assert_eq!(s.outbox().unwrap(), vec![mail.clone()]);
    fx.reopen();
    let s = fx.store();
    assert_eq!(
        s.take_signin_link(&SecretHash::of(b"signin")).unwrap(),
        Some(link)
    );
    assert_eq!(
        s.take_signin_link(&SecretHash::of(b"signin")).unwrap(),
        None,
        "a sign-in link works once"
    );
    s.mail_sent(mail.id, Timestamp::from_unix_micros(5))
        .unwrap();
    assert!(s.outbox().unwrap().is_empty());
}
