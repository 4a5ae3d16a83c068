//! The journal: raw notification frames, written in small batches off the pop's path and purged after
//! `store.journal_retention_hours`. It is for support (what exactly did Genesys send?) and is erased by
//! `companion forget`; the engine itself never reads it back: missed transitions are recovered from
//! Genesys (the REST catch-up), not from here.

use crate::store::{Journal, Store};
use std::sync::Arc;
use tokio::sync::mpsc;

/// One frame: when it arrived (ms), its conversation, its text.
pub(super) type Frame = (i64, String, String);

/// Writes frames until the channel closes.
pub(super) async fn write(store: Arc<Store>, mut rx: mpsc::Receiver<Frame>) {
    let mut batch = Vec::with_capacity(64);
    while rx.recv_many(&mut batch, 256).await > 0 {
        let (store, frames) = (store.clone(), std::mem::take(&mut batch));
        let written = tokio::task::spawn_blocking(move || {
            let mut conn = store.background();
            let tx = conn.transaction()?;
            Journal::on(&tx).append(&frames)?;
            tx.commit()
        })
        .await;
        if let Ok(Err(e)) = written {
            tracing::warn!(error = %e, "journal write failed");
        }
    }
}
