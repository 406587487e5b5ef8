//! Field validation with precise, path-qualified errors.
//!
//! Validators walk a decoded value and record every broken rule with the JSON path of the field
//! (`data.tireWear.frontLeft`), the rule and the offending value. Paths are rendered only when a
//! rule fails, so validating a valid message allocates nothing.

use std::fmt;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `data.tireWear.frontLeft` or `data.entries[3].position`.
    pub field: String,
    /// What the rule requires and what was found.
    pub rule: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

/// Every broken rule of one value (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ValidationErrors {
    /// The first broken rule (the list is never empty when produced by [`validate`]).
    pub fn first(&self) -> Option<&FieldError> {
        self.0.first()
    }
}

/// A value that knows its own rules.
pub trait Validate {
    /// Records every broken rule into `v`.
    fn validate_into(&self, v: &mut Validator);
}

/// Validates `value` with paths rooted at `root` (e.g. `"data"`, or `""` for a bare model).
pub fn validate<T: Validate + ?Sized>(value: &T, root: &'static str) -> Result<(), ValidationErrors> {
    let mut v = Validator::new(root);
    value.validate_into(&mut v);
    v.finish()
}

#[derive(Debug, Clone, Copy)]
enum Seg {
    Key(&'static str),
    Index(usize),
}

/// Collects broken rules while walking a value.
#[derive(Debug)]
pub struct Validator {
    path: Vec<Seg>,
    errors: Vec<FieldError>,
}

/// Upper bound on recorded errors: a hostile message cannot make error reporting expensive.
const MAX_ERRORS: usize = 32;

impl Validator {
    /// A validator whose paths start at `root` (empty for none).
    pub fn new(root: &'static str) -> Self {
        let mut path = Vec::with_capacity(8);
        if !root.is_empty() {
            path.push(Seg::Key(root));
        }
        Self { path, errors: Vec::new() }
    }

    /// Ends validation.
    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() { Ok(()) } else { Err(ValidationErrors(self.errors)) }
    }

    fn render(&self, last: Option<&str>) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Seg::Index(i) => {
                    s.push('[');
                    s.push_str(&i.to_string());
                    s.push(']');
                }
            }
        }
        // An empty name is a rule on the value itself (its path, not a field under it).
        if let Some(k) = last.filter(|k| !k.is_empty()) {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(k);
        }
        s
    }

    /// Records a broken rule on field `name` under the current path.
    pub fn fail(&mut self, name: &str, rule: impl Into<String>) {
        if self.errors.len() < MAX_ERRORS {
            let field = self.render(Some(name));
            self.errors.push(FieldError { field, rule: rule.into() });
        }
    }

    /// Validates a nested value under `name`.
    pub fn nested<T: Validate + ?Sized>(&mut self, name: &'static str, value: &T) {
        self.path.push(Seg::Key(name));
        value.validate_into(self);
        self.path.pop();
    }

    /// Validates an optional nested value under `name`.
    pub fn nested_opt<T: Validate>(&mut self, name: &'static str, value: Option<&T>) {
        if let Some(value) = value {
            self.nested(name, value);
        }
    }

    /// Validates each element of a list under `name`, and its length.
    pub fn list<T: Validate>(&mut self, name: &'static str, items: &[T], min: usize, max: usize) {
        self.count(name, items.len(), min, max);
        self.path.push(Seg::Key(name));
        for (i, item) in items.iter().enumerate().take(max) {
            self.path.push(Seg::Index(i));
            item.validate_into(self);
            self.path.pop();
        }
        self.path.pop();
    }

    /// Checks a list's length.
    pub fn count(&mut self, name: &str, len: usize, min: usize, max: usize) {
        if len < min {
            self.fail(name, format!("must have at least {min} item(s), got {len}"));
        } else if len > max {
            self.fail(name, format!("must have at most {max} items, got {len}"));
        }
    }

    /// Checks a float is finite and within `[min, max]`.
    pub fn range(&mut self, name: &str, value: f64, min: f64, max: f64) {
        if !value.is_finite() {
            self.fail(name, format!("must be a finite number, got {value}"));
        } else if value < min || value > max {
            self.fail(name, format!("must be between {min} and {max}, got {value}"));
        }
    }

    /// Checks an optional float (absent is fine).
    pub fn range_opt(&mut self, name: &str, value: Option<f64>, min: f64, max: f64) {
        if let Some(value) = value {
            self.range(name, value, min, max);
        }
    }

    /// Checks an integer is within `[min, max]`.
    pub fn int_range(&mut self, name: &str, value: i64, min: i64, max: i64) {
        if value < min || value > max {
            self.fail(name, format!("must be between {min} and {max}, got {value}"));
        }
    }

    /// Checks a string's length in characters, and that it has no control characters other
    /// than newline and tab (they corrupt logs and terminals).
    pub fn text(&mut self, name: &str, value: &str, min: usize, max: usize) {
        // A character is at most 4 bytes: only strings longer than that bound skip the count
        // (they are too long whatever they hold). Limits are in characters, never bytes.
        let chars = if value.len() <= max.saturating_mul(4) { value.chars().count() } else { max + 1 };
        if chars < min {
            if min == 1 {
                self.fail(name, "must not be empty");
            } else {
                self.fail(name, format!("must be at least {min} characters, got {chars}"));
            }
        } else if chars > max {
            let n = value.chars().count();
            self.fail(name, format!("must be at most {max} characters, got {n}"));
        } else if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
            self.fail(name, "must not contain control characters");
        }
    }

    /// Checks an identifier: 1–64 characters of letters, digits, `-`, `_`, `.`, `:` or `@`.
    pub fn id(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            self.fail(name, "must not be empty");
        } else if value.len() > MAX_ID_LEN {
            self.fail(name, format!("must be at most {MAX_ID_LEN} characters, got {}", value.chars().count()));
        } else if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@')) {
            self.fail(name, "must contain only letters, digits, '-', '_', '.', ':' or '@'");
        }
    }

    /// Checks an optional identifier.
    pub fn id_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.id(name, value);
        }
    }
}

/// Longest identifier accepted anywhere (user, driver, message, session ids).
pub const MAX_ID_LEN: usize = 64;
