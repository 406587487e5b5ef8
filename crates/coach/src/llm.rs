//! Phrasing by a language model, checked, with the built-in wording as the fallback.
//!
//! The model receives only the structured findings ([`Brief`]), never telemetry. Its answer is
//! accepted only when every corner id it names is one of the brief's and every number in it is one
//! of the brief's numbers (or a rounding of one); otherwise, and on any error or timeout, the
//! built-in wording is used. [`OpenAiClient`] speaks the OpenAI-compatible chat-completions API
//! (`POST {base_url}/chat/completions`); the key is passed in by the caller (the cloud reads it
//! from its encrypted secret store) and never logged.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::findings::Finding;

/// What the model is told: the findings, nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Brief {
    pub lap: Option<i32>,
    /// Lap time text, e.g. "1:08.921".
    pub lap_time: Option<String>,
    /// Delta to the reference, seconds, e.g. "+0.196".
    pub delta: Option<String>,
    pub reference: String,
    pub findings: Vec<BriefFinding>,
}

/// One finding as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BriefFinding {
    pub corner: Option<String>,
    /// Seconds at stake, e.g. "0.21".
    pub time_s: String,
    pub finding: String,
    pub advice: String,
}

impl Brief {
    /// A brief from findings (the first `max` of them).
    pub fn new(
        lap: Option<i32>,
        lap_time: Option<String>,
        delta: Option<f64>,
        reference: &str,
        findings: &[Finding],
        max: usize,
    ) -> Brief {
        Brief {
            lap,
            lap_time,
            delta: delta.map(|d| format!("{d:+.3}")),
            reference: reference.to_string(),
            findings: findings
                .iter()
                .take(max)
                .map(|f| BriefFinding {
                    corner: f.corner.clone(),
                    time_s: format!("{:.2}", f.time_s),
                    finding: f.text.clone(),
                    advice: f.advice.clone(),
                })
                .collect(),
        }
    }

    /// The built-in wording.
    pub fn builtin(&self) -> String {
        let mut s = match (self.lap, &self.lap_time, &self.delta) {
            (Some(l), Some(t), Some(d)) => format!("Lap {l}: {t}, {d} s to {}.", self.reference),
            _ => String::new(),
        };
        if self.findings.is_empty() {
            s.push_str(" Nothing stands out: keep it up.");
        }
        for f in &self.findings {
            s.push(' ');
            s.push_str(&f.finding);
            s.push('.');
        }
        s.trim().to_string()
    }
}

/// Why the model's phrasing was not used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("request failed: {0}")]
    Http(String),
    #[error("the provider answered HTTP {0}")]
    Status(u16),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("unreadable answer: {0}")]
    BadResponse(String),
    #[error("answer rejected: {0}")]
    Rejected(String),
}

/// A language model that phrases a brief.
pub trait LlmProvider: Send + Sync {
    /// Phrases the brief as a race engineer would.
    fn phrase<'a>(&'a self, brief: &'a Brief) -> Pin<Box<dyn Future<Output = Result<String, LlmError>> + Send + 'a>>;
}

/// The system prompt.
pub const SYSTEM_PROMPT: &str = "You are a race engineer talking to your driver after a lap. \
Rephrase the findings you are given as a short, calm debrief of at most four sentences: the \
biggest time loss first, each with what to do. Use only the corners and numbers in the findings; \
do not invent any. No greetings.";

/// An OpenAI-compatible chat-completions client.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    base_url: String,
    model: String,
    api_key: String,
}

impl OpenAiClient {
    /// `base_url` like `https://api.openai.com/v1`; `timeout` bounds each request.
    pub fn new(base_url: &str, model: &str, api_key: &str, timeout: Duration) -> Result<OpenAiClient, LlmError> {
        let http = reqwest::Client::builder().timeout(timeout).build().map_err(|e| LlmError::Http(e.to_string()))?;
        Ok(OpenAiClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            api_key: api_key.to_string(),
        })
    }
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<ChatChoice>,
}

#[derive(Deserialize)]
struct ChatChoice {
    message: ChatMessage,
}

#[derive(Deserialize)]
struct ChatMessage {
    content: Option<String>,
}

