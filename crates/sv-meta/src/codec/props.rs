//! Property tests: every value round-trips through its encoding, and damaged bytes are
//! refused rather than decoded into something else.

use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use sv_model::study::{
    Code, InstanceFacts, PreviewRef, SeriesAttributes, StudyAttributes, StudyDigest,
};
use sv_model::{
    Audit, AuditAction, BlobId, BlobName, Grant, MailId, MailState, NamedBlob, OutboxMail,
    Permissions, RecordId, SecretHash, Session, SessionKind, Share, ShareEvent, ShareEventKind,
    SigninLink, Thing, ThingFlags, ThingId, ThingState, Timestamp, Token, TokenId, TypeId,
    VersionStamp,
};

use super::*;

fn time() -> impl Strategy<Value = Timestamp> {
    any::<i64>().prop_map(Timestamp::from_unix_micros)
}

fn blob() -> impl Strategy<Value = BlobId> {
    any::<[u8; 32]>().prop_map(BlobId::from_bytes)
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    of(".{0,16}")
}

fn audit() -> impl Strategy<Value = Audit> {
    (time(), of(any::<[u8; 16]>()), 0..3u8).prop_map(|(timestamp, token, a)| Audit {
        timestamp,
        token: token.map(TokenId::from_bytes),
        action: [
            AuditAction::Created,
            AuditAction::Updated,
            AuditAction::Deleted,
        ][a as usize],
    })
}

fn named_blob() -> impl Strategy<Value = NamedBlob> {
    ("[a-zA-Z0-9. _-]{0,24}", ".{0,12}", any::<u64>(), blob()).prop_map(|(n, ct, length, id)| {
        NamedBlob {
            name: BlobName::new(n.replace("..", "._")).expect("valid name"),
            content_type: ct,
            length,
            blob_id: id,
        }
    })
}

fn thing() -> impl Strategy<Value = StoredThing> {
    let ids = any::<[[u8; 16]; 3]>();
    let header = (ids, any::<bool>(), any::<u32>(), time(), audit(), audit());
    (header, ".{0,64}", vec(named_blob(), 0..4), any::<u64>()).prop_map(
        |((ids, deleted, flags, eff_date, created, updated), data_xml, blobs, version_no)| {
            StoredThing {
                version_no,
                thing: Thing {
                    id: ThingId::from_bytes(ids[0]),
                    version: VersionStamp::from_bytes(ids[1]),
                    type_id: TypeId::from_bytes(ids[2]),
                    state: if deleted {
                        ThingState::Deleted
                    } else {
                        ThingState::Active
                    },
                    flags: ThingFlags(flags),
                    eff_date,
                    created,
                    updated,
                    data_xml,
                    blobs,
                },
            }
        },
    )
}

fn study_attributes() -> impl Strategy<Value = StudyAttributes> {
    vec(opt_text(), 12).prop_map(|v| {
        let mut v = v.into_iter();
        let mut next = || v.next().expect("12 values");
        StudyAttributes {
            study_date: next(),
            study_time: next(),
            description: next(),
            accession_number: next(),
            referring_physician: next(),
            reason: next(),
            patient_name: next(),
            patient_id: next(),
            patient_birth_date: next(),
            patient_sex: next(),
            study_id: next(),
            timezone_offset: next(),
        }
    })
}

fn series_attributes() -> impl Strategy<Value = SeriesAttributes> {
    (of(any::<i32>()), vec(opt_text(), 9)).prop_map(|(series_number, v)| {
        let mut v = v.into_iter();
        let mut next = || v.next().expect("9 values");
        SeriesAttributes {
            series_number,
            modality: next(),
            description: next(),
            body_part: next(),
            laterality: next(),
            institution_name: next(),
            series_date: next(),
            series_time: next(),
            acquisition_date: next(),
            acquisition_time: next(),
        }
    })
}

fn preview() -> impl Strategy<Value = PreviewRef> {
    (blob(), any::<u64>(), ".{0,10}", any::<u32>(), any::<u32>()).prop_map(
        |(blob_id, length, media_type, width, height)| PreviewRef {
            blob_id,
            length,
            media_type,
            width,
            height,
        },
    )
}

fn code() -> impl Strategy<Value = Code> {
    (".{1,16}", ".{0,16}", opt_text()).prop_map(|(value, scheme, meaning)| Code {
        value,
        scheme,
        meaning,
    })
}

