//! Staff accounts: created straight through the service, seen as the services see them
//! (`Viewer`), or signed in through the login page as a browser would (`Staff`). Every test
//! account's password is `password-of-{username}`.

use tipoff::domain::Role;
use tipoff::services::cases::Viewer;
use tipoff::services::recusal::file_relative;
use tipoff::services::staff::{NewUser, UserSummary, begin_totp, confirm_totp, create_user};
use uuid::Uuid;

use super::{TestApp, body_with, hidden_value, serde_urlencoded_pairs};

impl TestApp {
    /// Creates a staff account known also by `aliases` (for recusal).
    pub async fn create_staff(
        &self,
        username: &str,
        display_name: &str,
        roles: &[Role],
        aliases: &[&str],
    ) -> Uuid {
        self.create_account(username, display_name, roles, aliases, None)
            .await
    }

    /// Files `name` as a close relative (`relation`, if known) of staff account `staff`
    /// straight through the service, as `by` at the app's time; the filing's id.
    pub async fn filed_relative(
        &self,
        staff: Uuid,
        name: &str,
        relation: Option<&str>,
        by: Uuid,
    ) -> Uuid {
        let keyring = &self.state.keyring;
        file_relative(self.db(), keyring, staff, name, relation, by, self.now())
            .await
            .unwrap()
    }

    /// A new staff account as the services see it: who, in which roles.
    pub async fn staff(&self, username: &str, display_name: &str, roles: &[Role]) -> Viewer {
        let user_id = self.create_staff(username, display_name, roles, &[]).await;
        Viewer {
            user_id,
            roles: roles.to_vec(),
        }
    }

    /// A new inspector with a mailbox of their own (for the daily digest), as the services
    /// see them.
    pub async fn inspector_with_mail(
        &self,
        username: &str,
        display_name: &str,
        email: &str,
    ) -> Viewer {
        let roles = [Role::Inspector];
        let user_id = self
            .create_account(username, display_name, &roles, &[], Some(email))
            .await;
        Viewer {
            user_id,
            roles: roles.to_vec(),
        }
    }

    async fn create_account(
        &self,
        username: &str,
        display_name: &str,
        roles: &[Role],
        aliases: &[&str],
        email: Option<&str>,
    ) -> Uuid {
        create_user(
            self.db(),
            &self.state.keyring,
            NewUser {
                username: username.to_string(),
                display_name: display_name.to_string(),
                roles: roles.to_vec(),
                aliases: aliases.iter().map(|a| a.to_string()).collect(),
                email: email.map(str::to_string),
            },
            &format!("password-of-{username}"),
            None,
            self.now(),
        )
        .await
        .expect("staff account created")
    }

    /// A new staff account in one role, signed in through the login page.
    pub async fn signed_in(&self, username: &str, display_name: &str, role: Role) -> Staff<'_> {
        self.create_staff(username, display_name, &[role], &[])
            .await;
        self.sign_in(username).await
    }

    /// Enrols the account in TOTP through the services at the app's "now" (that step is then
    /// used up) and returns its secret, for making codes.
    pub async fn enrol_totp(&self, user_id: Uuid) -> Vec<u8> {
        let keyring = &self.state.keyring;
        let url = begin_totp(self.db(), keyring, user_id, "tipoff")
            .await
            .unwrap()
            .expect("not yet enrolled");
        let secret = totp_secret_of(&url);
        let code = self.totp_code(&secret, 0);
        assert!(
            confirm_totp(self.db(), keyring, user_id, &code, self.now())
                .await
                .unwrap()
        );
        secret
    }

    /// The TOTP code of `secret` `offset` steps from the app's "now".
    pub fn totp_code(&self, secret: &[u8], offset: i64) -> String {
        let at = self.now().timestamp() + 30 * offset;
        tipoff::crypto::totp_code(secret, at as u64).unwrap()
    }

    /// Posts the sign-in form as a browser would (with the login page's token).
    pub async fn try_sign_in(
        &self,
        username: &str,
        password: &str,
        totp: &str,
        client_ip: &str,
    ) -> reqwest::Response {
        let page = self.get("/staff/login").await.text().await.unwrap();
        let token = hidden_value(&page, "form_token");
        self.post_form(
            "/staff/login",
            &[
                ("form_token", &token),
                ("username", username),
                ("password", password),
                ("totp", totp),
            ],
            client_ip,
        )
        .await
    }

    /// The status a sign-in with the account's own password and `totp` gets, from
    /// `client_ip`.
    pub async fn sign_in_status(
        &self,
        username: &str,
        totp: &str,
        client_ip: &str,
    ) -> reqwest::StatusCode {
        let password = format!("password-of-{username}");
        self.try_sign_in(username, &password, totp, client_ip)
            .await
            .status()
    }

    /// Signs in with the account's password and returns a client holding its session.
    pub async fn sign_in(&self, username: &str) -> Staff<'_> {
        let response = self
            .try_sign_in(
                username,
                &format!("password-of-{username}"),
                "",
                "192.0.2.1",
            )
            .await;
        assert_eq!(response.status(), 303, "{username} signs in");
        Staff::from_response(self, &response).await
    }
}