impl LlmProvider for OpenAiClient {
    fn phrase<'a>(&'a self, brief: &'a Brief) -> Pin<Box<dyn Future<Output = Result<String, LlmError>> + Send + 'a>> {
        Box::pin(async move {
            let findings = serde_json::to_string(brief).map_err(|e| LlmError::BadResponse(e.to_string()))?;
            let body = serde_json::json!({
                "model": self.model,
                "temperature": 0.2,
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": findings},
                ],
            });
            let resp = self
                .http
                .post(format!("{}/chat/completions", self.base_url))
                .bearer_auth(&self.api_key)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() { LlmError::Timeout(Duration::ZERO) } else { LlmError::Http(e.to_string()) }
                })?;
            if !resp.status().is_success() {
                return Err(LlmError::Status(resp.status().as_u16()));
            }
            let bytes = resp.bytes().await.map_err(|e| LlmError::Http(e.to_string()))?;
            let parsed: ChatResponse =
                serde_json::from_slice(&bytes).map_err(|e| LlmError::BadResponse(e.to_string()))?;
            parsed
                .choices
                .into_iter()
                .next()
                .and_then(|c| c.message.content)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| LlmError::BadResponse("no message content".into()))
        })
    }
}

fn numbers(s: &str) -> Vec<(f64, usize)> {
    // (value, decimals) of every number in the text.
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_digit() || (b[i] == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit()))
            {
                i += 1;
            }
            let tok = &s[start..i];
            let dec = tok.split_once('.').map_or(0, |(_, d)| d.len());
            if let Ok(v) = tok.parse::<f64>() {
                out.push((v, dec));
            }
        } else {
            i += 1;
        }
    }
    out
}

fn corner_ids(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    for i in 0..b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if b[i] == b'T' && boundary && i + 1 < b.len() && b[i + 1].is_ascii_digit() {
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            out.push(s[i..j].to_string());
        }
    }
    out
}

/// Checks a phrasing against the brief: only the brief's corners, only its numbers (or their
/// roundings), not empty, not too long.
pub fn check_phrasing(text: &str, brief: &Brief) -> Result<(), LlmError> {
    if text.trim().is_empty() {
        return Err(LlmError::Rejected("empty".into()));
    }
    if text.chars().count() > pitbox_model::coaching::MAX_FEEDBACK_LEN {
        return Err(LlmError::Rejected("too long".into()));
    }
    let source = serde_json::to_string(brief).unwrap_or_default();
    let allowed_corners = corner_ids(&source);
    for c in corner_ids(text) {
        if !allowed_corners.contains(&c) {
            return Err(LlmError::Rejected(format!("corner {c} is not in the findings")));
        }
    }
    // Numbers: strip corner ids first so "T3" is not the number 3.
    let strip = |s: &str| {
        let mut t = s.to_string();
        for c in corner_ids(s) {
            t = t.replace(&c, " ");
        }
        t
    };
    let allowed: Vec<f64> = numbers(&strip(&source)).into_iter().map(|(v, _)| v).collect();
    for (v, dec) in numbers(&strip(text)) {
        let half = 0.5 * 10f64.powi(-(dec as i32)) + 1e-9;
        if !allowed.iter().any(|a| (a - v).abs() <= half) {
            return Err(LlmError::Rejected(format!("number {v} is not in the findings")));
        }
    }
    Ok(())
}

/// Where the words came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Wording {
    Llm,
    /// The built-in wording, with the reason the model's was not used.
    Builtin {
        reason: Option<String>,
    },
}

/// Asks `provider` (if any) to phrase `brief` within `timeout`; falls back to the built-in
/// wording on any error, timeout or failed check.
pub async fn phrase_or_fallback(
    provider: Option<&dyn LlmProvider>,
    brief: &Brief,
    timeout: Duration,
) -> (String, Wording) {
    let Some(p) = provider else { return (brief.builtin(), Wording::Builtin { reason: None }) };
    let result = match tokio::time::timeout(timeout, p.phrase(brief)).await {
        Err(_) => Err(LlmError::Timeout(timeout)),
        Ok(r) => r.and_then(|text| check_phrasing(&text, brief).map(|()| text)),
    };
    match result {
        Ok(text) => (text, Wording::Llm),
        Err(e) => (brief.builtin(), Wording::Builtin { reason: Some(e.to_string()) }),
    }
}