fn facts() -> impl Strategy<Value = InstanceFacts> {
    let uids = vec("[0-9.]{1,64}", 5);
    let dims = (
        of(any::<i32>()),
        of(any::<u32>()),
        of(any::<u32>()),
        of(any::<u32>()),
    );
    let media = (
        blob(),
        any::<u64>(),
        of(preview()),
        opt_text(),
        vec(".{0,8}", 0..3),
    );
    (
        uids,
        dims,
        study_attributes(),
        series_attributes(),
        media,
        time(),
        (vec(code(), 0..3), opt_text()),
    )
        .prop_map(
            |(
                u,
                (n, rows, columns, frames),
                study,
                series,
                (blob_id, length, preview, err, keys),
                received,
                (procedure_codes, title),
            )| {
                InstanceFacts {
                    study_instance_uid: u[0].clone(),
                    series_instance_uid: u[1].clone(),
                    sop_instance_uid: u[2].clone(),
                    sop_class_uid: u[3].clone(),
                    instance_number: n,
                    transfer_syntax_uid: u[4].clone(),
                    rows,
                    columns,
                    number_of_frames: frames,
                    study,
                    series,
                    blob_id,
                    length,
                    preview,
                    preview_error: err,
                    key_image_refs: keys,
                    procedure_codes,
                    title,
                    received,
                }
            },
        )
}

/// Digests as instances build them, some studies sharing series and SOP class UIDs (so counts
/// above one occur), the empty one included.
fn digest() -> impl Strategy<Value = StudyDigest> {
    let instance = (facts(), 0..3u8, 0..3u8).prop_map(|(mut f, series, class)| {
        f.series_instance_uid = format!("1.{series}");
        f.sop_class_uid = format!("2.{class}");
        f
    });
    (vec(instance, 0..6), any::<[u8; 16]>(), time(), ".{0,16}").prop_map(
        |(facts, version, updated, uid)| {
            let version = VersionStamp::from_bytes(version);
            StudyDigest::of(&facts, version, updated)
                .unwrap_or_else(|| StudyDigest::empty(&uid, version, updated))
        },
    )
}

fn token() -> impl Strategy<Value = Token> {
    let grant = (of(any::<[u8; 16]>()), 0..16u8).prop_map(|(t, bits)| Grant {
        type_id: t.map(TypeId::from_bytes),
        permissions: Permissions::from_bits(bits),
    });
    (
        any::<[[u8; 16]; 2]>(),
        any::<[u8; 32]>(),
        ".{0,16}",
        vec(grant, 0..4),
        time(),
        of(time()),
    )
        .prop_map(|(ids, hash, label, grants, created, expires)| Token {
            id: TokenId::from_bytes(ids[0]),
            record_id: RecordId::from_bytes(ids[1]),
            secret_hash: SecretHash(hash),
            label,
            grants,
            created,
            expires,
        })
}

fn mail_state() -> impl Strategy<Value = MailState> {
    prop_oneof![
        Just(MailState::NotRequested),
        Just(MailState::NotConfigured),
        (any::<u32>(), opt_text()).prop_map(|(attempts, last_error)| MailState::Queued {
            attempts,
            last_error
        }),
        time().prop_map(|at| MailState::Sent { at }),
        ".{0,16}".prop_map(|reason| MailState::Failed { reason }),
        Just(MailState::Cancelled),
    ]
}

fn share() -> impl Strategy<Value = Share> {
    let ids = (any::<[[u8; 16]; 3]>(), "[0-9.]{0,64}", any::<[u8; 32]>());
    let extra = (
        opt_text(),
        opt_text(),
        opt_text(),
        any::<[bool; 2]>(),
        any::<[u8; 32]>(),
    );
    let times = (time(), time(), of(time()), of(time()), of(time()));
    let counts = (any::<u32>(), any::<u64>(), any::<u64>(), mail_state());
    (ids, extra, times, counts).prop_map(
        |(
            (ids, uid, hash),
            (email, passcode, note, flags, uid_key),
            (created, expires, revoked, locked, last_opened),
            (failures, views, downloads, mail),
        )| Share {
            id: TokenId::from_bytes(ids[0]),
            record_id: RecordId::from_bytes(ids[1]),
            thing_id: ThingId::from_bytes(ids[2]),
            study_instance_uid: uid,
            secret_hash: SecretHash(hash),
            email,
            passcode,
            note,
            allow_download: flags[0],
            deidentify: flags[1],
            uid_key,
            created,
            expires,
            revoked,
            failures,
            locked,
            views,
            downloads,
            last_opened,
            mail,
        },
    )
}

fn event() -> impl Strategy<Value = ShareEvent> {
    (time(), 0..ShareEventKind::ALL.len(), opt_text(), opt_text()).prop_map(
        |(at, k, detail, client)| ShareEvent {
            at,
            kind: ShareEventKind::ALL[k],
            detail,
            client,
        },
    )
}

fn session() -> impl Strategy<Value = Session> {
    let kind = prop_oneof![
        any::<[u8; 16]>().prop_map(|r| SessionKind::Owner {
            record_id: RecordId::from_bytes(r)
        }),
        (any::<[u8; 16]>(), any::<[u8; 32]>()).prop_map(|(r, h)| SessionKind::Token {
            record_id: RecordId::from_bytes(r),
            token_hash: SecretHash(h)
        }),
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(r, s)| SessionKind::Share {
            record_id: RecordId::from_bytes(r),
            share_id: TokenId::from_bytes(s)
        }),
    ];
    (kind, time(), time(), time()).prop_map(|(kind, created, last_seen, expires)| Session {
        kind,
        created,
        last_seen,
        expires,
    })
}

