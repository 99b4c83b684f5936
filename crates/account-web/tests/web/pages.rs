//! Who sees what: admin pages for admins only, impersonation offered only where the rules
//! allow it, the invitation link, a stale save, the usage report's CSV, seats per plan.

use account_core::ports::Page as StorePage;

use crate::support::{ADMIN, App, PASSWORD, SUB, login_actor};

#[tokio::test]
async fn sub_users_see_no_admin_links_and_get_the_403_page() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(SUB, PASSWORD).await;
    let profile = b.get("/profile").await;
    assert_eq!(profile.status, 200);
    for href in ["href=\"/team\"", "href=\"/organisation\"", "href=\"/audit\""] {
        assert!(!profile.html.contains(href), "{href} offered to a sub-user");
    }
    for path in ["/team", "/team/add", "/organisation", "/organisation/contacts", "/audit"] {
        let page = b.get(path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.html.contains("Admins only"), "{path}");
    }
    let mut admin = app.browser();
    admin.log_in(ADMIN, PASSWORD).await;
    let profile = admin.get("/profile").await;
    for href in ["href=\"/team\"", "href=\"/organisation\"", "href=\"/audit\""] {
        assert!(profile.html.contains(href), "{href} missing for an admin");
    }
    assert_eq!(admin.get("/team").await.status, 200);
}

#[tokio::test]
async fn impersonation_is_offered_for_enabled_sub_users_only_and_hides_what_rule_16_keeps() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let team = b.get("/team").await;
    assert_eq!(team.html.matches("/impersonate\"").count(), 1, "the sub-user only, not the admin");
    let admin = login_actor(&app.mem.accounts, ADMIN).await;
    let rows = app
        .mem
        .accounts
        .team()
        .members(&admin, None, StorePage { after: None, limit: 10 })
        .await
        .unwrap();
    let sam = rows.iter().find(|r| r.member.email.as_str() == SUB).unwrap().member.id;
    let form = b.get(&format!("/team/members/{sam}/impersonate")).await;
    let started = b
        .post(
            &format!("/team/members/{sam}/impersonate"),
            Some(&form.csrf()),
            &[("reason", "support call")],
        )
        .await;
    assert_eq!(started.location.as_deref(), Some("/profile?notice=impersonating"));
    let profile = b.get("/profile").await;
    assert!(
        profile.html.contains("You are viewing the console as <strong>Sam</strong>"),
        "{}",
        profile.html
    );
    for hidden in [
        "id=\"api-keys\"",
        "id=\"password\"",
        "id=\"delete\"",
        "href=\"/profile/email\"",
        "href=\"/profile/export\"",
    ] {
        assert!(!profile.html.contains(hidden), "{hidden} offered under an impersonation");
    }
    // Asked for anyway, the core refuses.
    assert_eq!(b.get("/profile/delete").await.status, 200, "the page itself is harmless");
    let refused = b.post("/profile/delete", Some(&profile.csrf()), &[("password", PASSWORD)]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    // Sam's personal data is not the admin's to download either (rule 16, as deletion).
    let export = b.get("/profile/export").await;
    assert_eq!(export.status, 403, "{}", export.html);
    // The 403 page keeps the banner, and Exit returns to the admin's own session.
    let forbidden = b.get("/team").await;
    assert_eq!(forbidden.status, 403);
    assert!(forbidden.html.contains("/impersonation/exit"), "{}", forbidden.html);
    let exit = b.post("/impersonation/exit", Some(&forbidden.csrf()), &[]).await;
    assert_eq!(exit.location.as_deref(), Some("/team?notice=impersonation-ended"));
    let team = b.get("/team").await;
    assert_eq!(team.status, 200);
    assert!(!team.html.contains("/impersonation/exit"));
}

