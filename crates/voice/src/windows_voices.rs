//! Which installed Windows voice speaks a request, by language and gender: the rule behind
//! `sapi::WindowsSpeech`, kept free of COM so it is the same, and tested, on every platform.
//!
//! PitBox's voice ids ask for a language and a gender (`engineer-uk-f`: British English, female);
//! a language tag (`en-GB`) asks for a language. Windows lists each voice's language as LCIDs
//! (`409` = en-US, `809` = en-GB) and its gender in the voice's `Attributes`. The closest
//! installed voice speaks: same language and gender, same language, the same language family
//! (any English) and gender, any of that family; with a note saying what was missing, so the
//! driver knows why "engineer-uk" sounds American. Any other name picks the voice whose
//! description contains it (`Zira`, `Hazel` …).

/// A voice's gender as Windows lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    /// Windows' `Gender` attribute (`Male`, `Female`; anything else is unknown).
    pub fn parse(attribute: &str) -> Option<Self> {
        match attribute.trim().to_ascii_lowercase().as_str() {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            _ => None,
        }
    }

    /// `male`, `female`.
    pub fn word(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
}

/// One voice Windows has installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledVoice {
    /// `Microsoft Hazel Desktop - English (Great Britain)`.
    pub description: String,
    /// Its languages as LCIDs (the `Language` attribute, hexadecimal, `;`-separated).
    pub languages: Vec<u16>,
    pub gender: Option<Gender>,
}

impl InstalledVoice {
    /// A voice from its description and its `Language` and `Gender` attributes (absent or
    /// unreadable ones are unknown).
    pub fn from_attributes(description: String, language: Option<&str>, gender: Option<&str>) -> Self {
        let languages = language
            .unwrap_or_default()
            .split(';')
            .filter_map(|l| u16::from_str_radix(l.trim(), 16).ok())
            .filter(|&l| l != 0)
            .collect();
        Self { description, languages, gender: gender.and_then(Gender::parse) }
    }
}

/// What a request asks Windows for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wish {
    /// The language as an LCID.
    pub language: u16,
    pub gender: Option<Gender>,
}

/// English language tags and their LCIDs: the callouts and commands are English.
const LANGUAGES: &[(&str, u16, &str)] = &[
    ("en-us", 0x0409, "US English"),
    ("en-gb", 0x0809, "British English"),
    ("en-au", 0x0c09, "Australian English"),
    ("en-ca", 0x1009, "Canadian English"),
    ("en-nz", 0x1409, "New Zealand English"),
    ("en-ie", 0x1809, "Irish English"),
    ("en-za", 0x1c09, "South African English"),
    ("en-in", 0x4009, "Indian English"),
];

/// The primary-language part of an LCID (0x09 = English).
fn family(lcid: u16) -> u16 {
    lcid & 0x03ff
}

fn language_name(lcid: u16) -> String {
    LANGUAGES.iter().find(|(_, l, _)| *l == lcid).map_or_else(
        || if family(lcid) == 0x09 { "English".to_string() } else { format!("language {lcid:x}") },
        |(_, _, n)| (*n).to_string(),
    )
}

/// What a PitBox voice id or a language tag asks for; None for any other name.
pub fn wish_for(voice: &str) -> Option<Wish> {
    let v = voice.trim().to_ascii_lowercase();
    let (language, gender) = match v.as_str() {
        "engineer" | "engineer-deep" => (0x0409, Some(Gender::Male)),
        "engineer-f" => (0x0409, Some(Gender::Female)),
        "engineer-uk" | "engineer-scot" => (0x0809, Some(Gender::Male)),
        "engineer-uk-f" => (0x0809, Some(Gender::Female)),
        tag => (LANGUAGES.iter().find(|(t, _, _)| *t == tag)?.1, None),
    };
    Some(Wish { language, gender })
}

/// The voice that speaks: an index into the installed voices, or None for Windows' default
/// voice; and a note when it is not what was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub index: Option<usize>,
    pub note: Option<String>,
}

/// Why a voice name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSuchVoice(pub String);

