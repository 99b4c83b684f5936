//! The profile page's other sections through the console: the email change in three steps,
//! API keys shown once, products and services, sessions, password, deleting the account.

use account_core::domain::mail::MailKind;
use account_memory::code_in;

use crate::support::{ADMIN, App, PASSWORD, SUB, login_actor};

#[tokio::test]
async fn the_email_changes_in_three_steps_with_a_code_to_each_address() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(SUB, PASSWORD).await;
    let page = b.get("/profile/email").await;
    assert!(page.html.contains("Send a code to sam@acme.test"));
    let started = b.post("/profile/email/start", Some(&page.csrf()), &[]).await;
    assert_eq!(started.location.as_deref(), Some("/profile/email"));
    let page = b.get("/profile/email").await;
    assert!(page.html.contains("Code from the mail to your current address"));
    let wrong =
        b.post("/profile/email/current-code", Some(&page.csrf()), &[("code", "000000")]).await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.html.contains("id=\"code-error\""), "{}", wrong.html);
    let mail = app.mem.last_mail(MailKind::EmailChangeCurrentCode, SUB).await.unwrap();
    let code = code_in(&mail).unwrap();
    b.post("/profile/email/current-code", Some(&page.csrf()), &[("code", &code)]).await;
    let page = b.get("/profile/email").await;
    let typo = b
        .post(
            "/profile/email/new-address",
            Some(&page.csrf()),
            &[("new_email", "samuel@acme.test"), ("new_email_repeat", "samuel@acme.tset")],
        )
        .await;
    assert_eq!(typo.status, 422);
    assert!(typo.html.contains("value=\"samuel@acme.tset\""), "what was typed stays");
    b.post(
        "/profile/email/new-address",
        Some(&page.csrf()),
        &[("new_email", "samuel@acme.test"), ("new_email_repeat", "samuel@acme.test")],
    )
    .await;
    let page = b.get("/profile/email").await;
    assert!(
        page.html.contains("A code went to <strong>samuel@acme.test</strong>"),
        "{}",
        page.html
    );
    let mail = app.mem.last_mail(MailKind::EmailChangeNewCode, "samuel@acme.test").await.unwrap();
    let done = b
        .post("/profile/email/new-code", Some(&page.csrf()), &[("code", &code_in(&mail).unwrap())])
        .await;
    assert_eq!(done.location.as_deref(), Some("/profile?notice=email-changed"));
    let profile = b.get("/profile").await;
    assert!(profile.html.contains("samuel@acme.test"));
}

#[tokio::test]
async fn an_api_key_is_shown_once_and_can_be_regenerated_and_revoked() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(SUB, PASSWORD).await;
    let profile = b.get("/profile").await;
    let created = b.post("/profile/api-keys", Some(&profile.csrf()), &[("label", "CRM")]).await;
    assert_eq!(created.status, 200);
    assert_eq!(created.headers.get("cache-control").unwrap(), "no-store");
    let start = created.html.find("value=\"ack_").unwrap() + "value=\"".len();
    let secret: String = created.html[start..].chars().take_while(|c| *c != '"').collect();
    assert!(app.mem.accounts.auth().authenticate_api_key(&secret).await.is_ok());
    // Listed by prefix only, never the secret again.
    let profile = b.get("/profile").await;
    assert!(!profile.html.contains(&secret));
    let key_path = {
        let at = profile.html.find("/profile/api-keys/").unwrap();
        profile.html[at..].split('"').next().unwrap().to_owned()
    };
    let regenerated = b.post(&key_path, Some(&profile.csrf()), &[]).await;
    assert!(regenerated.html.contains("The old key has stopped working"), "{}", regenerated.html);
    assert!(app.mem.accounts.auth().authenticate_api_key(&secret).await.is_err());
    let profile = b.get("/profile").await;
    let revoke = {
        let at = profile.html.find("/revoke\"").unwrap();
        let start = profile.html[..at].rfind('"').unwrap() + 1;
        format!("{}/revoke", &profile.html[start..at])
    };
    let revoked = b.post(&revoke, Some(&profile.csrf()), &[]).await;
    assert_eq!(revoked.location.as_deref(), Some("/profile?notice=key-revoked#api-keys"));
    assert!(b.get("/profile").await.html.contains("You have no API keys"));
}

