//! Exports: a member's own data (`GET /me/export`) as one JSON document written page by page,
//! usage reports and the team's ledger and audit log as CSV (`Accept: text/csv`) that a
//! standard CSV reader parses, and who may have them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use account_core::domain::audit::Principal;
use account_core::domain::credits::{CreditKind, EntryType, LedgerEntry};
use account_core::domain::text::Reason;
use account_core::ids::{LedgerEntryId, MemberId, OrganisationId};
use account_core::ports::{Clock, Store, StoreError, Tx};
use account_core::services::export::PAGE;
use account_core::{Accounts, Ports, Settings};
use account_http::{HttpConfig, HttpServer, OperatorToken};
use account_memory::{FastPasswordHasher, FixedClock, MemoryStore, SeededRandom, TestKeyring};
use async_trait::async_trait;
use futures_util::StreamExt;
use poem::test::TestClient;
use serde_json::{Value, json};

use crate::support::{App, Auth, OPERATOR_TOKEN, app};

const PERIOD: &str = "from=2026-01-01&to=2026-01-31";

/// Records a consumption through the member's API key.
async fn consume(app: &App, key: &str, event: &str, amount: i64, provider: &str) {
    app.post(
        "/api/v1/integrations/consumptions",
        &Auth::Key(key.to_owned()),
        json!({"kind": "export", "amount": amount, "data_type": "email", "provider": provider,
               "event_id": event}),
    )
    .await
    .expect(201);
}

fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (headers, rows)
}

#[tokio::test]
async fn a_member_export_holds_everything_of_theirs_and_nothing_of_another_member() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    app.grant(&org, "export", 100).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let bea = app.member(&org, "Bea", "bea@acme.test").await;
    let etag = app.profile_etag(&sam.token).await;
    app.put_if(
        "/api/v1/me/profile",
        &Auth::bearer(&sam.token),
        &etag,
        json!({"first_name": "Sam", "last_name": "O'Neil", "company": "Acme, \"Data\" AB",
               "phone": "+46701234567", "job_title": "Analyst"}),
    )
    .await
    .expect(200);
    app.put(
        "/api/v1/me/offerings",
        &Auth::bearer(&sam.token),
        json!({"offerings": [{"text": "Lead lists"}]}),
    )
    .await
    .expect(200);
    app.allocate(&org, &sam, "export", 20).await.expect(200);
    app.allocate(&org, &bea, "export", 10).await.expect(200);
    let sam_key = app.api_key(&sam).await;
    let bea_key = app.api_key(&bea).await;
    consume(&app, &sam_key, "sam-1", 3, "acme-data").await;
    consume(&app, &bea_key, "bea-1", 4, "other-data").await;

    let r = app.get("/api/v1/me/export", &Auth::bearer(&sam.token)).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("application/json; charset=utf-8"));
    assert!(r.header("content-disposition").unwrap().starts_with("attachment; filename="));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let doc = &r.body;
    assert_eq!(doc["format"], "accounts.member-export.v1");
    assert_eq!(doc["member"]["id"], sam.id.as_str());
    assert_eq!(doc["member"]["email"], "sam@acme.test");
    assert_eq!(doc["member"]["role"], "sub_user");
    assert_eq!(doc["profile"]["last_name"], "O'Neil");
    assert_eq!(doc["profile"]["company"], "Acme, \"Data\" AB");
    assert_eq!(doc["profile"]["phone"], "+46701234567");
    assert_eq!(doc["preferences"]["timezone"], "UTC");
    assert_eq!(doc["offerings"][0]["name"], "Lead lists");
    assert_eq!(doc["api_keys"].as_array().unwrap().len(), 1);
    assert_eq!(doc["api_keys"][0]["label"], "test");
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(
        doc["credits"]["balances"][0],
        json!({"kind": "export", "allocated": 20, "used": 3, "available": 17})
    );
    assert_eq!(
        doc["usage"]["rows"],
        json!([{"month": "2026-01-01", "kind": "export", "data_type": "email",
                "provider": "acme-data", "credits": 3}])
    );
    let ledger = doc["ledger"].as_array().unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0]["entry_type"], "allocate");
    assert_eq!(ledger[0]["actor"]["member_id"], org.admin.id.as_str());
    assert_eq!(ledger[1]["consumption"]["event_id"], "sam-1");

    // Nothing of another member.
    for theirs in [&bea.id, &bea.email, "Bea", "bea-1", "other-data"] {
        assert!(!r.text.contains(theirs), "Sam's export holds Bea's {theirs}");
    }
    // No secret: not the API key, not the session token, and nothing stored in their place.
    for secret in [&sam_key, &sam.token] {
        assert!(!r.text.contains(secret.as_str()));
    }
    assert!(!r.text.contains("password") && !r.text.contains("secret"));
    assert!(!r.text.contains("$argon2"));
}

