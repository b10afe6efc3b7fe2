//! Posting sites (where the campaign's notices hang), created as an admin would.

use tipoff::domain::SiteKind;
use tipoff::services::ServiceError;
use tipoff::services::sites::{self, NewSite, Site};

use super::TestApp;

/// Creates a site, or says why not.
pub async fn try_add_site(
    app: &TestApp,
    kind: SiteKind,
    name: &str,
    village: Option<&str>,
) -> Result<Site, ServiceError> {
    let site = NewSite {
        kind,
        name: name.to_string(),
        village: village.map(str::to_string),
    };
    sites::create_site(
        app.db(),
        &app.state.keyring,
        &app.state.villages,
        site,
        None,
        app.now(),
    )
    .await
}

pub async fn add_site(app: &TestApp, kind: SiteKind, name: &str, village: Option<&str>) -> Site {
    try_add_site(app, kind, name, village)
        .await
        .expect("site created")
}

/// Whether the stored site `id` still takes reports (it must exist).
pub async fn site_is_enabled(app: &TestApp, id: uuid::Uuid) -> bool {
    sites::find_site(app.db(), id)
        .await
        .unwrap()
        .expect("site exists")
        .enabled
}
