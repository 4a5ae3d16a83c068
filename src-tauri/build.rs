fn main() {
    // Each command gets an allow-/deny- permission; capabilities/main.json grants exactly these.
    let commands = &[
        "desk_snapshot",
        "sign_in",
        "sign_out",
        "pick_record",
        "decide_later",
        "search_records",
        "submit_wrapup",
        "save_draft",
        "open_record",
        "create_contact",
        "sync_status",
        "retry_disposition",
        "discard_disposition",
        "export_diagnostics",
        "call_history",
        "ui_ready",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri build steps");
}
