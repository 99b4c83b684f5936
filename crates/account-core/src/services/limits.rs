//! Taking abuse budgets (rule 24) in a unit of work: every budget of one attempt at once,
//! or none, under the rows' locks, before the guess is checked or the mail queued. The
//! budgets themselves (keys and rates) are named in `domain::limits::rates` and built here.

use std::net::IpAddr;

use super::Context;
use crate::domain::limits::{Budget, Exhausted, Rate, rates};
use crate::domain::secret::to_hex;
use crate::ids::{MemberId, OrganisationId};
use crate::ports::{StoreError, Tx};

/// Keyring context of the digests that name an address in a budget's key.
const KEY_CONTEXT: &str = "limits";

impl Context {
    /// Names `text` (an email address) in a budget key without holding it: a keyed digest of
    /// its lower-cased form, shortened to 128 bits.
    pub(crate) fn limit_id(&self, text: &str) -> String {
        let digest = self.ports.keyring.digest(KEY_CONTEXT, text.trim().to_lowercase().as_bytes());
        to_hex(&digest.as_bytes()[..16])
    }

    /// Takes one attempt from each of `budgets` in `tx`: all of them, or, when one is spent,
    /// none (and the wait until all fit again).
    pub(crate) async fn take(
        &self,
        tx: &mut dyn Tx,
        budgets: &[Budget],
    ) -> Result<Result<(), Exhausted>, StoreError> {
        let now = self.now();
        let (keys, states) = lock(tx, budgets).await?;
        let mut taken = Vec::with_capacity(keys.len());
        let mut refused: Option<Exhausted> = None;
        for (budget, state) in keys.iter().zip(states) {
            match budget.rate.take(state, now) {
                Ok(next) => taken.push((budget.key.clone(), next)),
                Err(e) => {
                    refused = Some(refused.map_or(e, |r| if e.wait > r.wait { e } else { r }))
                }
            }
        }
        if let Some(refused) = refused {
            return Ok(Err(refused));
        }
        tx.limits().put(&taken).await?;
        Ok(Ok(()))
    }

    /// [`Self::take`] in a write unit of its own, committed before the caller checks what the
    /// budgets guard (a password, whose hash is checked outside any unit).
    pub(crate) async fn take_committed(
        &self,
        budgets: &[Budget],
    ) -> Result<Result<(), Exhausted>, StoreError> {
        let mut tx = self.ports.store.write().await?;
        let taken = self.take(tx.as_mut(), budgets).await?;
        if taken.is_ok() {
            tx.commit().await?;
        }
        Ok(taken)
    }

    /// Gives one attempt back to each of `budgets` (a log-in that turned out right).
    pub(crate) async fn refund(
        &self,
        tx: &mut dyn Tx,
        budgets: &[Budget],
    ) -> Result<(), StoreError> {
        let now = self.now();
        let (keys, states) = lock(tx, budgets).await?;
        let back: Vec<(String, _)> = keys
            .iter()
            .zip(states)
            .filter_map(|(budget, state)| {
                Some((budget.key.clone(), budget.rate.refund(state, now)?))
            })
            .collect();
        tx.limits().put(&back).await?;
        Ok(())
    }
}

/// The budgets sorted by key and de-duplicated, and their states, locked in that order.
async fn lock<'a>(
    tx: &mut dyn Tx,
    budgets: &'a [Budget],
) -> Result<(Vec<&'a Budget>, Vec<Option<chrono::DateTime<chrono::Utc>>>), StoreError> {
    let mut sorted: Vec<&Budget> = budgets.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    sorted.dedup_by(|a, b| a.key == b.key);
    let keys: Vec<String> = sorted.iter().map(|b| b.key.clone()).collect();
    let states = tx.limits().lock(&keys).await?;
    Ok((sorted, states))
}

fn budget(key: String, rate: Rate) -> Budget {
    Budget { key, rate }
}

/// The budgets of a log-in of `address` from `client`, and the key that says whether the
/// client is known for the address.
pub(crate) struct LoginBudgets {
    /// Per address and client: the owner's own.
    pub pair: Budget,
    /// Per address, from clients it does not know.
    pub address: Budget,
    /// Per client, whatever the address.
    pub client: Option<Budget>,
    /// The key of "this client logged into this address".
    pub known: String,
}

impl LoginBudgets {
    pub(crate) fn new(ctx: &Context, address: &str, client: Option<IpAddr>) -> Self {
        let id = ctx.limit_id(address);
        let from = client.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        Self {
            pair: budget(format!("login.pair:{id}:{from}"), rates::LOGIN_PAIR),
            address: budget(format!("login.address:{id}"), rates::LOGIN_ADDRESS),
            client: client.map(|ip| budget(format!("login.client:{ip}"), rates::LOGIN_CLIENT)),
            known: format!("{id}:{from}"),
        }
    }

    /// What an attempt spends: the pair's and the client's budgets, and the address's unless
    /// the client is known for it.
    pub(crate) fn spent(&self, known: bool) -> Vec<Budget> {
        let mut spent = vec![self.pair.clone()];
        spent.extend(self.client.clone());
        if !known {
            spent.push(self.address.clone());
        }
        spent
    }
}

/// Checks of a member's own password at a session (changing it, deleting the account).
pub(crate) fn password_checks(member: MemberId) -> Budget {
    budget(format!("password.check:{member}"), rates::PASSWORD_CHECK)
}

/// Codes one member enters, across every email-change flow.
pub(crate) fn member_code_tries(member: MemberId) -> Budget {
    budget(format!("code.member:{member}"), rates::CODE_TRIES_MEMBER)
}

/// Codes entered for one contact address of an organisation, across every time it is added.
pub(crate) fn contact_code_tries(ctx: &Context, org: OrganisationId, address: &str) -> Budget {
    budget(format!("code.contact:{org}:{}", ctx.limit_id(address)), rates::CODE_TRIES_CONTACT)
}

/// Tokens (invitations, password resets) tried from one client.
pub(crate) fn token_tries(client: Option<IpAddr>) -> Budget {
    let from = client.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    budget(format!("token.client:{from}"), rates::TOKEN_TRIES_CLIENT)
}

/// Mails any caller makes us send to `address`.
pub(crate) fn mails_to(ctx: &Context, address: &str) -> Budget {
    budget(format!("mail.to:{}", ctx.limit_id(address)), rates::MAILS_TO_ADDRESS)
}

/// Mails one client makes us send without an account (password resets).
pub(crate) fn mails_by_client(client: Option<IpAddr>) -> Budget {
    let from = client.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    budget(format!("mail.client:{from}"), rates::MAILS_BY_CLIENT)
}

/// Mails one member makes us send.
pub(crate) fn mails_by_member(member: MemberId) -> Budget {
    budget(format!("mail.by:{member}"), rates::MAILS_BY_MEMBER)
}