#[tokio::test]
async fn exports_of_personal_data_are_refused_to_impersonators() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let started = app
        .post(
            &format!("/api/v1/team/members/{}/impersonation", sam.id),
            &Auth::bearer(&org.admin.token),
            json!({"reason": "ticket 9"}),
        )
        .await;
    started.expect(201);
    let as_sam = Auth::bearer(&started.str("/token"));
    app.get("/api/v1/me/export", &as_sam).await.expect_problem(403, "not-while-impersonating");
    // Through the impersonation the admin is a sub-user: no team export either.
    let csv = [("Accept", "text/csv")];
    let r = app.send("GET", "/api/v1/team/ledger", &as_sam, &csv, None).await;
    r.expect_problem(403, "admin-only");
    let key = app.api_key(&sam).await;
    app.get("/api/v1/me/export", &Auth::Key(key)).await.expect(401);
}

#[tokio::test]
async fn usage_reports_download_as_csv_with_the_same_figures() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    app.grant(&org, "export", 100).await;
    let sam = app.member(&org, "Sam, \"the\" analyst", "sam@acme.test").await;
    app.allocate(&org, &sam, "export", 20).await.expect(200);
    let key = app.api_key(&sam).await;
    consume(&app, &key, "e1", 3, "acme, data").await;
    consume(&app, &key, "e2", 2, "=cmd").await;
    let me = Auth::bearer(&sam.token);
    let path = format!("/api/v1/me/usage?{PERIOD}&bucket=month");

    let json = app.get(&path, &me).await;
    json.expect(200);
    let r = app.send("GET", &path, &me, &[("Accept", "text/csv")], None).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    assert!(
        r.header("content-disposition").unwrap().contains("usage-me-2026-01-01-2026-01-31.csv")
    );
    let (headers, rows) = csv_rows(&r.text);
    assert_eq!(headers, ["breakdown", "name", "credits"]);
    let figure =
        |b: &str, n: &str| rows.iter().find(|r| r[0] == b && r[1] == n).map(|r| r[2].clone());
    assert_eq!(figure("total", "all"), Some(json.body["total"].to_string()));
    assert_eq!(figure("provider", "acme, data").as_deref(), Some("3"));
    assert_eq!(figure("provider", "'=cmd").as_deref(), Some("2"), "formulas are defused");
    assert_eq!(figure("month", "2026-01-01").as_deref(), Some("5"));

    // The team's report names members; a name with a comma and quotes survives the round trip.
    let admin = Auth::bearer(&org.admin.token);
    let team = format!("/api/v1/team/usage?{PERIOD}");
    let r = app.send("GET", &team, &admin, &[("Accept", "text/csv")], None).await;
    r.expect(200);
    let (_, rows) = csv_rows(&r.text);
    assert!(rows.iter().any(|r| r[0] == "member" && r[1] == "Sam, \"the\" analyst" && r[2] == "5"));
    // JSON stays the default, and wins when preferred.
    let r = app
        .send("GET", &team, &admin, &[("Accept", "application/json, text/csv;q=0.5")], None)
        .await;
    assert_eq!(r.body["total"], 5);
}

#[tokio::test]
async fn admins_download_the_ledger_and_audit_log_as_csv_and_sub_users_cannot() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    app.grant(&org, "export", 100).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    app.allocate(&org, &sam, "export", 20).await.expect(200);
    let csv = [("Accept", "text/csv")];
    let admin = Auth::bearer(&org.admin.token);

    for path in ["/api/v1/team/ledger", "/api/v1/team/audit-log"] {
        let r = app.send("GET", path, &Auth::bearer(&sam.token), &csv, None).await;
        r.expect_problem(403, "admin-only");
    }

    let listed = app.get("/api/v1/team/ledger?limit=200", &admin).await;
    let r = app.send("GET", "/api/v1/team/ledger", &admin, &csv, None).await;
    r.expect(200);
    assert_eq!(r.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    let (headers, rows) = csv_rows(&r.text);
    assert_eq!(headers[..5], ["id", "at", "kind", "entry_type", "amount"]);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(rows.len(), items.len());
    for (row, item) in rows.iter().zip(items) {
        assert_eq!(row[0], item["id"].as_str().unwrap());
        assert_eq!(row[4], item["amount"].to_string());
    }
    // The list's filters apply to the download.
    let r = app
        .send(
            "GET",
            &format!("/api/v1/team/ledger?entry_type=allocate&member_id={}", sam.id),
            &admin,
            &csv,
            None,
        )
        .await;
    let (_, rows) = csv_rows(&r.text);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][5], sam.id);

    let listed = app.get("/api/v1/team/audit-log?limit=199", &admin).await;
    let r = app.send("GET", "/api/v1/team/audit-log", &admin, &csv, None).await;
    r.expect(200);
    let (headers, rows) = csv_rows(&r.text);
    assert_eq!(headers, ["id", "at", "actor", "acting_as", "action", "target", "detail"]);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(rows.len(), items.len());
    assert_eq!(rows[0][4], items[0]["action"].as_str().unwrap(), "newest first, as the list");
}

