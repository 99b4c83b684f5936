//! Exports: a member's own data before deleting the account (rule 11), refused under an
//! impersonation (rule 16); the organisation's ledger and audit log as CSV for admins only
//! (rule 21); read page by page up to the request's cutoff.

use account_core::Denied;
use account_core::domain::audit::Principal;
use account_core::domain::credits::{ConsumptionDetail, CreditKind, EntryType, LedgerEntry};
use account_core::domain::secret::to_hex;
use account_core::domain::text::{DataType, EventId, Provider};
use account_core::ids::LedgerEntryId;
use account_core::ports::LedgerFilter;
use account_core::ports::{Clock, Store};
use account_core::services::credits::ConsumeInput;
use account_core::services::export::{AUDIT_COLUMNS, Export, LEDGER_COLUMNS, PAGE};
use account_core::services::profile::{AccessError, ProfileInput};
use chrono::Duration;

use crate::support::World;

/// The whole document of an export, and how many chunks it came in.
async fn drain(mut export: Export) -> (String, usize) {
    let (mut text, mut chunks) = (String::new(), 0);
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        text.push_str(&chunk);
        chunks += 1;
    }
    (text, chunks)
}

fn spend(event: &str, amount: i64) -> ConsumeInput {
    ConsumeInput {
        kind: "export".into(),
        amount,
        data_type: "email".into(),
        provider: "acme-data".into(),
        event_id: event.into(),
    }
}

#[tokio::test]
async fn rule_11_the_export_holds_everything_of_the_member_and_nothing_of_another() {
    let w = World::new().await;
    w.grant(CreditKind::Export, 100).await;
    let (sam, _) = w.sub_user("sam").await;
    let (bea, _) = w.sub_user("bea").await;
    let accounts = w.accounts();
    let profile = ProfileInput {
        first_name: "Sam \"the\" Tester".into(),
        last_name: Some("Åberg".into()),
        phone: Some("+46701234567".into()),
        company: Some("Acme, Inc.".into()),
        job_title: Some("Analyst".into()),
        linkedin: None,
    };
    accounts.profile().save_profile(&sam, &profile, 1).await.unwrap();
    let key = accounts.api_keys().create(&sam, Some("crm sync")).await.unwrap();
    accounts
        .credits()
        .allocate(&w.admin, sam.member(), CreditKind::Export, 20, None, None)
        .await
        .unwrap();
    accounts
        .credits()
        .allocate(&w.admin, bea.member(), CreditKind::Export, 9, None, None)
        .await
        .unwrap();
    accounts.credits().consume(&sam, &spend("sam-1", 3), None).await.unwrap();
    accounts.credits().consume(&bea, &spend("bea-1", 4), None).await.unwrap();
    w.mem.clock.advance(Duration::minutes(1));

    let (text, _) = drain(accounts.export().member(&sam).await.unwrap()).await;
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], "accounts.member-export.v1");
    assert_eq!(doc["member"]["id"], sam.member().to_string());
    assert_eq!(doc["member"]["email"], "sam@acme.test");
    assert_eq!(doc["profile"]["first_name"], "Sam \"the\" Tester");
    assert_eq!(doc["profile"]["company"], "Acme, Inc.");
    assert_eq!(doc["profile"]["phone"], "+46701234567");
    assert_eq!(doc["preferences"]["timezone"], "UTC");
    assert_eq!(doc["api_keys"][0]["label"], "crm sync");
    assert_eq!(doc["api_keys"][0]["prefix"], key.key.prefix.as_str());
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 1);
    let export_balance = &doc["credits"]["balances"][0];
    assert_eq!(
        (export_balance["kind"].as_str(), export_balance["used"].as_i64()),
        (Some("export"), Some(3))
    );
    assert_eq!(doc["usage"]["rows"][0]["credits"], 3);
    let ledger = doc["ledger"].as_array().unwrap();
    let types: Vec<&str> = ledger.iter().map(|e| e["entry_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["allocate", "consume"]);
    assert_eq!(ledger[1]["consumption"]["event_id"], "sam-1");

    // Nothing of another member: not Bea's id, address, name, allocation or spending.
    for theirs in [bea.member().to_string(), "bea@acme.test".into(), "bea-1".into()] {
        assert!(!text.contains(&theirs), "the export holds {theirs}");
    }
    // No secret, nor what is stored in a secret's place.
    assert!(!text.contains(&key.secret));
    let mut tx = w.mem.store.read().await.unwrap();
    let member = tx.members().get(sam.member()).await.unwrap().unwrap();
    let stored_key = tx.api_keys().get(key.key.id).await.unwrap().unwrap();
    let sessions = tx.sessions().list_for_member(sam.member()).await.unwrap();
    assert!(!text.contains(member.password.as_ref().unwrap().as_str()));
    assert!(!text.contains(&to_hex(stored_key.secret.as_bytes())));
    for s in &sessions {
        assert!(!text.contains(&to_hex(s.secret.as_bytes())));
    }
    assert!(!text.contains("password") && !text.contains("secret"));
}

#[tokio::test]
async fn rule_16_impersonators_and_api_keys_cannot_export_a_members_data() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let started =
        w.accounts().impersonation().start(&w.admin, sam.member(), "ticket 7").await.unwrap();
    let as_sam = w.accounts().auth().authenticate(&started.token).await.unwrap().actor;
    assert!(matches!(
        w.accounts().export().member(&as_sam).await,
        Err(AccessError::Denied(Denied::Impersonating))
    ));
    let key = w.accounts().api_keys().create(&sam, None).await.unwrap();
    let integration = w.accounts().auth().authenticate_api_key(&key.secret).await.unwrap();
    assert!(matches!(
        w.accounts().export().member(&integration).await,
        Err(AccessError::Denied(Denied::NeedsSession))
    ));
    // The member themselves may.
    assert!(w.accounts().export().member(&sam).await.is_ok());
}

