//! Names of people, normalised so that the same person written differently matches.

/// Role and title words that name nobody on their own, in normalised form. A piece of the
/// "who is reported" field that is only one of these is dropped; a name that merely contains
/// one ("王书记") is kept, because people are known that way.
const NOT_A_NAME: &[&str] = &[
    // Village and community posts.
    "村委会主任",
    "村委主任",
    "村主任",
    "居委会主任",
    "社区主任",
    "副主任",
    "主任",
    "村支书",
    "村书记",
    "支部书记",
    "党支部书记",
    "副书记",
    "支书",
    "书记",
    "村会计",
    "会计",
    "报账员",
    "出纳",
    "村长",
    "组长",
    "村民组长",
    "社长",
    "村委",
    "村委会",
    "居委会",
    "网格员",
    "村干部",
    "社区干部",
    "社区工作人员",
    "民政干部",
    "民政专干",
    "低保专干",
    "专干",
    "干部",
    "经办人",
    "工作人员",
    "领导",
    "乡长",
    "镇长",
    "副镇长",
    "街道干部",
    "民政所长",
    "所长",
    "站长",
    "被举报人",
    // Placeholders for "someone" or "I don't know who".
    "某某",
    "某人",
    "有人",
    "不知道",
    "不清楚",
    "不详",
    "未知",
    // English, as the field is sometimes filled in.
    "secretary",
    "partysecretary",
    "director",
    "villagedirector",
    "villagehead",
    "accountant",
    "gridworker",
    "villagecadre",
    "cadre",
    "caseworker",
    "civilaffairsstaff",
    "staff",
    "official",
    "unknown",
];

/// Separators between people in the "who is reported" field. Parentheses and brackets
/// usually hold a role ("张三（网格员）"), so their content becomes a piece of its own.
const SEPARATORS: &[char] = &[
    ',', '，', '、', ';', '；', '/', '／', '|', '｜', '\n', '\r', '(', ')', '（', '）', '[', ']',
    '［', '］', '【', '】', '〔', '〕', '<', '>', '《', '》', '〈', '〉', '。', ':', '：',
];

/// Words joining two people ("王书记和李会计"). They also occur inside given names (李和平),
/// so a piece is split on them only when every part is still long enough to be a name.
const CONJUNCTIONS: &[char] = &['和', '与', '及', '跟'];

/// A name shorter than this (after normalisation) is not matched: one character is a
/// surname or a stray word, and matching it would recuse half the office.
pub const MIN_NAME_CHARS: usize = 2;

/// Normalises a name for matching: full-width forms to half-width, spacing and punctuation
/// removed, Latin letters lower-cased.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().map(fold_width) {
        if c.is_whitespace() || is_invisible(c) || is_punctuation(c) {
            continue;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Whether a normalised string is only a role, title or placeholder, not anyone's name.
pub fn is_title_only(normalized: &str) -> bool {
    NOT_A_NAME.contains(&normalized)
}

/// The people named in a report's "who is reported" field, each normalised.
pub fn names_in_subject(subject: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut keep = |candidate: String| {
        if candidate.chars().count() >= MIN_NAME_CHARS
            && !is_title_only(&candidate)
            && !names.contains(&candidate)
        {
            names.push(candidate);
        }
    };
    for piece in subject.split(|c: char| SEPARATORS.contains(&fold_width(c))) {
        // "刘某某 青山村书记": a space between a name and a role separates them, as a comma
        // would; the piece as a whole is kept too, for names written with a space inside.
        for piece in std::iter::once(piece).chain(spaced_words(piece)) {
            for part in split_conjunctions(&normalize_name(piece)) {
                let part = strip_plural(&part);
                // "村支书王某": the title in front is dropped as well, so both spellings match.
                if let Some(rest) = strip_title_prefix(part) {
                    keep(rest.to_string());
                }
                keep(part.to_string());
            }
        }
    }
    names
}

/// The words of a piece written with spaces between Chinese words, when every word is
/// long enough to be a name: none for "王 小明" (a spaced name) or Latin "Zhang San".
fn spaced_words(piece: &str) -> Vec<&str> {
    let words: Vec<&str> = piece
        .split(|c: char| fold_width(c).is_whitespace())
        .filter(|w| !normalize_name(w).is_empty())
        .collect();
    let chinese = |w: &str| w.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c));
    let splits = words.len() > 1
        && words
            .iter()
            .all(|w| chinese(w) && normalize_name(w).chars().count() >= MIN_NAME_CHARS);
    if splits { words } else { Vec::new() }
}

fn fold_width(c: char) -> char {
    match c {
        // Full-width ASCII sits at a fixed offset above ASCII.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        other => other,
    }
}

