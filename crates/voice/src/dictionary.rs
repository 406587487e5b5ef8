//! The pronouncing dictionary of the command words, carried in the binary
//! (`data/commands.dict`, cut from PocketSphinx's cmudict-en-us to the grammar's words), and a
//! strict parser for that CMUdict text format.

use crate::commands::GARBAGE_PHONES;

/// The command words' pronunciations, embedded.
pub const COMMANDS_DICT: &str = include_str!("../data/commands.dict");

/// One pronunciation: the word as the grammar spells it and its phones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pronunciation {
    /// The word (without the `(n)` variant marker).
    pub word: String,
    /// Its variant number: 1 for `word`, n for `word(n)`.
    pub variant: u32,
    /// The phones, each one of [`GARBAGE_PHONES`] (the en-us model's phone set).
    pub phones: Vec<String>,
}

/// Why a dictionary line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DictError {
    #[error("dictionary line {line}: no phones after the word")]
    NoPhones { line: usize },
    #[error("dictionary line {line}: bad word `{word}` (letters, digits, ' and - only, optional (n) with n ≥ 2)")]
    BadWord { line: usize, word: String },
    #[error("dictionary line {line}: `{phone}` is not a phone of the en-us model")]
    UnknownPhone { line: usize, phone: String },
    #[error("dictionary line {line}: `{word}` is listed twice")]
    Duplicate { line: usize, word: String },
}

/// Parses CMUdict text: one `WORD[(n)] PHONE…` per line; blank lines and `;;` comments skipped.
pub fn parse_dictionary(text: &str) -> Result<Vec<Pronunciation>, DictError> {
    let mut out: Vec<Pronunciation> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with(";;") {
            continue;
        }
        let mut parts = l.split_whitespace();
        let head = parts.next().unwrap_or_default();
        let (word, variant) = split_variant(head).ok_or_else(|| DictError::BadWord { line, word: head.into() })?;
        let phones: Vec<String> = parts.map(str::to_string).collect();
        if phones.is_empty() {
            return Err(DictError::NoPhones { line });
        }
        if let Some(p) = phones.iter().find(|p| !GARBAGE_PHONES.contains(&p.as_str())) {
            return Err(DictError::UnknownPhone { line, phone: p.clone() });
        }
        if out.iter().any(|p| p.word == word && p.variant == variant) {
            return Err(DictError::Duplicate { line, word: head.into() });
        }
        out.push(Pronunciation { word: word.to_string(), variant, phones });
    }
    Ok(out)
}

fn split_variant(head: &str) -> Option<(&str, u32)> {
    let (word, variant) = match head.strip_suffix(')').and_then(|h| h.split_once('(')) {
        Some((w, n)) => {
            let n: u32 = n.parse().ok().filter(|n| *n >= 2)?;
            (w, n)
        }
        None => (head, 1),
    };
    let ok = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '\'' || c == '-');
    ok.then_some((word, variant))
}

/// The name PocketSphinx gives variant `n` of `word` in its dictionary.
pub fn variant_name(p: &Pronunciation) -> String {
    if p.variant == 1 { p.word.clone() } else { format!("{}({})", p.word, p.variant) }
}

/// The embedded command dictionary, parsed (it is checked by a test, so this cannot fail in a
/// released binary; an error here is still returned rather than panicking).
pub fn command_dictionary() -> Result<Vec<Pronunciation>, DictError> {
    parse_dictionary(COMMANDS_DICT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_embedded_dictionary_covers_every_grammar_word() {
        let dict = command_dictionary().expect("commands.dict parses");
        let grammar = crate::commands::jsgf_grammar(None);
        for line in grammar.lines().skip(3) {
            let body = line.split_once('=').map(|(_, b)| b).unwrap_or("");
            for tok in body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '\'' || c == '<' || c == '>')) {
                if tok.is_empty() || tok.starts_with('<') {
                    continue;
                }
                assert!(dict.iter().any(|p| p.word == tok), "grammar word `{tok}` is not in commands.dict");
            }
        }
    }

    #[test]
    fn lines_are_checked() {
        let ok = parse_dictionary(";; c\n\nbox B AA K S\nthe(2) DH IY\n").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(variant_name(&ok[1]), "the(2)");
        assert_eq!(parse_dictionary("box\n"), Err(DictError::NoPhones { line: 1 }));
        assert_eq!(parse_dictionary("x\nbox B XX\n").unwrap_err(), DictError::NoPhones { line: 1 });
        assert_eq!(
            parse_dictionary("box B XX\n").unwrap_err(),
            DictError::UnknownPhone { line: 1, phone: "XX".into() }
        );
        assert!(matches!(parse_dictionary("b(1) B\n"), Err(DictError::BadWord { .. })));
        assert!(matches!(parse_dictionary("b(x B\n"), Err(DictError::BadWord { .. })));
        assert!(matches!(parse_dictionary("a\"b B\n"), Err(DictError::BadWord { .. })));
        assert!(matches!(parse_dictionary("b B\nb B\n"), Err(DictError::Duplicate { line: 2, .. })));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_gives_a_typed_error(text in ".{0,400}") {
            let _ = parse_dictionary(&text);
        }

        #[test]
        fn written_entries_read_back(entries in proptest::collection::btree_map(
            ("[a-z][a-z']{0,8}", 1u32..4),
            proptest::collection::vec(proptest::sample::select(GARBAGE_PHONES), 1..6),
            0..20,
        )) {
            let text: String = entries
                .iter()
                .map(|((w, n), ph)| {
                    let head = if *n == 1 { w.clone() } else { format!("{w}({n})") };
                    format!("{head} {}\n", ph.join(" "))
                })
                .collect();
            let parsed = parse_dictionary(&text).unwrap();
            prop_assert_eq!(parsed.len(), entries.len());
            for (p, ((w, n), ph)) in parsed.iter().zip(entries.iter()) {
                prop_assert_eq!(&p.word, w);
                prop_assert_eq!(p.variant, *n);
                prop_assert_eq!(&p.phones, &ph.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            }
        }
    }
}
