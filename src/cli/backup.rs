//! `tipoff backup --out FILE` and `tipoff restore --from FILE`.

use std::path::Path;

use tipoff::backup;
use tipoff::config::Settings;

pub async fn backup(out: &Path) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let db = tipoff::db::connect(&settings.database).await?;
    let manifest = backup::backup(&db, out, chrono::Utc::now()).await?;
    println!(
        "wrote {} ({} bytes, schema {}, audit log up to entry {})",
        out.display(),
        manifest.file_bytes,
        manifest.schema_version,
        manifest.audit_last_seq
    );
    println!("and its manifest {}", backup::manifest_path(out).display());
    println!("the keyring is not in the backup: keep a copy of it apart, offline");
    Ok(())
}

pub async fn restore(from: &Path) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let manifest = backup::restore(from, &settings.database.url).await?;
    // Migrations newer than the backup, if this tipoff has any.
    let db = tipoff::db::connect(&settings.database).await?;
    tipoff::db::migrate(&db).await?;
    db.close().await?;
    let reports = manifest.tables.get("reports").copied().unwrap_or(0);
    println!(
        "restored {} ({reports} reports, audit log up to entry {}); it matched its manifest",
        from.display(),
        manifest.audit_last_seq
    );
    println!("next: `tipoff audit verify` with the keyring the backup was made under");
    Ok(())
}