/// Characters that show nothing themselves but can hide or reorder what is shown: zero-width
/// spaces and joiners, direction marks, embeddings, overrides and isolates (which can make a
/// name or a sentence display backwards), the byte-order mark and the soft hyphen.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            // Latin-1: ¡ « · » ¿
            '\u{00A1}' | '\u{00AB}' | '\u{00B7}' | '\u{00BB}' | '\u{00BF}'
            // General punctuation: dashes, quotes, bullets, ellipsis, primes, ‰ …
            | '\u{2010}'..='\u{205E}'
            // Middle-dot look-alikes used in transcribed minority names (阿不都·热合曼).
            | '\u{2219}' | '\u{22C5}' | '\u{30FB}' | '\u{FF65}'
            // CJK symbols and punctuation: 、。〃 〈〉《》「」『』【】 〔〕〖〗〘〙〚〛〜〝〞〟
            | '\u{3001}'..='\u{3003}'
            | '\u{3008}'..='\u{3011}'
            | '\u{3014}'..='\u{301F}'
            // Vertical, compatibility and small forms, half-width CJK punctuation.
            | '\u{FE10}'..='\u{FE19}'
            | '\u{FE30}'..='\u{FE4F}'
            | '\u{FE50}'..='\u{FE6B}'
            | '\u{FF5F}'..='\u{FF64}'
        )
}

fn split_conjunctions(piece: &str) -> Vec<String> {
    let parts: Vec<&str> = piece.split(|c| CONJUNCTIONS.contains(&c)).collect();
    if parts.len() > 1 && parts.iter().all(|p| p.chars().count() >= MIN_NAME_CHARS) {
        return parts.into_iter().map(str::to_string).collect();
    }
    // Either no conjunction, or one inside a name: keep the whole piece, and any part that
    // is long enough in case the piece lists a short name next to a long one.
    let mut out = vec![piece.to_string()];
    if parts.len() > 1 {
        out.extend(
            parts
                .into_iter()
                .filter(|p| p.chars().count() >= MIN_NAME_CHARS)
                .map(str::to_string),
        );
    }
    out
}

/// "王某等人" names 王某 (and others unknown).
fn strip_plural(part: &str) -> &str {
    for suffix in ["等人", "等"] {
        if let Some(rest) = part.strip_suffix(suffix)
            && rest.chars().count() >= MIN_NAME_CHARS
        {
            return rest;
        }
    }
    part
}