/// A store that counts the read units opened, to see when the export reads its pages.
#[derive(Debug)]
struct CountingStore {
    inner: MemoryStore,
    reads: AtomicUsize,
}

#[async_trait]
impl Store for CountingStore {
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.inner.write().await
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

fn allocation(
    n: u32,
    org: OrganisationId,
    admin: MemberId,
    to: MemberId,
    at: chrono::DateTime<chrono::Utc>,
) -> LedgerEntry {
    LedgerEntry {
        id: LedgerEntryId::from_uuid(uuid::Uuid::from_u128(u128::from(n) + 1)),
        org_id: org,
        kind: CreditKind::Export,
        entry_type: EntryType::Allocate,
        amount: 1,
        member_id: Some(to),
        actor: Principal::Member(admin),
        acting_as: None,
        at,
        reason: Reason::parse("monthly top-up, \"bulk\"").ok(),
        consumption: None,
    }
}

#[tokio::test]
async fn an_export_of_ten_thousand_ledger_entries_is_written_page_by_page() {
    crate::server::capture();
    let clock = Arc::new(FixedClock::default());
    let store = Arc::new(CountingStore { inner: MemoryStore::new(), reads: AtomicUsize::new(0) });
    let ports = Ports {
        store: store.clone(),
        clock: clock.clone(),
        random: Arc::new(SeededRandom::new(7)),
        passwords: Arc::new(FastPasswordHasher::new()),
        keyring: Arc::new(TestKeyring::new(b"account-memory test key")),
    };
    let accounts = Accounts::new(ports, Settings::default());
    let config = HttpConfig {
        operator_token: Some(OperatorToken::new(OPERATOR_TOKEN).unwrap()),
        ..HttpConfig::default()
    };
    let app = App {
        accounts: accounts.clone(),
        clock: clock.clone(),
        store: store.inner.clone(),
        faults: None,
        cli: TestClient::new(HttpServer::new(accounts.clone(), config).endpoint()),
    };
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;

    // A year of 10,000 entries naming Sam, written in one unit.
    let total = 10_000_u32;
    let (org_id, admin, to) = (
        OrganisationId::from_uuid(org.id.parse().unwrap()),
        MemberId::from_uuid(org.admin.id.parse().unwrap()),
        MemberId::from_uuid(sam.id.parse().unwrap()),
    );
    let start = clock.now() - chrono::Duration::days(365);
    let mut tx = store.write().await.unwrap();
    for n in 0..total {
        let at = start + chrono::Duration::seconds(i64::from(n) * 3000);
        tx.credits().append(&allocation(n, org_id, admin, to, at)).await.unwrap();
    }
    tx.commit().await.unwrap();

    let resp = app
        .cli
        .get("/api/v1/me/export")
        .header("Authorization", format!("Bearer {}", sam.token))
        .send()
        .await;
    resp.assert_status_is_ok();
    let reads_before = store.reads.load(Ordering::SeqCst);
    let mut body = resp.0.into_body().into_bytes_stream();
    let mut text = Vec::new();
    let (mut chunks, mut largest) = (0_usize, 0_usize);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        chunks += 1;
        largest = largest.max(chunk.len());
        text.extend_from_slice(&chunk);
        let reads = store.reads.load(Ordering::SeqCst) - reads_before;
        // The head came from the unit that started the export; each later chunk is one page.
        assert!(reads < chunks, "chunk {chunks} came after {reads} page reads: read ahead");
    }
    let pages = usize::try_from(total.div_ceil(PAGE)).unwrap();
    assert!(
        chunks > pages,
        "{chunks} chunks for {pages} pages: the body was not written page by page"
    );
    assert!(largest < 512 * 1024, "a chunk of {largest} bytes: more than one page at a time");
    assert!(store.reads.load(Ordering::SeqCst) - reads_before >= pages);
    let doc: Value = serde_json::from_slice(&text).unwrap();
    let ledger = doc["ledger"].as_array().unwrap();
    assert_eq!(ledger.len(), usize::try_from(total).unwrap());
    assert_eq!(ledger[9_999]["reason"], "monthly top-up, \"bulk\"");
    assert!(ledger.windows(2).all(|w| w[0]["at"].as_str() <= w[1]["at"].as_str()), "oldest first");
}