#[tokio::test]
async fn rule_21_admins_export_the_ledger_and_audit_log_as_csv_and_sub_users_cannot() {
    let w = World::new().await;
    w.grant(CreditKind::Export, 100).await;
    let (sam, _) = w.sub_user("sam").await;
    let reason = "=HYPERLINK(\"http://x\"), \"quoted\"";
    w.accounts()
        .credits()
        .allocate(&w.admin, sam.member(), CreditKind::Export, 5, Some(reason), None)
        .await
        .unwrap();
    w.mem.clock.advance(Duration::minutes(1));
    let export = w.accounts().export();
    for refused in [
        export.ledger_csv(&sam, LedgerFilter::default()).await.err(),
        export.audit_csv(&sam).await.err(),
    ] {
        assert!(matches!(refused, Some(AccessError::Denied(Denied::NotAdmin))));
    }

    let (text, _) =
        drain(export.ledger_csv(&w.admin, LedgerFilter::default()).await.unwrap()).await;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), LEDGER_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), w.mem.store.ledger().await.len());
    let allocation = rows.iter().find(|r| &r[3] == "allocate").unwrap();
    assert_eq!(&allocation[5], sam.member().to_string());
    assert_eq!(&allocation[6], format!("member:{}", w.admin.member()));
    // Quoted as RFC 4180 says, and defused so that a spreadsheet does not run it.
    assert_eq!(&allocation[8], format!("'{reason}"));

    let (text, _) = drain(export.audit_csv(&w.admin).await.unwrap()).await;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), AUDIT_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), w.mem.store.audit_entries().await.len());
    assert_eq!(&rows[0][4], "credits.allocated", "newest first");
}

fn consumption(n: u32, w: &World, at: chrono::DateTime<chrono::Utc>) -> LedgerEntry {
    LedgerEntry {
        id: LedgerEntryId::from_uuid(uuid::Uuid::from_u128(u128::from(n) + 1)),
        org_id: w.org,
        kind: CreditKind::Export,
        entry_type: EntryType::Consume,
        amount: 1,
        member_id: None,
        actor: Principal::Member(w.admin.member()),
        acting_as: None,
        at,
        reason: None,
        consumption: Some(ConsumptionDetail {
            data_type: DataType::parse("email").unwrap(),
            provider: Provider::parse("acme-data").unwrap(),
            event_id: EventId::parse(&format!("bulk-{n}")).unwrap(),
        }),
    }
}

#[tokio::test]
async fn exports_are_read_page_by_page_up_to_their_cutoff() {
    let w = World::new().await;
    let total = 3 * PAGE + 7;
    let start = w.mem.clock.now() + Duration::seconds(1);
    let mut tx = w.mem.store.write().await.unwrap();
    for n in 0..total {
        tx.credits()
            .append(&consumption(n, &w, start + Duration::milliseconds(n.into())))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    w.mem.clock.advance(Duration::minutes(1));

    let mut export = w.accounts().export().member(&w.admin).await.unwrap();
    assert_eq!(export.pages_read(), 0, "nothing of the ledger is read before it is asked for");
    let head = export.next_chunk().await.unwrap().unwrap();
    assert!(head.ends_with("\"ledger\":["));
    assert_eq!(export.pages_read(), 0);
    // Entries made after the export began are not in it.
    let mut tx = w.mem.store.write().await.unwrap();
    tx.credits()
        .append(&consumption(total, &w, w.mem.clock.now() + Duration::seconds(1)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    w.mem.clock.advance(Duration::minutes(1));
    let mut text = head;
    let mut chunks = 0;
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        chunks += 1;
        assert_eq!(export.pages_read(), chunks, "one page read per chunk");
        assert!(chunk.len() < usize::try_from(PAGE).unwrap() * 600, "a chunk holds one page");
        text.push_str(&chunk);
    }
    assert_eq!(chunks, 4);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["ledger"].as_array().unwrap().len(), usize::try_from(total).unwrap());
    assert_eq!(doc["usage"]["rows"][0]["credits"], i64::from(total));
}
