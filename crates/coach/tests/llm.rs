//! The OpenAI-compatible client against a tiny local HTTP server (127.0.0.1 only), the answer
//! check and the fallback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pitbox_coach::findings::findings;
use pitbox_coach::llm::{Brief, LlmProvider, OpenAiClient, Wording, check_phrasing, phrase_or_fallback};
use pitbox_coach::synth::{Fault, SynthTrack, stream};
use pitbox_coach::{AnalysisOptions, Stream, analyze};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn brief() -> Brief {
    let track = SynthTrack::club();
    let s = stream(
        &[
            track.lap(&[]),
            track
                .lap(&[Fault::EarlyBrake { corner: 2, metres: 15.0 }, Fault::LateThrottle { corner: 3, seconds: 0.3 }]),
        ],
        60.0,
        1,
        1.0,
        1.0,
        0.3,
    );
    let opts = AnalysisOptions::default();
    let st = Stream::new(s.samples, &opts).expect("stream");
    let a = analyze(&st, None, None, &opts).expect("analysis");
    let r = a.focus_report().expect("focus");
    let f = findings(&r.comparison, "your best lap");
    Brief::new(Some(r.lap), Some("1:09.531".into()), Some(r.comparison.delta_s), "your best lap", &f, 5)
}

/// Serves `replies` (status, body, delay) one per connection; records the requests.
async fn server(replies: Vec<(u16, String, u64)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (status, body, delay) in replies {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read headers and the body (Content-Length).
            loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(h) = text.find("\r\n\r\n") {
                    let len = text[..h]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= h + 4 + len {
                        break;
                    }
                }
            }
            log.lock().expect("lock").push(String::from_utf8_lossy(&buf).to_string());
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}/v1"), seen)
}

/// The metres of "braking N m earlier" in a finding.
fn metres(finding: &str) -> String {
    finding.split("braking ").nth(1).and_then(|r| r.split(' ').next()).unwrap_or("?").to_string()
}

fn chat(content: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
    })
    .to_string()
}

#[tokio::test]
async fn a_checked_answer_is_used_anything_else_falls_back() {
    let b = brief();
    assert_eq!(b.findings.len(), 2, "{b:#?}");
    let t3 = b.findings.iter().find(|f| f.corner.as_deref() == Some("T3")).expect("T3");
    let m = metres(&t3.finding);
    let good = format!("Biggest one is T3: you braked {m} m early, that cost {} s. Brake later there.", t3.time_s);
    let replies = vec![
        (200, chat(&good), 0),
        (200, chat("T9 is where you lose 0.21 s."), 0),
        (200, chat("T3: braking 40 m too early."), 0),
        (500, "{\"error\":\"boom\"}".to_string(), 0),
        (200, "not json".to_string(), 0),
        (200, chat(&good), 2_000),
    ];
    let (base, seen) = server(replies).await;
    let client = OpenAiClient::new(&base, "coach-model", "sk-test", Duration::from_secs(5)).expect("client");
    let p: &dyn LlmProvider = &client;
    let timeout = Duration::from_millis(800);

    let (text, how) = phrase_or_fallback(Some(p), &b, timeout).await;
    assert_eq!((text.as_str(), how), (good.as_str(), Wording::Llm));
    for expect in ["corner T9", "number 40", "HTTP 500", "unreadable", "no answer"] {
        let (text, how) = phrase_or_fallback(Some(p), &b, timeout).await;
        assert_eq!(text, b.builtin());
        match how {
            Wording::Builtin { reason: Some(r) } => assert!(r.contains(expect), "{r} / {expect}"),
            other => panic!("{other:?}"),
        }
    }
    let (text, how) = phrase_or_fallback(None, &b, timeout).await;
    assert_eq!((text, how), (b.builtin(), Wording::Builtin { reason: None }));

    // What went over the wire: the key as a bearer token, the model, the findings, and no
    // telemetry.
    let reqs = seen.lock().expect("lock").clone();
    let first = &reqs[0];
    assert!(first.starts_with("POST /v1/chat/completions HTTP/1.1"), "{first}");
    assert!(first.to_ascii_lowercase().contains("authorization: bearer sk-test"));
    assert!(first.contains("\"model\":\"coach-model\"") && first.contains("T3: braking 1"));
    assert!(!first.contains("throttle\":") && !first.contains("speed\":"));
}

#[test]
fn the_check_accepts_roundings_and_rejects_inventions() {
    let b = brief();
    let t = &b.findings[0];
    assert!(check_phrasing(&format!("{} costs {} s", t.corner.as_deref().unwrap_or("T3"), t.time_s), &b).is_ok());
    let t3 = b.findings.iter().find(|f| f.corner.as_deref() == Some("T3")).expect("T3");
    let m = metres(&t3.finding);
    assert!(check_phrasing(&format!("Lap 2 was fine, T3 braking {m} m early"), &b).is_ok());
    assert!(check_phrasing("T1 cost you 3 s", &b).is_err());
    assert!(check_phrasing("", &b).is_err());
    assert!(check_phrasing("You lost 7.77 s", &b).is_err());
}