fn strip_title_prefix(part: &str) -> Option<&str> {
    NOT_A_NAME
        .iter()
        .filter_map(|title| part.strip_prefix(title))
        .filter(|rest| rest.chars().count() >= MIN_NAME_CHARS)
        // The longest title wins: "村委会主任王某" gives 王某, not 会主任王某.
        .min_by_key(|rest| rest.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn spacing_of_every_kind_is_removed() {
        assert_eq!(normalize_name("王 书记"), "王书记");
        assert_eq!(normalize_name("王\u{3000}书记"), "王书记");
        assert_eq!(normalize_name(" 王\t书\n记 "), "王书记");
        assert_eq!(normalize_name("王\u{200B}书记"), "王书记");
        assert_eq!(normalize_name("王\u{202E}书\u{2066}记\u{2069}"), "王书记");
    }

    #[test]
    fn full_width_forms_become_ascii_and_latin_is_lower_cased() {
        assert_eq!(normalize_name("Ｚｈａｎｇ　Ｓａｎ"), "zhangsan");
        assert_eq!(normalize_name("ZHANG San"), "zhangsan");
        assert_eq!(normalize_name("李４"), "李4");
    }

    #[test]
    fn punctuation_is_removed() {
        assert_eq!(normalize_name("阿不都·热合曼"), "阿不都热合曼");
        assert_eq!(normalize_name("阿不都・热合曼"), "阿不都热合曼");
        assert_eq!(normalize_name("“王书记”"), "王书记");
        assert_eq!(normalize_name("《王书记》。"), "王书记");
        assert_eq!(normalize_name("（王书记）"), "王书记");
        assert_eq!(normalize_name("O'Brien-Smith_jr."), "obriensmithjr");
        assert_eq!(normalize_name("王—书记…"), "王书记");
    }

    #[test]
    fn different_spellings_of_one_name_normalise_alike() {
        let forms = ["王书记", "王 书记", "王　书记", "“王书记”", "王·书记"];
        for form in forms {
            assert_eq!(normalize_name(form), "王书记", "{form}");
        }
    }

    #[test]
    fn a_name_and_its_role_give_the_name() {
        assert_eq!(names_in_subject("王某，村委会主任"), vec!["王某"]);
        assert_eq!(names_in_subject("王某（网格员）"), vec!["王某"]);
        assert_eq!(
            names_in_subject("Zhang San (grid worker)"),
            vec!["zhangsan"]
        );
    }

    #[test]
    fn a_space_between_a_name_and_a_role_separates_them() {
        let spaced = names_in_subject("刘某某 青山村书记");
        let comma = names_in_subject("刘某某，青山村党支部书记");
        assert!(spaced.contains(&"刘某某".to_string()), "{spaced:?}");
        assert!(comma.contains(&"刘某某".to_string()), "{comma:?}");
        // A spaced name is not split into a surname and a given name.
        assert_eq!(names_in_subject("王 小明"), vec!["王小明"]);
        assert_eq!(names_in_subject("Zhang San"), vec!["zhangsan"]);
    }

    #[test]
    fn a_name_that_contains_a_title_is_kept() {
        assert_eq!(names_in_subject("王书记，村支书"), vec!["王书记"]);
        assert_eq!(names_in_subject("王 书记"), vec!["王书记"]);
        assert_eq!(names_in_subject("王　书记"), vec!["王书记"]);
    }

    #[test]
    fn several_people_are_split_and_deduplicated() {
        assert_eq!(names_in_subject("王书记、李会计"), vec!["王书记", "李会计"]);
        assert_eq!(names_in_subject("王书记和李会计"), vec!["王书记", "李会计"]);
        assert_eq!(
            names_in_subject("张三;李四；王五/赵六\n钱七"),
            vec!["张三", "李四", "王五", "赵六", "钱七"]
        );
        assert_eq!(names_in_subject("王书记，王 书记、王书记"), vec!["王书记"]);
    }

    #[test]
    fn a_conjunction_inside_a_given_name_does_not_split_it() {
        assert_eq!(names_in_subject("李和平"), vec!["李和平"]);
        assert_eq!(names_in_subject("张与"), vec!["张与"]);
    }

    #[test]
    fn a_title_in_front_of_a_name_is_also_dropped() {
        assert_eq!(
            names_in_subject("村委会主任王某"),
            vec!["王某", "村委会主任王某"]
        );
        assert_eq!(names_in_subject("王某等人"), vec!["王某"]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Names as typed: CJK, Latin, full-width forms, spacing, punctuation, separators,
        /// conjunctions, invisible characters, and now and then anything at all.
        fn typed() -> impl Strategy<Value = String> {
            let c = prop_oneof![
                4 => prop::char::range('一', '龥'),
                2 => prop::char::range('A', 'z'),
                2 => prop::char::range('\u{FF01}', '\u{FF5E}'),
                2 => prop::sample::select(SEPARATORS.to_vec()),
                1 => prop::sample::select(CONJUNCTIONS.to_vec()),
                2 => prop::sample::select(vec![
                    ' ', '\u{3000}', '\u{200B}', '\u{FEFF}', '\u{00AD}', '·', '・', '等', '人',
                    'İ', 'ẞ', 'Σ', 'ǅ', '\u{0345}', 'ﬃ',
                ]),
                1 => any::<char>(),
            ];
            let title = prop::sample::select(NOT_A_NAME.to_vec()).prop_map(str::to_string);
            let piece = prop_oneof![
                3 => prop::collection::vec(c, 0..8).prop_map(String::from_iter),
                1 => title,
            ];
            prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #[test]
            fn normalize_name_is_idempotent(name in typed()) {
                let once = normalize_name(&name);
                prop_assert_eq!(normalize_name(&once), once);
            }

            #[test]
            fn normalize_name_is_idempotent_on_anything(name in any::<String>()) {
                let once = normalize_name(&name);
                prop_assert_eq!(normalize_name(&once), once);
            }

            #[test]
            fn names_found_are_normalised_distinct_real_names(subject in typed()) {
                let names = names_in_subject(&subject);
                for (i, name) in names.iter().enumerate() {
                    prop_assert_eq!(&normalize_name(name), name);
                    prop_assert!(name.chars().count() >= MIN_NAME_CHARS);
                    prop_assert!(!is_title_only(name), "{name}");
                    prop_assert!(!names[..i].contains(name));
                    prop_assert!(!name.contains(SEPARATORS), "{name}");
                }
            }

            #[test]
            fn names_in_subject_never_panics(subject in any::<String>()) {
                let _ = names_in_subject(&subject);
            }
        }
    }

    #[test]
    fn roles_placeholders_and_stray_characters_name_nobody() {
        assert!(names_in_subject("村委会主任").is_empty());
        assert!(names_in_subject("书记、会计，网格员").is_empty());
        assert!(names_in_subject("村支书（支书）").is_empty());
        assert!(names_in_subject("不知道").is_empty());
        assert!(names_in_subject("王").is_empty());
        assert!(names_in_subject(" ，、 ").is_empty());
        assert!(names_in_subject("").is_empty());
    }
}
