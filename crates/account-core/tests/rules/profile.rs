//! Rules 5, 6, 19 and 20: profile validation and versions, preferences, products and services.

use account_core::domain::preferences::{ExportDefaults, ExportFormat, NotificationSettings};
use account_core::domain::products::{Offering, OfferingInput};
use account_core::services::profile::{
    PreferencesInput, ProfileInput, SaveProfileError, SetOfferingsError, SetPreferencesError,
};
use account_core::services::team::EditMemberProfileError;
use chrono::{Duration, TimeZone, Utc};

use crate::support::{World, op};

fn profile(first: &str) -> ProfileInput {
    ProfileInput {
        first_name: first.into(),
        last_name: Some("Lovelace".into()),
        phone: Some("+46 70 123 45 67".into()),
        company: Some("Acme AB".into()),
        job_title: Some("Engineer".into()),
        linkedin: Some("https://www.linkedin.com/in/ada".into()),
    }
}

#[tokio::test]
async fn rule_05_every_invalid_field_is_named_with_what_to_fix() {
    let w = World::new().await;
    let input = ProfileInput {
        first_name: "x".repeat(101),
        last_name: Some("Ok".into()),
        phone: Some("0701234567".into()),
        company: Some("c".repeat(201)),
        job_title: Some("line\nbreak".into()),
        linkedin: Some("https://example.com/in/ada".into()),
    };
    let result = w.accounts().profile().save_profile(&w.admin, &input, 1).await;
    let Err(SaveProfileError::Validation(errors)) = result else { panic!("{result:?}") };
    let got: Vec<(&str, &str)> =
        errors.fields().iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[0], ("first_name", "must be at most 100 characters"));
    assert_eq!(got[1].0, "phone");
    assert!(got[1].1.contains("E.164"));
    assert_eq!(got[2], ("company", "must be at most 200 characters"));
    assert_eq!(got[3].0, "job_title");
    assert_eq!(got[4].0, "linkedin");
    // Nothing was saved.
    assert_eq!(w.accounts().profile().me(&w.admin).await.unwrap().member.profile_version, 1);
}

#[tokio::test]
async fn rule_05_valid_fields_are_normalised_and_empty_ones_clear() {
    let w = World::new().await;
    let saved = w.accounts().profile().save_profile(&w.admin, &profile("Ada"), 1).await.unwrap();
    assert_eq!(saved.profile.phone.as_ref().unwrap().as_str(), "+46701234567");
    let cleared =
        ProfileInput { first_name: "Ada".into(), phone: Some(String::new()), ..Default::default() };
    let saved = w.accounts().profile().save_profile(&w.admin, &cleared, 2).await.unwrap();
    assert!(saved.profile.phone.is_none() && saved.profile.last_name.is_none());
}

#[tokio::test]
async fn rule_06_a_stale_save_is_refused_never_merged_and_reset_rereads() {
    let w = World::new().await;
    let profiles = w.accounts().profile();
    // Two tabs read version 1.
    let v = profiles.me(&w.admin).await.unwrap().member.profile_version;
    let first = profiles.save_profile(&w.admin, &profile("First"), v).await.unwrap();
    assert_eq!(first.profile_version, v + 1);
    let stale = profiles.save_profile(&w.admin, &profile("Second"), v).await;
    assert!(
        matches!(stale, Err(SaveProfileError::StaleVersion { current }) if current == v + 1),
        "{stale:?}"
    );
    // "Reset" is a re-read: it shows the first save, untouched by the refused one.
    let reset = profiles.me(&w.admin).await.unwrap().member;
    assert_eq!(reset.profile.first_name.as_str(), "First");
    assert_eq!(reset.profile_version, v + 1);
}

#[tokio::test]
async fn rule_06_an_admin_edit_is_versioned_the_same_way() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let team = w.accounts().team();
    team.edit_profile(&w.admin, sam.member(), &profile("Samuel"), 1).await.unwrap();
    let stale = w.accounts().profile().save_profile(&sam, &profile("Sam"), 1).await;
    assert!(matches!(stale, Err(SaveProfileError::StaleVersion { current: 2 })));
    let again = team.edit_profile(&w.admin, sam.member(), &profile("Sammy"), 1).await;
    assert!(matches!(again, Err(EditMemberProfileError::StaleVersion { current: 2 })));
}

