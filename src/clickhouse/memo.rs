//! The verdict memo of sql/0022 (`verdict_memo` since sql/0024, `peer_memo`
//! before): reloading a dictionary starts a new memo generation, so no
//! verdict computed with the old CIDRs or cluster domains is used again.
//!
//! Owns the one order that makes that hold ([`reload_dictionaries`]): reload
//! the dictionaries, then read the generation `g` (the memo's entry for key
//! 0), empty the memo, store `g + 1`. The views mark each memoised verdict
//! with the generation they read before looking anything up, and use an entry
//! only while its generation is the current one (the reasoning is in
//! sql/0022). A database whose schema predates 0022 has no memo: the
//! dictionaries are only reloaded.
//!
//! A push that changes nothing keeps the memo ([`refresh_dictionary`],
//! sql/0023): the version of a dictionary's source is stored after each
//! reload, and a push whose source still has that version reloads nothing.

use super::Ch;
use crate::error::Result;

/// Reload `dicts` (names in the netmap database), then start a new memo
/// generation. Returns the new generation, `None` without a memo.
pub async fn reload_dictionaries(ch: &Ch, dicts: &[&str]) -> Result<Option<u64>> {
    for dict in dicts {
        ch.exec("reloading the dictionary", &format!("SYSTEM RELOAD DICTIONARY {}.{dict}", ch.database())).await?;
    }
    let Some(memo) = memo_table(ch).await? else {
        return Ok(None);
    };
    let g = generation_in(ch, memo).await?;
    let db = ch.database();
    ch.exec("emptying the verdict memo", &format!("TRUNCATE TABLE {db}.{memo}")).await?;
    let next = g + 1;
    let sql = format!("INSERT INTO {db}.{memo} SELECT 0, (0, ?, '', '', '', '')");
    ch.run("starting a new memo generation", ch.client().query(&sql).bind(next).execute()).await?;
    Ok(Some(next))
}

/// What [`refresh_dictionary`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// The dictionary was reloaded; the memo's new generation, `None` without a memo.
    Reloaded(Option<u64>),
    /// The dictionary already served this version of its source: nothing was
    /// reloaded and the memo kept its generation and entries.
    Current,
}

/// Make `dict` serve `source_version` of its source (a version read before
/// this call: the trie's newest version, the cluster domains as text). When the version stored after netmap's last reload of `dict` on
/// this server is the same, the dictionary already serves it or a newer one
/// and nothing is done; otherwise reload it, start a new memo generation
/// ([`reload_dictionaries`]) and store the version (sql/0023). Without
/// sql/0023's table it always reloads.
pub async fn refresh_dictionary(ch: &Ch, dict: &str, source_version: &str) -> Result<Refresh> {
    let stored = ch.table_exists("memo_dictionaries").await?;
    if stored && served_version(ch, dict).await?.as_deref() == Some(source_version) {
        return Ok(Refresh::Current);
    }
    let generation = reload_dictionaries(ch, &[dict]).await?;
    if stored {
        let sql = format!("INSERT INTO {}.memo_dictionaries SELECT ?, ?", ch.database());
        ch.run("storing what the dictionary serves", ch.client().query(&sql).bind(dict).bind(source_version).execute())
            .await?;
    }
    Ok(Refresh::Reloaded(generation))
}

/// The source version stored after netmap's last reload of `dict` on this
/// server (sql/0023), `None` when none is (never reloaded, or a restart since).
pub async fn served_version(ch: &Ch, dict: &str) -> Result<Option<String>> {
    let sql = format!("SELECT joinGetOrNull('{}.memo_dictionaries', 'source_version', ?)", ch.database());
    ch.run("reading what the dictionary serves", ch.client().query(&sql).bind(dict).fetch_one::<Option<String>>()).await
}

/// The memo's table: `verdict_memo` (sql/0024), `peer_memo` (sql/0022, 0023), or
/// `None` when the schema predates the memo.
async fn memo_table(ch: &Ch) -> Result<Option<&'static str>> {
    for table in ["verdict_memo", "peer_memo"] {
        if ch.table_exists(table).await? {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

/// The memo's current generation (0 after a server restart or before any push).
pub async fn generation(ch: &Ch) -> Result<u64> {
    match memo_table(ch).await? {
        Some(memo) => generation_in(ch, memo).await,
        None => Ok(0),
    }
}

async fn generation_in(ch: &Ch, memo: &str) -> Result<u64> {
    let sql = format!("SELECT tupleElement(joinGet('{}.{memo}', 'v', toUInt64(0)), 2)", ch.database());
    ch.run("reading the memo generation", ch.client().query(&sql).fetch_one::<u64>()).await
}

/// How many peers the memo holds (its generation entry not counted).
pub async fn entries(ch: &Ch) -> Result<u64> {
    let Some(memo) = memo_table(ch).await? else {
        return Ok(0);
    };
    let n: Option<u64> = ch
        .run(
            "reading the memo size",
            ch.server_client()
                .query("SELECT sum(total_rows) FROM system.tables WHERE database = ? AND name = ?")
                .bind(ch.database())
                .bind(memo)
                .fetch_one::<Option<u64>>(),
        )
        .await?;
    let n = n.unwrap_or(0);
    Ok(if generation_in(ch, memo).await? > 0 { n.saturating_sub(1) } else { n })
}