#[tokio::test]
async fn products_and_services_take_free_text_one_per_line() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(SUB, PASSWORD).await;
    let profile = b.get("/profile").await;
    let saved = b
        .post(
            "/profile/offerings",
            Some(&profile.csrf()),
            &[("custom", "Lead generation\r\n\r\nlead generation\r\nCRM audits")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let actor = login_actor(&app.mem.accounts, SUB).await;
    let me = app.mem.accounts.profile().me(&actor).await.unwrap();
    assert_eq!(me.member.offerings.len(), 2, "de-duplicated: {:?}", me.member.offerings);
    let long = "x".repeat(200);
    let refused = b.post("/profile/offerings", Some(&profile.csrf()), &[("custom", &long)]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("Entry 1"), "{}", refused.html);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(SUB, PASSWORD).await;
    let other = login_actor(&app.mem.accounts, SUB).await;
    let profile = b.get("/profile").await;
    let new = "a much longer passphrase of mine";
    let wrong = b
        .post(
            "/profile/password",
            Some(&profile.csrf()),
            &[
                ("current_password", "wrong wrong wrong"),
                ("new_password", new),
                ("new_password_repeat", new),
            ],
        )
        .await;
    assert!(wrong.html.contains("id=\"current_password-error\""));
    let done = b
        .post(
            "/profile/password",
            Some(&profile.csrf()),
            &[("current_password", PASSWORD), ("new_password", new), ("new_password_repeat", new)],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/profile?notice=password-changed#password"));
    let left = app.mem.accounts.auth().sessions(&other).await.unwrap();
    assert!(left.iter().all(|s| Some(s.id) != other.session()), "the other session ended");
    assert_eq!(b.get("/profile").await.status, 200, "this one goes on");
}

#[tokio::test]
async fn another_session_can_be_logged_out_from_the_list() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let other = login_actor(&app.mem.accounts, ADMIN).await;
    let profile = b.get("/profile").await;
    let path = format!("/profile/sessions/{}/revoke", other.session().unwrap());
    assert!(profile.html.contains(&path), "the other session is listed with Log out");
    let done = b.post(&path, Some(&profile.csrf()), &[]).await;
    assert_eq!(done.status, 303);
    let left = app.mem.accounts.auth().sessions(&other).await.unwrap();
    assert!(left.iter().all(|s| Some(s.id) != other.session()), "{left:?}");
}

#[tokio::test]
async fn deleting_the_account_needs_a_confirmation_and_logs_out() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(SUB, PASSWORD).await;
    let page = b.get("/profile/delete").await;
    assert!(page.html.contains("This cannot be undone"));
    let unconfirmed = b.post("/profile/delete", Some(&page.csrf()), &[]).await;
    assert_eq!(unconfirmed.status, 422);
    let wrong =
        b.post("/profile/delete", Some(&page.csrf()), &[("username", "someone else")]).await;
    assert_eq!(wrong.status, 422);
    let done = b.post("/profile/delete", Some(&page.csrf()), &[("password", PASSWORD)]).await;
    assert_eq!(done.location.as_deref(), Some("/login?notice=deleted"));
    assert!(!b.has_cookie("accounts-session"));
    assert_eq!(b.log_in(SUB, PASSWORD).await.status, 401);
}

#[tokio::test]
async fn the_deletion_step_offers_the_export_which_downloads_the_members_data() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(SUB, PASSWORD).await;
    let profile = b.get("/profile").await;
    assert!(profile.html.contains("export anything you need before proceeding"));
    assert!(profile.html.contains("href=\"/profile/export\""));
    assert!(b.get("/profile/delete").await.html.contains("href=\"/profile/export\""));
    let export = b.get("/profile/export").await;
    assert_eq!(export.status, 200);
    let header = |name: &str| export.headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(header("content-type"), Some("application/json; charset=utf-8"));
    assert!(header("content-disposition").is_some_and(|d| d.starts_with("attachment;")));
    assert_eq!(header("cache-control"), Some("no-store"));
    // The API's document: the same format, with Sam's data.
    assert!(export.html.starts_with("{\"format\":\"accounts.member-export.v1\""));
    assert!(export.html.contains(&format!("\"email\":\"{SUB}\"")));
    assert!(!export.html.contains(ADMIN), "nothing of another member");
    assert!(export.html.ends_with("]}"));

    // The team's ledger and audit log are admins' downloads.
    assert_eq!(b.get("/audit.csv").await.status, 403);
    assert_eq!(b.get("/team/ledger.csv").await.status, 403);
    let mut admin = app.browser();
    admin.log_in(ADMIN, PASSWORD).await;
    assert!(admin.get("/audit").await.html.contains("href=\"/audit.csv\""));
    assert!(admin.get("/team").await.html.contains("href=\"/team/ledger.csv\""));
    let audit = admin.get("/audit.csv").await;
    assert_eq!(audit.status, 200);
    assert!(audit.html.starts_with("id,at,actor,acting_as,action,target,detail\r\n"));
    assert!(audit.html.contains("member.invitation_accepted"));
    let ledger = admin.get("/team/ledger.csv").await;
    assert_eq!(ledger.status, 200);
    assert!(ledger.html.starts_with("id,at,kind,entry_type,amount,"));
}