fn prefs(tz: &str, digest: bool) -> PreferencesInput {
    PreferencesInput {
        notifications: NotificationSettings {
            low_credit_alerts: true,
            weekly_usage_digest: digest,
            product_news: false,
        },
        export: ExportDefaults {
            format: ExportFormat::Xlsx,
            include_emails: true,
            include_phone_numbers: false,
        },
        timezone: tz.into(),
    }
}

#[tokio::test]
async fn rule_19_preferences_are_saved_and_a_bad_zone_is_named() {
    let w = World::new().await;
    let profiles = w.accounts().profile();
    let saved =
        profiles.set_preferences(&w.admin, &prefs("Europe/Stockholm", false)).await.unwrap();
    assert_eq!(saved.timezone.name(), "Europe/Stockholm");
    let me = profiles.me(&w.admin).await.unwrap().member;
    assert_eq!(me.preferences.export.format, ExportFormat::Xlsx);
    let bad = profiles.set_preferences(&w.admin, &prefs("Europe/Atlantis", false)).await;
    let Err(SetPreferencesError::Validation(e)) = bad else { panic!("{bad:?}") };
    assert_eq!(e.fields()[0].field, "timezone");
}

#[tokio::test]
async fn rule_19_a_zone_change_applies_from_now_on_and_scheduled_digests_keep_theirs() {
    let w = World::new().await;
    let profiles = w.accounts().profile();
    // Monday 2026-01-05 09:00 UTC: the next Monday 08:00 in Stockholm is 2026-01-12 07:00 UTC.
    profiles.set_preferences(&w.admin, &prefs("Europe/Stockholm", true)).await.unwrap();
    // Change the zone: the digest already scheduled keeps Stockholm time.
    profiles.set_preferences(&w.admin, &prefs("America/New_York", true)).await.unwrap();
    let digests = w.accounts().digests();
    w.mem.clock.set(Utc.with_ymd_and_hms(2026, 1, 12, 6, 59, 0).unwrap());
    assert_eq!(digests.run_due(10).await.unwrap(), 0);
    w.mem.clock.set(Utc.with_ymd_and_hms(2026, 1, 12, 7, 0, 0).unwrap());
    assert_eq!(digests.run_due(10).await.unwrap(), 1, "due at Stockholm 08:00");
    assert!(
        w.mem
            .last_mail(
                account_core::domain::mail::MailKind::WeeklyDigest,
                crate::support::ADMIN_EMAIL
            )
            .await
            .is_some()
    );
    // The next one is scheduled in the zone in force now: New York 08:00 = 13:00 UTC in January.
    w.mem.clock.set(Utc.with_ymd_and_hms(2026, 1, 19, 12, 59, 0).unwrap());
    assert_eq!(digests.run_due(10).await.unwrap(), 0);
    w.mem.clock.advance(Duration::minutes(1));
    assert_eq!(digests.run_due(10).await.unwrap(), 1, "due at New York 08:00");
    // Turning the digest off unschedules it.
    profiles.set_preferences(&w.admin, &prefs("America/New_York", false)).await.unwrap();
    w.mem.clock.advance(Duration::days(8));
    assert_eq!(digests.run_due(10).await.unwrap(), 0);
}

