//! Erasure: `companion forget --phone N | --contact ID | --all` removes a caller from the lookup cache,
//! the agent's picks, the call history, the raw-frame journal and the dispositions (with their
//! history) of the caller's calls or record, with
//! `secure_delete` on and a WAL checkpoint so nothing lingers in the files. Undelivered dispositions
//! are only erased with an explicit confirmation. The erasure log records what kind of erasure ran and
//! how many rows went, never the number or the id.

use crate::genesys::segment::conversation_of;
use crate::outbox::OutboxRows;
use crate::phone::{self, Normalized};
use crate::salesforce::ids;
use crate::screenpop::cache::CacheRows;
use crate::store::{Drafts, Interactions, Journal, Store, StoreError};
use rusqlite::params;
use serde::Serialize;
use std::collections::BTreeMap;

/// What to forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A caller's number (any format; normalised first).
    Phone(String),
    /// A customer's email address (of emails and chats; normalised first).
    Email(String),
    /// A Salesforce record id.
    Contact(String),
    /// Everything the app keeps about callers.
    All,
}

/// Why an erasure did not run.
#[derive(Debug, thiserror::Error)]
pub enum ForgetError {
    #[error("`{0}` is not a phone number the app can recognise")]
    NotANumber(String),
    #[error("`{0}` is not an email address")]
    NotAnEmail(String),
    #[error("`{0}` is not a Salesforce record id")]
    NotARecordId(String),
    #[error(
        "{count} disposition(s) not yet delivered to Salesforce mention this; add --include-undelivered to erase them too (they will then never reach Salesforce)"
    )]
    Undelivered { count: u64 },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ForgetError {
    fn from(e: rusqlite::Error) -> Self {
        ForgetError::Store(StoreError::Sql(e))
    }
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ForgetReport {
    /// Rows removed per table.
    pub removed: BTreeMap<&'static str, u64>,
    /// False when another process held the database, so the WAL could not be emptied yet (it will be
    /// when that process closes it).
    pub wal_cleared: bool,
}

/// Erases a caller (or everything) from the local store.
pub fn forget(
    store: &Store,
    scope: &Scope,
    default_country: phonenumber::country::Id,
    include_undelivered: bool,
    now_ms: i64,
) -> Result<ForgetReport, ForgetError> {
    let mut report = ForgetReport::default();
    {
        let mut conn = store.outbox();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut count = |table: &'static str, n: usize| *report.removed.entry(table).or_default() += n as u64;
        match scope {
            Scope::Phone(_) | Scope::Email(_) => {
                // The key the cache and picks use; a stored address is compared with it after normalising.
                let (Scope::Phone(raw) | Scope::Email(raw)) = scope else { unreachable!("matched above") };
                let is_email = matches!(scope, Scope::Email(_));
                let normal = |a: &str| -> Option<String> {
                    if is_email {
                        crate::screenpop::address::email(a).ok()
                    } else {
                        match phone::normalize(a, default_country) {
                            Normalized::E164(e) => Some(e),
                            Normalized::NoNumber(_) => None,
                        }
                    }
                };
                let shown: String = raw.chars().take(60).collect();
                let key = normal(raw).ok_or(if is_email {
                    ForgetError::NotAnEmail(shown)
                } else {
                    ForgetError::NotANumber(shown)
                })?;
                let mention = if is_email { key.clone() } else { key.trim_start_matches('+').to_string() };
                let (answers, picks) = CacheRows::on(&tx).forget_number(&key)?;
                count("cache_lookup", answers);
                count("picker_choice", picks);
                // Interactions are stored with the address as Genesys gave it: compare after normalising.
                let calls = Interactions::on(&tx);
                let theirs: Vec<String> = calls
                    .addresses()?
                    .into_iter()
                    .filter(|(_, ani)| normal(ani).as_deref() == Some(key.as_str()))
                    .map(|(id, _)| id)
                    .collect();
                // Their calls' dispositions carry their notes: delivered ones go; undelivered ones only
                // when the agent says so.
                let outbox = OutboxRows::on(&tx);
                let undelivered = outbox.undelivered_among(&theirs)?;
                if undelivered > 0 && !include_undelivered {
                    return Err(ForgetError::Undelivered { count: undelivered });
                }
                let journal = Journal::on(&tx);
                let drafts = Drafts::on(&tx);
                for id in &theirs {
                    count("interaction", calls.delete(id)?);
                    count("wrapup_draft", drafts.forget(id)?);
                    count("journal", journal.forget_conversation(conversation_of(id))?);
                }
                let (rows, events) = outbox.erase(&theirs)?;
                count("outbox", rows);
                count("outbox_event", events);
                count("journal", journal.forget_mentions(&[mention.as_str()])?);
            }
            Scope::Contact(raw) => {
                let id = ids::to_id18(raw.trim())
                    .ok_or_else(|| ForgetError::NotARecordId(raw.chars().take(40).collect()))?;
                let id15 = &id[..15];
                let outbox = OutboxRows::on(&tx);
                let theirs = outbox.mentioning(&id)?;
                let pending = outbox.undelivered_among(&theirs)?;
                if pending > 0 && !include_undelivered {
                    return Err(ForgetError::Undelivered { count: pending });
                }
                let (answers, picks) = CacheRows::on(&tx).forget_record(&id)?;
                count("cache_lookup", answers);
                count("picker_choice", picks);
                count("interaction", Interactions::on(&tx).unlink_record(&id)?);
                count("journal", Journal::on(&tx).forget_mentions(&[id15, &id])?);
                let (rows, events) = outbox.erase(&theirs)?;
                count("outbox", rows);
                count("outbox_event", events);
            }
            Scope::All => {
                let outbox = OutboxRows::on(&tx);
                let pending = outbox.undelivered()?;
                if pending > 0 && !include_undelivered {
                    return Err(ForgetError::Undelivered { count: pending });
                }
                count("interaction", Interactions::on(&tx).delete_all()?);
                count("wrapup_draft", Drafts::on(&tx).delete_all()?);
                let (answers, picks) = CacheRows::on(&tx).forget_all()?;
                count("cache_lookup", answers);
                count("picker_choice", picks);
                count("journal", Journal::on(&tx).forget_all()?);
                let (rows, events) = outbox.erase_all()?;
                count("outbox", rows);
                count("outbox_event", events);
            }
        }
        let kind = match scope {
            Scope::Phone(_) => "phone",
            Scope::Email(_) => "email",
            Scope::Contact(_) => "contact",
            Scope::All => "all",
        };
        tx.execute(
            "INSERT INTO erasure_log(at_ms, scope, removed) VALUES (?1, ?2, ?3)",
            params![now_ms, kind, serde_json::to_string(&report.removed).expect("counts serialize")],
        )?;
        tx.commit()?;
    }
    // Copy the WAL back and empty it, so the erased rows are not left in it.
    let (busy, _, _): (i64, i64, i64) =
        store.outbox().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    report.wal_cleared = busy == 0;
    Ok(report)
}