/// Chooses among `installed` for `voice` (a PitBox id, a language tag or part of a voice's
/// description; empty or `default` is Windows' default voice, the one the driver chose in
/// Settings → Time & language → Speech).
pub fn choose(installed: &[InstalledVoice], voice: &str) -> Result<Choice, NoSuchVoice> {
    let v = voice.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("default") {
        return Ok(Choice { index: None, note: None });
    }
    let Some(wish) = wish_for(v) else {
        let lower = v.to_lowercase();
        return match installed.iter().position(|i| i.description.to_lowercase().contains(&lower)) {
            Some(i) => Ok(Choice { index: Some(i), note: None }),
            None => Err(NoSuchVoice(format!(
                "Windows speech has no voice named like `{v}`; installed: {}",
                if installed.is_empty() {
                    "none".to_string()
                } else {
                    installed.iter().map(|i| i.description.as_str()).collect::<Vec<_>>().join(", ")
                }
            ))),
        };
    };
    let same_lang = |i: &InstalledVoice| i.languages.contains(&wish.language);
    let same_family = |i: &InstalledVoice| i.languages.iter().any(|&l| family(l) == family(wish.language));
    let same_gender = |i: &InstalledVoice| wish.gender.is_none() || i.gender == wish.gender;
    let find = |f: &dyn Fn(&InstalledVoice) -> bool| installed.iter().position(f);
    let wanted = match wish.gender {
        Some(g) => format!("{} {} voice", language_name(wish.language), g.word()),
        None => format!("{} voice", language_name(wish.language)),
    };
    if let Some(i) = find(&|i| same_lang(i) && same_gender(i)) {
        return Ok(Choice { index: Some(i), note: None });
    }
    let (index, note) = if let Some(i) = find(&|i| same_lang(i)) {
        (Some(i), format!("no {wanted} is installed; {} speaks", installed[i].description))
    } else if let Some(i) = find(&|i| same_family(i) && same_gender(i)).or_else(|| find(&|i| same_family(i))) {
        (Some(i), format!("no {wanted} is installed; {} speaks", installed[i].description))
    } else if installed.iter().all(|i| i.languages.is_empty()) {
        (
            None,
            format!(
                "the installed voices do not say their language, so none is known to be a {wanted}; Windows' default voice speaks"
            ),
        )
    } else {
        (None, format!("no {wanted} is installed; Windows' default voice speaks"))
    };
    Ok(Choice { index, note: Some(format!("{note} (add voices in Settings → Time & language → Speech)")) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(d: &str, lang: &str, gender: &str) -> InstalledVoice {
        InstalledVoice::from_attributes(d.into(), Some(lang), Some(gender))
    }

    fn windows_11_english() -> Vec<InstalledVoice> {
        vec![
            voice("Microsoft David Desktop - English (United States)", "409", "Male"),
            voice("Microsoft Zira Desktop - English (United States)", "409", "Female"),
            voice("Microsoft Hazel Desktop - English (Great Britain)", "809", "Female"),
        ]
    }

    #[test]
    fn attributes_are_read_as_windows_writes_them() {
        let v = InstalledVoice::from_attributes("x".into(), Some("409;9"), Some("Female"));
        assert_eq!(v.languages, vec![0x409, 0x9]);
        assert_eq!(v.gender, Some(Gender::Female));
        let v = InstalledVoice::from_attributes("x".into(), Some("zz"), None);
        assert!(v.languages.is_empty());
        assert_eq!(v.gender, None);
    }

    #[test]
    fn pitbox_voices_pick_their_language_and_gender() {
        let v = windows_11_english();
        assert_eq!(choose(&v, "engineer").unwrap(), Choice { index: Some(0), note: None });
        assert_eq!(choose(&v, "engineer-f").unwrap(), Choice { index: Some(1), note: None });
        assert_eq!(choose(&v, "engineer-uk-f").unwrap(), Choice { index: Some(2), note: None });
        assert_eq!(choose(&v, "en-GB").unwrap(), Choice { index: Some(2), note: None });
        assert_eq!(choose(&v, "default").unwrap(), Choice { index: None, note: None });
    }

    #[test]
    fn a_missing_voice_falls_back_to_the_closest_and_says_so() {
        let v = windows_11_english();
        // No British male voice: Hazel (British, female) before David (American, male).
        let c = choose(&v, "engineer-uk").unwrap();
        assert_eq!(c.index, Some(2));
        assert_eq!(
            c.note.as_deref(),
            Some(
                "no British English male voice is installed; Microsoft Hazel Desktop - English (Great Britain) speaks \
                 (add voices in Settings → Time & language → Speech)"
            )
        );
        // No Australian voice: an English one of the gender asked for.
        let c = choose(&v, "en-AU").unwrap();
        assert_eq!(c.index, Some(0));
        assert!(c.note.unwrap().starts_with("no Australian English voice is installed; Microsoft David"));
        // Only a German voice: Windows' default voice, with the reason.
        let de = vec![voice("Microsoft Hedda Desktop - German", "407", "Female")];
        let c = choose(&de, "engineer-f").unwrap();
        assert_eq!(c.index, None);
        assert!(c.note.unwrap().starts_with("no US English female voice is installed; Windows' default voice speaks"));
        // Voices that list no language (wine's) are not taken for English.
        let unknown = vec![InstalledVoice::from_attributes("voice 0".into(), None, None)];
        let c = choose(&unknown, "engineer").unwrap();
        assert_eq!(c.index, None);
        assert!(c.note.unwrap().starts_with("the installed voices do not say their language"));
    }

    #[test]
    fn other_names_match_the_description_or_are_refused_with_the_choices() {
        let v = windows_11_english();
        assert_eq!(choose(&v, "zira").unwrap().index, Some(1));
        let e = choose(&v, "Siri").unwrap_err();
        assert!(e.0.starts_with("Windows speech has no voice named like `Siri`; installed: Microsoft David"), "{e:?}");
        assert_eq!(
            choose(&[], "Siri").unwrap_err().0,
            "Windows speech has no voice named like `Siri`; installed: none"
        );
    }
}
