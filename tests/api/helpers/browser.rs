//! A real headless Chromium driven through chromedriver (WebDriver, through fantoccini), for
//! tests that use the pages as people do: a resident on a 360-px phone, an inspector at a
//! desktop, with JavaScript on or off; and the steps they take there.
//!
//! Runs only when TIPOFF_TEST_CHROMEDRIVER names a chromedriver (Debian: chromium,
//! chromium-driver, fonts-noto-cjk); under CI a missing one is a failure, never a skip.
//! CHROMIUM overrides the browser binary (default /usr/bin/chromium);
//! TIPOFF_TEST_CHROMEDRIVER_LOG=<file> keeps chromedriver's verbose log for debugging.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use super::{TestApp, configured, free_port};

/// How long a wait for the page (text, address, new page) may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long one driver command may take: a stuck browser fails the test instead of hanging it.
const COMMAND_PATIENCE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);

/// The chromedriver to drive, if any. Under CI a missing one is a failure.
pub fn chromedriver_path() -> Option<PathBuf> {
    configured(
        "TIPOFF_TEST_CHROMEDRIVER",
        "browser",
        "set TIPOFF_TEST_CHROMEDRIVER",
    )
    .map(PathBuf::from)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewport {
    /// 360×740 CSS pixels at pixel ratio 2, as a mobile device (meta viewport honoured).
    Phone,
    /// A 1280×900 desktop window.
    Desktop,
}

#[derive(Debug, Clone)]
pub struct BrowserOptions {
    pub viewport: Viewport,
    pub javascript: bool,
    /// Sent as Accept-Language; the pages pick their language from it.
    pub accept_language: String,
}

impl BrowserOptions {
    pub fn new(viewport: Viewport) -> Self {
        Self {
            viewport,
            javascript: true,
            accept_language: "zh-CN,zh".to_string(),
        }
    }

    fn capabilities(&self, profile: &std::path::Path) -> serde_json::Map<String, Value> {
        // No network here but loopback: everything that phones home must be off, or Chromium
        // stalls on it.
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--no-proxy-server",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let lang = self.accept_language.split(',').next().unwrap_or("zh-CN");
        args.push(format!("--lang={lang}"));
        let mut prefs = json!({ "intl.accept_languages": self.accept_language });
        if !self.javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut chrome = json!({ "binary": binary, "args": args, "prefs": prefs });
        match self.viewport {
            Viewport::Phone => {
                chrome["args"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("--window-size=360,740"));
                chrome["mobileEmulation"] =
                    json!({ "deviceMetrics": { "width": 360, "height": 740, "pixelRatio": 2 } });
            }
            Viewport::Desktop => {
                chrome["args"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("--window-size=1280,900"));
            }
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": chrome,
            "goog:loggingPrefs": { "browser": "ALL" },
            // Dialogs stay open so the harness can record them instead of the driver
            // dismissing them silently.
            "unhandledPromptBehavior": "ignore",
            "timeouts": { "pageLoad": 20_000, "script": 10_000, "implicit": 0 },
        });
        match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }
}

pub struct Browser {
    client: Client,
    base: String,
    javascript: bool,
    driver_url: String,
    session_id: String,
    chromedriver: Child,
    http: reqwest::Client,
    console: Mutex<Vec<Value>>,
    dialogs: Mutex<Vec<String>>,
    // Removed after the browser has quit (Drop::drop runs before fields drop).
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A phone-sized browser (360×740) with JavaScript on, pointed at `app`.
    pub async fn phone(app: &TestApp) -> Option<Browser> {
        Self::launch(app, BrowserOptions::new(Viewport::Phone)).await
    }

    /// A desktop browser window (1280×900) with JavaScript on, pointed at `app`.
    pub async fn desktop(app: &TestApp) -> Option<Browser> {
        Self::launch(app, BrowserOptions::new(Viewport::Desktop)).await
    }

    /// A phone-sized browser that runs no page script at all.
    pub async fn phone_without_javascript(app: &TestApp) -> Option<Browser> {
        let mut options = BrowserOptions::new(Viewport::Phone);
        options.javascript = false;
        Self::launch(app, options).await
    }