#[tokio::test]
async fn the_invitation_link_lands_on_a_form_that_sets_the_password() {
    let app = App::new("http://127.0.0.1:8080").await;
    let admin = login_actor(&app.mem.accounts, ADMIN).await;
    app.mem
        .accounts
        .team()
        .add_member(
            &admin,
            &account_core::services::team::NewMember {
                first_name: "Nina".into(),
                last_name: None,
                email: "nina@acme.test".into(),
                plan: None,
            },
            None,
        )
        .await
        .unwrap();
    let mail = app
        .mem
        .last_mail(account_core::domain::mail::MailKind::Invitation, "nina@acme.test")
        .await
        .unwrap();
    assert!(
        mail.body.contains("http://127.0.0.1:8080/accept-invitation?token=aci_"),
        "{}",
        mail.body
    );
    let token = account_memory::token_in(&mail, "aci_").unwrap();
    let mut b = app.browser();
    let form = b.get(&format!("/accept-invitation?token={token}")).await;
    assert_eq!(form.status, 200);
    let short = b
        .post(
            "/accept-invitation",
            Some(&form.csrf()),
            &[("token", &token), ("password", "short"), ("password_repeat", "short")],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.html.contains("aria-invalid=\"true\""), "the field is marked");
    let done = b
        .post(
            "/accept-invitation",
            Some(&form.csrf()),
            &[("token", &token), ("password", PASSWORD), ("password_repeat", PASSWORD)],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/login?notice=invitation-accepted"));
    assert_eq!(b.log_in("nina@acme.test", PASSWORD).await.location.as_deref(), Some("/profile"));
    // Used once: the same link no longer works.
    let again = b
        .post(
            "/accept-invitation",
            Some(&form.csrf()),
            &[("token", &token), ("password", PASSWORD), ("password_repeat", PASSWORD)],
        )
        .await;
    assert!(again.html.contains("The invitation is not valid"), "{}", again.html);
}

#[tokio::test]
async fn a_form_sent_twice_adds_the_user_once() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let form = b.get("/team/add").await;
    let start = form.html.find("name=\"form_key\" value=\"").unwrap() + 24;
    let key: String = form.html[start..].chars().take_while(|c| *c != '"').collect();
    let fields = [("form_key", key.as_str()), ("first_name", "Nina"), ("email", "nina@acme.test")];
    let first = b.post("/team/add", Some(&form.csrf()), &fields).await;
    let again = b.post("/team/add", Some(&form.csrf()), &fields).await;
    assert_eq!(first.location.as_deref(), Some("/team?notice=member-added"));
    assert_eq!(again.location, first.location, "the second is the first's answer: {}", again.html);
    let admin = login_actor(&app.mem.accounts, ADMIN).await;
    assert_eq!(app.mem.accounts.team().summary(&admin).await.unwrap().enabled, 3);
    let invitations = app
        .mem
        .mails()
        .await
        .into_iter()
        .filter(|(_, m)| m.to.as_str() == "nina@acme.test")
        .count();
    assert_eq!(invitations, 1);
}

#[tokio::test]
async fn invalid_fields_are_named_next_to_each_field() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let profile = b.get("/profile").await;
    let saved = b
        .post(
            "/profile",
            Some(&profile.csrf()),
            &[
                ("version", "1"),
                ("first_name", "Ada"),
                ("phone", "12"),
                ("linkedin", "https://example.com/x"),
            ],
        )
        .await;
    assert_eq!(saved.status, 422, "{}", saved.html);
    for id in ["phone-error", "linkedin-error"] {
        assert!(saved.html.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(saved.html.contains("value=\"12\""), "what was typed stays in the field");
}

#[tokio::test]
async fn a_stale_save_shows_what_changed_and_overwrites_nothing() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let profile = b.get("/profile").await;
    let actor = login_actor(&app.mem.accounts, ADMIN).await;
    let input = account_core::services::profile::ProfileInput {
        first_name: "Ada".into(),
        job_title: Some("CTO".into()),
        ..Default::default()
    };
    let read = app.mem.accounts.profile().me(&actor).await.unwrap().member.profile_version;
    assert!(profile.html.contains(&format!("name=\"version\" value=\"{read}\"")));
    app.mem.accounts.profile().save_profile(&actor, &input, read).await.unwrap();
    let version = read.to_string();
    let stale = b
        .post(
            "/profile",
            Some(&profile.csrf()),
            &[("version", &version), ("first_name", "Ada"), ("job_title", "Head of Sales")],
        )
        .await;
    assert_eq!(stale.status, 409);
    assert!(stale.html.contains("Someone else saved this profile"));
    assert!(stale.html.contains("<td>CTO</td><td>Head of Sales</td>"), "{}", stale.html);
    let me = app.mem.accounts.profile().me(&actor).await.unwrap();
    assert_eq!(me.member.profile.job_title.map(|j| j.to_string()).as_deref(), Some("CTO"));
    let now = format!("name=\"version\" value=\"{}\"", read + 1);
    assert!(stale.html.contains(&now), "saving again is deliberate");
}

#[tokio::test]
async fn the_usage_report_downloads_as_csv_and_checks_its_period() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let page = b.get("/usage?from=2026-01-01&to=2026-01-05&bucket=day").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("<svg"), "the chart is drawn on the server");
    let csv = b.get("/usage.csv?from=2026-01-01&to=2026-01-05&bucket=day&who=team").await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.headers.get("content-type").unwrap(), "text/csv; charset=utf-8");
    assert!(csv.html.starts_with("breakdown,name,credits\r\ntotal,all,0\r\n"), "{}", csv.html);
    assert!(csv.html.contains("day,2026-01-05,0"), "{}", csv.html);
    let bad = b.get("/usage?from=2026-01-05&to=2026-01-01").await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("To must not be before from"), "{}", bad.html);
}

