//! The language a page is shown in, and the message catalogs (zh-CN first, English second).

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `?lang=` wins; otherwise the first of zh/en in Accept-Language by weight; otherwise Chinese.
    pub fn negotiate(query_lang: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = query_lang.and_then(Lang::from_tag) {
            return lang;
        }
        let Some(header) = accept_language else {
            return Lang::Zh;
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_tag(tag)
                && best.is_none_or(|(w, _)| weight > w)
            {
                best = Some((weight, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, lang)| lang)
    }

    fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn catalog(self) -> &'static Catalog {
        static ZH: OnceLock<Catalog> = OnceLock::new();
        static EN: OnceLock<Catalog> = OnceLock::new();
        match self {
            Lang::Zh => ZH.get_or_init(|| Catalog::parse(include_str!("../locales/zh-CN.toml"))),
            Lang::En => EN.get_or_init(|| Catalog::parse(include_str!("../locales/en.toml"))),
        }
    }
}

/// Strings users see, by key. A missing key shows the key itself (and a test keeps both
/// catalogs complete), so a gap is visible rather than a crash.
#[derive(Debug)]
pub struct Catalog {
    entries: HashMap<String, String>,
}

impl Catalog {
    fn parse(source: &str) -> Catalog {
        // The catalogs are compiled in and checked by tests; a broken one is a build defect.
        let entries = toml::from_str::<HashMap<String, String>>(source).unwrap_or_default();
        Catalog { entries }
    }

    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.entries.get(key).map_or(key, String::as_str)
    }

    /// Looks up `prefix.code`, e.g. `status.received`.
    pub fn label<'a>(&'a self, prefix: &str, code: &'a str) -> &'a str {
        self.entries
            .get(&format!("{prefix}.{code}"))
            .map_or(code, String::as_str)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Category, Status, SubjectRole};
    use std::collections::BTreeSet;

    #[test]
    fn both_catalogs_have_the_same_keys_and_every_code_has_a_label() {
        let zh: BTreeSet<_> = Lang::Zh.catalog().keys().collect();
        let en: BTreeSet<_> = Lang::En.catalog().keys().collect();
        assert!(zh.len() > 50, "zh catalog failed to load");
        assert_eq!(zh, en);
        let mut needed: Vec<String> = Vec::new();
        needed.extend(
            Category::ALL
                .iter()
                .map(|c| format!("category.{}", c.code())),
        );
        needed.extend(
            SubjectRole::ALL
                .iter()
                .map(|r| format!("role.{}", r.code())),
        );
        needed.extend(Status::ALL.iter().map(|s| format!("status.{}", s.code())));
        for key in needed {
            assert!(zh.contains(key.as_str()), "missing {key}");
        }
    }

    #[test]
    fn language_negotiation() {
        assert_eq!(Lang::negotiate(None, None), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(
            Lang::negotiate(Some("xx"), Some("en-US,en;q=0.9")),
            Lang::En
        );
        assert_eq!(
            Lang::negotiate(None, Some("en-GB;q=0.5, zh-CN;q=0.8")),
            Lang::Zh
        );
        assert_eq!(Lang::negotiate(None, Some("fr-FR, en;q=0.7")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("fr-FR")), Lang::Zh);
    }
}
