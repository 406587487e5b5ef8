//! How often the driver's first command after start is recognised: every command in three
//! espeak-ng voices, each as the first utterance of a fresh recogniser, with and without
//! `pitbox_driver::voice::warm_up`. Needs espeak-ng and PocketSphinx (scripts/setup-voice).
//! `cargo run --release -p pitbox-driver --example first_command`
use pitbox_voice::{CommandRecognizer, EspeakNg, RecognizerConfig, SpeechRequest, VoiceCommand};

fn main() -> anyhow::Result<()> {
    let tts = EspeakNg::new();
    tts.available()?;
    pitbox_voice::sphinx::availability()?;
    for warm in [false, true] {
        let (mut right, mut total) = (0, 0);
        for voice in ["en-us", "en", "en-us+f3"] {
            for c in VoiceCommand::all() {
                let mut r = CommandRecognizer::new(RecognizerConfig::default())?;
                if warm {
                    pitbox_driver::voice::warm_up(&mut r);
                }
                let heard = r.recognize(&tts.synthesize_blocking(&SpeechRequest::new(c.phrase(), voice))?)?;
                total += 1;
                right += usize::from(heard.command == Some(c));
            }
        }
        println!("warm-up {}: first command recognised {right}/{total}", if warm { "on" } else { "off" });
    }
    Ok(())
}