#[tokio::test]
async fn rule_20_products_and_services_are_deduplicated_against_the_catalogue() {
    let w = World::new().await;
    let product = w.accounts().operator().create_product(&op(), "Lead Generation").await.unwrap();
    let catalogue = w.accounts().profile().catalogue(&w.admin).await.unwrap();
    assert_eq!(catalogue.len(), 1);
    let saved = w
        .accounts()
        .profile()
        .set_offerings(
            &w.admin,
            &[
                OfferingInput::Catalogue(product.id),
                OfferingInput::Text("lead generation".into()),
                OfferingInput::Text("Cold  calling".into()),
                OfferingInput::Text("cold calling".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[0], Offering::Catalogue(product.id));
    assert_eq!(w.accounts().profile().me(&w.admin).await.unwrap().member.offerings, saved);
    let too_many: Vec<_> = (0..21).map(|i| OfferingInput::Text(format!("service {i}"))).collect();
    let refused = w.accounts().profile().set_offerings(&w.admin, &too_many).await;
    assert!(matches!(refused, Err(SetOfferingsError::Validation(_))), "{refused:?}");
}

#[tokio::test]
async fn rule_20_a_retired_product_stays_with_who_holds_it_but_cannot_be_picked_anew() {
    let w = World::new().await;
    let ops = w.accounts().operator();
    let held = ops.create_product(&op(), "Lead Generation").await.unwrap();
    let other = ops.create_product(&op(), "Data Cleaning").await.unwrap();
    let profiles = w.accounts().profile();
    profiles.set_offerings(&w.admin, &[OfferingInput::Catalogue(held.id)]).await.unwrap();
    for id in [held.id, other.id] {
        ops.update_product(&op(), id, None, Some(false)).await.unwrap();
    }
    assert!(profiles.catalogue(&w.admin).await.unwrap().is_empty(), "retired: not offered");
    // Saving the list again keeps the retired product the member already holds.
    let saved = profiles
        .set_offerings(
            &w.admin,
            &[OfferingInput::Catalogue(held.id), OfferingInput::Text("Cold calling".into())],
        )
        .await
        .unwrap();
    assert_eq!(saved[0], Offering::Catalogue(held.id));
    // Picking a retired product anew is refused, naming the entry; nothing is saved.
    let refused = profiles
        .set_offerings(
            &w.admin,
            &[OfferingInput::Catalogue(held.id), OfferingInput::Catalogue(other.id)],
        )
        .await;
    let Err(SetOfferingsError::Validation(errors)) = refused else { panic!("{refused:?}") };
    assert_eq!(errors.fields()[0].field, "offerings[1]");
    assert!(errors.fields()[0].message.contains("retired"), "{errors:?}");
    assert_eq!(profiles.me(&w.admin).await.unwrap().member.offerings, saved);
    // Once dropped from the list, a retired product cannot come back.
    profiles.set_offerings(&w.admin, &[]).await.unwrap();
    let again = profiles.set_offerings(&w.admin, &[OfferingInput::Catalogue(held.id)]).await;
    assert!(matches!(again, Err(SetOfferingsError::Validation(_))), "{again:?}");
}

#[tokio::test]
async fn rule_05_a_postal_address_is_bounded_lines_and_a_bad_line_is_named() {
    use account_core::services::organisation::{CustomerInfoInput, SaveCustomerInfoError};
    let w = World::new().await;
    let orgs = w.accounts().organisation();
    let lines = |l: &[&str]| CustomerInfoInput {
        postal_address: l.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    let saved = orgs
        .save_customer_info(&w.admin, &lines(&["Acme AB", " Box 1 ", "", "111 22 Stockholm"]), 1)
        .await
        .unwrap();
    let address = saved.customer_info.postal_address.as_ref().unwrap();
    assert_eq!(address.lines(), ["Acme AB", "Box 1", "111 22 Stockholm"]);
    assert_eq!(
        orgs.get(&w.admin).await.unwrap().customer_info.postal_address.as_ref(),
        Some(address)
    );

    let long = "x".repeat(101);
    for (input, field) in [
        (lines(&["ok", &long]), "postal_address[1]"),
        (lines(&["a", "b", "c", "d", "e", "f", "g"]), "postal_address"),
        (lines(&["Box 1\nStockholm"]), "postal_address[0]"),
    ] {
        let r = orgs.save_customer_info(&w.admin, &input, 2).await;
        let Err(SaveCustomerInfoError::Validation(e)) = r else { panic!("{field}: {r:?}") };
        assert_eq!(e.fields()[0].field, field);
    }
    // No line clears it.
    let cleared = orgs.save_customer_info(&w.admin, &lines(&[]), 2).await.unwrap();
    assert!(cleared.customer_info.postal_address.is_none());
}
