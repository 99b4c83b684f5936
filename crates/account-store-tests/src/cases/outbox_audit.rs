//! `AuditRepo` (newest first, cursor paging) and `OutboxRepo` (leasing, delivery records).

use account_core::domain::audit::{AuditAction, AuditCursor, AuditEntry, AuditTarget, Principal};
use account_core::domain::credits::CreditKind;
use account_core::domain::mail::{MailKind, OutboxMail};
use account_core::ids::{ContactId, MailId, OrganisationId};
use account_core::ports::Page;
use chrono::Duration;

use super::Factory;
use crate::fixtures::{assert_not_found, at, audit, id, mail, read, seed_org_with_admin, write};

pub(crate) async fn audit_lists_newest_first_with_cursor(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let (other, _) = seed_org_with_admin(&store, 2).await;
    let sub = id(10);
    let entries = vec![
        audit(1, Some(org.id), at(10), Principal::Operator),
        AuditEntry {
            acting_as: Some(sub),
            action: AuditAction::ImpersonationStarted,
            target: AuditTarget::Member(sub),
            detail: String::new(),
            ..audit(2, Some(org.id), at(20), Principal::Member(admin.id))
        },
        AuditEntry {
            target: AuditTarget::Contact(id::<ContactId>(5)),
            ..audit(3, Some(org.id), at(20), Principal::System)
        },
        audit(4, Some(org.id), at(30), Principal::Member(admin.id)),
        AuditEntry {
            target: AuditTarget::Organisation(other.id),
            ..audit(5, Some(other.id), at(25), Principal::Operator)
        },
        AuditEntry {
            action: AuditAction::ProductCreated,
            target: AuditTarget::CreditPool(CreditKind::CallingMinutes),
            ..audit(6, None, at(15), Principal::Operator)
        },
    ];
    let mut tx = write(&store).await;
    for e in &entries {
        tx.audit().append(e).await.unwrap();
    }
    tx.commit().await.unwrap();

    let n = |es: &[AuditEntry]| es.iter().map(|e| e.id.as_uuid().as_u128()).collect::<Vec<_>>();
    let mut tx = read(&store).await;
    let all = tx.audit().list(org.id, Page { after: None, limit: 100 }).await.unwrap();
    assert_eq!(n(&all), [4, 3, 2, 1]);
    assert_eq!(all[1], entries[2]);
    assert_eq!(all[2], entries[1]);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = tx.audit().list(org.id, Page { after, limit: 3 }).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some(AuditCursor { at: last.at, id: last.id });
        seen.extend(n(&page));
    }
    assert_eq!(seen, [4, 3, 2, 1]);
    let inside_tie = AuditCursor { at: at(20), id: id(3) };
    assert_eq!(
        n(&tx.audit().list(org.id, Page { after: Some(inside_tie), limit: 10 }).await.unwrap()),
        [2, 1]
    );
    assert_eq!(
        tx.audit().list(other.id, Page { after: None, limit: 10 }).await.unwrap(),
        [entries[4].clone()]
    );
    assert!(
        tx.audit()
            .list(id::<OrganisationId>(77), Page { after: None, limit: 10 })
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn claim_due_leases_earliest_due_mails(f: Factory) {
    let store = f.fresh().await;
    let now = at(1000);
    let lease = now + Duration::minutes(5);
    let mails = [
        mail(1, at(0), at(500)),
        mail(2, at(1), at(100)),
        // Due at the same time as mail 2 but created later.
        mail(3, at(2), at(100)),
        mail(4, at(3), now),
        mail(5, at(4), now + Duration::seconds(1)),
        OutboxMail { sent_at: Some(at(50)), ..mail(6, at(5), at(10)) },
    ];
    let mut tx = write(&store).await;
    for m in &mails {
        tx.outbox().enqueue(m).await.unwrap();
    }
    tx.commit().await.unwrap();

    let n = |ms: &[OutboxMail]| ms.iter().map(|m| m.id.as_uuid().as_u128()).collect::<Vec<_>>();
    let mut tx = write(&store).await;
    let first = tx.outbox().claim_due(now, lease, 2).await.unwrap();
    assert_eq!(n(&first), [2, 3]);
    // Handed out as they were before the lease.
    assert_eq!(first[0], mails[1]);
    let second = tx.outbox().claim_due(now, lease, 10).await.unwrap();
    assert_eq!(n(&second), [1, 4]);
    assert!(tx.outbox().claim_due(now, lease, 10).await.unwrap().is_empty());
    tx.commit().await.unwrap();

    // Leased mails are due again when their lease ends: mail 5 alone before it, all after.
    let mut tx = write(&store).await;
    assert!(
        tx.outbox().claim_due(lease - Duration::seconds(1), lease, 10).await.unwrap().len() == 1
    );
    let again = tx.outbox().claim_due(lease, lease + Duration::minutes(5), 10).await.unwrap();
    assert_eq!(n(&again), [1, 2, 3, 4, 5]);
    assert_eq!(again[0].next_attempt_at, lease);
    tx.commit().await.unwrap();
}

pub(crate) async fn mark_sent_forgets_content_and_reschedule_records_failure(f: Factory) {
    let store = f.fresh().await;
    let (a, b) = (mail(1, at(0), at(0)), mail(2, at(1), at(1)));
    let mut tx = write(&store).await;
    tx.outbox().enqueue(&a).await.unwrap();
    tx.outbox().enqueue(&b).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(f.stored_sealed(a.id).await, Some(a.sealed.clone()));

    let mut tx = write(&store).await;
    tx.outbox().mark_sent(a.id, at(60)).await.unwrap();
    tx.outbox().reschedule(b.id, 3, at(900), "421 try later").await.unwrap();
    assert_not_found(tx.outbox().mark_sent(id::<MailId>(99), at(60)).await);
    assert_not_found(tx.outbox().reschedule(id::<MailId>(99), 1, at(60), "x").await);
    tx.commit().await.unwrap();

    // The sealed content is gone once sent; the record stays.
    assert_eq!(f.stored_sealed(a.id).await, Some(Vec::new()));
    assert_eq!(f.stored_sealed(id::<MailId>(99)).await, None);
    let mut tx = write(&store).await;
    let pending = tx.outbox().pending(10).await.unwrap();
    let failed = OutboxMail {
        attempts: 3,
        next_attempt_at: at(900),
        last_error: Some("421 try later".into()),
        ..b
    };
    assert_eq!(pending, std::slice::from_ref(&failed));
    // A sent mail is never claimed again; a rescheduled one waits for its time.
    assert!(tx.outbox().claim_due(at(899), at(2000), 10).await.unwrap().is_empty());
    assert_eq!(tx.outbox().claim_due(at(900), at(2000), 10).await.unwrap(), [failed]);
}

pub(crate) async fn pending_lists_unsent_oldest_first(f: Factory) {
    let store = f.fresh().await;
    let mut tx = write(&store).await;
    for m in [
        mail(3, at(30), at(0)),
        OutboxMail { kind: MailKind::WeeklyDigest, ..mail(1, at(10), at(999)) },
        mail(2, at(10), at(0)),
        OutboxMail { sent_at: Some(at(40)), sealed: Vec::new(), ..mail(4, at(5), at(0)) },
    ] {
        tx.outbox().enqueue(&m).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let n = |ms: Vec<OutboxMail>| ms.iter().map(|m| m.id.as_uuid().as_u128()).collect::<Vec<_>>();
    assert_eq!(n(tx.outbox().pending(10).await.unwrap()), [1, 2, 3]);
    assert_eq!(n(tx.outbox().pending(2).await.unwrap()), [1, 2]);
    assert_eq!(tx.outbox().pending(10).await.unwrap()[0].kind, MailKind::WeeklyDigest);
}
