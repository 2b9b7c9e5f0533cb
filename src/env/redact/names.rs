//! Secret names: when a variable, flag or key name says that its value is a
//! secret (`HF_TOKEN`, `--api-key`, `db.password`, `STRIPE_KEY`), and when it is
//! a model term that only looks like one (`max_tokens`, `pad_token`, `sort_key`).
//! Part of the redaction rules of the parent module; no I/O, never fails.

use super::find;

/// Parts that make a word secret wherever they occur in it (`DBPASSWORD`).
const STRONG_PARTS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "apikey",
    "accesskey",
    "privatekey",
    "sessionkey",
    "signingkey",
    "encryptionkey",
];

/// Whole words that make a name secret.
const STRONG_WORDS: &[&str] =
    &["creds", "cred", "dsn", "jwt", "bearer", "cookie", "cookies", "webhook"];

/// Words that, right before `key`/`keys`, name a secret key: `api_key`, but
/// not `sort_key` or `key_dim`.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "private",
    "secret",
    "session",
    "signing",
    "encryption",
    "master",
    "license",
    "licence",
    "auth",
    "ssh",
    "deploy",
    "client",
    "account",
    "storage",
    "service",
    "subscription",
    "admin",
    "consumer",
    "app",
    "pgp",
    "gpg",
    "hmac",
    "shared",
    "sas",
    "x",
];

/// Services whose name right before `key`/`keys` or `pat` names a credential:
/// `STRIPE_KEY`, `wandb_key`, `--wandb-key`, `GH_PAT`.
const SERVICES: &[&str] = &[
    "wandb",
    "stripe",
    "github",
    "gh",
    "gitlab",
    "gl",
    "npm",
    "pypi",
    "openai",
    "anthropic",
    "hf",
    "huggingface",
    "aws",
    "azure",
    "gcp",
    "databricks",
    "slack",
    "discord",
    "telegram",
    "sendgrid",
    "twilio",
    "mailgun",
    "cohere",
    "comet",
    "neptune",
    "kaggle",
    "replicate",
    "pinecone",
    "mistral",
    "groq",
    "ado",
    "devops",
];

/// Words that, right before a value shaped like a bare key (40 hex digits or
/// 40 characters of base64), make it one: `key="..."`, `wandb login ...`.
/// A git commit id is 40 hex digits too, so without such a word it stays.
pub(super) const KEY_CONTEXT_WORDS: &[&str] =
    &["key", "keys", "login", "token", "apikey", "secret", "pat"];

/// Words after a weak secret word (`token`, `auth`, `pass`) that keep it a
/// secret (`token_value`). Any other word after it makes the name describe
/// something else (`token_dropout`, `auth_type`, `token_file`).
const SECRET_TAILS: &[&str] =
    &["value", "secret", "key", "string", "str", "b64", "base64", "raw", "header"];

/// Words before `token` or `pass` that make it a machine-learning term
/// (`pad_token`, `eos_token`, `multi_pass`), not a credential.
const ML_ROLES: &[&str] = &[
    "pad",
    "eos",
    "bos",
    "unk",
    "sep",
    "cls",
    "mask",
    "special",
    "start",
    "end",
    "stop",
    "sos",
    "eot",
    "eod",
    "image",
    "img",
    "audio",
    "video",
    "vision",
    "placeholder",
    "begin",
    "prefix",
    "suffix",
    "middle",
    "fim",
    "per",
    "each",
    "first",
    "last",
    "next",
    "new",
    "max",
    "min",
    "num",
    "n",
    "multi",
    "single",
    "one",
    "two",
    "forward",
    "backward",
    "fwd",
    "bwd",
    "full",
    "high",
    "low",
    "band",
    "by",
];

/// Lowercase fragments one of which every secret name contains; a cheap filter
/// before [`super::Redactor::is_secret_name`] while scanning text.
const NAME_FRAGMENTS: &[&[u8]] = &[
    b"token", b"secret", b"pass", b"key", b"auth", b"cred", b"cookie", b"dsn", b"jwt", b"bearer",
    b"webhook", b"pat",
];

/// See [`super::Redactor::is_secret_name`].
pub(super) fn is_secret_name(name: &str) -> bool {
    let words = split_words(name);
    (0..words.len()).any(|i| is_secret_word(&words, i))
}

fn is_secret_word(words: &[String], i: usize) -> bool {
    let word = words[i].as_str();
    if STRONG_PARTS.iter().any(|part| word.contains(part)) || STRONG_WORDS.contains(&word) {
        return true;
    }
    let previous = if i > 0 { words[i - 1].as_str() } else { "" };
    if (word == "key" || word == "keys")
        && (KEY_QUALIFIERS.contains(&previous) || SERVICES.contains(&previous))
    {
        return true;
    }
    if word == "pat" && SERVICES.contains(&previous) {
        return true;
    }
    let weak = word == "token"
        || (word.len() > 5 && word.ends_with("token"))
        || word.ends_with("auth")
        || word == "authorization"
        || word == "pass";
    let tail_ok = words.get(i + 1).is_none_or(|next| SECRET_TAILS.contains(&next.as_str()));
    weak && tail_ok && !ML_ROLES.contains(&previous)
}

/// Splits a name into lowercase words at punctuation and camelCase humps.
pub(super) fn split_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        if c.is_uppercase() && !word.is_empty() {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower)
            {
                words.push(std::mem::take(&mut word));
            }
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Whether `name` is secret or ends in one of [`KEY_CONTEXT_WORDS`].
pub(super) fn is_key_word(name: &str) -> bool {
    let words = split_words(name);
    words.last().is_some_and(|w| KEY_CONTEXT_WORDS.contains(&w.as_str())) || is_secret_name(name)
}

/// Whether a name has one of [`NAME_FRAGMENTS`]: a cheap test that every
/// secret name passes.
pub(super) fn may_be_secret_name(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    NAME_FRAGMENTS.iter().any(|f| find(&lower, f).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "HF_TOKEN",
            "GITHUB_TOKEN",
            "token",
            "--token",
            "--api-key",
            "api_key",
            "apiKey",
            "APIKEY",
            "OPENAI_API_KEY",
            "db.password",
            "DB_PASS",
            "PGPASSWORD",
            "mysql_passwd",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
            "client_secret",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "private_key",
            "session_key",
            "HTTP_AUTHORIZATION",
            "NPM_AUTH",
            "accessToken",
            "HFToken",
            "TELEGRAM_BOT_TOKEN",
            "SENTRY_DSN",
            "--use-auth-token",
            "token_value",
            "STRIPE_KEY",
            "GH_PAT",
            "GITLAB_PAT",
            "wandb_key",
            "--wandb-key",
            "WANDB_KEY",
            "hf_key",
        ] {
            assert!(is_secret_name(name), "{name} should be secret");
        }
    }

    #[test]
    fn ml_names_are_not_secret() {
        for name in [
            "max_tokens",
            "num_tokens",
            "max_new_tokens",
            "tokenizer",
            "tokenizer_name",
            "key_dim",
            "--key-size",
            "sort_key",
            "key",
            "KEY",
            "keyword",
            "monkey",
            "passes",
            "num_passes",
            "multi_pass",
            "pad_token",
            "eos_token_id",
            "model.tokenizer.pad_token",
            "token_dropout",
            "author",
            "SSH_AUTH_SOCK",
            "PWD",
            "PATH",
            "learning_rate",
            "path",
            "pattern",
            "patience",
            "wandb_project",
            "",
        ] {
            assert!(!is_secret_name(name), "{name} should not be secret");
        }
    }
}