    /// Starts a chromedriver of its own and a fresh Chromium profile; `None` when browser
    /// tests are not configured here.
    pub async fn launch(app: &TestApp, options: BrowserOptions) -> Option<Browser> {
        let driver = chromedriver_path()?;
        let port = free_port();
        let mut command = Command::new(&driver);
        command
            .arg(format!("--port={port}"))
            // Its own process group, so that Drop can end Chromium too if chromedriver hangs.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Ok(log) = std::env::var("TIPOFF_TEST_CHROMEDRIVER_LOG") {
            command.args(["--verbose", &format!("--log-path={log}")]);
        }
        let mut chromedriver = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(COMMAND_PATIENCE)
            .build()
            .unwrap();
        wait_until_ready(&http, &driver_url, &mut chromedriver).await;
        let profile = tempfile::tempdir().expect("profile dir");

        let connecting = ClientBuilder::new(HttpConnector::new())
            .capabilities(options.capabilities(profile.path()))
            .connect(&driver_url)
            .await;
        let client = match connecting {
            Ok(client) => client,
            Err(e) => {
                end_process_group(&mut chromedriver);
                panic!("chromedriver refused a Chromium session: {e}");
            }
        };
        let session_id = client
            .session_id()
            .await
            .unwrap()
            .expect("a session was created");
        Some(Browser {
            client,
            base: app.address.clone(),
            javascript: options.javascript,
            driver_url,
            session_id,
            chromedriver,
            http,
            console: Mutex::new(Vec::new()),
            dialogs: Mutex::new(Vec::new()),
            _profile: profile,
        })
    }

    /// The application's origin, e.g. `http://127.0.0.1:41234`.
    pub fn origin(&self) -> &str {
        &self.base
    }

    /// Opens a page of the application, as typed into the address bar.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{}", self.base, path);
        self.run(&format!("open {path}"), || self.client.goto(&url))
            .await;
        self.note_dialog().await;
    }

    /// Loads the page shown again, as the browser's reload button does.
    pub async fn reload(&self) {
        self.expect_new_page().await;
        self.run("reload", || self.client.refresh()).await;
        self.wait_for_new_page("reload").await;
    }

    /// The HTTP status the page now shown was served with (Navigation Timing); after a
    /// redirect, that of the page it led to.
    pub async fn status(&self) -> u16 {
        let status = self
            .eval("return performance.getEntriesByType('navigation')[0].responseStatus")
            .await;
        let status = status.as_u64().unwrap();
        u16::try_from(status).unwrap()
    }

    /// The path (and query) of the page now shown.
    pub async fn path(&self) -> String {
        let url = self
            .run("read the address", || self.client.current_url())
            .await;
        let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
        format!("{}{}", url.path(), query)
    }

    pub async fn find(&self, css: &str) -> Element {
        match self
            .try_run(css, || self.client.find(Locator::Css(css)))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no element {css} on {}: {e}", self.path().await),
        }
    }

    /// Replaces the text of an input or textarea, typing it as a person would.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        self.run(&format!("clear {css}"), || field.clear()).await;
        self.run(&format!("type into {css}"), || field.send_keys(text))
            .await;
    }

    /// Picks the option of a select whose visible label starts with `label`, by typing it as
    /// a keyboard user does (works with and without page script).
    pub async fn choose(&self, css: &str, label: &str) {
        let select = self.find(css).await;
        self.run(&format!("choose in {css}"), || select.send_keys(label))
            .await;
        let chosen = self
            .eval_with(
                "const s = arguments[0]; \
                 return s.selectedIndex < 0 ? '' : s.options[s.selectedIndex].text",
                vec![serde_json::to_value(&select).unwrap()],
            )
            .await;
        let chosen = chosen.as_str().unwrap_or_default();
        assert!(
            chosen.starts_with(label),
            "{css} shows {chosen:?}, not the option typed ({label})"
        );
    }

    /// The CSS selector of the control that the one visible label with exactly this text names,
    /// as a person finds a field by what is written beside it. Fails when no label, or more
    /// than one, reads so, or when the label names no control.
    pub async fn labelled(&self, label: &str) -> String {
        let found = self
            .eval_with(
                "const labels = [...document.querySelectorAll('label')] \
                   .filter(l => l.offsetParent !== null && l.textContent.trim() === arguments[0]); \
                 if (labels.length !== 1) return 'labels: ' + labels.length; \
                 const c = labels[0].control; \
                 return c && c.id ? '#' + c.id : 'no control';",
                vec![Value::String(label.to_string())],
            )
            .await;
        let found = found.as_str().unwrap_or_default().to_string();
        assert!(
            found.starts_with('#'),
            "the label {label:?} on {}: {found}",
            self.path().await
        );
        found
    }

    /// Types into the field labelled `label`.
    pub async fn fill_in(&self, label: &str, text: &str) {
        let css = self.labelled(label).await;
        self.fill(&css, text).await;
    }

    /// Picks `option` in the select labelled `label`.
    pub async fn pick(&self, label: &str, option: &str) {
        let css = self.labelled(label).await;
        self.choose(&css, option).await;
    }

    /// Presses the one visible button that reads exactly `text` and waits for the page it
    /// leads to.
    pub async fn press(&self, text: &str) {
        assert!(!text.contains('\''), "button text with a quote: {text}");
        let xpath = format!("//button[normalize-space(.)='{text}']");
        let buttons = self
            .run(&format!("find the button {text}"), || {
                self.client.find_all(Locator::XPath(&xpath))
            })
            .await;
        let mut shown = Vec::new();
        for button in buttons {
            if self.run("look at a button", || button.is_displayed()).await {
                shown.push(button);
            }
        }
        assert_eq!(
            shown.len(),
            1,
            "buttons reading {text:?} on {}",
            self.path().await
        );
        self.expect_new_page().await;
        self.click_element(&shown[0], text).await;
        self.wait_for_new_page(text).await;
    }

    /// Clicks an element (a radio, a button, a link) without waiting for anything it starts.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.click_element(&element, css).await;
    }

    /// Clicks what leads to another page (a link, a submit button) and waits for that page.
    pub async fn click_and_wait_for_page(&self, css: &str) {
        let element = self.find(css).await;
        self.expect_new_page().await;
        self.click_element(&element, css).await;
        self.wait_for_new_page(css).await;
    }

    /// Follows the link with exactly this text, preferring one in the page's main content over
    /// the same words in the navigation, and waits for the page it leads to.
    pub async fn click_link(&self, text: &str) {
        assert!(!text.contains('\''), "link text with a quote: {text}");
        let in_main = format!("//main//a[normalize-space(.)='{text}']");
        let anywhere = format!("//a[normalize-space(.)='{text}']");
        let link = match self
            .try_run(text, || self.client.find(Locator::XPath(&in_main)))
            .await
        {
            Ok(link) => link,
            Err(_) => match self
                .try_run(text, || self.client.find(Locator::XPath(&anywhere)))
                .await
            {
                Ok(link) => link,
                Err(e) => panic!("no link {text:?} on {}: {e}", self.path().await),
            },
        };
        self.expect_new_page().await;
        self.click_element(&link, text).await;
        self.wait_for_new_page(text).await;
    }

    /// The rendered (visible) text of an element.
    pub async fn text_of(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.run(&format!("read {css}"), || element.text()).await
    }

    /// The rendered text of the whole page.
    pub async fn page_text(&self) -> String {
        self.text_of("body").await
    }

    pub async fn is_displayed(&self, css: &str) -> bool {
        let element = self.find(css).await;
        self.run(&format!("look at {css}"), || element.is_displayed())
            .await
    }

    /// Waits (bounded) until the page shows `text`; fails with what it shows instead.
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // A navigation can replace the body between finding and reading it.
            let shown = match self
                .try_run("find the page", || self.client.find(Locator::Css("body")))
                .await
            {
                Ok(body) => self
                    .try_run("read the page", || body.text())
                    .await
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            if shown.contains(text) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{text:?} never appeared on {}; the page shows:\n{shown}",
                    self.path().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (bounded) until the browser is on `path` (query ignored).
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let url = self
                .run("read the address", || self.client.current_url())
                .await;
            if url.path() == path {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still on {} instead of {path}",
                url.path()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Evaluates a function body in the page (`return …`), through the driver: works with
    /// the page's own JavaScript turned off.
    pub async fn eval(&self, body: &str) -> Value {
        self.eval_with(body, vec![]).await
    }

    /// `eval` with arguments (`arguments[0]`, …); an element passes as `to_value(&element)`.
    pub async fn eval_with(&self, body: &str, args: Vec<Value>) -> Value {
        self.run(&format!("evaluate {body}"), || {
            self.client.execute(body, args.clone())
        })
        .await
    }

    /// The laid-out width of the document: wider than the viewport means sideways scrolling.
    pub async fn scroll_width(&self) -> u64 {
        self.eval("return document.documentElement.scrollWidth")
            .await
            .as_u64()
            .unwrap()
    }

    pub async fn viewport_width(&self) -> u64 {
        self.eval("return window.innerWidth")
            .await
            .as_u64()
            .unwrap()
    }

    /// Every subresource the current page loaded (stylesheets, scripts, images, fetches).
    pub async fn resource_urls(&self) -> Vec<String> {
        let names = self
            .eval("return performance.getEntriesByType('resource').map(e => e.name)")
            .await;
        names
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    }

    /// Whether each character of `text` renders as its own glyph in the page's body font: a
    /// missing font draws the same empty box for all of them.
    pub async fn glyphs_render(&self, text: &str) -> bool {
        let script = r#"
            const font = getComputedStyle(document.body).font.replace(/\d+(\.\d+)?px/, '40px');
            const images = Array.from(arguments[0]).map(c => {
                const canvas = document.createElement('canvas');
                canvas.width = 64;
                canvas.height = 64;
                const g = canvas.getContext('2d');
                g.font = font;
                g.fillText(c, 4, 48);
                return canvas.toDataURL();
            });
            return new Set(images).size === images.length;
        "#;
        self.eval_with(script, vec![json!(text)])
            .await
            .as_bool()
            .unwrap()
    }

    /// Saves a PNG of the viewport as `target/browser-shots/{name}.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .run("take a screenshot", || self.client.screenshot())
            .await;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
        let dir = target.join("browser-shots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Console messages at error level (script errors, CSP violations, failed loads) seen so
    /// far in this browser.
    pub async fn console_errors(&self) -> Vec<String> {
        // The driver hands each log entry out once; keep them all here.
        let (_, fetched) = self
            .driver_post("se/log", json!({ "type": "browser" }))
            .await;
        let mut console = self.console.lock().unwrap();
        if let Some(entries) = fetched["value"].as_array() {
            console.extend(entries.iter().cloned());
        }
        console
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            // The browser asks for /favicon.ico on its own; no page links to it.
            .filter(|m| !m.contains("/favicon.ico "))
            .collect()
    }

    /// Texts of the alert/confirm/prompt dialogs pages opened so far (each was dismissed).
    pub fn dialogs(&self) -> Vec<String> {
        self.dialogs.lock().unwrap().clone()
    }

    /// Fails if any page script opened a dialog or logged an error.
    pub async fn assert_no_script_trouble(&self) {
        self.note_dialog().await;
        assert_eq!(self.dialogs(), Vec::<String>::new(), "pages opened dialogs");
        assert_eq!(
            self.console_errors().await,
            Vec::<String>::new(),
            "the console shows errors"
        );
    }

    async fn click_element(&self, element: &Element, what: &str) {
        if self.javascript {
            self.run(&format!("click {what}"), || element.click()).await;
            self.note_dialog().await;
            return;
        }
        // chromedriver's own click ends by awaiting a page timer, and with JavaScript off
        // timers never fire: press the mouse through DevTools instead (still a real click).
        let centre = self
            .eval_with(
                "const e = arguments[0]; e.scrollIntoView({block: 'center'}); \
                 const r = e.getBoundingClientRect(); \
                 return [r.x + r.width / 2, r.y + r.height / 2];",
                vec![serde_json::to_value(element).unwrap()],
            )
            .await;
        for kind in ["mousePressed", "mouseReleased"] {
            self.devtools(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": centre[0], "y": centre[1], "button": "left", "clickCount": 1 }),
            )
            .await;
        }
    }

    /// Marks the current document, so that `wait_for_new_page` can tell when it is replaced.
    async fn expect_new_page(&self) {
        self.eval("window.__tipoffOldPage = true; return null")
            .await;
    }

    async fn wait_for_new_page(&self, after: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // Fails while the navigation is under way; that just means "not yet".
            let loaded = self
                .try_run("look for the new page", || {
                    self.client.execute(
                        "return window.__tipoffOldPage === undefined \
                         && document.readyState === 'complete'",
                        vec![],
                    )
                })
                .await;
            if matches!(loaded, Ok(Value::Bool(true))) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no new page after clicking {after}: still on {}",
                self.path().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Lays the page out as it prints (CSS `@media print`), or back as on screen.
    pub async fn print_layout(&self, on: bool) {
        let media = if on { "print" } else { "" };
        self.devtools("Emulation.setEmulatedMedia", json!({ "media": media }))
            .await;
    }

    async fn devtools(&self, command: &str, params: Value) -> Value {
        let (status, body) = self
            .driver_post(
                "goog/cdp/execute",
                json!({ "cmd": command, "params": params }),
            )
            .await;
        assert!(status.is_success(), "DevTools {command}: {body}");
        body["value"].clone()
    }

    /// Posts to one of chromedriver's own endpoints for this session (beyond WebDriver);
    /// returns the status and the JSON answer.
    async fn driver_post(&self, endpoint: &str, body: Value) -> (reqwest::StatusCode, Value) {
        let answer = self
            .http
            .post(format!(
                "{}/session/{}/{endpoint}",
                self.driver_url, self.session_id
            ))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        let status = answer.status();
        (status, answer.json().await.unwrap())
    }

    /// Runs one driver command. A dialog a page opened is recorded and dismissed, then the
    /// command is retried; a stuck browser fails the test instead of hanging it.
    async fn try_run<T, F, C>(&self, what: &str, command: F) -> Result<T, CmdError>
    where
        F: Fn() -> C,
        C: std::future::Future<Output = Result<T, CmdError>>,
    {
        let mut dialogs_closed = 0;
        loop {
            match tokio::time::timeout(COMMAND_PATIENCE, command()).await {
                Ok(Err(e)) if e.is_unexpected_alert_open() && dialogs_closed < 5 => {
                    dialogs_closed += 1;
                    self.note_dialog().await;
                }
                Ok(result) => return result,
                Err(_) => panic!("{what}: the browser did not answer within {COMMAND_PATIENCE:?}"),
            }
        }
    }

    async fn run<T, F, C>(&self, what: &str, command: F) -> T
    where
        F: Fn() -> C,
        C: std::future::Future<Output = Result<T, CmdError>>,
    {
        self.try_run(what, command)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    async fn note_dialog(&self) {
        if let Ok(text) = self.client.get_alert_text().await {
            self.dialogs.lock().unwrap().push(text);
            let _ = self.client.dismiss_alert().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Deleting the session makes chromedriver quit Chromium cleanly; whatever is left after
        // that (or if chromedriver hangs) goes with the process group. Blocking I/O: Drop
        // cannot await.
        let _ = delete_session(&self.driver_url, &self.session_id);
        end_process_group(&mut self.chromedriver);
    }
}

fn delete_session(driver_url: &str, session_id: &str) -> std::io::Result<()> {
    let address = driver_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "DELETE /session/{session_id} HTTP/1.1\r\nHost: {address}\r\n\r\n"
    )?;
    // chromedriver answers once Chromium has quit, and keeps the connection open after.
    let mut answer = [0u8; 512];
    match stream.read(&mut answer)? {
        0 => Err(std::io::ErrorKind::UnexpectedEof.into()),
        _ => Ok(()),
    }
}

/// Ends chromedriver and everything it started (the group it leads: started with
/// `process_group(0)`, its group id is its process id).
fn end_process_group(chromedriver: &mut Child) {
    let group = format!("-{}", chromedriver.id());
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = chromedriver.kill();
    let _ = chromedriver.wait();
}

async fn wait_until_ready(http: &reqwest::Client, driver_url: &str, chromedriver: &mut Child) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(answer) = http.get(format!("{driver_url}/status")).send().await
            && let Ok(status) = answer.json::<Value>().await
            && status["value"]["ready"] == true
        {
            return;
        }
        if let Ok(Some(exit)) = chromedriver.try_wait() {
            panic!("chromedriver exited at start: {exit}");
        }
        if Instant::now() > deadline {
            end_process_group(chromedriver);
            panic!("chromedriver did not answer on {driver_url} within {PATIENCE:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The steps people take in a browser.

/// A tracking code as a receipt shows it.
pub const GROUPED_CODE: &str = r"^\d{4} \d{4} \d{4} \d{4}$";

/// The resident's path from the notice to the receipt: returns the code as shown. Checks on
/// the way that no page scrolls sideways in the browser's viewport.
pub async fn report_anonymously(browser: &Browser) -> String {
    browser.goto("/").await;
    let width = browser.viewport_width().await;
    assert_no_sideways_scroll(browser, width).await;

    browser.click_link("我要举报").await;
    browser.wait_for_path("/report").await;
    browser.wait_for_text("举报方式").await;
    assert_no_sideways_scroll(browser, width).await;

    browser.choose("#category", "关系保").await;
    browser
        .fill(
            "#description",
            "村主任的亲戚开着小车还在吃低保，去年秋天才办下来",
        )
        .await;
    browser.click("input[name='anonymous'][value='true']").await;
    browser
        .click_and_wait_for_page("form button[type='submit']")
        .await;
    browser.wait_for_text("举报已收到").await;
    assert_no_sideways_scroll(browser, width).await;
    let code = browser.text_of("#tracking-code").await;
    assert!(
        regex::Regex::new(GROUPED_CODE).unwrap().is_match(&code),
        "the receipt shows a grouped 16-digit code, not {code:?}"
    );
    code
}

pub async fn assert_no_sideways_scroll(browser: &Browser, viewport: u64) {
    let scroll = browser.scroll_width().await;
    assert!(
        scroll <= viewport,
        "{} is {scroll} px wide in a {viewport} px viewport",
        browser.path().await
    );
}

/// Looks the code up on the tracking page and returns the status shown.
pub async fn track(browser: &Browser, code: &str) -> String {
    browser.goto("/track").await;
    browser.fill("#tracking_code", code).await;
    browser
        .click_and_wait_for_page("form button[type='submit']")
        .await;
    browser.wait_for_text("当前状态").await;
    browser.text_of("strong.status").await
}

/// Signs in through the login page, finding its fields by their labels, with the account's
/// password; each role lands elsewhere.
pub async fn sign_in(browser: &Browser, username: &str) {
    browser.goto("/staff/login?lang=zh").await;
    browser.fill_in("用户名", username).await;
    browser
        .fill_in("密码", &format!("password-of-{username}"))
        .await;
    browser.press("登录").await;
}

/// Signs an inspector in; they land on the case list.
pub async fn sign_in_inspector(browser: &Browser, username: &str) {
    sign_in(browser, username).await;
    browser.wait_for_path("/staff/cases").await;
}

/// Opens the only case on the list by its case-number link.
pub async fn open_the_case(browser: &Browser) -> String {
    browser.goto("/staff/cases").await;
    let links = browser
        .eval("return document.querySelectorAll('table.list tbody a').length")
        .await;
    assert_eq!(links, 1, "one case on the list");
    browser.click_and_wait_for_page("table.list tbody a").await;
    let path = browser.path().await;
    assert!(path.starts_with("/staff/cases/"), "on a case page: {path}");
    path
}