/// The secret in an otpauth:// URL, as an authenticator app reads it.
pub fn totp_secret_of(url: &str) -> Vec<u8> {
    let secret = url
        .split("secret=")
        .nth(1)
        .expect("the URL holds the secret")
        .split('&')
        .next()
        .unwrap();
    totp_rs::Secret::try_from_base32(secret)
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// The TOTP secret an enrolment page offers, read from its otpauth:// URL.
pub fn totp_secret_on(page: &str) -> Vec<u8> {
    let start = page
        .find("otpauth://totp/")
        .expect("the TOTP secret is offered");
    let end = start + page[start..].find('<').expect("the URL ends");
    totp_secret_of(&page[start..end])
}

/// The staff account `username` as the admin page shows it.
pub async fn account(app: &TestApp, username: &str) -> UserSummary {
    tipoff::services::staff::account(app.db(), username)
        .await
        .expect("the account")
}

/// A signed-in staff member: the session cookie and the page's CSRF token.
pub struct Staff<'a> {
    pub app: &'a TestApp,
    pub cookie: String,
    pub csrf: String,
}

impl<'a> Staff<'a> {
    pub async fn from_response(app: &'a TestApp, response: &reqwest::Response) -> Staff<'a> {
        let set_cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string();
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        let mut staff = Staff {
            app,
            cookie,
            csrf: String::new(),
        };
        let page = staff.page("/staff/totp").await;
        staff.csrf = hidden_value(&page, "csrf");
        staff
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("staff GET")
    }

    /// The status of case `id`'s page for this person: 404 where they may not see it.
    pub async fn case_status(&self, id: Uuid) -> u16 {
        self.get(&format!("/staff/cases/{id}"))
            .await
            .status()
            .as_u16()
    }

    /// Files `name` as a close relative of the staff member `staff`, as an admin does on the
    /// admin page, which accepts it.
    pub async fn file_relative(&self, staff: Uuid, name: &str, relation: &str) {
        let staff = staff.to_string();
        let fields = [
            ("staff", staff.as_str()),
            ("name", name),
            ("relation", relation),
        ];
        let filed = self.post("/staff/admin/relatives", &fields).await;
        assert_eq!(filed.status(), 200);
    }

    /// Files 刘小红, the daughter of Qingshan's village party secretary 刘某某 who has no
    /// account, as the admin page's form sends it; the page's answer.
    pub async fn file_for_cadre(&self) -> reqwest::Response {
        let fields = [
            ("staff", ""),
            ("cadre_name", "刘某某"),
            ("cadre_post", "党支部书记"),
            ("cadre_village", "qingshan-village"),
            ("name", "刘小红"),
            ("relation", "女儿"),
            ("village", "xinmin-village"),
            ("support", "tekun"),
        ];
        self.post("/staff/admin/relatives", &fields).await
    }

    /// The HTML of a staff page, whatever its status.
    pub async fn page(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("staff page")
    }

    /// Enters an anonymous hotline call of the category "other" saying `description`; the
    /// answer is the receipt page.
    pub async fn enter_hotline_call(&self, description: &str) -> reqwest::Response {
        let fields = [
            ("channel", "hotline"),
            ("category", "other"),
            ("description", description),
            ("anonymous", "true"),
        ];
        self.post("/staff/intake", &fields).await
    }

    /// Accepts case `id`, verifies it and concludes it with `outcome` and the finding `text`,
    /// each step answered with a redirect back to the case.
    pub async fn conclude(&self, id: Uuid, outcome: &str, text: &str) {
        let concluded = [
            ("transition", "conclude"),
            ("outcome", outcome),
            ("text", text),
        ];
        self.work_case(
            id,
            &[
                ("status", &[("transition", "accept")]),
                ("status", &[("transition", "start_verifying")]),
                ("status", &concluded),
            ],
        )
        .await;
    }

    /// Posts each of `steps` on case `id` in turn — a form of the case page (`status`,
    /// `assign`, `rectification`…) and its fields — each answered with a redirect back to
    /// the case.
    pub async fn work_case(&self, id: Uuid, steps: &[(&str, &[(&str, &str)])]) {
        for (form, fields) in steps {
            let done = self
                .post(&format!("/staff/cases/{id}/{form}"), fields)
                .await;
            assert_eq!(done.status(), 303, "{form} {fields:?}");
        }
    }

    /// Posts a staff form with the session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts a staff form whose answer must come with `status`, and returns the page.
    pub async fn post_for(&self, path: &str, fields: &[(&str, &str)], status: u16) -> String {
        body_with(self.post(path, fields).await, status).await
    }

    /// Posts a staff form whose answer is a page for this person's eyes only (200, never
    /// cached: it shows a code or a link once), and returns that page.
    pub async fn post_for_private_page(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let response = self.post(path, fields).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.text().await.expect("staff page")
    }

    /// Posts exactly the given fields (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url(path))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", "192.0.2.1")
            .body(serde_urlencoded_pairs(fields))
            .send()
            .await
            .expect("staff POST")
    }

    /// A file the account downloads from `path`, checked to be one: `kind` of content, a file
    /// name starting with `name`, never cached.
    pub async fn download(&self, path: &str, kind: &str, name: &str) -> Vec<u8> {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert!(headers["content-type"].to_str().unwrap().starts_with(kind));
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with(&format!("attachment; filename=\"{name}")),
            "{disposition}"
        );
        assert_eq!(headers["cache-control"], "no-store");
        response.bytes().await.unwrap().to_vec()
    }
}
