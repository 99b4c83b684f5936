//! The contract cases, by repository, plus atomicity and concurrency. Each case starts from
//! [`StoreFactory::fresh`] and asserts only what the port documentation (or the memory
//! reference implementation, where the documentation is silent) promises.

use std::sync::Arc;

use crate::harness::{Case, StoreFactory};

mod concurrency;
mod credits;
mod idempotency;
mod limits;
mod members;
mod misc;
mod organisations;
mod outbox_audit;
mod races;
mod sessions;
mod units;

macro_rules! cases {
    ($($module:ident :: $name:ident),* $(,)?) => {
        vec![$(Case {
            name: concat!(stringify!($module), "::", stringify!($name)),
            run: |f| Box::pin($module::$name(f)),
        }),*]
    };
}

/// Every contract case, for any store.
#[must_use]
pub fn contract_cases() -> Vec<Case<dyn StoreFactory>> {
    cases![
        organisations::insert_get_lock_round_trip,
        organisations::duplicate_id_conflicts_on_primary_key,
        organisations::update_replaces_and_missing_is_not_found,
        organisations::list_pages_by_id,
        members::full_member_round_trips_through_every_read,
        members::username_is_unique,
        members::login_email_is_unique_case_insensitively,
        members::duplicate_id_conflicts_on_primary_key,
        members::update_replaces_checks_uniqueness_and_missing_is_not_found,
        members::list_filters_by_org_and_status_and_pages_by_id,
        members::counts_by_status_enabled_admins_and_plan,
        members::move_to_plan_moves_one_organisations_live_members,
        members::erase_hides_member_and_frees_email_and_username,
        credits::pools_insert_list_lock_update,
        credits::allocations_put_create_replace_and_list,
        credits::ledger_entries_round_trip,
        credits::consumption_event_ids_are_unique_per_org,
        credits::ledger_filters_and_cursor_paging,
        credits::consumption_reports_spender_and_period,
        credits::consumption_totals_per_period_spender_and_type,
        credits::consumption_totals_match_raw_sums_in_any_zone,
        misc::contacts_round_trip_oldest_first,
        misc::contact_email_unique_per_org_case_insensitively,
        misc::contact_update_and_delete_missing_are_not_found,
        sessions::sessions_round_trip_and_list_oldest_first,
        sessions::touch_only_moves_last_seen_forward,
        sessions::delete_ends_impersonation_children,
        sessions::delete_for_member_keeps_one_and_cascades,
        sessions::delete_expired_counts_children,
        sessions::api_keys_round_trip_list_touch,
        sessions::api_key_delete_and_delete_for_member,
        sessions::joined_reads_match_separate_reads,
        misc::email_change_put_replaces_every_stage,
        outbox_audit::audit_lists_newest_first_with_cursor,
        outbox_audit::claim_due_leases_earliest_due_mails,
        outbox_audit::mark_sent_forgets_content_and_reschedule_records_failure,
        outbox_audit::pending_lists_unsent_oldest_first,
        misc::catalogue_orders_by_name_and_names_are_unique,
        misc::digests_put_replace_due_earliest_first,
        misc::idempotency_insert_complete_delete_purge,
        units::dropped_unit_leaves_nothing,
        units::unit_failing_on_its_last_statement_leaves_nothing,
        units::unit_reads_back_its_own_writes,
        units::conflict_leaves_unit_usable,
        units::duplicate_ids_conflict_on_every_table,
        units::read_unit_refuses_writes_and_sees_committed_data,
        units::lookup_unit_reads_the_latest_and_refuses_writes,
        units::times_round_trip_at_microsecond_precision,
        units::second_writer_waits_for_the_lock_holder,
        concurrency::allocations_never_overdraw_the_pool,
        concurrency::add_member_never_exceeds_licences,
        concurrency::stale_profile_save_is_refused,
        concurrency::concurrent_claims_never_share_a_mail,
        concurrency::consumption_with_one_event_id_is_recorded_once,
        concurrency::invitations_in_two_organisations_never_clash_on_usernames,
        idempotency::one_key_sent_many_times_has_one_effect,
        idempotency::a_call_that_did_not_commit_leaves_its_key_free,
        idempotency::a_key_is_refused_for_another_request,
        idempotency::a_record_without_outcome_is_unreplayable_until_it_expires,
        limits::limit_rows_lock_put_known_remember_purge,
        limits::concurrent_log_ins_check_exactly_the_budget,
        races::allocation_racing_deletion_strands_nothing,
        races::allocation_racing_disable_lands_nothing_after_it,
        races::consumption_racing_deletion_strands_nothing,
        races::grants_racing_expiries_keep_the_pool_whole,
    ]
}

/// Keeps `Arc` in scope for the case modules' signatures.
type Factory = Arc<dyn StoreFactory>;
