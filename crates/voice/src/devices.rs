//! Choosing an audio device by name, as the driver writes it in `--voice-out sound-card:NAME` or
//! `--voice-in mic:NAME`: platform-free, so the rule is the same (and tested) everywhere; the
//! sound card ([`crate::soundcard`]) applies it to the devices cpal lists.

/// Which of `names` the driver means by `wanted`: the one whose name equals it (ignoring case and
/// surrounding blanks), else the only one whose name contains it. `what` ("output", "input")
/// names the kind in the errors, which list the devices there are, so the driver can copy one.
pub fn pick_device(names: &[String], wanted: &str, what: &str) -> Result<usize, String> {
    let want = wanted.trim().to_lowercase();
    if want.is_empty() {
        return Err(format!("the {what} device name is empty"));
    }
    if let Some(i) = names.iter().position(|n| n.trim().to_lowercase() == want) {
        return Ok(i);
    }
    let matching: Vec<usize> = (0..names.len()).filter(|&i| names[i].to_lowercase().contains(&want)).collect();
    match matching.as_slice() {
        [one] => Ok(*one),
        [] if names.is_empty() => {
            Err(format!("no {what} device named like `{}`: this machine has none", wanted.trim()))
        }
        [] => Err(format!("no {what} device named like `{}`; there are: {}", wanted.trim(), quoted(names.iter()))),
        several => Err(format!(
            "`{}` names {} {what} devices: {}; give more of the name",
            wanted.trim(),
            several.len(),
            quoted(several.iter().map(|&i| &names[i]))
        )),
    }
}

fn quoted<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_exact_name_wins_over_a_longer_one_that_contains_it() {
        let n = names(&["Headset (USB)", "Headset", "Speakers (Realtek)"]);
        assert_eq!(pick_device(&n, "headset", "output"), Ok(1));
        assert_eq!(pick_device(&n, " SPEAKERS (realtek) ", "output"), Ok(2));
    }

    #[test]
    fn a_unique_part_of_a_name_is_enough() {
        let n = names(&["Speakers (Realtek High Definition Audio)", "Headphones (Arctis 7 Game)"]);
        assert_eq!(pick_device(&n, "arctis", "output"), Ok(1));
    }

    #[test]
    fn an_ambiguous_or_unknown_name_is_refused_with_the_choices() {
        let n = names(&["Headset (USB)", "Headset Earphone (Arctis)", "Speakers"]);
        let e = pick_device(&n, "head", "output").unwrap_err();
        assert_eq!(
            e,
            "`head` names 2 output devices: `Headset (USB)`, `Headset Earphone (Arctis)`; give more of the name"
        );
        let e = pick_device(&n, "monitor", "input").unwrap_err();
        assert_eq!(
            e,
            "no input device named like `monitor`; there are: `Headset (USB)`, `Headset Earphone (Arctis)`, `Speakers`"
        );
        assert_eq!(
            pick_device(&[], "x", "input").unwrap_err(),
            "no input device named like `x`: this machine has none"
        );
        assert_eq!(pick_device(&n, "  ", "output").unwrap_err(), "the output device name is empty");
    }
}
