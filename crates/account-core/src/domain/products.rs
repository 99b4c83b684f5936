//! Products and services (rule 20): free text or entries of an operator-managed catalogue,
//! de-duplicated, bounded in length and count.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::text::{TextError, bounded, bounded_stored};
use crate::error::ValidationErrors;
use crate::ids::ProductId;

/// Longest free-text offering or product name, in characters.
pub const MAX_OFFERING_LEN: usize = 80;
/// Most offerings a member may list.
pub const MAX_OFFERINGS: usize = 20;

/// A catalogue entry's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ProductName(String);

impl ProductName {
    /// Trims, collapses inner spaces and bounds the name.
    ///
    /// # Errors
    /// [`TextError`] naming what is wrong.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded(&collapse_spaces(input), MAX_OFFERING_LEN).map(Self)
    }

    /// Reads back a stored name (see [`bounded_stored`]): for stores, not input.
    ///
    /// # Errors
    /// [`TextError`] when the stored name is damaged.
    pub fn from_stored(stored: &str) -> Result<Self, TextError> {
        bounded_stored(&collapse_spaces(stored), MAX_OFFERING_LEN).map(Self)
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Case-folded form used for de-duplication and uniqueness.
    #[must_use]
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// An entry of the operator-managed catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Its id.
    pub id: ProductId,
    /// Its name, unique case-insensitively.
    pub name: ProductName,
    /// Inactive (retired) entries can no longer be picked, but members who listed them keep
    /// them, also when they save their list again.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// One of a member's products and services.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Offering {
    /// A catalogue entry.
    Catalogue(ProductId),
    /// Free text.
    Custom(ProductName),
}

/// One entry as a member sends it, before de-duplication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferingInput {
    /// Pick a catalogue entry by id.
    Catalogue(ProductId),
    /// Free text; becomes the catalogue entry when it names an active one.
    Text(String),
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Validates and de-duplicates a member's list against the catalogue, keeping first
/// occurrences in order. Errors name the offending entry as `offerings[i]`.
///
/// A retired (inactive) catalogue entry is accepted only when `held` (the member's saved
/// list) already has it: a member keeps what they listed before it was retired, and can save
/// their list again with it, but nobody picks it anew.
///
/// # Errors
/// [`ValidationErrors`] for unknown catalogue ids, retired entries newly picked, bad text, or
/// more than [`MAX_OFFERINGS`] distinct entries.
pub fn normalise_offerings(
    inputs: &[OfferingInput],
    catalogue: &[Product],
    held: &[Offering],
) -> Result<Vec<Offering>, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let mut out: Vec<Offering> = Vec::new();
    let mut seen_text: Vec<String> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let field = format!("offerings[{i}]");
        let offering = match input {
            OfferingInput::Catalogue(id) => match catalogue.iter().find(|p| p.id == *id) {
                Some(p) if p.active || held.contains(&Offering::Catalogue(*id)) => {
                    Offering::Catalogue(*id)
                }
                Some(_) => {
                    errors.push(
                        &field,
                        "is a retired entry of the products catalogue and can no longer be picked",
                    );
                    continue;
                }
                None => {
                    errors.push(&field, "is not an entry of the products catalogue");
                    continue;
                }
            },
            OfferingInput::Text(text) => {
                let Some(name) = errors.check(&field, ProductName::parse(text)) else { continue };
                match catalogue.iter().find(|p| p.active && p.name.key() == name.key()) {
                    Some(product) => Offering::Catalogue(product.id),
                    None => {
                        if seen_text.contains(&name.key()) {
                            continue;
                        }
                        seen_text.push(name.key());
                        Offering::Custom(name)
                    }
                }
            }
        };
        if !out.contains(&offering) {
            out.push(offering);
        }
    }
    if out.len() > MAX_OFFERINGS {
        errors.push("offerings", format!("must list at most {MAX_OFFERINGS} different entries"));
    }
    errors.finish().map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn product(n: u128, name: &str, active: bool) -> Product {
        Product {
            id: ProductId::from_uuid(Uuid::from_u128(n)),
            name: ProductName::parse(name).unwrap(),
            active,
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn dedups_text_case_and_spacing_and_maps_text_to_catalogue() {
        let cat = [product(1, "Lead Generation", true)];
        let out = normalise_offerings(
            &[
                OfferingInput::Text("lead   generation".into()),
                OfferingInput::Catalogue(cat[0].id),
                OfferingInput::Text("CRM  consulting".into()),
                OfferingInput::Text("crm consulting".into()),
            ],
            &cat,
            &[],
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], Offering::Catalogue(cat[0].id));
        assert!(matches!(&out[1], Offering::Custom(n) if n.as_str() == "CRM consulting"));
    }

    #[test]
    fn bounds_count_and_length_and_refuses_unknown_ids() {
        let many: Vec<_> = (0..21).map(|i| OfferingInput::Text(format!("service {i}"))).collect();
        let err = normalise_offerings(&many, &[], &[]).unwrap_err();
        assert_eq!(err.fields()[0].field, "offerings");
        let err = normalise_offerings(
            &[
                OfferingInput::Text("x".repeat(81)),
                OfferingInput::Catalogue(ProductId::from_uuid(Uuid::nil())),
            ],
            &[],
            &[],
        )
        .unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["offerings[0]", "offerings[1]"]);
    }

    #[test]
    fn retired_entries_are_kept_when_held_but_never_picked_anew() {
        let cat = [product(1, "Old thing", false)];
        let held = [Offering::Catalogue(cat[0].id)];
        let out = normalise_offerings(
            &[OfferingInput::Catalogue(cat[0].id), OfferingInput::Text("old thing".into())],
            &cat,
            &held,
        )
        .unwrap();
        assert_eq!(out.len(), 2, "kept by id; the text does not match a retired entry");
        let err =
            normalise_offerings(&[OfferingInput::Catalogue(cat[0].id)], &cat, &[]).unwrap_err();
        assert_eq!(err.fields()[0].field, "offerings[0]");
        assert!(err.fields()[0].message.contains("retired"));
    }
}