fn mail() -> impl Strategy<Value = OutboxMail> {
    let text = (".{0,16}", ".{0,16}", ".{0,32}", ".{0,32}");
    let share = of((any::<[u8; 16]>(), any::<[u8; 16]>()));
    (any::<[u8; 16]>(), text, time(), any::<u32>(), time(), share).prop_map(
        |(id, (to, subject, text, html), queued, attempts, next_attempt, share)| OutboxMail {
            id: MailId(id),
            to,
            subject,
            text,
            html,
            queued,
            attempts,
            next_attempt,
            share: share.map(|(r, s)| (RecordId::from_bytes(r), TokenId::from_bytes(s))),
        },
    )
}

/// Every strict prefix of a valid encoding, and the encoding with a byte appended, is refused.
fn refuses_damage<T>(bytes: &[u8], decode: impl Fn(&[u8]) -> Result<T, CodecError>) {
    for cut in 0..bytes.len() {
        assert!(
            decode(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(decode(&longer).is_err(), "trailing byte accepted");
    let mut newer = bytes.to_vec();
    newer[0] = V2 + 1;
    assert!(matches!(
        decode(&newer),
        Err(CodecError::UnknownVersion { .. })
    ));
}

proptest! {
    #[test]
    fn things_round_trip(t in thing()) {
        let bytes = encode_thing(&t);
        prop_assert_eq!(decode_thing(&bytes).unwrap(), t);
        refuses_damage(&bytes, decode_thing);
    }

    #[test]
    fn facts_round_trip(f in facts()) {
        let bytes = encode_facts(&f);
        prop_assert_eq!(decode_facts(&bytes).unwrap(), f);
        refuses_damage(&bytes, decode_facts);
    }

    #[test]
    fn digests_round_trip(d in digest()) {
        let bytes = encode_digest(&d);
        prop_assert_eq!(decode_digest(&bytes).unwrap(), d);
        refuses_damage(&bytes, decode_digest);
    }

    #[test]
    fn tokens_round_trip(t in token()) {
        let bytes = encode_token(&t);
        prop_assert_eq!(decode_token(&bytes).unwrap(), t);
        refuses_damage(&bytes, decode_token);
    }

    #[test]
    fn shares_round_trip(s in share()) {
        let bytes = encode_share(&s);
        prop_assert_eq!(decode_share(&bytes).unwrap(), s);
        refuses_damage(&bytes, decode_share);
    }

    #[test]
    fn share_events_round_trip(ev in event()) {
        let bytes = encode_event(&ev);
        prop_assert_eq!(decode_event(&bytes).unwrap(), ev);
        refuses_damage(&bytes, decode_event);
    }

    #[test]
    fn sessions_round_trip(s in session()) {
        let bytes = encode_session(&s);
        prop_assert_eq!(decode_session(&bytes).unwrap(), s);
        refuses_damage(&bytes, decode_session);
    }

    #[test]
    fn signin_links_round_trip(r in any::<[u8; 16]>(), created in time(), expires in time()) {
        let link = SigninLink { record_id: RecordId::from_bytes(r), created, expires };
        let bytes = encode_signin(&link);
        prop_assert_eq!(decode_signin(&bytes).unwrap(), link);
        refuses_damage(&bytes, decode_signin);
    }

    #[test]
    fn outbox_mail_round_trips(m in mail()) {
        let bytes = encode_mail(&m);
        prop_assert_eq!(decode_mail(&bytes).unwrap(), m);
        refuses_damage(&bytes, decode_mail);
    }

    #[test]
    fn named_blobs_and_sop_entries_round_trip(b in named_blob(), tid in any::<[u8; 16]>(), series in ".{0,64}") {
        let bytes = encode_blob_value(&b);
        prop_assert_eq!(decode_blob_value(&bytes, b.name.clone()).unwrap(), b.clone());
        let e = SopEntry { thing_id: ThingId::from_bytes(tid), blob_id: b.blob_id, series_uid: series };
        prop_assert_eq!(decode_sop(&encode_sop(&e)).unwrap(), e);
    }

    #[test]
    fn garbage_never_panics(bytes in vec(any::<u8>(), 0..256)) {
        let _ = decode_thing(&bytes);
        let _ = decode_facts(&bytes);
        let _ = decode_digest(&bytes);
        let _ = decode_token(&bytes);
        let _ = decode_share(&bytes);
        let _ = decode_change(&bytes, 1);
        let _ = decode_record(&bytes);
    }
}

#[test]
fn v1_records_read_back_without_an_owner_email() {
    let id = RecordId::new_random();
    let v1 = Enc::new()
        .raw(id.as_bytes())
        .str("Jane")
        .time(Timestamp::from_unix_micros(42))
        .finish();
    let r = decode_record(&v1).unwrap();
    assert_eq!((r.id, r.name.as_str(), r.owner_email), (id, "Jane", None));
    let with_email = sv_model::Record {
        owner_email: Some("jane@example.org".into()),
        ..r
    };
    assert_eq!(
        decode_record(&encode_record(&with_email)).unwrap(),
        with_email
    );
}
