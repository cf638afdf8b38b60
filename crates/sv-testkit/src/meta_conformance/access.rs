//! Tokens and shares, found by the hash of their secret.

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

pub fn shares_are_found_by_hash_and_revoked(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let share = Share {
        id: TokenId::new_random(),
        record_id: rid,
        thing_id: ThingId::new_random(),
        study_instance_uid: "1.2.3".into(),
        secret_hash: SecretHash::of(b"link"),
        email: Some("a@example.org".into()),
        passcode_hash: Some(SecretHash::of(b"1234")),
        note: None,
        allow_download: true,
        created: Timestamp::from_unix_micros(1),
        expires: Timestamp::from_unix_micros(100),
        revoked: None,
    };
    s.put_share(&share).unwrap();
    assert_eq!(
        s.share_by_hash(&SecretHash::of(b"link")).unwrap(),
        Some(share.clone())
    );
    assert_eq!(s.shares(rid).unwrap(), vec![share.clone()]);
    let at = Timestamp::from_unix_micros(50);
    let revoked = s.revoke_share(rid, share.id, at).unwrap().unwrap();
    assert_eq!(revoked.revoked, Some(at));
    let later = s
        .revoke_share(rid, share.id, Timestamp::from_unix_micros(60))
        .unwrap();
    assert_eq!(
        later.unwrap().revoked,
        Some(at),
        "the first revocation stands"
    );
    assert_eq!(
        s.share_by_hash(&SecretHash::of(b"link"))
            .unwrap()
            .unwrap()
            .revoked,
        Some(at)
    );
    assert_eq!(
        s.revoke_share(rid, TokenId::new_random(), at).unwrap(),
        None
    );
}