#[tokio::test]
async fn the_postal_address_is_edited_line_by_line_in_a_text_area() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let page = b.get("/organisation").await;
    assert!(page.html.contains("<textarea id=\"postal_address\""), "{}", page.html);
    let version = {
        let at = page.html.find("name=\"version\" value=\"").unwrap()
            + "name=\"version\" value=\"".len();
        page.html[at..].split('"').next().unwrap().to_owned()
    };
    let saved = b
        .post(
            "/organisation",
            Some(&page.csrf()),
            &[
                ("version", &version),
                ("postal_address", "Acme AB\r\nBox 1\r\n\r\n111 22 Stockholm"),
            ],
        )
        .await;
    assert_eq!(saved.location.as_deref(), Some("/organisation?notice=customer-info-saved"));
    let admin = crate::support::login_actor(&app.mem.accounts, ADMIN).await;
    let org = app.mem.accounts.organisation().get(&admin).await.unwrap();
    let address = org.customer_info.postal_address.unwrap();
    assert_eq!(address.lines(), ["Acme AB", "Box 1", "111 22 Stockholm"]);
    let page = b.get("/organisation").await;
    assert!(page.html.contains(">Acme AB\nBox 1\n111 22 Stockholm</textarea>"), "{}", page.html);

    // A line too long is named by its number; what was typed stays.
    let long = format!("Acme AB\r\n{}", "x".repeat(101));
    let refused = b
        .post(
            "/organisation",
            Some(&page.csrf()),
            &[("version", &org.customer_info_version.to_string()), ("postal_address", &long)],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.html.contains("Address, line 2: must be at most 100 characters."),
        "{}",
        refused.html
    );
    assert!(refused.html.contains(&"x".repeat(101)));
}

#[tokio::test]
async fn the_team_page_shows_each_plans_use_adds_on_a_plan_and_moves_a_seat() {
    use account_core::services::operator::{NewPlanSeats, Operator};
    let app = App::new("http://127.0.0.1:8080").await;
    let seats = |plan: &str, licences| NewPlanSeats { plan: plan.into(), licences, replaces: None };
    let plans = [seats("Professional", 3), seats("Basic", 1)];
    app.mem.accounts.operator().set_seats(&Operator::new("test"), app.org, &plans).await.unwrap();
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let row = |plan: &str, cells: [u32; 4]| {
        let [enabled, disabled, licences, free] = cells;
        format!(
            "<th scope=\"row\">{plan}</th><td data-label=\"Enabled\">{enabled}</td><td data-label=\"Disabled\">{disabled}</td><td data-label=\"Licences\">{licences}</td><td data-label=\"Free\">{free}</td>"
        )
    };
    let team = b.get("/team").await;
    assert!(team.html.contains(&row("Professional", [2, 0, 3, 1])), "{}", team.html);
    assert!(team.html.contains(&row("Basic", [0, 0, 1, 1])));
    // Add users names the plans with their free licences; the new user takes the one picked.
    let form = b.get("/team/add").await;
    assert!(
        form.html.contains("<option value=\"Basic\">Basic (1 of 1 free)</option>"),
        "{}",
        form.html
    );
    let add = |email: &'static str| [("first_name", "Nina"), ("email", email), ("plan", "Basic")];
    let added = b.post("/team/add", Some(&form.csrf()), &add("nina@acme.test")).await;
    assert_eq!(added.location.as_deref(), Some("/team?notice=member-added"), "{}", added.html);
    let full = b.post("/team/add", Some(&form.csrf()), &add("olle@acme.test")).await;
    assert_eq!(full.status, 422);
    assert!(full.html.contains("id=\"plan-error\""), "the refusal is at the plan: {}", full.html);
    assert!(full.html.contains("licences of the Basic plan are in use"));
    // A member's edit page moves the seat, within the new plan's free licences.
    let admin = login_actor(&app.mem.accounts, ADMIN).await;
    let team_service = app.mem.accounts.team();
    let members = team_service.members(&admin, None, StorePage { after: None, limit: 10 });
    let members = members.await.unwrap();
    let id_of = |email: &str| {
        members.iter().find(|r| r.member.email.as_str() == email).unwrap().member.id.to_string()
    };
    let (sam, nina) = (id_of(SUB), id_of("nina@acme.test"));
    let page = b.get(&format!("/team/members/{sam}/profile")).await;
    assert!(page.html.contains("seat is on the Professional plan"), "{}", page.html);
    let refused = b
        .post(&format!("/team/members/{sam}/plan"), Some(&page.csrf()), &[("plan", "Basic")])
        .await;
    assert_eq!(refused.status, 409);
    assert!(
        refused.html.contains("role=\"alert\">All 1 licences of the Basic plan are in use"),
        "{}",
        refused.html
    );
    let page = b.get(&format!("/team/members/{nina}/profile")).await;
    let moved = b
        .post(
            &format!("/team/members/{nina}/plan"),
            Some(&page.csrf()),
            &[("plan", "Professional")],
        )
        .await;
    assert_eq!(moved.location.as_deref(), Some("/team?notice=plan-changed"));
    let team = b.get("/team").await;
    assert!(team.html.contains(&row("Professional", [3, 0, 3, 0])), "{}", team.html);
    assert!(team.html.contains(&row("Basic", [0, 0, 1, 1])));
}
