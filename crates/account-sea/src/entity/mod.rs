//! sea-orm entities, one per table. They are this crate's private view of the rows: the
//! repositories map them to and from `account-core`'s domain types, and nothing outside the
//! crate sees them. Their `Debug` prints keys only, since rows hold personal data and digests.

/// `Debug` for a `Model` that shows only the named (non-personal) fields.
macro_rules! debug_keys_only {
    ($($field:ident),+) => {
        impl std::fmt::Debug for Model {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(module_path!())
                    $(.field(stringify!($field), &self.$field))+
                    .finish_non_exhaustive()
            }
        }
    };
}

pub(crate) mod allocations;
pub(crate) mod api_keys;
pub(crate) mod audit_entries;
pub(crate) mod consumption_rollups;
pub(crate) mod contacts;
pub(crate) mod credit_pools;
pub(crate) mod digests;
pub(crate) mod email_changes;
pub(crate) mod idempotency_records;
pub(crate) mod known_clients;
pub(crate) mod ledger_entries;
pub(crate) mod limits;
pub(crate) mod members;
pub(crate) mod organisations;
pub(crate) mod outbox;
pub(crate) mod products;
pub(crate) mod sessions;
