//! The organisation page over the built server: customer info (save with If-Match, stale
//! save), the read-only registration number, contact addresses (add with a mailed code,
//! verify, set roles, removal refused while a role would be unheld, remove).

use serde_json::json;

use crate::support::{Backend, Site, backends};

#[test]
fn customer_info_and_contacts() {
    for backend in backends("customer_info_and_contacts") {
        organisation_flow(backend);
    }
}

fn organisation_flow(backend: Backend) {
    let site = Site::new(backend);
    let app = site.serve();
    let org = app.org("Acme", "ada@acme.test", 5);
    let admin = org.admin.auth();

    let o = app.get("/api/v1/organisation", &admin);
    o.expect(200);
    assert_eq!(o.str("/registration_number"), "556677-8899");

    let info = app.get("/api/v1/organisation/customer-info", &admin);
    info.expect(200);
    let etag = info.header("etag").unwrap();
    let body = json!({
        "contact_person": "Ada Admin", "postal_address": ["Storgatan 1", "Stockholm"],
        "company_name": "Acme AB", "purchase_order_number": "PO-42",
    });
    let saved = app.put_if("/api/v1/organisation/customer-info", &admin, &etag, body.clone());
    saved.expect(200);
    assert_eq!(saved.str("/purchase_order_number"), "PO-42");
    app.put_if("/api/v1/organisation/customer-info", &admin, &etag, body)
        .expect_problem(412, "stale-version");
    assert_eq!(
        app.get("/api/v1/organisation/customer-info", &admin).str("/company_name"),
        "Acme AB"
    );

    // The admin's address holds every role at first.
    let list = app.get("/api/v1/organisation/contacts", &admin);
    let sole = list.body["items"][0].clone();
    assert_eq!(sole["roles"], json!(["billing", "tech", "dpo"]));
    let sole_id = sole["id"].as_str().unwrap().to_owned();

    let mark = app.mark();
    let added =
        app.post("/api/v1/organisation/contacts", &admin, json!({"email": "dpo@acme.test"}));
    added.expect(201);
    assert_eq!(added.body["verified"], false);
    let id = added.str("/id");
    let code = app.mail_to("dpo@acme.test", &mark).code();
    let contact = format!("/api/v1/organisation/contacts/{id}");
    app.put(&format!("{contact}/roles"), &admin, json!({"roles": ["dpo"]}))
        .expect_problem(409, "contact-not-verified");
    app.post(&format!("{contact}/verify"), &admin, json!({"code": "000000"}))
        .expect_problem(422, "code-wrong");
    let verified = app.post(&format!("{contact}/verify"), &admin, json!({"code": code}));
    verified.expect(200);
    assert_eq!(verified.body["verified"], true);
    let roles = app.put(&format!("{contact}/roles"), &admin, json!({"roles": ["dpo"]}));
    roles.expect(200);
    assert_eq!(roles.body["roles"], json!(["dpo"]));
    app.put(
        &format!("/api/v1/organisation/contacts/{sole_id}/roles"),
        &admin,
        json!({"roles": ["billing", "tech"]}),
    )
    .expect(200);
    // Removing the only DPO address is refused, naming the role.
    let refused = app.delete(&contact, &admin);
    refused.expect_problem(409, "roles-unheld");
    assert_eq!(refused.body["roles"], json!(["dpo"]));
    app.put(
        &format!("/api/v1/organisation/contacts/{sole_id}/roles"),
        &admin,
        json!({"roles": ["billing", "tech", "dpo"]}),
    )
    .expect(200);
    app.delete(&contact, &admin).expect(204);
    let list = app.get("/api/v1/organisation/contacts", &admin);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}
