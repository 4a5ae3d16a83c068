//! The IPC commands: each one forwards to the desk (`companion::desk`) and returns its result or a
//! `{code, message}` error.

use crate::Shell;
use companion::desk::{DeskSnapshot, SignInState, SyncView};
use companion::error::UiError;
use companion::history::HistoryRow;
use companion::screenpop::Candidate;
use companion::signin::Cloud;
use tauri::State;

type Reply<T> = Result<T, UiError>;

/// Everything the window starts from.
#[tauri::command]
pub async fn desk_snapshot(shell: State<'_, Shell>) -> Reply<DeskSnapshot> {
    Ok(shell.desk().await?.snapshot().await)
}

/// Signs in to a cloud through the browser.
#[tauri::command]
pub async fn sign_in(shell: State<'_, Shell>, cloud: Cloud) -> Reply<SignInState> {
    shell.desk().await?.sign_in(cloud).await
}

/// Signs out of a cloud (revoked there, forgotten here).
#[tauri::command]
pub async fn sign_out(shell: State<'_, Shell>, cloud: Cloud) -> Reply<SignInState> {
    shell.desk().await?.sign_out(cloud).await
}

/// Links the call to a record the picker or a search offered (the changed card arrives as an event).
#[tauri::command]
pub async fn pick_record(shell: State<'_, Shell>, interaction_id: String, record_id: String) -> Reply<()> {
    shell.desk().await?.pick(&interaction_id, &record_id).await
}

/// "Decide later" on the picker (the changed card arrives as an event).
#[tauri::command]
pub async fn decide_later(shell: State<'_, Shell>, interaction_id: String) -> Reply<()> {
    shell.desk().await?.defer(&interaction_id)
}

/// Searches Salesforce by name, email or account number.
#[tauri::command]
pub async fn search_records(shell: State<'_, Shell>, term: String) -> Reply<Vec<Candidate>> {
    shell.desk().await?.search(&term).await
}

/// Queues the wrap-up of a call (the changed card arrives as an event).
#[tauri::command]
pub async fn submit_wrapup(
    shell: State<'_, Shell>,
    interaction_id: String,
    code: String,
    notes: String,
    record_id: Option<String>,
) -> Reply<()> {
    shell.desk().await?.submit_wrapup(&interaction_id, &code, &notes, record_id.as_deref()).await
}

/// Keeps what the agent typed in an interaction's wrap-up form (survives a new pop and a restart).
#[tauri::command]
pub async fn save_draft(shell: State<'_, Shell>, interaction_id: String, code: String, notes: String) -> Reply<()> {
    shell.desk().await?.save_draft(&interaction_id, &code, &notes)
}

/// Opens a record in the browser; returns the URL opened.
#[tauri::command]
pub async fn open_record(shell: State<'_, Shell>, record_id: String) -> Reply<String> {
    let url = shell.desk().await?.record_url(&record_id).await?;
    shell.open_url(&url)
}

/// Opens Salesforce's new-contact page with the caller's number.
#[tauri::command]
pub async fn create_contact(shell: State<'_, Shell>, interaction_id: String) -> Reply<String> {
    let url = shell.desk().await?.new_contact_url(&interaction_id).await?;
    shell.open_url(&url)
}

/// The Sync view.
#[tauri::command]
pub async fn sync_status(shell: State<'_, Shell>) -> Reply<SyncView> {
    shell.desk().await?.sync()
}

/// Sends a parked disposition again.
#[tauri::command]
pub async fn retry_disposition(shell: State<'_, Shell>, interaction_id: String) -> Reply<()> {
    shell.desk().await?.retry(&interaction_id)
}

/// Gives up on a parked disposition.
#[tauri::command]
pub async fn discard_disposition(shell: State<'_, Shell>, interaction_id: String) -> Reply<()> {
    shell.desk().await?.discard(&interaction_id)
}

/// Writes the redacted diagnostics bundle; returns its path.
#[tauri::command]
pub async fn export_diagnostics(shell: State<'_, Shell>) -> Reply<String> {
    let path = shell.desk().await?.export_diagnostics(&shell.export_dir()).await?;
    Ok(path.display().to_string())
}

/// Today's calls.
#[tauri::command]
pub async fn call_history(shell: State<'_, Shell>) -> Reply<Vec<HistoryRow>> {
    shell.desk().await?.history()
}

/// The window painted its first screen; returns milliseconds since the process started.
#[tauri::command]
pub fn ui_ready(shell: State<'_, Shell>) -> u64 {
    shell.started.elapsed().as_millis() as u64
}
